import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TOPICS } from "./topics";

// The stack scripts and the chart create topics from the JSON; code names them from TOPICS.
// A topic in one list and not the other is a producer writing where nobody reads, or a
// consumer waiting on a topic that is never created.
describe("TOPICS", () => {
  it("names exactly the topics config/kafka-topics.json creates", () => {
    const file = join(__dirname, "..", "..", "..", "..", "config", "kafka-topics.json");
    const created = (JSON.parse(readFileSync(file, "utf8")) as { name: string }[]).map((topic) => topic.name);
    expect([...Object.values(TOPICS)].sort()).toEqual([...created].sort());
  });

  it("names each topic once", () => {
    const names = Object.values(TOPICS);
    expect(new Set(names).size).toBe(names.length);
  });
});
