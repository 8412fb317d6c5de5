import { useState, type FormEvent } from 'react';

import { RECOMMENDATIONS, SESSION_STATUSES, type ListSessionsQuery } from '../api/contract';
import { errorMessage, unwrap } from '../api/problem';
import { useAuth } from '../auth';
import { Notice } from '../components/Notice';
import { Pager, SessionTable } from '../components/SessionTable';
import { statusLabel } from '../lib/format';
import { recommendationLabel } from '../lib/scorecard';
import { useLoader } from '../lib/useLoader';

const PAGE_SIZE = 20;

interface Filters {
  status: string;
  role: string;
  recommendation: string;
  created_after: string;
  created_before: string;
}

const NO_FILTERS: Filters = { status: '', role: '', recommendation: '', created_after: '', created_before: '' };

/** The filters as the query of `GET /sessions`: empty ones left out, dates as the start of that day (local). */
function toQuery(filters: Filters, page: number): ListSessionsQuery {
  const query: Record<string, string | number> = { page, page_size: PAGE_SIZE };
  for (const [key, value] of Object.entries(filters)) {
    if (!value) continue;
    if (key === 'created_after') query[key] = new Date(`${value}T00:00:00`).toISOString();
    else if (key === 'created_before') query[key] = new Date(`${value}T23:59:59.999`).toISOString();
    else query[key] = value;
  }
  return query as ListSessionsQuery;
}

export function StaffInterviewsPage() {
  const { api } = useAuth();
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [page, setPage] = useState(1);
  const query = toQuery(filters, page);
  const list = useLoader(async () => unwrap(await api.GET('/sessions', { params: { query } })), JSON.stringify(query));

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setFilters(Object.fromEntries(Object.keys(NO_FILTERS).map((k) => [k, String(form.get(k) ?? '').trim()])) as unknown as Filters);
    setPage(1);
  };

  return (
    <section aria-labelledby="staff-title">
      <h1 id="staff-title">All interviews</h1>
      <form className="filters" onSubmit={apply} onReset={() => (setFilters(NO_FILTERS), setPage(1))} data-testid="filters" aria-label="Filters">
        <div>
          <label htmlFor="f-status">Status</label>
          <select id="f-status" name="status" defaultValue="">
            <option value="">Any</option>
            {SESSION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {statusLabel(s)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="f-role">Role contains</label>
          <input id="f-role" name="role" maxLength={120} />
        </div>
        <div>
          <label htmlFor="f-recommendation">Recommendation</label>
          <select id="f-recommendation" name="recommendation" defaultValue="">
            <option value="">Any</option>
            {RECOMMENDATIONS.map((r) => (
              <option key={r} value={r}>
                {recommendationLabel(r)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="f-after">Created from</label>
          <input id="f-after" name="created_after" type="date" />
        </div>
        <div>
          <label htmlFor="f-before">Created until</label>
          <input id="f-before" name="created_before" type="date" />
        </div>
        <div className="filter-buttons">
          <button type="submit">Apply filters</button>
          <button type="reset">Clear</button>
        </div>
      </form>
      {list.error !== undefined && <Notice kind="error">{errorMessage(list.error)}</Notice>}
      {list.loading && !list.data && <p role="status">Loading…</p>}
      {list.data && (
        <>
          <SessionTable sessions={list.data.items} caption="Interviews matching the filters" showOwner />
          <Pager page={page} pageSize={PAGE_SIZE} total={list.data.total} onPage={setPage} />
        </>
      )}
    </section>
  );
}
