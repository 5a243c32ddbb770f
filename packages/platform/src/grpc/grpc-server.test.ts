import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { doctorV1 } from "@clinic/proto";
import { startTestIssuer, type TestIssuer } from "@clinic/test-stack";
import { AUTHORIZATION_KEY, createJwksCallerResolver, type Caller } from "../auth/caller";
import { DomainError, fromServiceError, invalidArgument, isServiceError } from "../errors/errors";
import { createGrpcClient, unary } from "./grpc-client";
import { createGrpcServer, defineService, type GrpcServer } from "./grpc-server";
import { healthServiceDefinition } from "./health";
import { createLogger } from "../logging/logger";
import { createServiceMetrics } from "../metrics/metrics";

const SERVICE = "clinic.doctor.v1.DoctorService";
const SERVING = "SERVING";
const NOT_SERVING = "NOT_SERVING";
const SERVICE_UNKNOWN = "SERVICE_UNKNOWN";

/** A controllable in-flight call, to observe draining during shutdown. */
let releaseSlowCall: () => void = () => undefined;
let slowCallStarted: () => void = () => undefined;
let listCalls = 0;
/** The caller each DeleteDoctor handler saw. */
let callers: Caller[] = [];

const doctor = { id: "d", name: "n", specialization: "s", createTime: new Date(0), updateTime: new Date(0) };

function testService() {
  return defineService(SERVICE, doctorV1.DoctorServiceService, {
    getDoctor: async () => {
      slowCallStarted();
      await new Promise<void>((resolve) => (releaseSlowCall = resolve));
      return { doctor };
    },
    createDoctor: async (req) => {
      if (req.name === "") throw invalidArgument([{ field: "name", message: "is required" }]);
      if (req.name === "taken") throw new DomainError("conflict", "DOCTOR_TAKEN", "already there");
      throw new Error("database password is hunter2");
    },
    listDoctors: async () => {
      listCalls += 1;
      throw new DomainError("unavailable", "TRY_AGAIN", "not yet");
    },
    updateDoctor: async () => {
      listCalls += 1;
      throw new DomainError("unavailable", "TRY_AGAIN", "not yet");
    },
    deleteDoctor: async (_req, ctx) => {
      callers.push(ctx.caller);
      return {};
    },
  });
}

const HealthClient = grpc.makeClientConstructor(healthServiceDefinition, "grpc.health.v1.Health");
type HealthResponse = { status: string };

