import { failureFrom } from "./errors";
import type { TokenPair } from "./types";

/**
 * Where the sign-in lives in the browser.
 *
 * - The access token is in this module's memory only: no script-readable storage holds it, and a
 *   reload starts without one.
 * - The refresh token is in `sessionStorage`: it survives a reload of this tab (and is exchanged
 *   at once for a new access token, see `accessToken()`), is gone when the tab closes, and is
 *   never sent anywhere but `/api/v1/auth/refresh` and `/logout`. It is single use: a copy taken
 *   out by an attacker and used revokes the whole sign-in at the next refresh here
 *   (`REFRESH_TOKEN_REUSED`). The page's CSP (scripts from this origin only) is what keeps
 *   script out of the page in the first place.
 */
const REFRESH_KEY = "clinic.refreshToken";
/** Refresh this long before the access token expires, so a call never leaves with a stale one. */
const REFRESH_MARGIN_MS = 60_000;

let access: { token: string; expiresAt: number } | undefined;
let inFlight: Promise<string | undefined> | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
const endListeners = new Set<(reason: string) => void>();

/** Lock and channel names shared by this origin's tabs. */
const REFRESH_LOCK = "clinic.refresh";
const CHANNEL = "clinic.tokens";
/**
 * How long a tab that got the lock waits for the previous holder's `rotated` message: the lock
 * and the channel are separate paths between tabs, so the message may land just after the lock.
 */
const ROTATION_SETTLE_MS = 100;

type TokenMessage = { kind: "rotated"; from: string; pair: TokenPair; receivedAt: number } | { kind: "signed-out"; refreshToken: string };

const channel: BroadcastChannel | undefined = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : undefined;
channel?.addEventListener("message", (event: MessageEvent<TokenMessage>) => {
  const message = event.data;
  const mine = refreshTokenOf();
  if (!mine) return;
  if (message.kind === "rotated" && message.from === mine) {
    // Another tab exchanged the token this tab holds: take its pair (the old token is spent),
    // with the time left as that tab saw it.
    const elapsedSeconds = Math.max(0, Math.floor((Date.now() - message.receivedAt) / 1000));
    adopt({ ...message.pair, expiresIn: Math.max(1, message.pair.expiresIn - elapsedSeconds) });
  } else if (message.kind === "signed-out" && message.refreshToken === mine) {
    endSession("TOKEN_REVOKED");
  }
});

const storage = (): Storage | undefined => {
  try {
    return window.sessionStorage;
  } catch {
    return undefined; // storage disabled: the sign-in lasts as long as the page
  }
};

export const hasSession = (): boolean => access !== undefined || Boolean(storage()?.getItem(REFRESH_KEY));

/** Keeps a new pair; schedules the next silent refresh. */
export function storeTokens(pair: TokenPair): void {
  adopt(pair);
}

/** A pair this tab's own refresh just got: kept, and offered to the tabs that held the old token. */
function storeRotated(from: string, pair: TokenPair): void {
  adopt(pair);
  channel?.postMessage({ kind: "rotated", from, pair, receivedAt: Date.now() } satisfies TokenMessage);
}

function adopt(pair: TokenPair): void {
  access = { token: pair.accessToken, expiresAt: Date.now() + pair.expiresIn * 1000 };
  storage()?.setItem(REFRESH_KEY, pair.refreshToken);
  clearTimeout(timer);
  const delay = Math.max(pair.expiresIn * 1000 - REFRESH_MARGIN_MS, 5_000);
  // Browsers cap timers at ~24.8 days; tokens live far shorter than that.
  timer = setTimeout(() => void refreshTokens().catch(() => undefined), Math.min(delay, 2 ** 31 - 1));
}

/** Signing out: the other tabs of this sign-in forget it too (the API has revoked it). */
export function announceSignOut(refreshToken: string): void {
  channel?.postMessage({ kind: "signed-out", refreshToken } satisfies TokenMessage);
}

export function clearTokens(): void {
  access = undefined;
  clearTimeout(timer);
  storage()?.removeItem(REFRESH_KEY);
}

export const refreshTokenOf = (): string | undefined => storage()?.getItem(REFRESH_KEY) ?? undefined;

/** Called when the API ends the sign-in (revoked, reused or expired refresh token). */
export function onSessionEnded(listener: (reason: string) => void): () => void {
  endListeners.add(listener);
  return () => endListeners.delete(listener);
}

export function endSession(reason: string): void {
  clearTokens();
  for (const listener of endListeners) listener(reason);
}

/** `work` while holding the origin-wide refresh lock (just `work` where Web Locks are missing). */
function underRefreshLock<T>(work: () => Promise<T>): Promise<T> {
  if (typeof navigator !== "undefined" && navigator.locks) return navigator.locks.request(REFRESH_LOCK, work) as Promise<T>; // the lock answers what work answers
  return work();
}

/**
 * Exchanges the refresh token for a new pair, once at a time in this tab and across the tabs of
 * the origin: two refreshes with the same single-use token would look like theft to the API and
 * revoke the sign-in.
 */
export function refreshTokens(): Promise<string | undefined> {
  const before = refreshTokenOf();
  inFlight ??= underRefreshLock(async () => {
    await new Promise((settled) => setTimeout(settled, ROTATION_SETTLE_MS));
    const refreshToken = refreshTokenOf();
    if (!refreshToken) return undefined;
    // Another tab refreshed meanwhile and this one took its pair: nothing to exchange.
    if (refreshToken !== before && access && access.expiresAt - Date.now() > REFRESH_MARGIN_MS / 2) return access.token;
    const response = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refreshToken }),
    });
    const body: unknown = await response.json().catch(() => undefined);
    if (response.ok) {
      storeRotated(refreshToken, body as TokenPair);
      return access?.token;
    }
    const failure = failureFrom(response, body);
    // A refusal of the token itself ends the sign-in; anything else (429, 503) may pass.
    if (response.status === 401) endSession(failure.code);
    throw failure;
  }).finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

/** A valid access token, refreshed silently when it is about to expire; undefined when signed out. */
export async function accessToken(): Promise<string | undefined> {
  if (access && access.expiresAt - Date.now() > REFRESH_MARGIN_MS / 2) return access.token;
  if (!refreshTokenOf()) return undefined;
  return refreshTokens();
}
