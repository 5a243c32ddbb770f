import { invalidArgument, type FieldViolation } from "../errors/errors";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Collects every problem with a request before failing, so a client learns about all bad fields
 * in one answer. Each check returns the normalized value for the handler to use.
 */
export class Validator {
  private readonly violations: FieldViolation[] = [];

  add(field: string, message: string): void {
    this.violations.push({ field, message });
  }

  uuid(field: string, value: string): string {
    if (!UUID.test(value)) this.add(field, "must be a UUID");
    return value.toLowerCase();
  }

  /** Trimmed text of bounded length; control characters are refused. */
  text(field: string, value: string, { min = 1, max }: { min?: number; max: number }): string {
    const trimmed = value.trim();
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(trimmed)) this.add(field, "must not contain control characters");
    else if (trimmed.length < min) this.add(field, min === 1 ? "is required" : `must be at least ${min} characters`);
    else if (trimmed.length > max) this.add(field, `must be at most ${max} characters`);
    return trimmed;
  }

  int(field: string, value: number, { min, max }: { min: number; max: number }): number {
    if (!Number.isInteger(value) || value < min || value > max) this.add(field, `must be an integer from ${min} to ${max}`);
    return value;
  }

  /** 0 means "the default"; anything else must be within 1..max. */
  pageSize(field: string, value: number, { fallback = 20, max = 100 } = {}): number {
    if (value === 0) return fallback;
    return this.int(field, value, { min: 1, max });
  }

  date(field: string, value: Date | undefined, { required = true } = {}): Date | undefined {
    if (value === undefined) {
      if (required) this.add(field, "is required");
      return undefined;
    }
    if (Number.isNaN(value.getTime())) this.add(field, "must be a valid timestamp");
    return value;
  }

  /** Throws INVALID_ARGUMENT listing every violation, if there is any. */
  check(): void {
    if (this.violations.length > 0) throw invalidArgument(this.violations);
  }
}

/** Opaque page tokens: base64url JSON, validated on the way back in. */
export function encodeCursor(value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

export function decodeCursor<K extends string>(
  field: string,
  token: string,
  keys: readonly K[],
): Record<K, string | number> | undefined {
  if (token === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (parsed && typeof parsed === "object" && keys.every((k) => ["string", "number"].includes(typeof (parsed as Record<string, unknown>)[k]))) {
      return parsed as Record<K, string | number>;
    }
  } catch {
    // fall through to the validation error
  }
  throw invalidArgument([{ field, message: "is not a valid page token" }]);
}
