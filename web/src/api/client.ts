/** The typed API client: openapi-fetch over the generated schema, with the user's bearer token. */
import createClient from 'openapi-fetch';

import type { AuthSession } from './auth';
import type { paths } from './schema';

export type Fetch = (request: Request) => Promise<Response>;

/**
 * Sends each request with a valid access token. A 401 means the token was refused (expired early, or
 * revoked): the tokens are rotated once and the request is sent again; if that fails too, the session is over.
 */
export function authorizedFetch(auth: AuthSession, fetchImpl: Fetch = (request) => fetch(request)): Fetch {
  return async (request) => {
    const retry = request.clone();
    request.headers.set('Authorization', `Bearer ${await auth.accessToken()}`);
    const response = await fetchImpl(request);
    if (response.status !== 401) return response;
    retry.headers.set('Authorization', `Bearer ${await auth.refresh()}`);
    const second = await fetchImpl(retry);
    if (second.status === 401) auth.expire();
    return second;
  };
}

export function createApi(auth: AuthSession, baseUrl: string, fetchImpl?: Fetch) {
  return createClient<paths>({ baseUrl, fetch: authorizedFetch(auth, fetchImpl) });
}

export type Api = ReturnType<typeof createApi>;

/** For the operations that need no account: sign-up and the email confirmation. */
export function publicApi() {
  return createClient<paths>({ baseUrl: window.location.origin });
}
