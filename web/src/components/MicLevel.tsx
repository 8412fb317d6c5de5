/** A level meter for a microphone (0 to 1), with its value in words for screen readers. */
export function MicLevel({ level, label = 'Microphone level' }: { level: number; label?: string }) {
  const percent = Math.round(Math.min(1, Math.max(0, level * 2.5)) * 100);
  return (
    <div className="mic-level">
      <span id="mic-level-label">{label}</span>
      <meter
        aria-labelledby="mic-level-label"
        min={0}
        max={100}
        low={5}
        value={percent}
        data-testid="mic-level"
        data-level={percent}
      />
      <span className="muted">{percent < 5 ? 'silent' : percent < 40 ? 'quiet' : 'good'}</span>
    </div>
  );
}
