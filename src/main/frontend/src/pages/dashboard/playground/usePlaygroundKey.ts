import { useCallback, useEffect, useRef } from "react";
import type { ApiClient } from "@/lib/api";

export interface PlaygroundSession {
  object: "playground_session";
  key: string;
  key_id: string;
  expires_at: string;
  expires_in: number;
}

/** A key this close to its expiry is replaced before a message: a long answer must not outlive it. */
const RENEW_BEFORE_MS = 2 * 60_000;

/**
 * The Playground's credential: a short-lived, chat-only key minted by POST /api/orgs/{id}/playground/session and
 * held in memory only (never in storage), renewed when it nears its expiry, and revoked when the page is left.
 * Concurrent callers share one mint.
 */
export function usePlaygroundKey(api: ApiClient, orgId: number, now: () => number = Date.now) {
  const session = useRef<{ key: string; expiresAt: number } | null>(null);
  const minting = useRef<Promise<string> | null>(null);
  const path = `/api/orgs/${orgId}/playground/session`;

  useEffect(() => {
    session.current = null;
    minting.current = null;
    return () => {
      // Left the page (or switched organization): the key goes at once rather than at its expiry.
      if (session.current) {
        session.current = null;
        api.delete(path).catch(() => {});
      }
    };
  }, [api, path]);

  /** The key to send now, minted or renewed when needed. */
  const key = useCallback(async (): Promise<string> => {
    const current = session.current;
    if (current && current.expiresAt - now() > RENEW_BEFORE_MS) return current.key;
    if (!minting.current) {
      minting.current = api
        .post<PlaygroundSession>(path)
        .then((s) => {
          session.current = { key: s.key, expiresAt: now() + s.expires_in * 1000 };
          return s.key;
        })
        .finally(() => {
          minting.current = null;
        });
    }
    return minting.current;
  }, [api, path, now]);

  /** Forgets the key (after a 401: revoked, e.g. by a sign-out in another tab); the next call mints a new one. */
  const drop = useCallback(() => {
    session.current = null;
  }, []);

  return { key, drop };
}
