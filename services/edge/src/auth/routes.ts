import { access } from "../access";
import type { FastifyReply } from "fastify";
import { ApiError } from "../errors";
import { ErrorSchema, bodyErrors, errorResponses, ref } from "../schemas/common";
import type { EdgeFastify } from "../type-provider";
import { operation } from "../routes/operation";
import { EmailTakenError, type AccountRow } from "./accounts";
import { AccountSchema, AuditEventPageSchema, AuditEventSchema, JwksSchema, RefreshBody, RegisterBody, TokenBody, TokenPairSchema, accountJson } from "./schemas";
import type { AuthService, TokenFailure } from "./service";
import type { SignInThrottle } from "./sign-in-throttle";

const tags = ["auth"];

/** Schemas the auth answers share, registered with the server's other named components. */
export const AUTH_SCHEMAS = [AccountSchema, TokenPairSchema, AuditEventSchema, AuditEventPageSchema];

const unauthorized = (description: string) => ({ 401: ref(ErrorSchema, { description }) });

const FAILURES: Record<TokenFailure["reason"], ApiError> = {
  invalid_credentials: new ApiError(401, "INVALID_CREDENTIALS", "e-mail or password is wrong"),
  unknown: new ApiError(401, "INVALID_REFRESH_TOKEN", "the refresh token is not valid"),
  reused: new ApiError(
    401,
    "REFRESH_TOKEN_REUSED",
    "the refresh token was already used; every token of this sign-in is revoked, sign in again",
  ),
  revoked: new ApiError(401, "REFRESH_TOKEN_REVOKED", "the refresh token was revoked; sign in again"),
  expired: new ApiError(401, "REFRESH_TOKEN_EXPIRED", "the refresh token has expired; sign in again"),
};

/** 201 with the new account, or 409 `EMAIL_TAKEN`: registration and admin-created accounts alike. */
export async function answerCreated(reply: FastifyReply, create: () => Promise<AccountRow>): Promise<FastifyReply> {
  try {
    return reply.code(201).send(accountJson(await create()));
  } catch (err) {
    if (err instanceof EmailTakenError) throw new ApiError(409, "EMAIL_TAKEN", err.message);
    throw err;
  }
}

// Tokens must not end up in shared caches or browser history.
const noStore = (reply: FastifyReply) => reply.header("cache-control", "no-store").header("pragma", "no-cache");

/** `/api/v1/auth/*`: registration, sign-in, refresh and logout. */
export function authRoutes(api: EdgeFastify, auth: AuthService, throttle: SignInThrottle): void {
  api.post(
    "/auth/register",
    operation(tags, access.public, {
      operationId: "registerPatient",
      summary: "Register as a patient",
      description: "Creates a patient account. Doctor and admin accounts are created by an admin.",
      body: RegisterBody,
      response: { 201: ref(AccountSchema, { description: "Created" }), ...errorResponses(409, ...bodyErrors) },
    }),
    async (request, reply) => answerCreated(reply, () => auth.registerPatient(request.body.email, request.body.password)),
  );

  api.post(
    "/auth/token",
    operation(tags, access.public, {
      operationId: "createToken",
      summary: "Sign in: e-mail and password for an access and a refresh token",
      body: TokenBody,
      response: {
        200: ref(TokenPairSchema),
        ...unauthorized("Wrong e-mail or password (`INVALID_CREDENTIALS`)."),
        429: ref(ErrorSchema, {
          description: "Too many failed sign-ins for this e-mail address (`TOO_MANY_SIGN_IN_ATTEMPTS`), or the rate limit; see `Retry-After`.",
        }),
        ...errorResponses(...bodyErrors),
      },
    }),
    async (request, reply) => {
      const { email, password } = request.body;
      const wait = await throttle.waitSeconds(email);
      if (wait > 0) {
        void reply.header("retry-after", String(wait));
        throw new ApiError(429, "TOO_MANY_SIGN_IN_ATTEMPTS", `too many failed sign-ins for this e-mail address; retry in ${wait} s`);
      }
      const result = await auth.signIn(email, password);
      if (!result.ok) {
        await throttle.recordFailure(email);
        throw FAILURES[result.reason];
      }
      await throttle.recordSuccess(email);
      return noStore(reply).send(result.tokens);
    },
  );

  api.post(
    "/auth/refresh",
    operation(tags, access.public, {
      operationId: "refreshToken",
      summary: "Exchange a refresh token for a new token pair",
      description:
        "Refresh tokens are single use. Presenting one again answers `REFRESH_TOKEN_REUSED` and revokes " +
        "every token of that sign-in.",
      body: RefreshBody,
      response: {
        200: ref(TokenPairSchema),
        ...unauthorized(
          "`INVALID_REFRESH_TOKEN`, `REFRESH_TOKEN_REUSED`, `REFRESH_TOKEN_REVOKED` or `REFRESH_TOKEN_EXPIRED`.",
        ),
        ...errorResponses(...bodyErrors),
      },
    }),
    async (request, reply) => {
      const result = await auth.refresh(request.body.refreshToken);
      if (!result.ok) throw FAILURES[result.reason];
      return noStore(reply).send(result.tokens);
    },
  );

  api.post(
    "/auth/logout",
    operation(tags, access.public, {
      operationId: "logout",
      summary: "Revoke a refresh token and every token of its sign-in",
      description: "Answers 204 for unknown tokens too. Access tokens stay valid until they expire.",
      body: RefreshBody,
      response: { 204: { type: "null", description: "Revoked" }, ...errorResponses(...bodyErrors) },
    }),
    async (request, reply) => {
      await auth.logout(request.body.refreshToken);
      return reply.code(204).send();
    },
  );
}

/** `/.well-known/jwks.json`: the public keys of every key whose tokens may still be valid. */
export function jwksRoute(app: EdgeFastify, auth: AuthService): void {
  app.get(
    "/.well-known/jwks.json",
    {
      schema: {
        tags,
        operationId: "getJwks",
        summary: "Public keys that verify access tokens (JWKS, RFC 7517)",
        response: { 200: JwksSchema, ...errorResponses() },
      },
    },
    async (_request, reply) => {
      const keys = await auth.publicKeys();
      // Short: a rotated-in key must reach verifiers (a mesh, other services) quickly.
      void reply.header("cache-control", "public, max-age=60");
      return { keys: keys.map((k) => k.jwk) };
    },
  );
}
