import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { axeViolations, eventually, launchBrowser, type Stack, startStack } from "@clinic/test-stack";
import type { Browser, BrowserContext, Page } from "playwright-core";

/**
 * The web client in Debian's Chromium against the whole platform (doctor, slot, booking,
 * notifier with real SMTP and SMS servers on loopback, the edge serving the real `web/dist`
 * build): a doctor publishes a week, a patient in another time zone registers, finds the doctor,
 * holds a seat, confirms, sees and cancels the booking; an admin replays the dead letter the
 * patient's text message left; two patients race for a last seat. Every route of the app's route
 * table passes axe at desktop and phone size (with no sideways scroll on the phone); the main
 * pages are photographed at both sizes into docs/web/. A second stack with short hold and
 * access-token lifetimes shows a lapsed hold, the silent refresh and two tabs sharing a sign-in.
 */
jest.setTimeout(180_000);

const WEB_DIST = resolve(__dirname, "../web/dist");
const SHOTS = resolve(__dirname, "../docs/web");
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
const DOCTOR_ZONE = "Europe/Berlin";
const PATIENT_ZONE = "America/New_York";
const ADMIN = { email: "admin@clinic.example", password: "admin password for the web test" };

/** The app's route table (web/src/routes.json, which web/src/app.tsx routes): every page's URL pattern by name. */
const ROUTES = JSON.parse(readFileSync(resolve(__dirname, "../web/src/routes.json"), "utf8")) as Record<string, { path: string; redirectOnly?: boolean }>;

/** The route a path is served by, as React Router picks it: the pattern that matches, `*` for none. */
function routeOf(pathname: string): string {
  for (const [name, { path }] of Object.entries(ROUTES)) {
    if (path === "*") continue;
    if (new RegExp(`^${path.replace(/:[A-Za-z]+/g, "[^/]+")}/?$`).test(pathname)) return name;
  }
  const fallback = Object.entries(ROUTES).find(([, { path }]) => path === "*");
  if (!fallback) throw new Error("the route table has no `*` route");
  return fallback[0];
}

const suffix = randomBytes(4).toString("hex");
let stack: Stack;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** The stack each context's pages talk to. */
const stackOf = new Map<BrowserContext, Stack>();
/** Every console error and CSP report of every page: none is expected. */
const pageErrors: string[] = [];
/** Pages checked by axe, as `<route name>@desktop|phone` (or `role-denied@...`), so the last test can say every route was. */
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
async function newPage(timezoneId: string, on: Stack = stack): Promise<Page> {
  const context = await browser.newContext({ viewport: DESKTOP, timezoneId, locale: "en-GB", baseURL: on.baseUrl });
  context.setDefaultTimeout(15_000);
  contexts.push(context);
  stackOf.set(context, on);
  const page = await context.newPage();
  watchErrors(page);
  return page;
}

/** Every script error of a page is recorded; none is expected. */
function watchErrors(page: Page): void {
  page.on("console", (message) => {
    // Chromium logs every 4xx answer as an error; the API's refusals are part of the flows here.
    if (message.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) {
      pageErrors.push(`${page.url()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (err) => pageErrors.push(`${page.url()}: ${err.message}`));
}

/**
 * axe finds nothing on the page as it is now, at desktop and at phone size, and the phone shows
 * no sideways scroll; the page counts as checked for the route its URL is served by (or as the
 * role-denied page).
 */
async function expectAccessible(page: Page, name: string, options: { roleDenied?: boolean } = {}): Promise<void> {
  const route: string = options.roleDenied ? "role-denied" : routeOf(new URL(page.url()).pathname);
  for (const [size, viewport] of [["desktop", DESKTOP], ["phone", PHONE]] as const) {
    await page.setViewportSize(viewport);
    const violations = await axeViolations(page);
    expect({ page: name, size, violations }).toEqual({ page: name, size, violations: [] });
    if (size === "phone") {
      const overflow = await page.evaluate(() => {
        const doc = (globalThis as any).document;
        const innerWidth = (globalThis as any).innerWidth as number;
        // The elements reaching past the right edge, to say what to fix.
        const wide = [...doc.querySelectorAll("body *")]
          .filter((el: any) => el.getBoundingClientRect().right > innerWidth + 0.5)
          .slice(0, 3)
          .map((el: any) => `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(" ").join(".")}` : ""}: ${String(el.textContent).slice(0, 60)}`);
        return { scrollWidth: doc.documentElement.scrollWidth as number, innerWidth, wide };
      });
      expect({ page: name, sidewaysScroll: overflow.scrollWidth > overflow.innerWidth, ...overflow }).toMatchObject({ page: name, sidewaysScroll: false });
    }
    checkedPages.add(`${route}@${size}`);
  }
  await page.setViewportSize(DESKTOP);
}

