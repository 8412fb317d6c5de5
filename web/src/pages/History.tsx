import { useState } from 'react';

import { errorMessage, unwrap } from '../api/problem';
import { useAuth } from '../auth';
import { Notice } from '../components/Notice';
import { Pager, SessionTable } from '../components/SessionTable';
import { useLoader } from '../lib/useLoader';

const PAGE_SIZE = 10;

export function HistoryPage() {
  const { api } = useAuth();
  const [page, setPage] = useState(1);
  const list = useLoader(
    async () => unwrap(await api.GET('/sessions', { params: { query: { page, page_size: PAGE_SIZE } } })),
    `history:${page}`,
  );
  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">Your interviews</h1>
      {list.error !== undefined && <Notice kind="error">{errorMessage(list.error)}</Notice>}
      {list.loading && !list.data && <p role="status">Loading…</p>}
      {list.data && (
        <>
          <SessionTable sessions={list.data.items} caption="Your interviews" />
          <Pager page={page} pageSize={PAGE_SIZE} total={list.data.total} onPage={setPage} />
        </>
      )}
    </section>
  );
}
