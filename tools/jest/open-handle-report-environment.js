"use strict";
/**
 * A jest test environment that says which test file left what running.
 *
 * jest reports "a worker process has failed to exit gracefully" without naming the file or the
 * handle, and `--detectOpenHandles` runs everything in one process, which changes the timing that
 * makes such leaks happen. This environment keeps the normal parallel run: it records every
 * handle that can keep Node's event loop alive (timers, sockets, servers, child processes) with
 * the stack that created it and the test file that was running, and after each file's teardown
 * (plus a grace period for closes still in flight) appends the ones still open and referenced to
 * `<dir>/<worker pid>.log`.
 *
 * On when CLINIC_TEST_HANDLE_REPORT names that directory (jest.config.js picks it then);
 * CLINIC_TEST_HANDLE_GRACE_MS sets the grace period (default 2000).
 */
const { TestEnvironment } = require("jest-environment-node");
const asyncHooks = require("node:async_hooks");
const fs = require("node:fs");
const path = require("node:path");

/** The async resource types that are handles able to hold the event loop open. */
const LOOP_HOLDING_TYPES = new Set([
  "Timeout",
  "TCPWRAP",
  "TCPSERVERWRAP",
  "TCPCONNECTWRAP",
  "PIPEWRAP",
  "PIPESERVERWRAP",
  "PIPECONNECTWRAP",
  "UDPWRAP",
  "PROCESSWRAP",
  "SIGNALWRAP",
  "FSEVENTWRAP",
  "STATWATCHER",
]);

/** One tracker per worker process: the hook sees every file the worker runs, one after another. */
function tracker() {
  const key = Symbol.for("clinic.openHandleTracker");
  if (!globalThis[key]) {
    const state = { file: undefined, open: new Map() };
    asyncHooks
      .createHook({
        init(asyncId, type, _triggerId, resource) {
          if (!LOOP_HOLDING_TYPES.has(type) || state.file === undefined) return;
          const stack = (new Error().stack ?? "").split("\n").slice(2, 16).join("\n");
          state.open.set(asyncId, { type, file: state.file, stack, resource: new WeakRef(resource) });
        },
        destroy(asyncId) {
          state.open.delete(asyncId);
        },
      })
      .enable();
    globalThis[key] = state;
  }
  return globalThis[key];
}

/** A handle that is gone, closed or unreferenced cannot hold the worker open. */
function holdsLoop(resource) {
  if (!resource) return false;
  if (typeof resource.hasRef === "function") return resource.hasRef();
  return true;
}

class OpenHandleReportEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
    this.reportDir = process.env.CLINIC_TEST_HANDLE_REPORT;
    this.graceMs = Number(process.env.CLINIC_TEST_HANDLE_GRACE_MS ?? 2000);
    this.tracker = this.reportDir ? tracker() : undefined;
  }

  async setup() {
    if (this.tracker) this.tracker.file = this.testPath;
    await super.setup();
  }

  async teardown() {
    await super.teardown();
    if (!this.tracker) return;
    this.tracker.file = undefined;
    await new Promise((resolve) => setTimeout(resolve, this.graceMs).unref());
    const left = [];
    for (const [asyncId, handle] of this.tracker.open) {
      if (handle.file !== this.testPath) continue;
      if (!holdsLoop(handle.resource.deref())) continue;
      left.push(`  ${handle.type} (async id ${asyncId}), created\n${handle.stack}`);
    }
    if (left.length === 0) return;
    fs.mkdirSync(this.reportDir, { recursive: true });
    fs.appendFileSync(
      path.join(this.reportDir, `${process.pid}.log`),
      `${this.testPath}: ${left.length} handle(s) still open ${this.graceMs} ms after its teardown\n${left.join("\n")}\n`,
    );
  }
}

module.exports = OpenHandleReportEnvironment;
