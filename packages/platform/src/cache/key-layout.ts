import { createHash, randomBytes } from "node:crypto";

/**
 * How the cache lays out Redis: a tombstone marks an invalidated key (a value never starts with
 * it), a list namespace has a generation key whose token is part of every entry's key, and
 * in-process flights of list reads are keyed so a generation change can forget them all.
 */
export const TOMBSTONE = "\u0000invalidated:";
export const isTombstone = (raw: string): boolean => raw.startsWith(TOMBSTONE);
export const freshToken = (): string => `${Date.now().toString(36)}${randomBytes(6).toString("hex")}`;

export const GENERATION_SUFFIX = ":gen";
export const generationKey = (namespace: string): string => `${namespace}${GENERATION_SUFFIX}`;
export const listFlightPrefix = (namespace: string): string => `list\u0000${namespace}\u0000`;
export const queryHash = (query: string): string => createHash("sha256").update(query).digest("base64url").slice(0, 22);
