import type { BookingConfig } from "./config";

/** A BOOKING_SHARDS entry: `host:port/database`, or a database name on PGHOST:PGPORT. */
export function shardConnection(config: Pick<BookingConfig, "PGHOST" | "PGPORT">, entry: string): { host: string; port: number; database: string } {
  const match = /^([^\s/:]+):(\d+)\/(.+)$/.exec(entry);
  return match
    ? { host: match[1]!, port: Number(match[2]), database: match[3]! }
    : { host: config.PGHOST, port: config.PGPORT, database: entry };
}
