import { z } from "zod";

/** Reusable field schemas so every service spells its settings the same way. */
export const env = {
  port: () => z.coerce.number().int().min(0).max(65535),
  positiveInt: () => z.coerce.number().int().positive(),
  nonNegativeInt: () => z.coerce.number().int().min(0),
  bool: () =>
    z
      .enum(["true", "false", "1", "0", "yes", "no"])
      .transform((v) => v === "true" || v === "1" || v === "yes"),
  logLevel: () => z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
  /** Comma-separated list of non-empty items. */
  list: () =>
    z
      .string()
      .transform((v) => v.split(",").map((s) => s.trim()))
      .pipe(z.array(z.string().min(1)).min(1)),
  hostPort: () => z.string().regex(/^[^\s:]+:\d{1,5}$/, "expected host:port"),
};
