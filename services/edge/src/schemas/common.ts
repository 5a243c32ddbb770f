import { ERROR_CODES } from "@clinic/platform/errors";
import { Type, type SchemaOptions, type Static, type TArray, type TOptional, type TProperties, type TSchema, type TString, type TUnsafe } from "@sinclair/typebox";

/**
 * Building blocks shared by every resource. Conventions of the public API: camelCase fields,
 * times as RFC 3339 strings in UTC, enums as lower-case strings, unknown fields rejected.
 */

/** A reference to a schema registered with `addSchema`, typed as the schema it points to. */
export function ref<T extends TSchema>(schema: T, options: SchemaOptions = {}): TUnsafe<Static<T>> {
  if (!schema.$id) throw new Error("ref() needs a schema with an $id");
  return Type.Unsafe<Static<T>>({ ...options, $ref: `${schema.$id}#` });
}

/** A closed string enum: one `enum` keyword, so a bad value gives one clear error. */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: "string", enum: [...values] });
}

export const Uuid = (options: SchemaOptions = {}) => Type.String({ format: "uuid", ...options });

/** An instant, RFC 3339 with an offset; answers always use UTC (`Z`). */
export const DateTime = (options: SchemaOptions = {}) => Type.String({ format: "date-time", ...options });

export const PageSize = Type.Integer({
  minimum: 1,
  maximum: 100,
  description: "Items per page, 1..100 (default 20).",
});

export const PageToken = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: "The `nextPageToken` of the previous page.",
});

/** Options of a schema the document names (`components.schemas`): its `$id` and title, closed. */
export const named = (name: string) => ({ $id: name, title: name, additionalProperties: false }) as const;

/** Options of an inline schema (params, queries, bodies): unknown fields are refused. */
export const closed = { additionalProperties: false } as const;

/** Path parameters holding one id, e.g. `{ doctorId }`. */
export const idParams = <K extends string>(name: K) => Type.Object({ [name]: Uuid() } as Record<K, ReturnType<typeof Uuid>>, closed);

/** The query fields of every paginated list. */
export const pageQueryFields = () => ({ pageSize: Type.Optional(PageSize), pageToken: Type.Optional(PageToken) });

/** Ids of a batch read, repeated (`ids=a&ids=b`) or comma-separated. */
export const UuidList = (description: string) => Type.Array(Uuid(), { minItems: 1, maxItems: 100, description });

/** A stored resource: its id first, then its own fields, then when it was created and last changed. */
export function resourceSchema<P extends TProperties>(name: string, fields: P) {
  return Type.Object({ id: Uuid(), ...fields, createTime: DateTime(), updateTime: DateTime() }, named(name));
}

/** One page of a list: the items under `key`, and the token of the next page. */
export function pageSchema<K extends string, T extends TSchema>(name: string, key: K, item: T) {
  const properties = {
    [key]: Type.Array(ref(item)),
    nextPageToken: Type.Optional(Type.String({ description: "Absent on the last page." })),
  } as Record<K, TArray<TUnsafe<Static<T>>>> & { nextPageToken: TOptional<TString> };
  return Type.Object(properties, named(name));
}

/** A whole list, no pages: the items under `key`. */
export function listSchema<K extends string, T extends TSchema>(name: string, key: K, item: T) {
  return Type.Object({ [key]: Type.Array(ref(item)) } as Record<K, TArray<TUnsafe<Static<T>>>>, named(name));
}

export const FieldViolationSchema = Type.Object(
  {
    field: Type.String({ description: "Path of the offending field, e.g. `patientContact` or `weekdays[2]`." }),
    message: Type.String(),
  },
  { additionalProperties: false },
);

/** The one shape of every error answer. */
export const ErrorSchema = Type.Object(
  {
    error: Type.Object(
      {
        // The platform's one list of codes, so a client generated from this document knows them all.
        code: StringEnum(ERROR_CODES, {
          description: "Machine-readable reason, stable across releases, e.g. `SLOT_FULL`, `VALIDATION_FAILED`.",
        }),
        message: Type.String({ description: "Human-readable explanation; not meant to be parsed." }),
        details: Type.Array(FieldViolationSchema),
        info: Type.Optional(
          Type.Record(Type.String(), Type.String(), {
            description: "Facts about the error a client acts on, by name, e.g. `cancelDeadline` of `CANCELLATION_TOO_LATE`.",
          }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { $id: "Error", title: "Error", additionalProperties: false },
);
export type ErrorBody = Static<typeof ErrorSchema>;

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request: malformed JSON or a field that fails validation (`VALIDATION_FAILED`, with `details`).",
  404: "The resource does not exist.",
  409: "The resource's current state forbids the operation.",
  413: "The body is larger than the configured limit.",
  415: "The body is not `application/json`.",
  422: "Well-formed, but cannot be applied as stated.",
  503: "A backend service is unavailable; retry later.",
  504: "A backend service did not answer in time.",
};

/** Response schemas for the listed error statuses plus the ones any route can answer. */
export function errorResponses(...statuses: number[]): Record<string, TSchema> {
  const all = new Set([400, ...statuses, 503, 504]);
  const out: Record<string, TSchema> = {};
  for (const status of [...all].sort()) {
    out[String(status)] = ref(ErrorSchema, { description: ERROR_DESCRIPTIONS[status] ?? "Error" });
  }
  out["5xx"] = ref(ErrorSchema, { description: "Unexpected server error." });
  return out;
}

/** For routes whose body is JSON: the parsing errors they can answer. */
export const bodyErrors = [413, 415];

/** A timestamp every answer must carry; its absence is a backend bug, answered 500. */
export function iso(value: Date | undefined, what: string): string {
  if (!value) throw new Error(`backend answer without ${what}`);
  return value.toISOString();
}

export const optionalIso = (value: Date | undefined): string | undefined => value?.toISOString();
