import { describe, expect, it, vi } from 'vitest';

import { AuthSession, REFRESH_TOKEN_KEY, type KeyValueStore } from './auth';
import { SessionExpiredError } from './problem';

const BASE = 'http://codevoice.test';

class MemoryStore implements KeyValueStore {
  readonly items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

function json(status: number, body: unknown): Response {
  const type = status >= 400 ? 'application/problem+json' : 'application/json';
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': type } });
}

function pair(n: number) {
  return { access_token: `access-${n}`, refresh_token: `refresh-${n}-${'x'.repeat(20)}`, expires_in: 900, token_type: 'Bearer' };
}

/** A fake control plane for /auth: counts refreshes, rotates tokens, refuses spent ones. */
function server() {
  let issued = 0;
  const spent = new Set<string>();
  const calls: string[] = [];
  const fetch = vi.fn(async (request: Request) => {
    const path = new URL(request.url).pathname;
    calls.push(path);
    const body = (await request.json()) as Record<string, string>;
    if (path === '/auth/login') {
      if (body.password !== 'correct horse') return json(401, { status: 401, detail: 'Wrong email or password' });
      return json(200, pair(++issued));
    }
    if (path === '/auth/refresh') {
      const token = body.refresh_token ?? '';
      if (spent.has(token) || !token.startsWith('refresh-')) return json(401, { status: 401, detail: 'Invalid refresh token' });
      spent.add(token);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return json(200, pair(++issued));
    }
    if (path === '/auth/logout') return new Response(null, { status: 204 });
    return json(404, { detail: 'Not found' });
  });
  return { fetch, calls };
}

function session(fetch: (r: Request) => Promise<Response>, storage = new MemoryStore(), now = () => 0) {
  return new AuthSession({ baseUrl: BASE, fetch, storage, now, lock: (task) => task() });
}

describe('AuthSession', () => {
  it('signs in and keeps the refresh token for the next page load', async () => {
    const { fetch } = server();
    const storage = new MemoryStore();
    const auth = session(fetch, storage);
    await auth.login('ada@example.com', 'correct horse');
    expect(auth.signedIn).toBe(true);
    expect(await auth.accessToken()).toBe('access-1');
    expect(storage.getItem(REFRESH_TOKEN_KEY)).toBe(pair(1).refresh_token);
  });

  it("reports the server's detail when sign-in is refused", async () => {
    const auth = session(server().fetch);
    await expect(auth.login('ada@example.com', 'wrong')).rejects.toMatchObject({ status: 401, message: 'Wrong email or password' });
    expect(auth.signedIn).toBe(false);
  });

  it('after a reload, refreshes once for many concurrent callers', async () => {
    const { fetch, calls } = server();
    const storage = new MemoryStore();
    storage.setItem(REFRESH_TOKEN_KEY, pair(0).refresh_token);
    const auth = session(fetch, storage);
    const tokens = await Promise.all([auth.accessToken(), auth.accessToken(), auth.refresh()]);
    expect(tokens).toEqual(['access-1', 'access-1', 'access-1']);
    expect(calls.filter((p) => p === '/auth/refresh')).toHaveLength(1);
    expect(storage.getItem(REFRESH_TOKEN_KEY)).toBe(pair(1).refresh_token);
  });

  it('refreshes shortly before the access token expires', async () => {
    const { fetch, calls } = server();
    let now = 0;
    const auth = session(fetch, new MemoryStore(), () => now);
    await auth.login('ada@example.com', 'correct horse');
    now = 800_000;
    expect(await auth.accessToken()).toBe('access-1');
    now = 880_000; // within 30 s of the 900 s expiry
    expect(await auth.accessToken()).toBe('access-2');
    expect(calls.filter((p) => p === '/auth/refresh')).toHaveLength(1);
  });

  it('ends the session and tells listeners when the refresh token is refused', async () => {
    const { fetch } = server();
    const storage = new MemoryStore();
    storage.setItem(REFRESH_TOKEN_KEY, 'revoked-token-xxxxxxxxxxxx');
    const auth = session(fetch, storage);
    const expired = vi.fn();
    auth.onExpired(expired);
    await expect(auth.accessToken()).rejects.toBeInstanceOf(SessionExpiredError);
    expect(auth.signedIn).toBe(false);
    expect(expired).toHaveBeenCalledWith('Your session has expired. Please sign in again.');
  });

  it('uses the token another tab stored while its own refresh was refused', async () => {
    const storage = new MemoryStore();
    storage.setItem(REFRESH_TOKEN_KEY, 'spent-by-other-tab-xxxxxxxx');
    let attempts = 0;
    const fetch = async (request: Request) => {
      const { refresh_token: token } = (await request.json()) as { refresh_token: string };
      attempts += 1;
      if (token === 'spent-by-other-tab-xxxxxxxx') {
        storage.setItem(REFRESH_TOKEN_KEY, 'rotated-by-other-tab-xxxxxx');
        return json(401, { detail: 'Invalid refresh token' });
      }
      return json(200, pair(7));
    };
    const auth = session(fetch, storage);
    expect(await auth.accessToken()).toBe('access-7');
    expect(attempts).toBe(2);
  });

  it('keeps the session through a network failure while refreshing', async () => {
    const storage = new MemoryStore();
    storage.setItem(REFRESH_TOKEN_KEY, pair(0).refresh_token);
    const auth = session(async () => json(503, { detail: 'Redis is unreachable' }), storage);
    await expect(auth.refresh()).rejects.toMatchObject({ status: 503 });
    expect(auth.signedIn).toBe(true);
  });

  it('signs out locally and revokes the refresh token on the server', async () => {
    const { fetch, calls } = server();
    const auth = session(fetch);
    await auth.login('ada@example.com', 'correct horse');
    await auth.logout();
    expect(auth.signedIn).toBe(false);
    expect(calls).toEqual(['/auth/login', '/auth/logout']);
  });
});
