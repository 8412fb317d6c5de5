/**
 * The signed-in user's tokens. The access token (15 minutes) lives in memory; the refresh token is kept in
 * storage so that a reload keeps the session. Refreshing rotates the refresh token and a spent one revokes
 * its whole family, so there is only ever one refresh in flight: concurrent callers share its promise, and
 * tabs take turns through a Web Lock, each reading the token the last one stored.
 */
import createClient from 'openapi-fetch';

import { ApiError, SessionExpiredError, problemDetail } from './problem';
import type { components, paths } from './schema';

export type TokenPair = components['schemas']['TokenPair'];

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type LockRunner = <T>(task: () => Promise<T>) => Promise<T>;

export interface AuthOptions {
  baseUrl: string;
  fetch?: (request: Request) => Promise<Response>;
  storage: KeyValueStore;
  now?: () => number;
  /** Serializes refreshes across tabs; defaults to navigator.locks when the browser has it. */
  lock?: LockRunner;
}

export const REFRESH_TOKEN_KEY = 'codevoice.refresh_token';
/** Refresh this long before the access token expires, so a request never races its expiry. */
export const EXPIRY_MARGIN_MS = 30_000;

type ExpiredListener = (message: string) => void;

function browserLock(): LockRunner {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return (task) => task();
  return <T>(task: () => Promise<T>) => locks.request('codevoice.refresh', task) as Promise<T>;
}

export class AuthSession {
  readonly #client;
  readonly #storage: KeyValueStore;
  readonly #now: () => number;
  readonly #lock: LockRunner;
  #access: { token: string; expiresAt: number } | null = null;
  #inFlight: Promise<string> | null = null;
  readonly #listeners = new Set<ExpiredListener>();

  constructor(options: AuthOptions) {
    this.#client = createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch });
    this.#storage = options.storage;
    this.#now = options.now ?? Date.now;
    this.#lock = options.lock ?? browserLock();
  }

  get signedIn(): boolean {
    return this.#storage.getItem(REFRESH_TOKEN_KEY) !== null;
  }

  onExpired(listener: ExpiredListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Signs in; an ApiError carries the server's detail (401 wrong password, 403 email not confirmed). */
  async login(email: string, password: string): Promise<void> {
    const { data, error, response } = await this.#client.POST('/auth/login', { body: { email, password } });
    if (!data) throw new ApiError(response.status, problemDetail(error, 'Could not sign in.'));
    this.#store(data);
  }

  async logout(): Promise<void> {
    const refreshToken = this.#storage.getItem(REFRESH_TOKEN_KEY);
    this.#clear();
    if (refreshToken) {
      // Best effort: the tokens are gone from this browser whether or not the server hears of it.
      await this.#client.POST('/auth/logout', { body: { refresh_token: refreshToken } }).catch(() => undefined);
    }
  }

  /** A valid access token, refreshed first when it is missing or about to expire. */
  async accessToken(): Promise<string> {
    if (this.#access && this.#access.expiresAt - EXPIRY_MARGIN_MS > this.#now()) return this.#access.token;
    return this.refresh();
  }

  /** Rotates the tokens once, however many callers ask at the same time. */
  refresh(): Promise<string> {
    this.#inFlight ??= this.#lock(() => this.#rotate()).finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  /** Ends the session here: the tokens are dropped and listeners told why. */
  expire(message = new SessionExpiredError().message): void {
    this.#clear();
    for (const listener of this.#listeners) listener(message);
  }

  async #rotate(): Promise<string> {
    const refreshToken = this.#storage.getItem(REFRESH_TOKEN_KEY);
    if (!refreshToken) throw new SessionExpiredError('Please sign in.');
    const { data, response } = await this.#client.POST('/auth/refresh', { body: { refresh_token: refreshToken } });
    if (data) return this.#store(data);
    if (response.status === 400 || response.status === 401) {
      // Another tab may have rotated the token while this request was on its way: then its token is good.
      if (this.#storage.getItem(REFRESH_TOKEN_KEY) !== refreshToken) return this.#rotate();
      const expired = new SessionExpiredError();
      this.expire(expired.message);
      throw expired;
    }
    throw new ApiError(response.status, 'Could not reach the server to renew your session.');
  }

  #store(pair: TokenPair): string {
    this.#storage.setItem(REFRESH_TOKEN_KEY, pair.refresh_token);
    this.#access = { token: pair.access_token, expiresAt: this.#now() + pair.expires_in * 1000 };
    return pair.access_token;
  }

  #clear(): void {
    this.#access = null;
    this.#storage.removeItem(REFRESH_TOKEN_KEY);
  }
}