/** The page at desktop and phone width, both checked by axe, into docs/web/. */
async function photograph(page: Page, name: string): Promise<void> {
  await expectAccessible(page, name);
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`) });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(SHOTS, `${name}-phone.png`) });
  await page.setViewportSize(DESKTOP);
}

/** Where a failed test's pages are photographed (not docs/web/: those are the README's). */
const FAILURE_SHOTS = resolve(__dirname, "../.state/web-failures");

/**
 * What every open page showed when a test failed: its address, its alerts and status lines, the
 * start of its text, and a screenshot. A failed wait says only what it waited for, and the page
 * (an error sentence, a spinner, a stale list) is what says why.
 */
async function describeOpenPages(testName: string): Promise<string> {
  const lines: string[] = [];
  const pages = contexts.flatMap((context) => context.pages()).filter((page) => !page.isClosed());
  mkdirSync(FAILURE_SHOTS, { recursive: true });
  const slug = testName.replace(/[^A-Za-z0-9]+/g, "-").slice(0, 60);
  for (const [index, page] of pages.entries()) {
    try {
      const shot = join(FAILURE_SHOTS, `${slug}-${index}.png`);
      await page.screenshot({ path: shot, timeout: 5_000 });
      const said = await page.locator('[role="alert"], [role="status"]').allInnerTexts();
      const text = (await page.locator("body").innerText({ timeout: 5_000 })).replace(/\s+/g, " ").slice(0, 600);
      lines.push(`page ${index}: ${page.url()} (${shot})\n  alerts/status: ${JSON.stringify(said)}\n  text: ${text}`);
    } catch (err) {
      lines.push(`page ${index}: ${page.url()} (could not be read: ${(err as Error).message.split("\n")[0]})`);
    }
  }
  return lines.join("\n");
}

/** A browser test whose failure also reports what the open pages showed (describeOpenPages). */
function browserTest(name: string, body: () => Promise<void>): void {
  it(name, async () => {
    try {
      await body();
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      const shown = `\n\nThe open pages showed:\n${await describeOpenPages(name)}`;
      // jest prints the stack (message, then frames): the pages go before the frames.
      const firstFrame = err.stack?.search(/\n\s+at /) ?? -1;
      if (err.stack && firstFrame >= 0) err.stack = `${err.stack.slice(0, firstFrame)}${shown}${err.stack.slice(firstFrame)}`;
      throw err;
    }
  });
}

/** Answers the next matching request with the API's error body, as the edge would; later ones pass. */
async function answerOnceWithError(page: Page, path: string, method: string, status: number, error: { code: string; message: string }, headers: Record<string, string> = {}): Promise<() => number> {
  let answered = 0;
  await page.route(`**${path}`, async (route) => {
    if (route.request().method() !== method || answered > 0) return route.fallback();
    answered++;
    await route.fulfill({ status, headers, contentType: "application/json; charset=utf-8", body: JSON.stringify({ error: { ...error, details: [] } }) });
  });
  return () => answered;
}

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/sign-in");
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/** Monday (YYYY-MM-DD) of the week after this one (or `weeksAhead` weeks after it), in a time zone. */
function nextMonday(timeZone: string, weeksAhead = 1): string {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  const date = new Date(`${today}T12:00:00Z`);
  const daysSinceMonday = (date.getUTCDay() + 6) % 7;
  date.setUTCDate(date.getUTCDate() - daysSinceMonday + 7 * weeksAhead);
  return date.toISOString().slice(0, 10);
}

/**
 * Clicks "Next week →" until the page shows the week starting `monday`. How many clicks that takes
 * depends on the viewer's time zone: late on a Sunday in Berlin it is Monday, in New York not yet.
 */
async function goToWeek(page: Page, monday: string): Promise<void> {
  for (let clicks = 0; new URL(page.url()).searchParams.get("week") !== monday; clicks++) {
    if (clicks === 4) throw new Error(`"Next week →" did not reach the week of ${monday} (at ${page.url()})`);
    const before = page.url();
    await page.getByRole("link", { name: "Next week →" }).click();
    await page.waitForURL((url) => url.toString() !== before);
  }
}

const localTime = (iso: string, timeZone: string): string =>
  new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit" }).format(new Date(iso));

describe("the web client", () => {
  let doctorId: string;
  const doctorName = `Dr. Ada Byron ${suffix}`;
  const specialization = `cardiology-${suffix}`;
  const doctorAccount = { email: `ada.${suffix}@clinic.example`, password: "doctor password 123" };
  const patient = { email: `grace.${suffix}@example.org`, password: "patient password 123", phone: `+1555${String(Date.now()).slice(-7)}` };
  let bookingId: string;
  let doctorPage: Page;
  // The week the doctor publishes: the week after next, so that its first slot (Monday 09:00 in
  // Berlin) is always more than the 24 h cancellation window away and the patient may cancel it
  // (next week's Monday is tomorrow on a Sunday).
  const scheduleMonday = nextMonday(DOCTOR_ZONE, 2);

  browserTest("an admin adds the doctor and the doctor's account through the forms, changes and deletes another doctor", async () => {
    const page = await newPage(DOCTOR_ZONE);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.getByRole("heading", { name: "Doctors", exact: true }).waitFor();
    await page.getByLabel("Name", { exact: true }).fill(doctorName);
    await page.getByLabel("Specialization", { exact: true }).fill(specialization);
    await page.getByRole("button", { name: "Add doctor" }).click();
    await page.getByText(`Added ${doctorName}.`).waitFor();
    const found = (await stack.http().get(`/api/v1/doctors?specialization=${specialization}`)).body.doctors as { id: string; name: string }[];
    expect(found.map((d) => d.name)).toEqual([doctorName]);
    doctorId = found[0]!.id;

    // The new doctor is chosen for the account already.
    await page.getByLabel("Doctor", { exact: true }).locator(`option[value="${doctorId}"]`).waitFor({ state: "attached" });
    expect(await page.getByLabel("Doctor", { exact: true }).inputValue()).toBe(doctorId);
    await page.getByLabel("E-mail address").fill(doctorAccount.email);
    await page.getByLabel("First password").fill(doctorAccount.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText(`Account ${doctorAccount.email} created; they can sign in now.`).waitFor();

    // Another doctor, added by mistake: renamed, then deleted.
    const temporary = `Dr. Temp ${suffix}`;
    await page.getByLabel("Name", { exact: true }).fill(temporary);
    await page.getByLabel("Specialization", { exact: true }).fill(`temp-${suffix}`);
    await page.getByRole("button", { name: "Add doctor" }).click();
    await page.getByText(`Added ${temporary}.`).waitFor();
    await page.getByRole("button", { name: `Edit ${temporary}` }).click();
    await page.getByLabel("New name").fill(`Dr. Temporary ${suffix}`);
    await page.getByRole("button", { name: "Save doctor" }).click();
    await page.getByText(`Saved Dr. Temporary ${suffix}.`).waitFor();
    const renamed = (await stack.http().get(`/api/v1/doctors?specialization=temp-${suffix}`)).body.doctors as { id: string; name: string }[];
    expect(renamed.map((d) => d.name)).toEqual([`Dr. Temporary ${suffix}`]);
    await page.getByRole("cell", { name: `Dr. Temporary ${suffix}`, exact: true }).waitFor();
    await page.getByRole("button", { name: `Delete Dr. Temporary ${suffix}` }).click();
    await page.getByText(`Deleted Dr. Temporary ${suffix}.`).waitFor();
    expect((await stack.http().get(`/api/v1/doctors/${renamed[0]!.id}`)).status).toBe(404);
    await page.getByRole("cell", { name: doctorName, exact: true }).waitFor();
    await photograph(page, "admin-doctors");

    await page.getByRole("link", { name: `Schedule of ${doctorName}` }).click();
    await page.getByRole("heading", { name: `Schedule of ${doctorName}` }).waitFor();
    await expectAccessible(page, "admin doctor schedule");
    await page.goto("/no-such-page");
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    await expectAccessible(page, "not found");
  });

  browserTest("the doctor signs in with that account, publishes a week in their time zone, changes a capacity, deletes a slot", async () => {
    expect(doctorId).toBeDefined();
    const page = await newPage(DOCTOR_ZONE);
    doctorPage = page;
    await signIn(page, doctorAccount.email, doctorAccount.password);
    await page.getByRole("heading", { name: "My schedule" }).waitFor();
    const monday = scheduleMonday;
    await goToWeek(page, monday);
    await page.waitForURL(`**/schedule?week=${monday}`);
    expect(await page.getByLabel("Time zone").inputValue()).toBe(DOCTOR_ZONE);
    // The form takes the shown week's dates when the page has drawn that week (an effect after the
    // navigation), not at the moment the URL changes.
    await eventually(async () => ((await page.getByLabel("From").inputValue()) === monday ? true : undefined), 10_000, 100);
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

  browserTest("a patient registers, finds the doctor, holds a seat, confirms, sees the booking and cancels it", async () => {
    const page = await newPage(PATIENT_ZONE);
    await page.goto("/");
    await page.getByRole("heading", { name: "Find a doctor" }).waitFor();
    await page.getByRole("link", { name: "Register" }).click();
    await page.getByLabel("E-mail address").fill(patient.email);
    await page.getByLabel("Password").fill(patient.password);
    await expectAccessible(page, "register");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("button", { name: "Sign out" }).waitFor();

    await page.getByLabel("Specialization").fill(specialization);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("status").filter({ hasText: "1 doctor" }).waitFor();
    await photograph(page, "find-a-doctor");
    // By name instead: part of it, in any case.
    await page.getByLabel("Specialization").fill("");
    await page.getByLabel("Name").fill(`ada byron ${suffix}`);
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/[?&]q=/);
    await page.getByRole("status").filter({ hasText: "1 doctor" }).waitFor();
    await page.getByRole("link", { name: doctorName }).click();
    await page.getByRole("heading", { name: doctorName }).waitFor();
    await goToWeek(page, scheduleMonday);

    // Seats and times as the patient sees them: New York time.
    const first = ((await stack.http().get(`/api/v1/doctors/${doctorId}/slots?pageSize=1`)).body.slots as { id: string; startTime: string; endTime: string }[])[0]!;
    const row = page.locator(`li[data-slot-id="${first.id}"]`);
    await row.getByText("2 of 2 seats left").waitFor();
    expect(await row.locator(".slot-time").textContent()).toBe(`${localTime(first.startTime, PATIENT_ZONE)}–${localTime(first.endTime, PATIENT_ZONE)}`);
    await expectAccessible(page, "doctor week");

    await row.getByRole("button", { name: /^Book/ }).click();
    await page.getByLabel("Your name").fill("Grace Hopper");
    expect(await page.getByLabel("E-mail address or phone number").inputValue()).toBe(patient.email);
    // A mobile number without its country code: the API's VALIDATION_FAILED names the form's field.
    await page.getByLabel("Mobile for text messages (optional)").fill("5551234");
    await page.getByRole("button", { name: "Hold this seat" }).click();
    await page.getByRole("alert").filter({ hasText: "Please check: “Mobile for text messages (optional)” must be an E.164 phone number" }).waitFor();
    await page.getByLabel("Mobile for text messages (optional)").fill(patient.phone);
    // Rate limited: the sentence says how long to wait, from the answer's Retry-After.
    const limited = await answerOnceWithError(page, "/api/v1/bookings", "POST", 429, { code: "RATE_LIMITED", message: "too many requests; retry in 7 s" }, { "retry-after": "7" });
    await page.getByRole("button", { name: "Hold this seat" }).click();
    await page.getByRole("alert").filter({ hasText: "Too many requests. Wait 7 seconds and try again." }).waitFor();
    expect(limited()).toBe(1);
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
    // The same patient tries to hold the same time again.
    await page.getByRole("button", { name: "Close" }).click();
    await row.getByRole("button", { name: /^Book/ }).click();
    await page.getByRole("button", { name: "Hold this seat" }).click();
    await page.getByRole("alert").filter({ hasText: "You already hold or have booked a seat at this time. See My bookings." }).waitFor();
    await page.getByRole("button", { name: "Choose another time" }).click();
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

    // The doctor sees who booked that time (the booking is cancelled now, and still listed).
    await doctorPage.goto(`/schedule?week=${scheduleMonday}`);
    const doctorRow = doctorPage.locator(`li[data-slot-id="${first.id}"]`);
    await doctorRow.getByRole("button", { name: /^Who booked/ }).click();
    await doctorRow.getByRole("region", { name: /^Bookings for / }).getByRole("cell", { name: "Grace Hopper" }).waitFor();
    await doctorRow.getByRole("cell", { name: `${patient.email}, ${patient.phone}` }).waitFor();

    // Pages that are not for a patient's account say so.
    await page.goto("/admin/doctors");
    await page.getByRole("heading", { name: "Not for your account" }).waitFor();
    await expectAccessible(page, "role denied", { roleDenied: true });
    await page.goto("/bookings");
    await page.getByRole("region", { name: "Past and cancelled bookings" }).waitFor();

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

  browserTest("an admin sees the booking's notifications and replays its dead letter once the provider recovers", async () => {
    expect(bookingId).toBeDefined();
    const page = await newPage(DOCTOR_ZONE);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.getByRole("heading", { name: "Doctors", exact: true }).waitFor();

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

  browserTest("two patients race for the last seat: one holds it, the other is told it is full without reloading", async () => {
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

  browserTest("keeps seats up to date by polling when the availability stream cannot be had", async () => {
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

  browserTest("says what went wrong in words: a wrong password, then too many failed sign-ins with the wait", async () => {
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

  browserTest("an admin is told a doctor with booked patients cannot be deleted", async () => {
    const admin = stack.http();
    const start = new Date(`${nextMonday("UTC")}T18:00:00Z`);
    start.setUTCDate(start.getUTCDate() + 4);
    const slot = (await admin.post(`/api/v1/doctors/${doctorId}/slots`, { startTime: start.toISOString(), endTime: new Date(start.getTime() + 1_800_000).toISOString(), capacity: 1 })).body;
    const someone = admin.asPatient();
    const held = await someone.post("/api/v1/bookings", { slotId: slot.id, patientName: "Booked Patient", patientContact: "booked@example.org" });
    expect(held.status).toBe(201);
    expect((await someone.post(`/api/v1/bookings/${held.body.id}/confirm`)).status).toBe(200);

    const page = await newPage(DOCTOR_ZONE);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.getByRole("button", { name: `Delete ${doctorName}` }).click();
    await page.getByRole("alert").filter({ hasText: "Patients are booked with this doctor; the doctor cannot be deleted while their bookings stand." }).waitFor();
    expect((await admin.get(`/api/v1/doctors/${doctorId}`)).status).toBe(200);
  });

  browserTest("pages through a patient's bookings: every booking shows, however many pages they take", async () => {
    const admin = stack.http();
    const email = `many.${suffix}@example.org`;
    const registered = await admin.anonymous().post("/api/v1/auth/register", { email, password: "many bookings 123" });
    expect(registered.status).toBe(201);
    const holder = admin.asPatient(registered.body.id);
    // More than one page of My bookings (25 a page), three weeks ahead: clear of the week the
    // doctor published (the week after next), where slots of its own would overlap.
    const count = 27;
    const first = new Date(`${nextMonday("UTC", 3)}T06:00:00Z`);
    for (let i = 0; i < count; i++) {
      const start = new Date(first.getTime() + i * 1_800_000);
      const slot = (await admin.post(`/api/v1/doctors/${doctorId}/slots`, { startTime: start.toISOString(), endTime: new Date(start.getTime() + 1_800_000).toISOString(), capacity: 1 })).body;
      expect((await holder.post("/api/v1/bookings", { slotId: slot.id, patientName: "Many Bookings", patientContact: email })).status).toBe(201);
    }

    const page = await newPage(PATIENT_ZONE);
    const pageRequests: string[] = [];
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.pathname === `/api/v1/patients/${registered.body.id}/bookings`) pageRequests.push(url.search);
    });
    await signIn(page, email, "many bookings 123");
    await page.getByRole("link", { name: "My bookings" }).click();
    await eventually(async () => ((await page.locator("tr[data-booking-id]").count()) === count ? true : undefined), 15_000, 250);
    // Page by page: a first page without a token, then the next one by its token (the page may
    // load its list more than once while it settles, each load the same two requests).
    expect(pageRequests.length).toBeGreaterThanOrEqual(2);
    expect(new URLSearchParams(pageRequests[0]).get("pageToken")).toBeNull();
    expect(pageRequests.some((search) => new URLSearchParams(search).get("pageToken"))).toBe(true);
  });

  browserTest("was built against the OpenAPI document the running edge serves", async () => {
    const served = await (await fetch(`${stack.baseUrl}/openapi.json`)).json();
    const built = JSON.parse(readFileSync(resolve(__dirname, "../web/src/api/generated/openapi.json"), "utf8"));
    expect(served).toEqual(built);
  });
});

/**
 * A stack with a four-second hold and a 70-second access token: a hold lapses while the page
 * still counts down, the page refreshes its sign-in by itself, and two tabs of one sign-in share
 * the single-use refresh token without revoking it.
 */
describe("the web client's sign-in and holds over time", () => {
  let shortStack: Stack;
  let doctorId: string;
  const HOLD_TTL_MS = 4_000;
  const ACCESS_TOKEN_TTL_SECONDS = 70;

  beforeAll(async () => {
    shortStack = await startStack({
      name: "e2e_web_short",
      booking: { HOLD_TTL_MS: String(HOLD_TTL_MS) },
      edge: { WEB_DIR: WEB_DIST, ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TOKEN_TTL_SECONDS) },
    });
    const doctor = await shortStack.http().post("/api/v1/doctors", { name: `Dr. Short ${suffix}`, specialization: `short-${suffix}` });
    expect(doctor.status).toBe(201);
    doctorId = doctor.body.id;
  });

  afterAll(async () => {
    // Its pages first: a page left open would log its calls to a stopped edge as errors.
    for (const context of contexts.filter((c) => stackOf.get(c) === shortStack)) await context.close();
    await shortStack?.stop();
  });

  async function patientPage(name: string): Promise<{ page: Page; email: string; password: string }> {
    const email = `${name}.${suffix}@example.org`;
    const password = "short stack password";
    expect((await shortStack.http().anonymous().post("/api/v1/auth/register", { email, password })).status).toBe(201);
    return { page: await newPage(PATIENT_ZONE, shortStack), email, password };
  }

  async function newSlot(hourUtc: number) {
    const start = new Date(`${nextMonday("UTC")}T${String(hourUtc).padStart(2, "0")}:00:00Z`);
    const slot = (await shortStack.http().post(`/api/v1/doctors/${doctorId}/slots`, { startTime: start.toISOString(), endTime: new Date(start.getTime() + 1_800_000).toISOString(), capacity: 1 })).body;
    expect(slot.id).toBeDefined();
    return slot as { id: string };
  }

  browserTest("a hold that lapsed at the API is reported when confirming it, and the seat is free again", async () => {
    const { page, email, password } = await patientPage("lapse");
    const slot = await newSlot(14);
    // The page's clock stands still after the hold, so its own countdown never ends: the lapse
    // is the API's (BOOKING_EXPIRED) alone.
    await page.clock.install();
    await signIn(page, email, password);
    await page.goto(`/doctors/${doctorId}?week=${nextMonday("UTC")}`);
    const row = page.locator(`li[data-slot-id="${slot.id}"]`);
    await row.getByRole("button", { name: /^Book/ }).click();
    await page.getByLabel("Your name").fill("Lapsing Patient");
    await page.getByRole("button", { name: "Hold this seat" }).click();
    await page.getByRole("timer").waitFor();
    await page.clock.pauseAt(Date.now() + 200);
    await eventually(async () => {
      const seats = (await shortStack.http().get(`/api/v1/availability?slotIds=${slot.id}`)).body.availability[0];
      return seats.remaining === 1 ? true : undefined;
    }, HOLD_TTL_MS + 10_000, 250);
    const answer = page.waitForResponse((response) => /\/api\/v1\/bookings\/[^/]+\/confirm$/.test(new URL(response.url()).pathname));
    await page.getByRole("button", { name: "Confirm booking" }).click();
    const confirmed = await answer;
    expect({ status: confirmed.status(), code: (await confirmed.json()).error.code }).toEqual({ status: 409, code: "BOOKING_EXPIRED" });
    await page.getByText("Your hold lapsed after two minutes and the seat was given back. Hold it again if it is still free.").waitFor();
  });

  browserTest("refreshes the sign-in silently before the access token expires, and keeps no token in localStorage", async () => {
    const { page, email, password } = await patientPage("refresh");
    await signIn(page, email, password);
    expect(await page.evaluate(() => (globalThis as any).localStorage.length as number)).toBe(0);
    const navigations: string[] = [];
    page.on("framenavigated", (frame) => navigations.push(frame.url()));
    // The refresh is scheduled 60 s before expiry: 10 s after signing in.
    const refreshed = await page.waitForResponse((response) => new URL(response.url()).pathname === "/api/v1/auth/refresh", { timeout: 40_000 });
    expect(refreshed.status()).toBe(200);
    expect(navigations).toEqual([]);
    expect(await page.evaluate(() => (globalThis as any).localStorage.length as number)).toBe(0);
    // The page keeps working with the new token.
    await page.getByRole("link", { name: "My bookings" }).click();
    await page.getByRole("heading", { name: "My bookings" }).waitFor();
    await page.getByText("Nothing booked.").waitFor();
  });

  browserTest("an access token that expired on the way is refreshed and the call sent again", async () => {
    const { page, email, password } = await patientPage("expired");
    await signIn(page, email, password);
    const sent: string[] = [];
    page.on("request", (request) => {
      if (/^\/api\/v1\/patients\/[^/]+\/bookings$/.test(new URL(request.url()).pathname)) sent.push(request.url());
    });
    // Awaited, not collected from events: the page may show the list before the test process hears
    // of the refresh's response.
    const refreshed = page.waitForResponse((response) => new URL(response.url()).pathname === "/api/v1/auth/refresh", { timeout: 30_000 });
    const expired = await answerOnceWithError(page, "/api/v1/patients/*/bookings*", "GET", 401, { code: "TOKEN_EXPIRED", message: "the access token has expired; refresh it" }, { "www-authenticate": 'Bearer realm="clinic", error="invalid_token"' });
    await page.getByRole("link", { name: "My bookings" }).click();
    await page.getByText("Nothing booked.").waitFor();
    expect(expired()).toBe(1);
    expect(sent.length).toBe(2);
    expect((await refreshed).status()).toBe(200);
    await page.getByRole("button", { name: "Sign out" }).waitFor();
  });

  browserTest("two tabs of one sign-in (a duplicated tab shares the refresh token) refresh without revoking it", async () => {
    const { page: first, email, password } = await patientPage("tabs");
    await signIn(first, email, password);
    const refreshAnswers: { tab: string; status: number }[] = [];
    const watchRefreshes = (tab: Page, name: string): void =>
      void
      tab.on("response", (response) => {
        if (new URL(response.url()).pathname === "/api/v1/auth/refresh") refreshAnswers.push({ tab: name, status: response.status() });
      });
    watchRefreshes(first, "first");
    // window.open copies this tab's sessionStorage into the new one, as duplicating a tab does.
    const [second] = await Promise.all([
      first.context().waitForEvent("page"),
      first.evaluate(() => void (globalThis as any).open((globalThis as any).location.href)),
    ]);
    watchErrors(second);
    watchRefreshes(second, "second");
    await second.getByRole("button", { name: "Sign out" }).waitFor();
    expect(await second.evaluate(() => (globalThis as any).sessionStorage.getItem("clinic.refreshToken") as string | null)).toBeTruthy();
    // The second tab spent the shared token when it opened; the first reloads and refreshes too,
    // then both refresh on their timers (10 s after their tokens were issued).
    await first.reload();
    await first.getByRole("button", { name: "Sign out" }).waitFor();
    await eventually(async () => (refreshAnswers.length >= 4 ? true : undefined), 45_000, 500);
    expect(refreshAnswers.filter((a) => a.status !== 200)).toEqual([]);
    for (const tab of [first, second]) {
      await tab.goto("/bookings");
      await tab.getByText("Nothing booked.").waitFor();
      await tab.getByRole("button", { name: "Sign out" }).waitFor();
    }
    expect(refreshAnswers.filter((a) => a.status !== 200)).toEqual([]);
  });
});

it("loaded every page without a script error or a CSP violation, and axe checked every route at desktop and phone size", () => {
  expect(pageErrors).toEqual([]);
  const pages = [...Object.entries(ROUTES).filter(([, route]) => !route.redirectOnly).map(([name]) => name), "role-denied"];
  const required = pages.flatMap((name) => [`${name}@desktop`, `${name}@phone`]);
  expect(required.filter((key) => !checkedPages.has(key))).toEqual([]);
});
