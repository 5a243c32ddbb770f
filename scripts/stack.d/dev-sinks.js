// Local stand-ins for the outside providers the notifier talks to, so the local platform can
// send real e-mail and SMS requests somewhere visible: an SMTP server and an HTTP SMS endpoint
// that accept everything and write one JSON line per message to stdout (the component's log).
// Used by `scripts/stack` only; production points SMTP_HOST and SMS_PROVIDER_URL at real ones.
//   node dev-sinks.js SMTP_PORT SMS_PORT
"use strict";
const http = require("node:http");
const path = require("node:path");

const root = path.join(__dirname, "..", "..");
const { SMTPServer } = require(require.resolve("smtp-server", { paths: [root] }));
const [smtpPort, smsPort] = process.argv.slice(2).map(Number);
const record = (entry) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);

const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS", "AUTH"],
  logger: false,
  onData(stream, session, callback) {
    const chunks = [];
    stream.on("data", (chunk) => chunks.push(chunk));
    stream.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const subject = /^Subject: (.*)$/m.exec(raw)?.[1] ?? "";
      // The notifier's Message-ID carries its notification's reference, stable across retries:
      // the chaos suite counts deliveries per reference from this log.
      const reference = /^Message-ID: <([^@>\s]+)@/im.exec(raw)?.[1] ?? "";
      record({ channel: "email", to: session.envelope.rcptTo.map((r) => r.address), subject, reference, bytes: raw.length });
      callback();
    });
  },
});
smtp.on("error", (err) => record({ channel: "email", error: err.message }));
smtp.listen(smtpPort, "127.0.0.1");

const sms = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    if (req.method === "GET" && req.url === "/healthz") return res.writeHead(200).end("ok\n");
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      record({ channel: "sms", to: body.to, text: body.text, reference: body.reference ?? "" });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: `dev-${Date.now()}` }));
    } catch {
      res.writeHead(400).end();
    }
  });
});
sms.listen(smsPort, "127.0.0.1");

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    sms.close();
    smtp.close(() => process.exit(0));
  });
}
