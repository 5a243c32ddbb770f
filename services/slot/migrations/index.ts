import type { Migration } from "@clinic/platform/db";
import { createSlots } from "./20261130170000_create_slots";
import { createOutbox } from "./20261130190000_create_outbox";

/** Every migration of the slot database, in order. */
export const migrations: readonly Migration[] = [createSlots, createOutbox];
