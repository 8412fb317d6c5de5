import { describe, expect, it, vi } from 'vitest';

import { AuthSession, REFRESH_TOKEN_KEY } from './auth';
import { createApi } from './client';
import { ApiError, unwrap } from './problem';

const BASE = 'http://codevoice.test';

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });
}

function signedInAuth(refreshes: { count: number }) {
  const items = new Map([[REFRESH_TOKEN_KEY, 'refresh-0-xxxxxxxxxxxxxxxxxxxx']]);
  return new AuthSession({
    baseUrl: BASE,
    storage: {
      getItem: (k) => items.get(k) ?? null,
      setItem: (k, v) => void items.set(k, v),
      removeItem: (k) => void items.delete(k),
    },
    lock: (task) => task(),
    fetch: async () => {
      refreshes.count += 1;
      return json(200, {
        access_token: `access-${refreshes.count}`,
        refresh_token: `refresh-${refreshes.count}-xxxxxxxxxxxxxxxxxxxx`,
        expires_in: 900,
        token_type: 'Bearer',
      });
    },
  });
}

const session = { id: 's-1', status: 'created', role_title: 'Backend engineer' };

describe('createApi', () => {
  it('sends the bearer token', async () => {
    const refreshes = { count: 0 };
    const api = createApi(signedInAuth(refreshes), BASE, async (request) => {
      expect(request.headers.get('Authorization')).toBe('Bearer access-1');
      expect(new URL(request.url).pathname).toBe('/sessions/s-1');
      return json(200, session);
    });
    const data = unwrap(await api.GET('/sessions/{session_id}', { params: { path: { session_id: 's-1' } } }));
    expect(data.role_title).toBe('Backend engineer');
  });

  it('refreshes once and retries the request, body included, after a 401', async () => {
    const refreshes = { count: 0 };
    const seen: string[] = [];
    const api = createApi(signedInAuth(refreshes), BASE, async (request) => {
      seen.push(`${request.headers.get('Authorization')} ${await request.text()}`);
      return seen.length === 1 ? json(401, { detail: 'Token expired' }) : json(201, session);
    });
    const body = { role_title: 'Backend engineer', seniority: 'mid' as const, topics: ['SQL'], planned_duration_minutes: 20 };
    unwrap(await api.POST('/sessions', { body }));
    expect(seen).toEqual([`Bearer access-1 ${JSON.stringify(body)}`, `Bearer access-2 ${JSON.stringify(body)}`]);
    expect(refreshes.count).toBe(2);
  });

  it('ends the session when the retried request is refused too', async () => {
    const auth = signedInAuth({ count: 0 });
    const expired = vi.fn();
    auth.onExpired(expired);
    const api = createApi(auth, BASE, async () => json(401, { detail: 'Account disabled' }));
    await expect(api.GET('/auth/me').then(unwrap)).rejects.toMatchObject({ status: 401, message: 'Account disabled' });
    expect(expired).toHaveBeenCalledOnce();
    expect(auth.signedIn).toBe(false);
  });

  it("turns a problem document into an ApiError with the server's detail", async () => {
    const api = createApi(signedInAuth({ count: 0 }), BASE, async () =>
      json(409, { type: 'about:blank', title: 'Conflict', status: 409, detail: 'The session is already completed' }),
    );
    const failure = await api
      .POST('/sessions/{session_id}/cancel', { params: { path: { session_id: 's-1' } } })
      .then(unwrap)
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 409, message: 'The session is already completed' });
  });

  it('reaches the recruiter operations whether or not the schema has them yet', async () => {
    const api = createApi(signedInAuth({ count: 0 }), BASE, async (request) => {
      expect([request.method, new URL(request.url).pathname]).toEqual(['POST', '/sessions/s-1/end']);
      return new Response(null, { status: 202 });
    });
    const { response } = await api.POST('/sessions/{session_id}/end', { params: { path: { session_id: 's-1' } } });
    expect(response.status).toBe(202);
  });
});
