import { z } from "zod";
import { ConfigError, loadConfigOrExit, parseConfig } from "./parse-config";
import { commonConfigSchema, databaseConfigSchema, kafkaConfigSchema, redisConfigSchema } from "./shared-schemas";

const schema = commonConfigSchema.extend({
  ...databaseConfigSchema.shape,
  ...redisConfigSchema.shape,
  ...kafkaConfigSchema.shape,
});
const valid = {
  GRPC_PORT: "50051",
  METRICS_PORT: "9465",
  PGUSER: "clinic",
  PGPASSWORD: "secret",
  REDIS_URL: "redis://127.0.0.1:6379",
  KAFKA_BROKERS: "127.0.0.1:9092, 127.0.0.2:9092",
};

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    parseConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected the configuration to be rejected");
}

describe("parseConfig", () => {
  it("parses a valid environment and fills defaults", () => {
    const config = parseConfig(schema, valid);
    expect(config.GRPC_PORT).toBe(50051);
    expect(config.LOG_LEVEL).toBe("info");
    expect(config.PGPORT).toBe(5432);
    expect(config.DB_POOL_MAX).toBe(10);
    expect(config.KAFKA_BROKERS).toEqual(["127.0.0.1:9092", "127.0.0.2:9092"]);
  });

  it("names every missing required variable at once", () => {
    const problems = problemsOf({ ...valid, PGUSER: undefined, REDIS_URL: undefined });
    expect(problems).toEqual(
      expect.arrayContaining(["PGUSER: required but not set", "REDIS_URL: required but not set"]),
    );
    expect(problems).toHaveLength(2);
  });

  it("treats an empty value as unset instead of a silent empty string", () => {
    expect(problemsOf({ ...valid, PGPASSWORD: "" })).toEqual(["PGPASSWORD: required but not set"]);
    expect(problemsOf({ ...valid, PGPASSWORD: "   " })).toEqual(["PGPASSWORD: required but not set"]);
  });

  it.each([
    ["GRPC_PORT", "not-a-number"],
    ["GRPC_PORT", "70000"],
    ["GRPC_PORT", "-1"],
    ["METRICS_PORT", "80.5"],
    ["LOG_LEVEL", "verbose"],
    ["DB_POOL_MAX", "0"],
    ["REDIS_URL", "http://127.0.0.1:6379"],
    ["KAFKA_BROKERS", "127.0.0.1"],
    ["KAFKA_BROKERS", "a:1,,b:2"],
    ["NODE_ENV", "staging"],
  ])("rejects %s=%s and names the variable", (name, value) => {
    const problems = problemsOf({ ...valid, [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}(\\.\\d+)?: `));
  });

  it("never echoes a rejected value, which may be a secret", () => {
    const problems = problemsOf({ ...valid, REDIS_URL: "ftp://user:hunter2@host" });
    expect(problems.join("\n")).not.toContain("hunter2");
  });
});

describe("loadConfigOrExit", () => {
  it("prints the problems and exits with EX_CONFIG", () => {
    const exit = jest.spyOn(process, "exit").mockImplementation(((code: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    const stderr = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    const saved = process.env["GRPC_PORT"];
    process.env["GRPC_PORT"] = "nope";
    try {
      expect(() => loadConfigOrExit(z.object({ GRPC_PORT: z.coerce.number().int() }), "svc")).toThrow("exit 78");
      expect(String(stderr.mock.calls[0]?.[0])).toMatch(/^svc: invalid configuration:\n {2}- GRPC_PORT: /);
    } finally {
      if (saved === undefined) delete process.env["GRPC_PORT"];
      else process.env["GRPC_PORT"] = saved;
      exit.mockRestore();
      stderr.mockRestore();
    }
  });
});
