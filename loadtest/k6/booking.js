// The load-test scenarios of loadtest/ (spread, hot slot, browse and book, lifecycle) as a k6
// script, for SREs who run k6 against a cluster's HTTP API. k6 is not fetched or built by this
// repo (AGPL); bring your own:
//
//   node loadtest/dist/write-tokens.js --patients 10000 --out /tmp/patients.json
//   k6 run -e BASE_URL=https://clinic.example.org -e TOKENS_FILE=/tmp/patients.json \
//     -e ADMIN_EMAIL=... -e ADMIN_PASSWORD=... loadtest/k6/booking.js
//
// Settings (-e NAME=value): BASE_URL (required; the edge, without /api/v1), TOKENS_FILE
// (required: patients' access tokens, written by loadtest/dist/write-tokens.js with the edge's
// signing key), ADMIN_EMAIL and ADMIN_PASSWORD (required: setup() signs the admin in to seed),
// VUS (64) and DURATION (15s) of the closed-loop scenarios, HOT_CLIENTS (1000), HOT_CAPACITY
// (10), HOT_ROUNDS (10), DOCTORS (16), P99_MS (500: the design document's p99 claim, as a
// threshold), SCENARIOS (comma-separated subset of spread,hot,browse,lifecycle).
//
// Every request carries a token: seeding and teardown the admin's, everything else a patient's
// from TOKENS_FILE (iteration i of a scenario is patient i of its share of the file), and the patient who
// holds a booking confirms or cancels it. setup() seeds its own doctors and slots through the API
// (far in the future); teardown() reads availability back and counts overbooked slots, which
// must be zero. A 429 from the edge's rate limiter fails the run (rate_limited): it would
// measure the limiter, not the booking path.
import http from "k6/http";
import { check, fail } from "k6";
import { SharedArray } from "k6/data";
import exec from "k6/execution";
import { Counter } from "k6/metrics";

const BASE = (__ENV.BASE_URL || "").replace(/\/$/, "");
const TOKENS_FILE = __ENV.TOKENS_FILE || "";
// open() works only in the init context; an unset file is reported by setup().
const PATIENTS = new SharedArray("patients", () => (TOKENS_FILE ? JSON.parse(open(TOKENS_FILE)).patients : []));
const API = `${BASE}/api/v1`;
const VUS = Number(__ENV.VUS || 64);
const DURATION = __ENV.DURATION || "15s";
const HOT_CLIENTS = Number(__ENV.HOT_CLIENTS || 1000);
const HOT_CAPACITY = Number(__ENV.HOT_CAPACITY || 10);
const HOT_ROUNDS = Number(__ENV.HOT_ROUNDS || 10);
const DOCTORS = Number(__ENV.DOCTORS || 16);
const P99_MS = Number(__ENV.P99_MS || 500);
const WANTED = (__ENV.SCENARIOS || "spread,hot,browse,lifecycle").split(",").map((s) => s.trim());

const bookings = new Counter("bookings_created");
const slotFull = new Counter("bookings_slot_full");
const unexpected = new Counter("bookings_unexpected_status");
const overbooked = new Counter("overbooked_slots");
const hotExact = new Counter("hot_slots_exactly_full");
const rateLimited = new Counter("rate_limited");
// Only when the patients wrap (more iterations than TOKENS_FILE has patients) and one comes back
// to a slot it holds: the one-seat-per-patient rule, not a platform error.
const alreadyBooked = new Counter("bookings_already_booked");

const seconds = (d) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (!m) return 15;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
};
const GAP = 5; // seconds between scenarios, so one's tail does not overlap the next

// Scenarios run one after another, as the harness runs them.
const scenarios = {};
let start = 0;
const plan = {
  spread: { executor: "constant-vus", vus: VUS, duration: DURATION, exec: "spread", length: seconds(DURATION) },
  // Every VU books once per round; iteration i goes to hot slot floor(i / HOT_CLIENTS).
  hot: { executor: "shared-iterations", vus: HOT_CLIENTS, iterations: HOT_CLIENTS * HOT_ROUNDS, maxDuration: "5m", exec: "hot", length: 60 },
  browse: { executor: "constant-vus", vus: VUS, duration: DURATION, exec: "browse", length: seconds(DURATION) },
  lifecycle: { executor: "constant-vus", vus: VUS, duration: DURATION, exec: "lifecycle", length: seconds(DURATION) },
};
for (const name of ["spread", "hot", "browse", "lifecycle"]) {
  if (!WANTED.includes(name)) continue;
  const { length, ...config } = plan[name];
  scenarios[name] = { ...config, startTime: `${start}s`, tags: { scenario: name } };
  start += length + GAP;
}

