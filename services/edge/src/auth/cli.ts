import { databaseConfigSchema, loadConfigOrExit } from "@clinic/platform/config";
import { createDatabase, databaseSettingsFrom, migrateLatest, type Knex } from "@clinic/platform/db";
import { z } from "zod";
import { migrations } from "../../migrations";
import { EmailTakenError, createAccount } from "./accounts";
import { rotateKeys } from "./keys";

const USAGE = `usage:
  node services/edge/dist/src/auth/cli.js rotate-keys
      A new signing key signs from now on; older keys keep verifying until their tokens expire.
  node services/edge/dist/src/auth/cli.js create-admin --email E
      Creates an admin account; the password comes from ADMIN_PASSWORD or, if unset, stdin.
Both read the edge's settings (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, ...).
`;

class UsageError extends Error {}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline (from `echo` or a heredoc) is not part of the password.
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

function optionValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

async function run(db: Knex, command: string, args: readonly string[]): Promise<string> {
  switch (command) {
    case "rotate-keys": {
      const { kid, retired } = await rotateKeys(db);
      return `new signing key ${kid}; retired: ${retired.length > 0 ? retired.join(", ") : "none"}`;
    }
    case "create-admin": {
      const email = optionValue(args, "--email");
      if (!email || !/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError("create-admin needs --email with an e-mail address");
      const password = process.env["ADMIN_PASSWORD"] || (await readStdin());
      if (password.length < 12 || password.length > 200) throw new UsageError("the password must have 12 to 200 characters");
      try {
        const account = await createAccount(db, { email, password, role: "admin" });
        return `admin account ${account.id} created for ${account.email}`;
      } catch (err) {
        if (err instanceof EmailTakenError) throw new UsageError(err.message);
        throw err;
      }
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === "--help" || command === "-h") {
    process.stdout.write(USAGE);
    return command ? 0 : 64;
  }
  // Only the database settings: the commands need neither Redis nor the backends.
  const database = loadConfigOrExit(databaseConfigSchema.extend({ PGDATABASE: z.string().default("clinic_edge") }), "edge auth");
  const db = createDatabase(databaseSettingsFrom(database, { database: database.PGDATABASE, applicationName: "edge-cli" }));
  try {
    await migrateLatest(db, migrations);
    process.stdout.write(`${await run(db, command, args)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`edge auth: ${err.message}\n${USAGE}`);
      return 64; // EX_USAGE
    }
    throw err;
  } finally {
    await db.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`edge auth: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
