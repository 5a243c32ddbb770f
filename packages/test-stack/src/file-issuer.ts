import * as grpc from "@grpc/grpc-js";
import { bearerInterceptor, startTestIssuer, type Identity, type TestIssuer } from "./test-issuer";

let issuer: Promise<TestIssuer> | undefined;

/**
 * The token issuer (standing in for the edge) that every service started by `startDoctor`,
 * `startSlot`, `startBooking` trusts and every client here signs with. One per test file, since
 * jest loads modules per file: started on first use, closed once the file's tests are done.
 * After that it stays the same, closed issuer: still signing, its JWKS address refusing. The file's
 * own afterAll hooks run after the close (jest runs them in the order they were declared, and this
 * module is imported first), and a client there asking for the issuer again must not start a
 * second one that nothing closes, which would keep the worker alive past its last file.
 */
export const testIssuer = (): Promise<TestIssuer> => (issuer ??= startTestIssuer());

// Registered when the file loads (jest refuses hooks added from inside a test or hook); a file
// that never used the issuer has nothing to close.
if (typeof afterAll === "function") {
  afterAll(async () => {
    await (await issuer)?.close();
  });
}

/** The failures access checks answer, as `failure(...)` reports them. */
export const UNAUTHENTICATED = { code: grpc.status.UNAUTHENTICATED, reason: "AUTHENTICATION_REQUIRED" };
export const FORBIDDEN = { code: grpc.status.PERMISSION_DENIED, reason: "FORBIDDEN" };

/** Admins may do everything: the identity of test clients unless a test is about another. */
export const ADMIN: Identity = { role: "admin" };

/** Who a test call is made as: an account, or nobody (no token at all). */
export type Who = Identity | "anonymous";

/** Client interceptors sending every call as `who`. */
export const callAs = (who: Who): grpc.Interceptor[] =>
  who === "anonymous" ? [] : [bearerInterceptor(testIssuer().then((i) => i.token(who)))];

/** Metadata for one call made as `who`. */
export const metadataAs = async (who: Who): Promise<grpc.Metadata> =>
  who === "anonymous" ? new grpc.Metadata() : (await testIssuer()).metadata(who);
