import type { Migration } from "@clinic/platform";
import { createAccountsAndTokens } from "./20261201090000_create_accounts_and_tokens";

/** Every migration of the edge's own database (accounts and tokens), in order. */
export const migrations: readonly Migration[] = [createAccountsAndTokens];
