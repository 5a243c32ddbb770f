import type { Migration } from "@clinic/platform/db";
import { createAccountsAndTokens } from "./20261201090000_create_accounts_and_tokens";
import { createAuditEvents } from "./20261202090000_create_audit_events";

/** Every migration of the edge's own database (accounts, tokens, audit log), in order. */
export const migrations: readonly Migration[] = [createAccountsAndTokens, createAuditEvents];
