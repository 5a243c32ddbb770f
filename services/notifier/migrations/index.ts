import type { Migration } from "@clinic/platform/db";
import { createNotifierTables } from "./20261201090000_create_notifier_tables";

/** Every migration of the notifier database, in order. */
export const migrations: readonly Migration[] = [createNotifierTables];
