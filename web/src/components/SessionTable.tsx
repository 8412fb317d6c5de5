import type { SessionOut } from '../api/contract';
import { formatDate, statusLabel } from '../lib/format';
import { recommendationLabel } from '../lib/scorecard';
import { Link } from '../router';

export function SessionTable({ sessions, caption, showOwner = false }: { sessions: SessionOut[]; caption: string; showOwner?: boolean }) {
  if (sessions.length === 0) return <p data-testid="no-sessions">No interviews yet.</p>;
  return (
    <div className="table-scroll">
      <table data-testid="session-table">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Created</th>
            <th scope="col">Status</th>
            <th scope="col">Recommendation</th>
            {showOwner && <th scope="col">Candidate</th>}
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.id} data-testid="session-row">
              <td>
                <Link to={`/interviews/${s.id}`}>{s.role_title}</Link> <span className="muted">({s.seniority})</span>
              </td>
              <td>{formatDate(s.created_at)}</td>
              <td>
                <span className={`badge status-${s.status}`}>{statusLabel(s.status)}</span>
              </td>
              <td>{recommendationLabel(s.recommendation ?? null)}</td>
              {showOwner && <td className="mono">{s.owner_id.slice(0, 8)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Pager({ page, pageSize, total, onPage }: { page: number; pageSize: number; total: number; onPage: (p: number) => void }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" onClick={() => onPage(page - 1)} disabled={page <= 1}>
        Previous
      </button>
      <span aria-live="polite">
        Page {page} of {pages} ({total} in all)
      </span>
      <button type="button" onClick={() => onPage(page + 1)} disabled={page >= pages}>
        Next
      </button>
    </nav>
  );
}
