import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, call } from "../api/client";
import { describeError, ApiFailure } from "../api/errors";
import { announceSignOut, clearTokens, hasSession, onSessionEnded, refreshTokenOf, refreshTokens, storeTokens } from "../api/tokens";
import type { Account, TokenPair } from "../api/types";

export type SessionStatus = "restoring" | "signed-out" | "signed-in";

export interface Session {
  status: SessionStatus;
  account: Account | undefined;
  /** Why the last sign-in ended, when the API ended it (shown on the sign-in page). */
  endedBecause: string | undefined;
  signIn(email: string, password: string): Promise<Account>;
  register(email: string, password: string): Promise<Account>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<Session | undefined>(undefined);

async function loadAccount(): Promise<Account> {
  return call(api.GET("/api/v1/accounts/me"));
}

/** The signed-in account for the whole app: restored silently on load, ended on sign-out or revocation. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<SessionStatus>(hasSession() ? "restoring" : "signed-out");
  const [account, setAccount] = useState<Account>();
  const [endedBecause, setEndedBecause] = useState<string>();

  useEffect(() => {
    const stop = onSessionEnded((code) => {
      setAccount(undefined);
      setStatus("signed-out");
      setEndedBecause(describeError(new ApiFailure(401, code, "")));
    });
    if (status === "restoring") {
      // A reload: the access token was in memory only; the tab's refresh token gets a new one.
      refreshTokens()
        .then(loadAccount)
        .then((me) => {
          setAccount(me);
          setStatus("signed-in");
        })
        .catch(() => {
          setStatus("signed-out");
        });
    }
    return stop;
    // Restoring runs once, at start.
  }, []);

  const signIn = useCallback(async (email: string, password: string) => {
    const pair: TokenPair = await call(api.POST("/api/v1/auth/token", { body: { email, password } }));
    storeTokens(pair);
    const me = await loadAccount();
    setAccount(me);
    setEndedBecause(undefined);
    setStatus("signed-in");
    return me;
  }, []);

  const register = useCallback(
    async (email: string, password: string) => {
      await call(api.POST("/api/v1/auth/register", { body: { email, password } }));
      return signIn(email, password);
    },
    [signIn],
  );

  const signOut = useCallback(async () => {
    const refreshToken = refreshTokenOf();
    // Revoke at the API first (the access tokens of this sign-in stop working too); forget
    // locally whatever the answer, so a failed call never leaves someone signed in.
    try {
      if (refreshToken) await call(api.POST("/api/v1/auth/logout", { body: { refreshToken } }));
    } finally {
      if (refreshToken) announceSignOut(refreshToken);
      clearTokens();
      setAccount(undefined);
      setStatus("signed-out");
    }
  }, []);

  const session = useMemo<Session>(
    () => ({ status, account, endedBecause, signIn, register, signOut }),
    [status, account, endedBecause, signIn, register, signOut],
  );
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
