import { z } from "zod";

/** A configuration value was missing or invalid; the message names every offending variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses environment variables against a zod schema. Every problem is reported at once, by
 * variable name, so an operator fixes a broken deployment in one round trip. Values are never
 * echoed back: they may be secrets.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  // Empty strings are treated as unset so `FOO=` cannot silently become a valid empty value.
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") cleaned[key] = value;
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.map(String).join(".") || "(environment)";
    return issue.code === "invalid_type" && issue.input === undefined
      ? `${name}: required but not set`
      : `${name}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}

/** For `main.ts`: parse once at start; on failure print what is wrong and exit non-zero. */
export function loadConfigOrExit<S extends z.ZodType>(schema: S, serviceName: string): z.output<S> {
  try {
    return parseConfig(schema, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${serviceName}: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
