import type { Migration } from "@clinic/platform";
import { createSlots } from "./20261130170000_create_slots";

/** Every migration of the slot database, in order. */
export const migrations: readonly Migration[] = [createSlots];
