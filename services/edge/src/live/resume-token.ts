import { createHash } from "node:crypto";
import type { SlotState } from "./seat-state";

/**
 * The SSE `id:` of every message: what this client has been sent so far, for every slot of its
 * stream, so a reconnect (`Last-Event-ID`) is answered with only what changed since. It is state,
 * not a counter: any replica can resume any client's stream, after restarts too, without sharing
 * anything. Shape: `1.<list hash>.<entry>,<entry>,…` with one entry per slot in the stream's order
 * (`capacity~held` in base 36, `-` for a missing slot, empty when nothing was sent yet). The hash
 * of the slot list makes a token from another stream read as no token at all. Opaque to clients.
 */
const VERSION = "1";
const RADIX = 36;
const ENTRY = /^([0-9a-z]{1,8})~([0-9a-z]{1,8})$/;
/** Far above what any stream's token needs (50 slots take ~500 characters); longer is garbage. */
const MAX_TOKEN_LENGTH = 8_192;

/** A short fingerprint of a stream's slot list. */
export function listHash(slotIds: readonly string[]): string {
  return createHash("sha256").update(slotIds.join(",")).digest("base64url").slice(0, 10);
}

/** The token for `sent` (what the client has), over `slotIds` in the stream's order. */
export function encodeResumeToken(slotIds: readonly string[], hash: string, sent: ReadonlyMap<string, SlotState>): string {
  const entries = slotIds.map((id) => {
    const state = sent.get(id);
    if (!state) return "";
    if (state.kind === "missing") return "-";
    return `${state.seats.capacity.toString(RADIX)}~${state.seats.held.toString(RADIX)}`;
  });
  return `${VERSION}.${hash}.${entries.join(",")}`;
}

/**
 * What a token says the client has; empty when the token is absent, malformed or from another
 * slot list (the client then gets everything, as on a first connect).
 */
export function decodeResumeToken(token: string | undefined, slotIds: readonly string[], hash: string): Map<string, SlotState> {
  const known = new Map<string, SlotState>();
  if (!token || token.length > MAX_TOKEN_LENGTH) return known;
  const [version, tokenHash, body, ...rest] = token.split(".");
  if (version !== VERSION || tokenHash !== hash || body === undefined || rest.length > 0) return known;
  const entries = body.split(",");
  if (entries.length !== slotIds.length) return known;
  for (const [i, entry] of entries.entries()) {
    const slotId = slotIds[i]!;
    if (entry === "") continue;
    if (entry === "-") {
      known.set(slotId, { kind: "missing", slotId });
      continue;
    }
    const match = ENTRY.exec(entry);
    if (!match) return new Map();
    const capacity = parseInt(match[1]!, RADIX);
    const held = parseInt(match[2]!, RADIX);
    known.set(slotId, { kind: "seats", seats: { slotId, capacity, held, remaining: Math.max(0, capacity - held) } });
  }
  return known;
}
