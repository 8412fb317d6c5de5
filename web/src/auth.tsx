/** The signed-in user, the API client and the auth session, for every page. */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

import { AuthSession } from './api/auth';
import { createApi, type Api } from './api/client';
import type { UserOut } from './api/contract';
import { unwrap } from './api/problem';
import { navigate } from './router';

interface AuthState {
  auth: AuthSession;
  api: Api;
  /** undefined while a stored session is being restored; null when signed out. */
  user: UserOut | null | undefined;
  /** Why the user was signed out (an expired session), shown on the sign-in page. */
  notice: string | null;
  signIn: (email: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export const isStaff = (user: UserOut | null | undefined) => user?.role === 'recruiter' || user?.role === 'admin';

export function AuthProvider({ children }: { children: ReactNode }) {
  const [{ auth, api }] = useState(() => {
    const auth = new AuthSession({ baseUrl: window.location.origin, storage: window.localStorage });
    return { auth, api: createApi(auth, window.location.origin) };
  });
  const [user, setUser] = useState<UserOut | null | undefined>(() => (auth.signedIn ? undefined : null));
  const [notice, setNotice] = useState<string | null>(null);

  const loadUser = useCallback(async () => setUser(unwrap(await api.GET('/auth/me'))), [api]);

  useEffect(() => {
    if (auth.signedIn) {
      api.GET('/auth/me').then(unwrap).then(setUser, () => {
        if (!auth.signedIn) return; // expired: the listener below has handled it
        setUser(null);
        setNotice('Could not reach CodeVoice to restore your session. Reload the page to try again.');
      });
    }
    return auth.onExpired((message) => {
      setUser(null);
      setNotice(message);
      const here = window.location.pathname + window.location.search;
      navigate(`/sign-in?next=${encodeURIComponent(here)}`, { replace: true });
    });
  }, [auth, api]);

  const value = useMemo<AuthState>(
    () => ({
      auth,
      api,
      user,
      notice,
      signIn: async (email, password) => {
        await auth.login(email, password);
        setNotice(null);
        await loadUser();
      },
      signOut: async () => {
        await auth.logout();
        setUser(null);
        setNotice('You are signed out.');
        navigate('/sign-in');
      },
    }),
    [auth, api, user, notice, loadUser],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error('useAuth outside AuthProvider');
  return state;
}
