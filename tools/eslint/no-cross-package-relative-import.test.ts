import * as path from "node:path";
import { RuleTester } from "eslint";
import tseslint from "typescript-eslint";
import rule from "./no-cross-package-relative-import";

const root = path.resolve(__dirname, "..", "..");
const at = (file: string) => path.join(root, file);

// RuleTester registers its cases with jest's describe/it.
const ruleTester = new RuleTester({ languageOptions: { ecmaVersion: "latest", sourceType: "module" } });
const typescript = { languageOptions: { parser: tseslint.parser } };

/** An import of `source` in `file`, reported as reaching from package `from` into package `to`. */
const reaching = (file: string, source: string, from: string, to: string) => ({
  filename: at(file),
  code: `import { imported } from "${source}";`,
  errors: [{ messageId: "crossPackage" as const, data: { source, from, to } }],
});

ruleTester.run("no-cross-package-relative-import", rule, {
  valid: [
    // Inside one package, however deep.
    { filename: at("services/slot/test/slot-service.test.ts"), code: 'import { startSlotService } from "../src/app";' },
    { filename: at("services/booking/test/archive.test.ts"), code: 'import { migrations } from "../migrations";' },
    { filename: at("packages/test-stack/src/index.ts"), code: 'export * from "./stack-env";' },
    // Generated proto code climbs inside its own package.
    {
      filename: at("packages/proto/src/gen/clinic/slot/v1/slot_service.ts"),
      code: 'import { Timestamp } from "../../../google/protobuf/timestamp";',
    },
    // The root package's own folders share it: test/ may use tools/ and the other way round.
    { filename: at("test/k8s/render.test.ts"), code: 'import { render } from "./chart";' },
    { filename: at("tools/eslint/no-cross-package-relative-import.test.ts"), code: 'const chart = require("../../test/k8s/chart");' },
    // Package names and node built-ins are what the rule asks for.
    { filename: at("services/slot/test/slot-booking.test.ts"), code: 'import { startBookingService } from "@clinic/booking-service";' },
    { filename: at("web/src/main.tsx"), code: 'import "./styles.css";' },
    // Only string literals can be resolved; a computed path is left to review.
    { filename: at("test/whole-platform.test.ts"), code: "const dashboards = require(path.join(root, 'deploy/x.js'));" },
  ],
  invalid: [
    reaching("services/slot/test/harness.ts", "../../booking/src/app", "@clinic/slot-service", "@clinic/booking-service"),
    reaching("services/booking/test/booking-cache.test.ts", "../../slot/test/harness", "@clinic/booking-service", "@clinic/slot-service"),
    reaching("test/bookings.test.ts", "../services/booking/src/archive", "clinic-platform", "@clinic/booking-service"),
    {
      filename: at("test/harness.ts"),
      code: 'export { startEdge } from "../services/edge/src/app";\nexport * from "../packages/test-stack/src/time";',
      errors: [{ messageId: "crossPackage" }, { messageId: "crossPackage" }],
    },
    // A workspace package reaching up into the root package's folders.
    reaching("services/notifier/test/crash.test.ts", "../../../test/platform-processes", "@clinic/notifier-service", "clinic-platform"),
    // Dynamic import and require.
    {
      filename: at("loadtest/src/run.ts"),
      code: 'const app = await import("../../services/edge/src/app");\nconst config = require("../../services/edge/src/config");',
      errors: [{ messageId: "crossPackage" }, { messageId: "crossPackage" }],
    },
    // The web client is a workspace package like any other.
    {
      ...typescript,
      filename: at("web/src/api/client.ts"),
      code: 'import type { RunningEdge } from "../../../services/edge/src/app";',
      errors: [{ messageId: "crossPackage", data: { source: "../../../services/edge/src/app", from: "@clinic/web", to: "@clinic/edge-service" } }],
    },
    // TypeScript's own forms.
    {
      ...typescript,
      filename: at("services/doctor/test/doctor-cache.test.ts"),
      code: 'import harness = require("../../slot/test/harness");\ntype Started = import("../../slot/src/app").RunningService;',
      errors: [{ messageId: "crossPackage" }, { messageId: "crossPackage" }],
    },
  ],
});
