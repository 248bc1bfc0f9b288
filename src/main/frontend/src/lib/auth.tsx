import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { type ApiClient, type ApiError, type SignedIn, api as defaultApi } from "@/lib/api";
import { toast } from "@/lib/toasts";

export interface Organization {
  id: number;
  name: string;
  role: string;
}

export interface Me {
  id: number;
  email: string;
  name: string;
  email_verified: boolean;
  is_admin: boolean;
  two_factor_enabled?: boolean;
  organizations: Organization[];
}

export type SignInResult = { kind: "signed_in" } | { kind: "two_factor"; challenge: string };

interface AuthState {
  status: "loading" | "signed_out" | "signed_in";
  me: Me | null;
  org: Organization | null;
  selectOrg: (id: number) => void;
  signIn: (email: string, password: string) => Promise<SignInResult>;
  verifyTwoFactor: (challenge: string, code: string) => Promise<void>;
  signOut: () => Promise<void>;
  reloadMe: () => Promise<void>;
  api: ApiClient;
}

const AuthContext = createContext<AuthState | null>(null);
const ORG_KEY = "gptapi.org";
/**
 * Set while this browser has a session, so a visitor who never signed in is not sent through a refresh that can
 * only fail (a 401 the console reports). The refresh token itself stays in its httpOnly cookie.
 */
const SESSION_HINT = "gptapi.session";
/** Where a browser may arrive already signed in without the hint: after OAuth, from an e-mailed link. */
const SIGNED_IN_LANDINGS = /^\/(dashboard|admin|invite|signin)(\/|$)/;

function mayHaveSession(): boolean {
  try {
    return localStorage.getItem(SESSION_HINT) === "1" || SIGNED_IN_LANDINGS.test(window.location.pathname);
  } catch {
    return true;
  }
}

function hintSession(on: boolean) {
  try {
    if (on) localStorage.setItem(SESSION_HINT, "1");
    else localStorage.removeItem(SESSION_HINT);
  } catch {
    // Storage blocked: every load tries a refresh instead.
  }
}

/**
 * The signed-in user. On start it tries a silent refresh (the httpOnly cookie, if any): a reload keeps the user
 * signed in although the access token lives only in memory. A refresh refused because the refresh token was
 * reused (a stolen copy) signs out here too and says why.
 */
export function AuthProvider({ children, client = defaultApi }: { children: ReactNode; client?: ApiClient }) {
  const queries = useQueryClient();
  const [status, setStatus] = useState<AuthState["status"]>("loading");
  const [me, setMe] = useState<Me | null>(null);
  const [orgId, setOrgId] = useState<number | null>(() => {
    const saved = Number(localStorage.getItem(ORG_KEY));
    return Number.isSafeInteger(saved) && saved > 0 ? saved : null;
  });

  const signedOutLocally = useCallback(() => {
    hintSession(false);
    client.forget();
    setMe(null);
    setStatus("signed_out");
    queries.clear();
  }, [client, queries]);

  const reloadMe = useCallback(async () => {
    const answer = await client.get<Me>("/api/me");
    hintSession(true);
    setMe(answer);
    setStatus("signed_in");
  }, [client]);

  const startSession = useCallback(
    async (answer: SignedIn) => {
      client.accept(answer);
      await reloadMe();
    },
    [client, reloadMe],
  );

  useEffect(() => {
    client.onSignedOut = (err: ApiError) => {
      signedOutLocally();
      toast(err.code === "session_revoked" ? "bad" : "warn", "Signed out", err.message === "Not signed in." ? "Your session ended. Please sign in again." : err.message);
    };
    let cancelled = false;
    if (!mayHaveSession()) {
      setStatus("signed_out");
      return;
    }
    client
      .refresh()
      .then((ok) => (ok && !cancelled ? reloadMe() : !cancelled && setStatus("signed_out")))
      .catch(() => !cancelled && setStatus("signed_out"))
      .then(() => !cancelled && !client.signedIn && hintSession(false));
    return () => {
      cancelled = true;
    };
  }, [client, reloadMe, signedOutLocally]);

  const signIn = useCallback(
    async (email: string, password: string): Promise<SignInResult> => {
      const answer = await client.post<SignedIn & { two_factor_required?: boolean; challenge?: string }>(
        "/api/auth/signin",
        { email, password },
        { auth: false },
      );
      if (answer.two_factor_required && answer.challenge) {
        return { kind: "two_factor", challenge: answer.challenge };
      }
      await startSession(answer);
      return { kind: "signed_in" };
    },
    [client, startSession],
  );

  const verifyTwoFactor = useCallback(
    async (challenge: string, code: string) => {
      const answer = await client.post<SignedIn>("/api/auth/2fa/verify", { challenge, code }, { auth: false });
      await startSession(answer);
    },
    [client, startSession],
  );

  const signOut = useCallback(async () => {
    try {
      await client.post("/api/auth/signout");
    } finally {
      signedOutLocally();
    }
  }, [client, signedOutLocally]);

  const selectOrg = useCallback((id: number) => {
    localStorage.setItem(ORG_KEY, String(id));
    setOrgId(id);
  }, []);

  const org = useMemo(() => {
    const orgs = me?.organizations ?? [];
    return orgs.find((o) => o.id === orgId) ?? orgs[0] ?? null;
  }, [me, orgId]);

  const value = useMemo<AuthState>(
    () => ({ status, me, org, selectOrg, signIn, verifyTwoFactor, signOut, reloadMe, api: client }),
    [status, me, org, selectOrg, signIn, verifyTwoFactor, signOut, reloadMe, client],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error("useAuth outside AuthProvider");
  return state;
}