const thresholds = {
  overbooked_slots: ["count==0"],
  bookings_unexpected_status: ["count==0"],
  rate_limited: ["count==0"],
  checks: ["rate>0.99"],
};
for (const name of Object.keys(scenarios)) thresholds[`http_req_duration{scenario:${name}}`] = [`p(99)<${name === "hot" ? P99_MS * 4 : P99_MS}`];

export const options = {
  scenarios,
  thresholds,
  setupTimeout: "120s",
  teardownTimeout: "120s",
  summaryTrendStats: ["avg", "med", "p(95)", "p(99)", "max"],
};

const pick = (items) => items[Math.floor(Math.random() * items.length)];

const bearer = (token) => `Bearer ${token}`;

// Each scenario starts at its own share of the file, so scenarios that book the same (roomy)
// slots do not send one patient to a slot twice unless a scenario outruns its share.
const SHARE = Math.floor(PATIENTS.length / Math.max(1, Object.keys(scenarios).length));
const FIRST_PATIENT = Object.fromEntries(Object.keys(scenarios).map((name, i) => [name, i * SHARE]));

/** This iteration's patient: iteration i of a scenario is patient i of its share (round the file). */
function patient() {
  const p = PATIENTS[(FIRST_PATIENT[exec.scenario.name] + exec.scenario.iterationInTest) % PATIENTS.length];
  return { id: p.id, authorization: bearer(p.token) };
}

function counted(res) {
  if (res.status === 429) rateLimited.add(1);
  return res;
}

function post(path, body, authorization, tags) {
  const headers = { authorization };
  if (body !== undefined) headers["content-type"] = "application/json";
  return counted(http.post(`${API}${path}`, body === undefined ? null : JSON.stringify(body), { headers, tags }));
}

function get(path, authorization, tags) {
  return counted(http.get(`${API}${path}`, { headers: { authorization }, tags }));
}

function batchSlots(admin, doctorId, day, count, capacity) {
  const res = post(`/doctors/${doctorId}/slots/batch`, {
    timeZone: "UTC",
    startDate: day,
    endDate: day,
    weekdays: ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    dayStart: "00:00",
    dayEnd: "24:00",
    slotMinutes: 5,
    capacity,
  }, admin, { name: "seed" });
  if (res.status !== 201) fail(`seeding slots failed: ${res.status} ${res.body}`);
  return res.json("slots").slice(0, count).map((s) => s.id);
}

export function setup() {
  if (!BASE) fail("set BASE_URL, e.g. -e BASE_URL=http://127.0.0.1:8080");
  if (PATIENTS.length === 0) fail("set TOKENS_FILE to a file of patient tokens (node loadtest/dist/write-tokens.js --out FILE)");
  if (WANTED.includes("hot") && PATIENTS.length < HOT_CLIENTS) fail(`TOKENS_FILE has ${PATIENTS.length} patients; a hot burst needs one per client (${HOT_CLIENTS})`);
  if (!__ENV.ADMIN_EMAIL || !__ENV.ADMIN_PASSWORD) fail("set ADMIN_EMAIL and ADMIN_PASSWORD: setup() signs the admin in to seed");
  const signIn = http.post(`${API}/auth/token`, JSON.stringify({ email: __ENV.ADMIN_EMAIL, password: __ENV.ADMIN_PASSWORD }), {
    headers: { "content-type": "application/json" },
    tags: { name: "seed" },
  });
  if (signIn.status !== 200) fail(`admin sign-in failed: ${signIn.status} ${signIn.body}`);
  const admin = bearer(signIn.json("accessToken"));
  const run = `${Date.now()}`;
  const doctors = [];
  const roomy = [];
  const hot = [];
  const hotPerDoctor = Math.ceil(HOT_ROUNDS / DOCTORS);
  for (let i = 0; i < DOCTORS; i++) {
    const res = post("/doctors", { name: `k6 ${run} #${i + 1}`, specialization: "cardiology" }, admin, { name: "seed" });
    if (res.status !== 201) fail(`seeding doctors failed: ${res.status} ${res.body}`);
    const id = res.json("id");
    doctors.push(id);
    roomy.push(...batchSlots(admin, id, "2033-01-03", 40, 1000));
    hot.push(...batchSlots(admin, id, "2033-01-04", hotPerDoctor, HOT_CAPACITY));
  }
  return { admin, doctors, roomy, hot: hot.slice(0, HOT_ROUNDS) };
}

