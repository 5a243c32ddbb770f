import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { axeViolations, eventually, launchBrowser, type Stack, startStack } from "@clinic/test-stack";
import type { Browser, BrowserContext, Page } from "playwright-core";

/**
 * The web client in Debian's Chromium against the whole platform (doctor, slot, booking,
 * notifier with real SMTP and SMS servers on loopback, the edge serving the real `web/dist`
 * build): a doctor publishes a week, a patient in another time zone registers, finds the doctor,
 * holds a seat, confirms, sees and cancels the booking; an admin replays the dead letter the
 * patient's text message left; two patients race for a last seat. Every page passes axe; the
 * main pages are photographed at desktop and phone size into docs/web/.
 */
jest.setTimeout(180_000);

const WEB_DIST = resolve(__dirname, "../web/dist");
const SHOTS = resolve(__dirname, "../docs/web");
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
const DOCTOR_ZONE = "Europe/Berlin";
const PATIENT_ZONE = "America/New_York";
const ADMIN = { email: "admin@clinic.example", password: "admin password for the web test" };

const suffix = randomBytes(4).toString("hex");
let stack: Stack;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Every console error and CSP report of every page: none is expected. */
const pageErrors: string[] = [];
/** Pages checked by axe, so the last test can say every page was. */
const checkedPages = new Set<string>();

beforeAll(async () => {
  if (!existsSync(join(WEB_DIST, "index.html"))) throw new Error(`${WEB_DIST} has no build: run npm run build (scripts/test does)`);
  mkdirSync(SHOTS, { recursive: true });
  [stack, browser] = await Promise.all([
    startStack({
      name: "e2e_web",
      notifier: { eventsTopic: `test.web.events.${suffix}`, dlqTopic: `test.web.dlq.${suffix}`, group: `test-web-${suffix}` },
      edge: { WEB_DIR: WEB_DIST, BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password },
    }),
    launchBrowser(),
  ]);
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await stack?.stop();
});

