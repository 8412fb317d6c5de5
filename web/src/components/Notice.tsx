import type { ReactNode } from 'react';

/** A message with a word for its kind, so nothing is said by colour alone. */
export function Notice({ kind, children, testId }: { kind: 'error' | 'info' | 'success'; children: ReactNode; testId?: string }) {
  const label = { error: 'Error:', info: 'Note:', success: 'Done:' }[kind];
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-testid={testId}>
      <strong>{label}</strong> {children}
    </div>
  );
}
