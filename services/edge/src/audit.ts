import type { Caller } from "@clinic/platform/auth";
import type { Knex } from "@clinic/platform/db";
import { decodeCursor, encodeCursor } from "@clinic/platform/grpc";
import type { Logger } from "@clinic/platform/logging";
import { Counter, type Registry } from "prom-client";
import type { EdgeFastify } from "./type-provider";

export interface AuditEvent {
  id: string;
  at: Date;
  actorAccountId: string;
  actorRole: string;
  /** The route's operationId, e.g. `deleteDoctor`. */
  action: string;
  method: string;
  path: string;
  /** The resource ids the request named (path parameters). */
  target: Record<string, string>;
  statusCode: number;
  requestId: string;
  clientIp: string;
}

interface AuditRow {
  id: string;
  at: Date;
  actor_account_id: string;
  actor_role: string;
  action: string;
  method: string;
  path: string;
  target: Record<string, string>;
  status_code: number;
  request_id: string;
  client_ip: string;
}

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Admin actions, in the edge database; an operator reviews them at `/api/v1/admin/audit-events`. */
export class AuditLog {
  constructor(private readonly db: Knex) {}

  async record(event: Omit<AuditEvent, "id" | "at">): Promise<void> {
    await this.db("audit_events").insert({
      actor_account_id: event.actorAccountId,
      actor_role: event.actorRole,
      action: event.action,
      method: event.method,
      path: event.path,
      target: JSON.stringify(event.target),
      status_code: event.statusCode,
      request_id: event.requestId,
      client_ip: event.clientIp,
    });
  }

  /** Newest first, cursor paginated on (at, id). */
  async list(page: { pageSize: number; pageToken: string }): Promise<{ events: AuditEvent[]; nextPageToken: string }> {
    const cursor = decodeCursor("pageToken", page.pageToken, ["at", "id"] as const);
    const query = this.db<AuditRow>("audit_events")
      .orderBy([
        { column: "at", order: "desc" },
        { column: "id", order: "desc" },
      ])
      .limit(page.pageSize + 1);
    if (cursor) query.whereRaw("(at, id) < (?::timestamptz, ?::uuid)", [String(cursor.at), String(cursor.id)]);
    const rows = await query;
    const more = rows.length > page.pageSize;
    const events = rows.slice(0, page.pageSize).map(toEvent);
    const last = events.at(-1);
    return {
      events,
      nextPageToken: more && last ? encodeCursor({ at: last.at.toISOString(), id: last.id }) : "",
    };
  }
}

const toEvent = (row: AuditRow): AuditEvent => ({
  id: row.id,
  at: row.at,
  actorAccountId: row.actor_account_id,
  actorRole: row.actor_role,
  action: row.action,
  method: row.method,
  path: row.path,
  target: row.target,
  statusCode: row.status_code,
  requestId: row.request_id,
  clientIp: row.client_ip,
});

/**
 * Records every state-changing API request an admin makes that passed validation, whatever its
 * outcome (a malformed request never became an action). The record is written once the answer is
 * decided and before it is sent (`onSend`): an admin or auditor reading the log right after an
 * answer finds the action in it, and a process that dies after answering has already recorded it.
 * A failed write is logged and counted but never changes the answer; the log line carries the same
 * fields, so nothing is lost silently.
 */
export function registerAuditLog(app: EdgeFastify, audit: AuditLog, logger: Logger, registry: Registry): void {
  const failures = new Counter({
    name: "audit_write_failures_total",
    help: "Admin actions whose audit record could not be written",
    registers: [registry],
  });
  // Requests that got past validation and the access checks (preHandler runs after both).
  const reachedHandler = new WeakSet<object>();
  app.addHook("preHandler", async (request) => {
    reachedHandler.add(request);
  });
  app.addHook("onSend", async (request, reply, payload) => {
    // A 400 from the handler or a backend is a validation failure too: nothing was done.
    if (!reachedHandler.has(request) || reply.statusCode === 400) return payload;
    // Null when the request failed before the access hook ran (a malformed URL, say).
    const caller = request.caller as Caller | null;
    if (caller?.kind !== "account" || caller.role !== "admin" || READ_METHODS.has(request.method)) return payload;
    const schema = request.routeOptions.schema as { operationId?: string } | undefined;
    if (!request.routeOptions.config.access || !schema?.operationId) return payload;
    const event = {
      actorAccountId: caller.accountId,
      actorRole: caller.role,
      action: schema.operationId,
      method: request.method,
      path: request.routeOptions.url ?? "",
      target: { ...(request.params as Record<string, string>) },
      statusCode: reply.statusCode,
      requestId: request.id,
      clientIp: request.ip,
    };
    logger.info({ audit: event }, "admin action");
    try {
      await audit.record(event);
    } catch (err) {
      failures.inc();
      logger.error({ err, audit: event }, "audit record not written");
    }
    return payload;
  });
}