/** A fresh browser profile (its own sessionStorage: another person) in a time zone. */
async function newPage(timezoneId: string): Promise<Page> {
  const context = await browser.newContext({ viewport: DESKTOP, timezoneId, locale: "en-GB", baseURL: stack.baseUrl });
  context.setDefaultTimeout(15_000);
  contexts.push(context);
  const page = await context.newPage();
  page.on("console", (message) => {
    // Chromium logs every 4xx answer as an error; the API's refusals are part of the flows here.
    if (message.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) {
      pageErrors.push(`${page.url()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (err) => pageErrors.push(`${page.url()}: ${err.message}`));
  return page;
}

/** axe finds nothing on the page as it is now. */
async function expectAccessible(page: Page, name: string): Promise<void> {
  const violations = await axeViolations(page);
  expect({ page: name, violations }).toEqual({ page: name, violations: [] });
  checkedPages.add(name);
}

/** The page at desktop and phone width, both checked by axe, into docs/web/. */
async function photograph(page: Page, name: string): Promise<void> {
  await expectAccessible(page, name);
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`) });
  await page.setViewportSize(PHONE);
  await expectAccessible(page, `${name} (phone)`);
  await page.screenshot({ path: join(SHOTS, `${name}-phone.png`) });
  await page.setViewportSize(DESKTOP);
}

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/sign-in");
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/** Monday (YYYY-MM-DD) of the week after this one, in a time zone. */
function nextMonday(timeZone: string): string {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  const date = new Date(`${today}T12:00:00Z`);
  const daysSinceMonday = (date.getUTCDay() + 6) % 7;
  date.setUTCDate(date.getUTCDate() - daysSinceMonday + 7);
  return date.toISOString().slice(0, 10);
}

const localTime = (iso: string, timeZone: string): string =>
  new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit" }).format(new Date(iso));

describe("the web client", () => {
  let doctorId: string;
  const doctorAccount = { email: `ada.${suffix}@clinic.example`, password: "doctor password 123" };
  const patient = { email: `grace.${suffix}@example.org`, password: "patient password 123", phone: `+1555${String(Date.now()).slice(-7)}` };
  let bookingId: string;

  beforeAll(async () => {
    const admin = stack.http();
    const doctor = await admin.post("/api/v1/doctors", { name: `Dr. Ada Byron ${suffix}`, specialization: `cardiology-${suffix}` });
    expect(doctor.status).toBe(201);
    doctorId = doctor.body.id;
    const account = await admin.post("/api/v1/accounts", { ...doctorAccount, role: "doctor", doctorId });
    expect(account.status).toBe(201);
  });

  it("a doctor publishes a week in their time zone, changes a capacity, deletes a slot", async () => {
    const page = await newPage(DOCTOR_ZONE);
    await signIn(page, doctorAccount.email, doctorAccount.password);
    await page.getByRole("heading", { name: "My schedule" }).waitFor();
    await page.getByRole("link", { name: "Next week →" }).click();
    const monday = nextMonday(DOCTOR_ZONE);
    await page.waitForURL(`**/schedule?week=${monday}`);
    expect(await page.getByLabel("Time zone").inputValue()).toBe(DOCTOR_ZONE);
    expect(await page.getByLabel("From").inputValue()).toBe(monday);
    await page.getByLabel("Day starts").fill("09:00");
    await page.getByLabel("Day ends").fill("12:00");
    await page.getByLabel("Minutes per slot").fill("30");
    await page.getByLabel("Seats per slot").fill("2");
    await page.getByRole("button", { name: "Publish" }).click();
    // Monday to Friday, six half hours a day.
    await page.getByText("Published 30 slots.").waitFor();
    await page.getByRole("heading", { level: 2 }).filter({ hasText: "Monday" }).waitFor();

    const slots = (await stack.http().get(`/api/v1/doctors/${doctorId}/slots?pageSize=100`)).body.slots as { id: string; startTime: string; capacity: number }[];
    expect(slots).toHaveLength(30);
    // 09:00 in Berlin, whatever the date's offset.
    expect(localTime(slots[0]!.startTime, DOCTOR_ZONE)).toBe("09:00");

    const last = slots[slots.length - 1]!;
    const lastRow = page.locator(`li[data-slot-id="${last.id}"]`);
    await lastRow.getByLabel("Seats", { exact: true }).fill("3");
    await lastRow.getByRole("button", { name: /^Save seats/ }).click();
    await lastRow.getByText(/is now 3\./).waitFor();
    await eventually(async () => ((await stack.http().get(`/api/v1/slots/${last.id}`)).body.capacity === 3 ? true : undefined));
    await lastRow.getByRole("button", { name: /^Delete/ }).click();
    await lastRow.waitFor({ state: "detached" });
    expect((await stack.http().get(`/api/v1/slots/${last.id}`)).status).toBe(404);

    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await photograph(page, "doctor-schedule");
  });

  it("a patient registers, finds the doctor, holds a seat, confirms, sees the booking and cancels it", async () => {
    const page = await newPage(PATIENT_ZONE);
    await page.goto("/");
    await page.getByRole("heading", { name: "Find a doctor" }).waitFor();
    await page.getByRole("link", { name: "Register" }).click();
    await page.getByLabel("E-mail address").fill(patient.email);
    await page.getByLabel("Password").fill(patient.password);
    await expectAccessible(page, "register");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("button", { name: "Sign out" }).waitFor();

    await page.getByLabel("Specialization").fill(`cardiology-${suffix}`);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("status").filter({ hasText: "1 doctor" }).waitFor();
    await photograph(page, "find-a-doctor");
    await page.getByRole("link", { name: `Dr. Ada Byron ${suffix}` }).click();
    await page.getByRole("link", { name: "Next week →" }).click();

    // Seats and times as the patient sees them: New York time.
    const first = ((await stack.http().get(`/api/v1/doctors/${doctorId}/slots?pageSize=1`)).body.slots as { id: string; startTime: string; endTime: string }[])[0]!;
    const row = page.locator(`li[data-slot-id="${first.id}"]`);
    await row.getByText("2 of 2 seats left").waitFor();
    expect(await row.locator(".slot-time").textContent()).toBe(`${localTime(first.startTime, PATIENT_ZONE)}–${localTime(first.endTime, PATIENT_ZONE)}`);
    await expectAccessible(page, "doctor week");

    await row.getByRole("button", { name: /^Book/ }).click();
    await page.getByLabel("Your name").fill("Grace Hopper");
    expect(await page.getByLabel("E-mail address or phone number").inputValue()).toBe(patient.email);
    await page.getByLabel("Mobile for text messages (optional)").fill(patient.phone);
    await page.getByRole("button", { name: "Hold this seat" }).click();
    const timer = page.getByRole("timer");
    await timer.waitFor();
    expect(await timer.textContent()).toMatch(/^[12]:\d\d$/);
    // The hold takes a seat at once, for everyone.
    await row.getByText("1 of 2 seats left").waitFor();
    await photograph(page, "hold-countdown");

    // The SMS provider refuses this number: the confirmation text ends as a dead letter.
    stack.notifier!.sms.failAlways(patient.phone, 503);
    await page.getByRole("button", { name: "Confirm booking" }).click();
    await page.getByText(/^Booked: /).waitFor();
    await page.getByRole("link", { name: "My bookings" }).first().click();
    await page.getByRole("heading", { name: "My bookings" }).waitFor();
    const booked = page.getByRole("region", { name: "Upcoming bookings" }).locator("tr[data-booking-id]");
    await booked.getByText("Confirmed").waitFor();
    bookingId = (await booked.getAttribute("data-booking-id"))!;
    await photograph(page, "my-bookings");

    await booked.getByRole("button", { name: "Cancel" }).click();
    await page.getByText("Booking cancelled; the seat is free for others again.").waitFor();
    await page.getByRole("region", { name: "Past and cancelled bookings" }).getByText("Cancelled").waitFor();
    expect((await stack.http().get(`/api/v1/bookings/${bookingId}`)).body.status).toBe("cancelled");
    expect((await stack.http().get(`/api/v1/availability?slotIds=${first.id}`)).body.availability[0].remaining).toBe(2);

    // A reload keeps the sign-in (the refresh token in this tab), with a new access token.
    await page.reload();
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    await page.getByRole("region", { name: "Past and cancelled bookings" }).waitFor();
    // Signing out revokes the sign-in at the API: its refresh token no longer works.
    const refreshToken = await page.evaluate(() => (globalThis as any).sessionStorage.getItem("clinic.refreshToken") as string);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in", exact: true }).waitFor();
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.length as number)).toBe(0);
    const refused = await stack.http().anonymous().post("/api/v1/auth/refresh", { refreshToken });
    expect(refused.status).toBe(401);
    await expectAccessible(page, "sign in");
  });

  it("an admin sees the booking's notifications and replays its dead letter once the provider recovers", async () => {
    expect(bookingId).toBeDefined();
    const page = await newPage(DOCTOR_ZONE);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.getByRole("heading", { name: "Doctors", exact: true }).waitFor();
    await page.getByRole("cell", { name: `Dr. Ada Byron ${suffix}`, exact: true }).waitFor();
    await photograph(page, "admin-doctors");

    // Three tries, then the dead letter (the retry delays are short in the test stack).
    await eventually(async () => {
      const letters = (await stack.http().get("/api/v1/admin/dead-letters?pageSize=100")).body.deadLetters as { bookingId: string; eventType: string }[];
      return letters.some((d) => d.bookingId === bookingId && d.eventType === "booking.confirmed") ? true : undefined;
    }, 60_000, 250);
    stack.notifier!.sms.recover(patient.phone);

    await page.getByRole("link", { name: "Dead letters" }).click();
    const entry = page.locator("tr[data-dead-letter-id]").filter({ hasText: "booking.confirmed" }).first();
    await entry.waitFor();
    await photograph(page, "admin-dead-letters");
    await entry.getByRole("button", { name: "Replay" }).click();
    await page.getByText("Replayed: the sms notification was sent.").waitFor();
    await entry.getByText(/^sent /).waitFor();
    expect(stack.notifier!.sms.requests.filter((r) => r.to === patient.phone).map((r) => r.status)).toContain(200);

    await entry.getByRole("link", { name: "booking.confirmed" }).click();
    await page.getByRole("heading", { name: "Booking", exact: true }).waitFor();
    await page.getByRole("region", { name: "Notifications" }).getByRole("cell", { name: "sms" }).first().waitFor();
    await expectAccessible(page, "admin booking");

    await page.getByRole("link", { name: "Bookings", exact: true }).click();
    await page.getByRole("region", { name: "Bookings" }).getByRole("cell", { name: "Grace Hopper" }).first().waitFor();
    await expectAccessible(page, "admin bookings");

    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByRole("cell", { name: /replayDeadLetter|dead-letters/ }).first().waitFor();
    await expectAccessible(page, "audit log");
  });

  it("two patients race for the last seat: one holds it, the other is told it is full without reloading", async () => {
    const admin = stack.http();
    // The availability streams each page opened (an EventSource request never completes, so
    // resource timing never lists it).
    const streamsOpened = new Map<Page, string[]>();
    const racer = async (name: string) => {
      const email = `${name}.${suffix}@example.org`;
      expect((await admin.anonymous().post("/api/v1/auth/register", { email, password: "racing password 123" })).status).toBe(201);
      const page = await newPage(PATIENT_ZONE);
      const opened: string[] = [];
      streamsOpened.set(page, opened);
      page.on("request", (request) => {
        const url = new URL(request.url());
        if (url.pathname === "/api/v1/availability/stream") opened.push(url.pathname + url.search);
      });
      await signIn(page, email, "racing password 123");
      return page;
    };
    const monday = nextMonday("UTC");
    const start = new Date(`${monday}T15:00:00Z`);
    start.setUTCDate(start.getUTCDate() + 2); // Wednesday: the same week in New York
    const slot = (await admin.post(`/api/v1/doctors/${doctorId}/slots`, { startTime: start.toISOString(), endTime: new Date(start.getTime() + 1_800_000).toISOString(), capacity: 1 })).body;
    expect(slot.id).toBeDefined();

    const [alice, bob] = await Promise.all([racer("alice"), racer("bob")]);
    const rows = await Promise.all(
      [alice, bob].map(async (page) => {
        await page.goto(`/doctors/${doctorId}?week=${monday}`);
        const row = page.locator(`li[data-slot-id="${slot.id}"]`);
        await row.getByText("1 of 1 seat left").waitFor();
        await row.getByRole("button", { name: /^Book/ }).click();
        await page.getByLabel("Your name").fill("Racing Patient");
        return row;
      }),
    );
    // Both press at once.
    await Promise.all([alice, bob].map((page) => page.getByRole("button", { name: "Hold this seat" }).click()));
    const outcome = async (page: Page) =>
      Promise.race([
        page.getByRole("timer").waitFor().then(() => "held" as const),
        page.getByRole("alert").filter({ hasText: "This time is full" }).waitFor().then(() => "full" as const),
      ]);
    const outcomes = await Promise.all([outcome(alice), outcome(bob)]);
    expect([...outcomes].sort()).toEqual(["full", "held"]);
    const loserIndex = outcomes.indexOf("full");
    const [winner, loser] = loserIndex === 1 ? [alice, bob] : [bob, alice];
    const loserRow = rows[loserIndex]!;
    await loserRow.getByText("Full", { exact: true }).first().waitFor();
    await photograph(loser, "slot-full");
    const held = (await admin.get(`/api/v1/slots/${slot.id}/bookings`)).body.bookings as { status: string }[];
    expect(held.map((b) => b.status)).toEqual(["pending"]);

    // The winner lets it go: the loser's open page shows the seat free again, pushed by the
    // availability stream (no reload, and no poll of the seats).
    const navigations: string[] = [];
    const seatReads: string[] = [];
    loser.on("framenavigated", (frame) => navigations.push(frame.url()));
    loser.on("request", (request) => {
      if (new URL(request.url()).pathname === "/api/v1/availability") seatReads.push(request.url());
    });
    await winner.getByRole("button", { name: "Let it go" }).click();
    await winner.getByText("The seat was given back.").waitFor();
    await loserRow.getByText("1 of 1 seat left").waitFor();
    expect(navigations).toEqual([]);
    expect(seatReads).toEqual([]);
    // One stream for the week's slots, opened with the page and kept.
    expect(streamsOpened.get(loser)).toHaveLength(1);
    expect(new URLSearchParams(streamsOpened.get(loser)![0]!.split("?")[1]).get("slotIds")!.split(",")).toContain(slot.id);
  });

  it("keeps seats up to date by polling when the availability stream cannot be had", async () => {
    const admin = stack.http();
    const monday = nextMonday("UTC");
    const start = new Date(`${monday}T17:00:00Z`);
    start.setUTCDate(start.getUTCDate() + 3);
    const slot = (await admin.post(`/api/v1/doctors/${doctorId}/slots`, { startTime: start.toISOString(), endTime: new Date(start.getTime() + 1_800_000).toISOString(), capacity: 2 })).body;
    const page = await newPage(PATIENT_ZONE);
    // Every stream is refused, as the edge refuses one over its per-address cap.
    const refused: string[] = [];
    await page.route("**/api/v1/availability/stream?*", async (route) => {
      refused.push(route.request().url());
      await route.fulfill({
        status: 429,
        headers: { "retry-after": "15" },
        contentType: "application/json",
        body: JSON.stringify({ error: { code: "RATE_LIMITED", message: "at most 20 open availability streams per client address; close one first", details: [] } }),
      });
    });
    await page.goto(`/doctors/${doctorId}?week=${monday}`);
    const row = page.locator(`li[data-slot-id="${slot.id}"]`);
    await row.getByText("2 of 2 seats left").waitFor();
    expect((await admin.asPatient().post("/api/v1/bookings", { slotId: slot.id, patientName: "Poll Patient", patientContact: "poll@example.org" })).status).toBe(201);
    await row.getByText("1 of 2 seats left").waitFor();
    expect(refused.length).toBeGreaterThan(0);
  });

  it("says what went wrong in words: a wrong password, then too many failed sign-ins with the wait", async () => {
    const email = `locked.${suffix}@example.org`;
    const anonymous = stack.http().anonymous();
    expect((await anonymous.post("/api/v1/auth/register", { email, password: "the right password" })).status).toBe(201);
    const page = await newPage(PATIENT_ZONE);
    await page.goto("/sign-in");
    await page.getByLabel("E-mail address").fill(email);
    await page.getByLabel("Password").fill("a wrong password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "The e-mail address or the password is wrong." }).waitFor();
    // The edge's default: ten failures in a window, then sign-ins for the address wait (429 with Retry-After).
    for (let i = 0; i < 9; i++) await anonymous.post("/api/v1/auth/token", { email, password: "a wrong password" });
    await page.getByLabel("Password").fill("the right password");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "Too many failed sign-ins for this e-mail address." });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/Wait \d+ seconds and try again\./);
  });

  it("loaded every page without a script error or a CSP violation, and axe checked each", () => {
    expect(pageErrors).toEqual([]);
    expect([...checkedPages].filter((p) => !p.endsWith("(phone)")).sort()).toEqual(
      ["admin booking", "admin bookings", "admin-dead-letters", "admin-doctors", "audit log", "doctor week", "doctor-schedule", "find-a-doctor", "hold-countdown", "my-bookings", "register", "sign in", "slot-full"].sort(),
    );
  });
});
