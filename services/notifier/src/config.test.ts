import { ConfigError, parseConfig } from "@clinic/platform/config";
import { configSchema } from "./config";

const valid = {
  PGUSER: "clinic",
  PGPASSWORD: "clinic",
  KAFKA_BROKERS: "127.0.0.1:9092",
  SMTP_HOST: "smtp.example.test",
  SMTP_FROM: "Clinic <notify@clinic.example>",
  SMS_PROVIDER_URL: "https://sms.example.test/v1/messages",
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    parseConfig(configSchema, env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error("configuration was accepted");
}

describe("notifier configuration", () => {
  it("has the documented defaults", () => {
    const config = parseConfig(configSchema, valid);
    expect(config).toMatchObject({
      GRPC_PORT: 50054,
      METRICS_PORT: 9468,
      PGDATABASE: "clinic_notifier",
      BOOKING_EVENTS_TOPIC: "clinic.booking.events.v1",
      DLQ_TOPIC: "bookings.dlq",
      CONSUMER_GROUP: "notifier",
      SMTP_PORT: 587,
      SMTP_SECURE: false,
      RETRY_MAX_ATTEMPTS: 3,
      RETRY_BASE_DELAY_MS: 500,
    });
    expect(config.KAFKA_BROKERS).toEqual(["127.0.0.1:9092"]);
  });

  it("rejects a bad SMTP port", () => {
    expect(problemsOf({ ...valid, SMTP_PORT: "70000" })).toEqual([expect.stringMatching(/^SMTP_PORT: /)]);
    expect(problemsOf({ ...valid, SMTP_PORT: "smtp" })).toEqual([expect.stringMatching(/^SMTP_PORT: /)]);
    expect(problemsOf({ ...valid, SMTP_PORT: "0" })).toEqual([expect.stringMatching(/^SMTP_PORT: /)]);
  });

  it("requires the SMS provider URL, and an http(s) one", () => {
    expect(problemsOf({ ...valid, SMS_PROVIDER_URL: undefined })).toEqual(["SMS_PROVIDER_URL: required but not set"]);
    // An empty value is as good as unset, not a valid empty URL.
    expect(problemsOf({ ...valid, SMS_PROVIDER_URL: "" })).toEqual(["SMS_PROVIDER_URL: required but not set"]);
    expect(problemsOf({ ...valid, SMS_PROVIDER_URL: "ftp://sms.example.test" })).toEqual([expect.stringMatching(/^SMS_PROVIDER_URL: /)]);
  });

  it("reports every problem at once", () => {
    const problems = problemsOf({ PGUSER: "clinic", PGPASSWORD: "clinic", SMTP_PORT: "-1", KAFKA_BROKERS: "nohostport" });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["KAFKA_BROKERS.0", "SMS_PROVIDER_URL", "SMTP_FROM", "SMTP_HOST", "SMTP_PORT"]);
  });

  it("wants SMTP credentials as a pair, and a sane retry and lease setup", () => {
    expect(problemsOf({ ...valid, SMTP_USER: "mailer" })).toEqual([expect.stringMatching(/^SMTP_PASSWORD: .*together/)]);
    expect(problemsOf({ ...valid, RETRY_BASE_DELAY_MS: "1000", RETRY_MAX_DELAY_MS: "500" })).toEqual([expect.stringMatching(/^RETRY_MAX_DELAY_MS: /)]);
    expect(problemsOf({ ...valid, CLAIM_LEASE_MS: "5000" })).toEqual([expect.stringMatching(/^CLAIM_LEASE_MS: /)]);
    expect(problemsOf({ ...valid, RETRY_MAX_ATTEMPTS: "10" })).toEqual([expect.stringMatching(/^CONSUMER_REBALANCE_TIMEOUT_MS: .*worst-case/)]);
    expect(problemsOf({ ...valid, RETRY_MAX_ATTEMPTS: "0" })).toEqual([expect.stringMatching(/^RETRY_MAX_ATTEMPTS: /)]);
  });
});
