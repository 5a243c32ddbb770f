import { Type, type Static } from "@sinclair/typebox";
import { DateTime, StringEnum, Uuid, closed, named, pageQueryFields, ref } from "../schemas/common";
import type { AccountRow } from "./accounts";
import { ROLES } from "@clinic/platform/auth";

const Email = Type.String({ format: "email", maxLength: 254, description: "Case-insensitive; unique." });
const Password = Type.String({ minLength: 12, maxLength: 200, description: "12 to 200 characters." });
const RefreshToken = Type.String({ minLength: 1, maxLength: 512, description: "The opaque `refreshToken` of a token answer." });

export const AccountSchema = Type.Object(
  {
    id: Uuid(),
    email: Type.String(),
    role: StringEnum(ROLES),
    doctorId: Type.Optional(Uuid({ description: "Set for doctor accounts: the doctor record they act for." })),
    createTime: DateTime(),
  },
  named("Account"),
);
export type AccountJson = Static<typeof AccountSchema>;

export const TokenPairSchema = Type.Object(
  {
    accessToken: Type.String({ description: "ES256 JWT; send as `Authorization: Bearer ...`." }),
    tokenType: Type.Literal("Bearer"),
    expiresIn: Type.Integer({ description: "Seconds until the access token expires." }),
    refreshToken: Type.String({ description: "Opaque, single use: each refresh answers a new one." }),
  },
  named("TokenPair"),
);

export const JwksSchema = Type.Object(
  {
    keys: Type.Array(
      Type.Object({
        kty: Type.String(),
        crv: Type.String(),
        x: Type.String(),
        y: Type.String(),
        kid: Type.String(),
        alg: Type.String(),
        use: Type.Literal("sig"),
      }),
    ),
  },
  { title: "JsonWebKeySet" },
);

export const RegisterBody = Type.Object(
  { email: Email, password: Password },
  { title: "RegisterRequest", additionalProperties: false },
);

export const TokenBody = Type.Object(
  // No length rules on sign-in: a too-short password simply does not match.
  { email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 200 }) },
  { title: "TokenRequest", additionalProperties: false },
);

export const CreateAccountBody = Type.Object(
  {
    email: Email,
    password: Password,
    role: StringEnum(["doctor", "admin"] as const, { description: "Patients register themselves." }),
    doctorId: Type.Optional(Uuid({ description: "Required for doctor accounts: the doctor record the account acts for." })),
  },
  { title: "CreateAccountRequest", additionalProperties: false },
);

export const AuditEventSchema = Type.Object(
  {
    id: Uuid(),
    time: DateTime(),
    actorAccountId: Uuid(),
    actorRole: Type.String(),
    action: Type.String({ description: "The operation, e.g. `deleteDoctor`." }),
    method: Type.String(),
    path: Type.String({ description: "The route pattern, e.g. `/api/v1/doctors/:doctorId`." }),
    target: Type.Record(Type.String(), Type.String(), { description: "The path parameters of the request." }),
    statusCode: Type.Integer(),
    requestId: Type.String(),
    clientIp: Type.String(),
  },
  named("AuditEvent"),
);

export const AuditEventPageSchema = Type.Object(
  {
    events: Type.Array(ref(AuditEventSchema)),
    nextPageToken: Type.Optional(Type.String()),
  },
  named("AuditEventPage"),
);

export const AuditEventQuery = Type.Object(
  pageQueryFields(),
  closed,
);

export const RefreshBody = Type.Object({ refreshToken: RefreshToken }, { title: "RefreshRequest", additionalProperties: false });

export function accountJson(row: AccountRow): AccountJson {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    ...(row.doctor_id ? { doctorId: row.doctor_id } : {}),
    createTime: row.created_at.toISOString(),
  };
}
