import { chromium, type Browser } from "playwright-core";

/**
 * Debian's Chromium, installed by `scripts/ensure-browser`. playwright-core never downloads a
 * browser; it drives the one at this path.
 */
export const chromiumPath = (): string => process.env["CLINIC_CHROMIUM"] ?? "/usr/bin/chromium";

/**
 * A headless Chromium for browser tests. The flags keep it off the network it cannot reach
 * (background updates, sync, QUIC probes), which otherwise stall page loads here; --no-sandbox
 * because CI runs as root.
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}
