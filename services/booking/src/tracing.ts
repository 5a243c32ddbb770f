import { startTelemetry } from "@clinic/platform/telemetry";

/** Started before anything else is loaded (see main.ts), so every library is instrumented. */
export const telemetry = startTelemetry({ service: "booking", attributes: { "clinic.booking.shards": process.env["BOOKING_SHARDS"] ?? "default" } });
