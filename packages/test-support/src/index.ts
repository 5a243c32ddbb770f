import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { createDatabase, createLogger, type Knex, type Logger } from "@clinic/platform";

/**
 * A setting of the test stack that `scripts/test` exports. Missing means the tests were started
 * some other way; say how to start them rather than fail obscurely later.
 */
export function stackEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts the test stack`);
  }
  return value;
}

export const testLogger = (service = "test"): Logger =>
  createLogger({ service, level: process.env["TEST_LOG_LEVEL"] ?? "silent" });

/** Connection settings for a database of the test stack's PostgreSQL. */
export function databaseSettings(database: string) {
  return {
    host: stackEnv("PGHOST"),
    port: Number(stackEnv("PGPORT")),
    user: stackEnv("PGUSER"),
    password: stackEnv("PGPASSWORD"),
    database,
    poolMin: 0,
    poolMax: 10,
    statementTimeoutMs: 10_000,
    applicationName: "test",
  };
}

export interface ScratchDatabase {
  name: string;
  knex: Knex;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/**
 * A new, empty database for one test file, so tests never see each other's rows and can run in
 * parallel. The stack's `clinic` role has CREATEDB.
 */
export async function createScratchDatabase(prefix: string): Promise<ScratchDatabase> {
  const name = `t_${prefix.replace(/[^a-z0-9_]/g, "_")}_${randomBytes(4).toString("hex")}`;
  const admin = createDatabase({ ...databaseSettings("postgres"), poolMax: 1 });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  const knex = createDatabase(databaseSettings(name));
  return {
    name,
    knex,
    drop: async () => {
      await knex.destroy();
      const cleanup = createDatabase({ ...databaseSettings("postgres"), poolMax: 1 });
      try {
        await cleanup.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleanup.destroy();
      }
    },
  };
}

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  // Below the kernel's ephemeral range (32768-60999 here): a port handed out from that range can
  // be taken by any outgoing connection (to PostgreSQL, Kafka, ...) between this probe and the
  // test's own bind; a random one below it is only ever taken by another listener.
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = FREE_PORT_LOW + Math.floor(Math.random() * (FREE_PORT_HIGH - FREE_PORT_LOW));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found between ${FREE_PORT_LOW} and ${FREE_PORT_HIGH} in 50 tries`);
}

const FREE_PORT_LOW = 20_000;
const FREE_PORT_HIGH = 32_768;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Polls until `check` returns a value (not undefined) or the timeout passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
export * from "./redis-server";
export * from "./test-issuer";
export * from "./browser";
export * from "./accessibility";
