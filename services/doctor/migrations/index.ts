import type { Migration } from "@clinic/platform/db";
import { createDoctors } from "./20261130160000_create_doctors";
import { createOutbox } from "./20261130190000_create_outbox";

/** Every migration of the doctor database, in order. */
export const migrations: readonly Migration[] = [createDoctors, createOutbox];
