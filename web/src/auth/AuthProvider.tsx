// Session state for the whole app: the signed-in user (or null), the API client, and the
// silent refresh on page load that turns the HttpOnly refresh cookie into an access token.
// Every new token comes with the user's instance role (read again from `GET /users/me` when
// an older server leaves it out), so a role granted or taken back shows within a token's
// lifetime.

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiClient, browserLock } from '../api/client';
import type { User } from '../api/types';
import { config } from '../config';

export type AuthStatus = 'loading' | 'signedIn' | 'signedOut' | 'unreachable';

interface AuthValue {
  api: ApiClient;
  status: AuthStatus;
  user: User | null;
  /** Why the server ended the last session, when it said (a suspension), for the log-in page. */
  endedBecause: string | null;
  /** Throws ApiError `mfa_required` (with `extensions.challenge`) for an account with two-factor on. */
  login(email: string, password: string): Promise<void>;
  /** Completes a log-in's second factor. */
  loginMfa(challenge: string, code: string): Promise<void>;
  register(username: string, email: string, password: string): Promise<void>;
  logout(): Promise<void>;
  logoutAll(): Promise<void>;
  setUser(u: User): void;
  retry(): void;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const api = useMemo(() => new ApiClient({ baseUrl: config().apiBase, lock: browserLock(), filesCookie: true }), []);
  const [status, setStatus] = useState<AuthStatus>('loading');
  const [user, setUserState] = useState<User | null>(null);
  const [endedBecause, setEndedBecause] = useState<string | null>(null);
  const attempt = useRef(0);

  useEffect(
    () =>
      api.onSession((s) => {
        if (s) {
          setUserState((prev) => (prev && prev.id === s.user.id ? { ...prev, ...s.user } : s.user));
          setEndedBecause(null);
          setStatus('signedIn');
          if (s.user.role === undefined) {
            api
              .me()
              .then((me) => setUserState((prev) => (prev && prev.id === me.id ? { ...prev, ...me } : prev)))
              .catch(() => undefined);
          }
        } else {
          setUserState(null);
          setEndedBecause(api.endReason?.userMessage ?? null);
          setStatus('signedOut');
        }
      }),
    [api],
  );

  const silentRefresh = useCallback(() => {
    const my = ++attempt.current;
    setStatus('loading');
    api
      .refresh()
      .then((s) => {
        if (my !== attempt.current) return;
        if (!s) {
          setEndedBecause(api.endReason?.userMessage ?? null);
          setStatus('signedOut');
        }
      })
      .catch(() => {
        if (my === attempt.current) setStatus('unreachable');
      });
  }, [api]);

  useEffect(() => {
    silentRefresh();
  }, [silentRefresh]);

  const value = useMemo<AuthValue>(
    () => ({
      api,
      status,
      user,
      endedBecause,
      async login(email, password) {
        await api.login(email, password);
      },
      async loginMfa(challenge, code) {
        await api.loginMfa(challenge, code);
      },
      async register(username, email, password) {
        await api.register(username, email, password);
      },
      async logout() {
        await api.logout().catch(() => undefined);
        setStatus('signedOut');
        setUserState(null);
      },
      async logoutAll() {
        await api.logoutAll();
        setStatus('signedOut');
        setUserState(null);
      },
      setUser(u) {
        setUserState(u);
      },
      retry: silentRefresh,
    }),
    [api, status, user, endedBecause, silentRefresh],
  );

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

/** The session when inside AuthProvider, else null (components rendered alone in tests). */
export function useMaybeAuth(): AuthValue | null {
  return useContext(AuthContext);
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}
