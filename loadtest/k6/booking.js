// The load-test scenarios of loadtest/ (spread, hot slot, browse and book, lifecycle) as a k6
// script, for SREs who run k6 against a cluster's HTTP API. k6 is not fetched or built by this
// repo (AGPL); bring your own:
//
//   k6 run -e BASE_URL=https://clinic.example.org loadtest/k6/booking.js
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e VUS=64 -e DURATION=30s -e HOT_CLIENTS=1000 loadtest/k6/booking.js
//
// Settings (-e NAME=value): BASE_URL (required; the edge, without /api/v1), VUS (64) and
// DURATION (15s) of the closed-loop scenarios, HOT_CLIENTS (1000), HOT_CAPACITY (10),
// HOT_ROUNDS (10), DOCTORS (16), P99_MS (500: the design document's p99 claim, as a threshold),
// SCENARIOS (comma-separated subset of spread,hot,browse,lifecycle).
//
// setup() seeds its own doctors and slots through the API (far in the future); teardown()
// reads availability back and counts overbooked slots, which must be zero.
import http from "k6/http";
import { check, fail } from "k6";
import exec from "k6/execution";
import { Counter } from "k6/metrics";

const BASE = (__ENV.BASE_URL || "").replace(/\/$/, "");
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

const JSON_HEADERS = { headers: { "content-type": "application/json" } };

function uuid() {
  const h = "0123456789abcdef";
  let s = "";
  for (let i = 0; i < 32; i++) s += h[Math.floor(Math.random() * 16)];
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-${"89ab"[Math.floor(Math.random() * 4)]}${s.slice(17, 20)}-${s.slice(20)}`;
}

const pick = (items) => items[Math.floor(Math.random() * items.length)];

function post(path, body, tags) {
  return http.post(`${API}${path}`, body === undefined ? null : JSON.stringify(body), { ...JSON_HEADERS, tags });
}

function batchSlots(doctorId, day, count, capacity) {
  const res = post(`/doctors/${doctorId}/slots/batch`, {
    timeZone: "UTC",
    startDate: day,
    endDate: day,
    weekdays: ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    dayStart: "00:00",
    dayEnd: "24:00",
    slotMinutes: 5,
    capacity,
  }, { name: "seed" });
  if (res.status !== 201) fail(`seeding slots failed: ${res.status} ${res.body}`);
  return res.json("slots").slice(0, count).map((s) => s.id);
}

export function setup() {
  if (!BASE) fail("set BASE_URL, e.g. -e BASE_URL=http://127.0.0.1:8080");
  const run = `${Date.now()}`;
  const doctors = [];
  const roomy = [];
  const hot = [];
  const hotPerDoctor = Math.ceil(HOT_ROUNDS / DOCTORS);
  for (let i = 0; i < DOCTORS; i++) {
    const res = post("/doctors", { name: `k6 ${run} #${i + 1}`, specialization: "cardiology" }, { name: "seed" });
    if (res.status !== 201) fail(`seeding doctors failed: ${res.status} ${res.body}`);
    const id = res.json("id");
    doctors.push(id);
    roomy.push(...batchSlots(id, "2033-01-03", 40, 1000));
    hot.push(...batchSlots(id, "2033-01-04", hotPerDoctor, HOT_CAPACITY));
  }
  return { doctors, roomy, hot: hot.slice(0, HOT_ROUNDS) };
}

function hold(slotId) {
  const res = post("/bookings", {
    slotId,
    patientId: uuid(),
    patientName: "k6 Load Test",
    patientContact: "k6@example.org",
  }, { name: "POST /bookings" });
  if (res.status === 201) bookings.add(1);
  else if (res.status === 409 && res.json("error.code") === "SLOT_FULL") slotFull.add(1);
  else unexpected.add(1, { status: String(res.status) });
  return res;
}

export function spread(data) {
  const res = hold(pick(data.roomy));
  check(res, { "booked (201)": (r) => r.status === 201 });
}

export function hot(data) {
  const round = Math.floor(exec.scenario.iterationInTest / HOT_CLIENTS);
  const res = hold(data.hot[round % data.hot.length]);
  check(res, { "201 or 409 SLOT_FULL": (r) => r.status === 201 || r.status === 409 });
}

export function browse(data) {
  const r = Math.random();
  let res;
  if (r < 0.3) res = http.get(`${API}/doctors?pageSize=20`, { tags: { name: "GET /doctors" } });
  else if (r < 0.6) res = http.get(`${API}/doctors/${pick(data.doctors)}/slots?pageSize=20`, { tags: { name: "GET /doctors/{id}/slots" } });
  else if (r < 0.9) {
    const ids = Array.from({ length: 10 }, () => pick(data.roomy));
    res = http.get(`${API}/availability?slotIds=${[...new Set(ids)].join(",")}`, { tags: { name: "GET /availability" } });
  } else res = hold(pick(data.roomy));
  check(res, { "2xx": (x) => x.status >= 200 && x.status < 300 });
}

export function lifecycle(data) {
  const res = hold(pick(data.roomy));
  if (!check(res, { "held (201)": (r) => r.status === 201 })) return;
  const id = res.json("id");
  const r = Math.random();
  if (r < 0.6) {
    const done = post(`/bookings/${id}/confirm`, undefined, { name: "POST /bookings/{id}/confirm" });
    check(done, { "confirmed (200)": (x) => x.status === 200 });
  } else if (r < 0.9) {
    const done = post(`/bookings/${id}/cancel`, undefined, { name: "POST /bookings/{id}/cancel" });
    check(done, { "cancelled (200)": (x) => x.status === 200 });
  } // else: left to expire
}

/** No slot holds more than its capacity; each hot slot that was hammered is exactly full. */
export function teardown(data) {
  const all = [...data.roomy, ...data.hot];
  for (let i = 0; i < all.length; i += 100) {
    const ids = all.slice(i, i + 100);
    const res = http.get(`${API}/availability?slotIds=${ids.join(",")}`, { tags: { name: "teardown" } });
    if (res.status !== 200) fail(`availability failed: ${res.status}`);
    for (const a of res.json("availability")) {
      if (a.held > a.capacity) overbooked.add(1);
      if (data.hot.includes(a.slotId) && a.held === a.capacity) hotExact.add(1);
    }
  }
}