describe("gRPC server bootstrap", () => {
  let issuer: TestIssuer;
  let server: GrpcServer;
  let address: string;
  let health: grpc.Client & Record<string, any>;
  let client: doctorV1.DoctorServiceClient;
  const metrics = createServiceMetrics("test");

  beforeAll(async () => {
    issuer = await startTestIssuer();
  });
  afterAll(async () => {
    await issuer?.close();
  });

  beforeEach(async () => {
    listCalls = 0;
    callers = [];
    server = createGrpcServer({
      logger: createLogger({ service: "test", level: "silent" }),
      metrics,
      services: [testService()],
      callers: createJwksCallerResolver({ jwksUrl: issuer.jwksUrl, issuer: issuer.issuer, audience: issuer.audience }),
    });
    const port = await server.listen("127.0.0.1", 0);
    address = `127.0.0.1:${port}`;
    health = new HealthClient(address, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
    client = createGrpcClient(doctorV1.DoctorServiceClient, {
      address,
      serviceName: SERVICE,
      deadlineMs: 5_000,
      idempotentMethods: ["ListDoctors"],
    });
  });

  afterEach(() => {
    health.close();
    client.close();
    server.server.forceShutdown();
  });

  const check = (service: string): Promise<HealthResponse> =>
    new Promise((resolve, reject) =>
      health["Check"]({ service }, (err: grpc.ServiceError | null, res: HealthResponse) => (err ? reject(err) : resolve(res))),
    );

  it("starts NOT_SERVING, then reports SERVING per service and for the whole process", async () => {
    expect((await check("")).status).toBe(NOT_SERVING);
    server.health.setAll("SERVING");
    expect((await check("")).status).toBe(SERVING);
    expect((await check(SERVICE)).status).toBe(SERVING);
    await expect(check("no.such.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("streams Watch transitions through shutdown, drains in-flight calls, then refuses new ones", async () => {
    server.health.setAll("SERVING");
    const seen: string[] = [];
    const watch = health["Watch"]({ service: SERVICE }) as grpc.ClientReadableStream<HealthResponse>;
    const ended = new Promise<void>((resolve) => {
      watch.on("data", (res: HealthResponse) => seen.push(res.status));
      watch.on("end", () => resolve());
      watch.on("error", () => resolve());
    });
    const unknownWatch = health["Watch"]({ service: "no.such.Service" }) as grpc.ClientReadableStream<HealthResponse>;
    unknownWatch.on("error", () => undefined); // cancelled at the end of the test
    const unknownFirst = new Promise<string>((resolve) => unknownWatch.once("data", (res: HealthResponse) => resolve(res.status)));
    expect(await unknownFirst).toBe(SERVICE_UNKNOWN);

    const started = new Promise<void>((resolve) => (slowCallStarted = resolve));
    const inFlight = unary(client.getDoctor.bind(client), { id: "x" });
    await started;

    const shutdown = server.shutdown({ graceMs: 100, timeoutMs: 5_000 });
    // During the grace period the server still answers, but says NOT_SERVING.
    await new Promise((r) => setTimeout(r, 30));
    expect((await check("")).status).toBe(NOT_SERVING);

    await ended; // watches are ended so they cannot hold the drain open
    expect(seen).toEqual([SERVING, NOT_SERVING]);

    releaseSlowCall();
    await expect(inFlight).resolves.toEqual({ doctor });
    await expect(shutdown).resolves.toEqual({ forced: false });
    await expect(unary(client.deleteDoctor.bind(client), { id: "x" }, new grpc.Metadata(), { deadline: Date.now() + 1_000 })).rejects.toMatchObject({
      code: expect.any(Number),
    });
    unknownWatch.cancel();
  });

  it("forces shutdown when an in-flight call outlives the timeout", async () => {
    server.health.setAll("SERVING");
    const started = new Promise<void>((resolve) => (slowCallStarted = resolve));
    const inFlight = unary(client.getDoctor.bind(client), { id: "x" }).catch((err: unknown) => err);
    await started;
    await expect(server.shutdown({ graceMs: 0, timeoutMs: 200 })).resolves.toEqual({ forced: true });
    expect(await inFlight).toMatchObject({ code: grpc.status.CANCELLED });
    releaseSlowCall();
  });

  it("maps domain errors to statuses with reasons and field violations, and hides internal errors", async () => {
    server.health.setAll("SERVING");
    const attempt = (name: string) => unary(client.createDoctor.bind(client), { name, specialization: "x" }).catch((e: unknown) => e);

    const invalid = await attempt("");
    if (!isServiceError(invalid)) throw invalid;
    expect(fromServiceError(invalid)).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      reason: "VALIDATION_FAILED",
      message: "name: is required",
      violations: [{ field: "name", message: "is required" }],
      info: {},
    });

    const conflict = await attempt("taken");
    if (!isServiceError(conflict)) throw conflict;
    expect(fromServiceError(conflict)).toMatchObject({ code: grpc.status.ABORTED, reason: "DOCTOR_TAKEN" });

    const internal = await attempt("boom");
    if (!isServiceError(internal)) throw internal;
    expect(fromServiceError(internal)).toMatchObject({ code: grpc.status.INTERNAL, reason: "INTERNAL", message: "internal error" });
    expect(JSON.stringify(internal)).not.toContain("hunter2");

    const handled = await metrics.registry.getSingleMetricAsString("grpc_server_handled_total");
    expect(handled).toMatch(/grpc_method="CreateDoctor",grpc_code="INVALID_ARGUMENT"[^\n]*} [1-9]/);
    expect(handled).toMatch(/grpc_method="CreateDoctor",grpc_code="INTERNAL"[^\n]*} [1-9]/);
  });

  it("retries idempotent methods on UNAVAILABLE and never retries the others", async () => {
    server.health.setAll("SERVING");
    await expect(unary(client.listDoctors.bind(client), { specialization: "", nameQuery: "", pageSize: 0, pageToken: "" })).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    expect(listCalls).toBe(3);
    listCalls = 0;
    await expect(unary(client.updateDoctor.bind(client), { id: "x" })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(listCalls).toBe(1);
  });

  it("puts a deadline on every call", async () => {
    server.health.setAll("SERVING");
    const short = createGrpcClient(doctorV1.DoctorServiceClient, { address, serviceName: SERVICE, deadlineMs: 150 });
    const started = Date.now();
    await expect(unary(short.getDoctor.bind(short), { id: "x" })).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    expect(Date.now() - started).toBeLessThan(5_000);
    releaseSlowCall();
    short.close();
  });

  describe("callers", () => {
    const withAuthorization = (value: string): grpc.Metadata => {
      const metadata = new grpc.Metadata();
      metadata.set(AUTHORIZATION_KEY, value);
      return metadata;
    };
    const call = (metadata: grpc.Metadata) => unary(client.deleteDoctor.bind(client), { id: "x" }, metadata);
    /** The status and reason a call was refused with. */
    const refusal = async (metadata: grpc.Metadata): Promise<{ code: grpc.status; reason: string }> => {
      const err = await call(metadata).then(
        () => new Error("the call succeeded"),
        (e: unknown) => e,
      );
      if (!isServiceError(err)) throw err;
      const { code, reason } = fromServiceError(err);
      return { code, reason };
    };

    it("hands the handler a verified token's account as ctx.caller, and a call without one as anonymous", async () => {
      const accountId = randomUUID();
      const doctorId = randomUUID();
      const token = await issuer.token({ role: "doctor", accountId, doctorId });
      await call(withAuthorization(`Bearer ${token}`));
      await call(new grpc.Metadata());
      expect(callers).toEqual([
        { kind: "account", accountId, role: "doctor", doctorId, authorization: `Bearer ${token}` },
        { kind: "anonymous" },
      ]);
    });

    it("answers a bad token UNAUTHENTICATED with a reason, and never runs the handler", async () => {
      const other = await startTestIssuer();
      try {
        const patient = { role: "patient" as const };
        const ours = await issuer.token(patient);
        const theirs = await other.token(patient);
        // Our key id over their payload and signature: the signature cannot verify.
        const forged = [ours.split(".")[0], ...theirs.split(".").slice(1)].join(".");
        const cases: [string, string, string][] = [
          ["signed by another issuer's key", `Bearer ${theirs}`, "INVALID_TOKEN"],
          ["signed by another key under our key id", `Bearer ${forged}`, "INVALID_TOKEN"],
          ["expired", `Bearer ${await issuer.token(patient, { expiresInSeconds: -60 })}`, "TOKEN_EXPIRED"],
          ["for another audience", `Bearer ${await issuer.token(patient, { audience: "another-api" })}`, "INVALID_TOKEN"],
          ["from another issuer name", `Bearer ${await issuer.token(patient, { issuer: "somebody" })}`, "INVALID_TOKEN"],
          ["not a bearer token", `Basic ${Buffer.from("admin:admin").toString("base64")}`, "INVALID_TOKEN"],
        ];
        for (const [name, authorization, reason] of cases) {
          expect({ name, ...(await refusal(withAuthorization(authorization))) }).toEqual({ name, code: grpc.status.UNAUTHENTICATED, reason });
        }
        expect(callers).toEqual([]);
        // The same token, untouched, is fine.
        await call(withAuthorization(`Bearer ${ours}`));
        expect(callers).toMatchObject([{ kind: "account", role: "patient" }]);
      } finally {
        await other.close();
      }
    });
  });
});
