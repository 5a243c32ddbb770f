// Health probes for the stack's node services, without extra tools:
//   node probe.js grpc HOST:PORT   -> exit 0 when grpc.health.v1 Check("") answers SERVING
//   node probe.js http URL         -> exit 0 on a 2xx answer
"use strict";
const path = require("node:path");

const [mode, target] = process.argv.slice(2);
const root = path.join(__dirname, "..", "..");
const fail = (why) => {
  process.stderr.write(`${why}\n`);
  process.exit(1);
};

if (mode === "grpc") {
  const grpc = require(require.resolve("@grpc/grpc-js", { paths: [root] }));
  const { service } = require(require.resolve("grpc-health-check", { paths: [root] }));
  const Health = grpc.makeClientConstructor(service, "grpc.health.v1.Health");
  const client = new Health(target, grpc.credentials.createInsecure());
  client.Check({ service: "" }, { deadline: Date.now() + 2000 }, (err, res) => {
    client.close();
    if (err) fail(err.message);
    if (res.status !== "SERVING") fail(`status ${res.status}`);
    process.exit(0);
  });
} else if (mode === "http") {
  fetch(target, { signal: AbortSignal.timeout(2000) })
    .then((res) => (res.ok ? process.exit(0) : fail(`HTTP ${res.status}`)))
    .catch((err) => fail(String(err)));
} else {
  fail("usage: probe.js grpc HOST:PORT | http URL");
}
