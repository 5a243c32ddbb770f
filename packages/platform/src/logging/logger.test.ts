import { Writable } from "node:stream";
import { createLogger } from "./logger";

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join("").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("createLogger", () => {
  it("writes JSON lines with the service, level label and ISO time", () => {
    const out = capture();
    createLogger({ service: "booking", level: "info", destination: out.stream, base: { shard: 2 } }).info({ slotId: "s1" }, "booking created");
    const [line] = out.lines();
    expect(line).toMatchObject({ service: "booking", shard: 2, level: "info", msg: "booking created", slotId: "s1" });
    expect(typeof line?.["time"]).toBe("string");
  });

  it("never writes patient contact details, at any depth", () => {
    const out = capture();
    const logger = createLogger({ service: "t", level: "debug", destination: out.stream });
    logger.info({ patientContact: "+4915112345678", request: { patient_name: "Ada", booking: { email: "ada@example.org" } } }, "x");
    const text = JSON.stringify(out.lines());
    expect(text).not.toContain("+4915112345678");
    expect(text).not.toContain("Ada");
    expect(text).not.toContain("ada@example.org");
    expect(text).toContain("[redacted]");
  });

  it("drops lines below the configured level", () => {
    const out = capture();
    const logger = createLogger({ service: "t", level: "warn", destination: out.stream });
    logger.info("quiet");
    logger.warn("loud");
    expect(out.lines().map((l) => l["msg"])).toEqual(["loud"]);
  });
});
