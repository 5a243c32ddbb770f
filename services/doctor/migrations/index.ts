import type { Migration } from "@clinic/platform";
import { createDoctors } from "./20261130160000_create_doctors";

/** Every migration of the doctor database, in order. */
export const migrations: readonly Migration[] = [createDoctors];
