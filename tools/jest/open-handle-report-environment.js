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
 * `<dir>/<worker pid>.log`. Handles made after a file's teardown (by work it left running: a
 * reconnect, a retry timer) count as that file's too, and are reported when the worker's next
 * file starts if they are open then.
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
    // `file`: the test file running now; `after`: the one whose teardown came last, to which
    // handles made between files belong.
    // `paused` while jest builds the next file's environment (its fake-timer probes are jest's).
    const state = { file: undefined, after: undefined, paused: false, open: new Map() };
    asyncHooks
      .createHook({
        init(asyncId, type, _triggerId, resource) {
          if (!LOOP_HOLDING_TYPES.has(type) || state.paused) return;
          const file = state.file ?? state.after;
          if (file === undefined) return;
          const stack = (new Error().stack ?? "").split("\n").slice(2, 16).join("\n");
          if (madeByJest(stack)) return;
          state.open.set(asyncId, { type, file, afterTeardown: state.file === undefined, stack, resource: new WeakRef(resource) });
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

/**
 * Handles jest makes for itself (its reporters' timers, when a run is in band) are no test's: the
 * first frame outside Node's own code says who made a handle.
 */
function madeByJest(stack) {
  const frame = stack.split("\n").find((line) => /\bat\b/.test(line) && !/\(node:|at node:/.test(line));
  return frame !== undefined && /node_modules[\\/](@jest[\\/]|jest-[^\\/]+[\\/]|jest[\\/])/.test(frame);
}

/** A handle that is gone, closed or unreferenced cannot hold the worker open. */
function holdsLoop(resource) {
  if (!resource) return false;
  if (typeof resource.hasRef === "function") return resource.hasRef();
  return true;
}

class OpenHandleReportEnvironment extends TestEnvironment {
  constructor(config, context) {
    const reportDir = process.env.CLINIC_TEST_HANDLE_REPORT;
    const state = reportDir ? tracker() : undefined;
    if (state) state.paused = true;
    try {
      super(config, context);
    } finally {
      if (state) state.paused = false;
    }
    this.testPath = context.testPath;
    this.reportDir = reportDir;
    this.graceMs = Number(process.env.CLINIC_TEST_HANDLE_GRACE_MS ?? 2000);
    this.tracker = state;
  }

  async setup() {
    if (this.tracker) {
      const previous = this.tracker.after;
      if (previous !== undefined) this.report(previous, (handle) => handle.afterTeardown, "made after its teardown, still open when the next file started");
      this.tracker.file = this.testPath;
    }
    await super.setup();
  }

  async teardown() {
    await super.teardown();
    if (!this.tracker) return;
    this.tracker.file = undefined;
    this.tracker.after = this.testPath;
    await new Promise((resolve) => setTimeout(resolve, this.graceMs).unref());
    this.report(this.testPath, () => true, `still open ${this.graceMs} ms after its teardown`);
  }

  /** Appends the handles of `file` that `which` picks and that still hold the loop; forgets them. */
  report(file, which, saying) {
    const left = [];
    for (const [asyncId, handle] of this.tracker.open) {
      if (handle.file !== file || !which(handle)) continue;
      this.tracker.open.delete(asyncId);
      if (!holdsLoop(handle.resource.deref())) continue;
      left.push(`  ${handle.type} (async id ${asyncId}${handle.afterTeardown ? ", made after the file's teardown" : ""}), created\n${handle.stack}`);
    }
    if (left.length === 0) return;
    fs.mkdirSync(this.reportDir, { recursive: true });
    fs.appendFileSync(path.join(this.reportDir, `${process.pid}.log`), `${file}: ${left.length} handle(s) ${saying}\n${left.join("\n")}\n`);
  }
}

module.exports = OpenHandleReportEnvironment;
