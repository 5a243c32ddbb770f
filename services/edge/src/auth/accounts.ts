import type { Role } from "@clinic/platform/auth";
import type { Knex } from "@clinic/platform/db";
import { hashPassword } from "./password";

export interface AccountRow {
  id: string;
  email: string;
  password_hash: string;
  role: Role;
  doctor_id: string | null;
  created_at: Date;
}

export class EmailTakenError extends Error {
  constructor() {
    super("an account with this e-mail already exists");
    this.name = "EmailTakenError";
  }
}

const isUniqueViolation = (err: unknown): boolean =>
  typeof err === "object" && err !== null && (err as { code?: unknown }).code === "23505";

/** Creates an account; the password is hashed here and never stored or logged in clear. */
export async function createAccount(
  db: Knex,
  input: { email: string; password: string; role: Role; doctorId?: string },
): Promise<AccountRow> {
  const passwordHash = await hashPassword(input.password);
  try {
    const [row] = (await db("accounts")
      .insert({ email: input.email, password_hash: passwordHash, role: input.role, doctor_id: input.doctorId ?? null })
      .returning("*")) as AccountRow[];
    if (!row) throw new Error("insert returned no row");
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw new EmailTakenError();
    throw err;
  }
}

export async function findAccountByEmail(db: Knex, email: string): Promise<AccountRow | undefined> {
  return db<AccountRow>("accounts").whereRaw("lower(email) = lower(?)", [email]).first();
}

export async function findAccount(db: Knex, id: string): Promise<AccountRow | undefined> {
  return db<AccountRow>("accounts").where({ id }).first();
}

/**
 * The first admin, from BOOTSTRAP_ADMIN_EMAIL/PASSWORD: created only while no admin exists, so
 * changing or removing the setting later never touches accounts. Replicas starting together
 * are serialized by an advisory lock.
 */
export async function ensureBootstrapAdmin(
  db: Knex,
  email: string,
  password: string,
): Promise<"created" | "admin-exists"> {
  const passwordHash = await hashPassword(password);
  return db.transaction(async (trx) => {
    await trx.raw("SELECT pg_advisory_xact_lock(hashtext('clinic-edge-bootstrap-admin'))");
    const admin = await trx("accounts").where({ role: "admin" }).first("id");
    if (admin) return "admin-exists";
    const existing = await trx<AccountRow>("accounts").whereRaw("lower(email) = lower(?)", [email]).first("id", "role");
    if (existing) {
      throw new Error(`BOOTSTRAP_ADMIN_EMAIL names an existing ${existing.role} account; choose another e-mail`);
    }
    await trx("accounts").insert({ email, password_hash: passwordHash, role: "admin", doctor_id: null });
    return "created";
  });
}