/** A seat for `who`: the patient is the token's subject, the body names only the slot. */
function hold(slotId, who) {
  const res = post("/bookings", {
    slotId,
    patientName: "k6 Load Test",
    patientContact: "k6@example.org",
  }, who.authorization, { name: "POST /bookings" });
  if (res.status === 201) bookings.add(1);
  else if (res.status === 409 && res.json("error.code") === "SLOT_FULL") slotFull.add(1);
  else if (res.status === 409 && res.json("error.code") === "ALREADY_BOOKED") alreadyBooked.add(1);
  else unexpected.add(1, { status: String(res.status) });
  return res;
}

export function spread(data) {
  const res = hold(pick(data.roomy), patient());
  check(res, { "booked (201)": (r) => r.status === 201 });
}

export function hot(data) {
  // Iterations of one round are HOT_CLIENTS consecutive numbers: as many different patients.
  const round = Math.floor(exec.scenario.iterationInTest / HOT_CLIENTS);
  const res = hold(data.hot[round % data.hot.length], patient());
  check(res, { "201 or 409 SLOT_FULL": (r) => r.status === 201 || (r.status === 409 && r.json("error.code") === "SLOT_FULL") });
}

export function browse(data) {
  const who = patient();
  const r = Math.random();
  let res;
  if (r < 0.3) res = get("/doctors?pageSize=20", who.authorization, { name: "GET /doctors" });
  else if (r < 0.6) res = get(`/doctors/${pick(data.doctors)}/slots?pageSize=20`, who.authorization, { name: "GET /doctors/{id}/slots" });
  else if (r < 0.9) {
    const ids = Array.from({ length: 10 }, () => pick(data.roomy));
    res = get(`/availability?slotIds=${[...new Set(ids)].join(",")}`, who.authorization, { name: "GET /availability" });
  } else res = hold(pick(data.roomy), who);
  check(res, { "2xx": (x) => x.status >= 200 && x.status < 300 });
}

export function lifecycle(data) {
  // The patient who holds the seat confirms or cancels it: nobody else may.
  const who = patient();
  const res = hold(pick(data.roomy), who);
  if (!check(res, { "held (201)": (r) => r.status === 201 })) return;
  const id = res.json("id");
  const r = Math.random();
  if (r < 0.6) {
    const done = post(`/bookings/${id}/confirm`, undefined, who.authorization, { name: "POST /bookings/{id}/confirm" });
    check(done, { "confirmed (200)": (x) => x.status === 200 });
  } else if (r < 0.9) {
    const done = post(`/bookings/${id}/cancel`, undefined, who.authorization, { name: "POST /bookings/{id}/cancel" });
    check(done, { "cancelled (200)": (x) => x.status === 200 });
  } // else: left to expire
}

/** No slot holds more than its capacity; each hot slot that was hammered is exactly full. */
export function teardown(data) {
  const all = [...data.roomy, ...data.hot];
  for (let i = 0; i < all.length; i += 100) {
    const ids = all.slice(i, i + 100);
    const res = get(`/availability?slotIds=${ids.join(",")}`, data.admin, { name: "teardown" });
    if (res.status !== 200) fail(`availability failed: ${res.status}`);
    for (const a of res.json("availability")) {
      if (a.held > a.capacity) overbooked.add(1);
      if (data.hot.includes(a.slotId) && a.held === a.capacity) hotExact.add(1);
    }
  }
}
