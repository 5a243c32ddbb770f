import { SingleFlight } from "@clinic/platform/single-flight";

/** How long a "not revoked" answer is trusted: a logout on another replica takes this long to bite. */
const ACTIVE_TTL_MS = 5_000;
/** Entries kept at most; past it the cache starts over (it is only a shortcut to the database). */
const MAX_ENTRIES = 100_000;

/**
 * Revocation status of sign-ins (refresh-token families) by `sid`, read from the database and
 * remembered briefly, so checking every request's token costs a query at most every few seconds
 * per active sign-in. A revocation is permanent, so "revoked" is remembered for good.
 */
export class SessionStatusCache {
  private readonly entries = new Map<string, { revoked: boolean; at: number }>();
  private readonly lookups = new SingleFlight<string, boolean>();

  constructor(
    private readonly lookup: (sid: string) => Promise<boolean>,
    private readonly now: () => number = Date.now,
  ) {}

  async isRevoked(sid: string): Promise<boolean> {
    const entry = this.entries.get(sid);
    if (entry && (entry.revoked || this.now() - entry.at < ACTIVE_TTL_MS)) return entry.revoked;
    const revoked = await this.lookups.run(sid, () => this.lookup(sid));
    this.remember(sid, revoked);
    return revoked;
  }

  /** This replica revoked the sign-in itself: it stops honouring its tokens at once. */
  markRevoked(sid: string): void {
    this.remember(sid, true);
  }

  private remember(sid: string, revoked: boolean): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(sid, { revoked, at: this.now() });
  }
}
