import * as grpc from "@grpc/grpc-js";
import { doctorV1 } from "@clinic/proto";
import { ANONYMOUS } from "../auth/caller";
import { DomainError, fromServiceError, isServiceError } from "../errors/errors";
import { createGrpcClient, unary } from "./grpc-client";
import { createGrpcServer, defineService, type CallContext, type GrpcServer } from "./grpc-server";
import { createLogger } from "../logging/logger";
import { createServiceMetrics } from "../metrics/metrics";
import { createPromiseClient, promiseClient, type OwnedPromiseClient } from "./promise-client";

const SERVICE = "clinic.doctor.v1.DoctorService";
const doctor = { id: "d1", name: "Dr. Who", specialization: "time", createTime: new Date(0), updateTime: new Date(0) };

/** What the handlers saw of each call. */
let seen: { metadata: grpc.Metadata; deadline: grpc.Deadline; signal: AbortSignal }[] = [];
let releaseSlow: () => void = () => undefined;

const record = (ctx: CallContext) => seen.push({ metadata: ctx.metadata, deadline: ctx.deadline, signal: ctx.signal });

function service() {
  return defineService(SERVICE, doctorV1.DoctorServiceService, {
    getDoctor: async (req, ctx) => {
      record(ctx);
      if (req.id === "missing") throw new DomainError("not_found", "DOCTOR_NOT_FOUND", "no such doctor", [], { id: req.id });
      return { doctor: { ...doctor, id: req.id } };
    },
    listDoctors: async (_req, ctx) => {
      record(ctx);
      // Held until the test cancels the call or lets it go.
      await new Promise<void>((resolve) => {
        releaseSlow = resolve;
        ctx.signal.addEventListener("abort", () => resolve());
      });
      return { doctors: [], nextPageToken: "" };
    },
    createDoctor: async () => ({ doctor }),
    updateDoctor: async () => ({ doctor }),
    deleteDoctor: async () => ({}),
  });
}

describe("promiseClient", () => {
  let server: GrpcServer;
  let doctors: OwnedPromiseClient<typeof doctorV1.DoctorServiceService>;
  let address: string;

  beforeEach(async () => {
    seen = [];
    server = createGrpcServer({
      logger: createLogger({ service: "test", level: "silent" }),
      metrics: createServiceMetrics("promise_client_test"),
      services: [service()],
      callers: { resolve: async () => ANONYMOUS },
    });
    server.health.setAll("SERVING");
    address = `127.0.0.1:${await server.listen("127.0.0.1", 0)}`;
    doctors = createPromiseClient(doctorV1.DoctorServiceClient, { address, serviceName: SERVICE, deadlineMs: 5_000 });
  });

  afterEach(() => {
    releaseSlow();
    doctors.grpc.close();
    server.server.forceShutdown();
  });

  it("has one function per method of the generated definition, usable without its client", async () => {
    expect(Object.keys(doctors).filter((name) => name !== "grpc").sort()).toEqual(Object.keys(doctorV1.DoctorServiceService).sort());
    const { getDoctor } = doctors;
    expect((await getDoctor({ id: "d7" })).doctor).toEqual({ ...doctor, id: "d7" });
  });

  it("sends the metadata given and the client's default deadline, or the call's own", async () => {
    const metadata = new grpc.Metadata();
    metadata.set("x-clinic-test", "yes");
    const before = Date.now();
    await doctors.getDoctor({ id: "d1" }, { metadata });
    const deadline = new Date(Date.now() + 60_000);
    await doctors.getDoctor({ id: "d1" }, { deadline });

    expect(seen[0]!.metadata.get("x-clinic-test")).toEqual(["yes"]);
    const defaultDeadline = new Date(seen[0]!.deadline as Date).getTime();
    expect(defaultDeadline).toBeGreaterThanOrEqual(before + 5_000 - 50);
    expect(defaultDeadline).toBeLessThanOrEqual(Date.now() + 5_000 + 50);
    expect(Math.abs(new Date(seen[1]!.deadline as Date).getTime() - deadline.getTime())).toBeLessThan(50);
  });

  it("rejects with the same ServiceError the callback form gives", async () => {
    const raw = createGrpcClient(doctorV1.DoctorServiceClient, { address, serviceName: SERVICE, deadlineMs: 5_000 });
    try {
      const viaUnary = await unary(raw.getDoctor.bind(raw), { id: "missing" }).catch((err: unknown) => err);
      const viaPromise = await promiseClient(raw, doctorV1.DoctorServiceService)
        .getDoctor({ id: "missing" })
        .catch((err: unknown) => err);
      expect(isServiceError(viaPromise)).toBe(true);
      expect(isServiceError(viaUnary)).toBe(true);
      const remote = fromServiceError(viaPromise as grpc.ServiceError);
      expect(remote).toEqual(fromServiceError(viaUnary as grpc.ServiceError));
      expect(remote).toMatchObject({ code: grpc.status.NOT_FOUND, reason: "DOCTOR_NOT_FOUND", info: { id: "missing" } });
    } finally {
      raw.close();
    }
  });

  it("cancels the call when its signal aborts", async () => {
    const abort = new AbortController();
    const pending = doctors.listDoctors(doctorV1.ListDoctorsRequest.fromPartial({ pageSize: 1 }), { signal: abort.signal });
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    abort.abort();
    await expect(pending).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    await expect(doctors.getDoctor({ id: "d1" }, { signal: abort.signal })).rejects.toThrow(/abort/i);
  });
});
