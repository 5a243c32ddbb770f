import { ConfigError } from "@clinic/platform/config";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadTokenConfig, pgSettings } from "./config";
import { EdgeTarget } from "./modes/edge";
import { checkPatientToken, signInAdmin, signOut, TokenMinter } from "./tokens";

// A command-line tool: console is its output.
/* eslint-disable no-console */

const USAGE = `usage: node loadtest/dist/write-tokens.js --out FILE [--patients N]
  Mints N patient access tokens (default 10000) with the edge's active signing key and writes
  them as JSON for loadtest/k6/booking.js (-e TOKENS_FILE=FILE). Needs the stack's settings:
  EDGE_URL, ADMIN_EMAIL, ADMIN_PASSWORD, PGHOST, PGPORT, PGUSER, PGPASSWORD, CLINIC_DB_EDGE
  (set -a; . "$CLINIC_STATE_DIR/stack.env"; set +a). The file holds bearer tokens: keep it private.
`;

/** What k6 reads: one entry per patient, each its own account id and token. */
interface TokensFile {
  issuer: string;
  audience: string;
  kid: string;
  createdAt: string;
  patients: { id: string; token: string }[];
}

async function main(): Promise<number> {
  let values: { out?: string; patients?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { out: { type: "string" }, patients: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
    }));
  } catch (err) {
    console.error(`write-tokens: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const count = Number(values.patients ?? 10_000);
  if (!values.out || !Number.isInteger(count) || count < 1) {
    console.error(`write-tokens: --out is required and --patients must be a positive integer\n${USAGE}`);
    return 2;
  }

  const config = loadTokenConfig();
  const edge = new EdgeTarget(config.EDGE_URL, 2);
  try {
    const admin = await signInAdmin(edge, config.ADMIN_EMAIL, config.ADMIN_PASSWORD);
    // Only the edge's token settings were needed from this sign-in.
    await signOut(edge, admin);
    const minter = await TokenMinter.fromEdgeDatabase(pgSettings(config), config.CLINIC_DB_EDGE, admin.settings);
    const patients = await minter.patients(count);
    await checkPatientToken(edge, patients[0]!);
    const file: TokensFile = {
      issuer: admin.settings.issuer,
      audience: admin.settings.audience,
      kid: minter.kid,
      createdAt: new Date().toISOString(),
      patients: patients.map((p) => ({ id: p.id, token: p.authorization.replace(/^Bearer /, "") })),
    };
    writeFileSync(values.out, `${JSON.stringify(file)}\n`, { mode: 0o600 });
    console.log(`write-tokens: ${count} patient tokens (key ${minter.kid}) in ${values.out}`);
    return 0;
  } finally {
    await edge.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`write-tokens: ${err.message}\n${USAGE}`);
      process.exitCode = 78;
      return;
    }
    console.error(`write-tokens: failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
