/** One jest run over every workspace; TypeScript is type-checked by `tsc -b`, not here. */
const path = require("node:path");

module.exports = {
  // CLINIC_TEST_HANDLE_REPORT=<dir>: each file's handles left open after it, written to <dir>
  // (tools/jest/open-handle-report-environment.js), for a worker that "failed to exit gracefully".
  testEnvironment: process.env.CLINIC_TEST_HANDLE_REPORT
    ? path.join(__dirname, "tools", "jest", "open-handle-report-environment.js")
    : "node",
  roots: ["<rootDir>/packages", "<rootDir>/services", "<rootDir>/test", "<rootDir>/loadtest", "<rootDir>/tools"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.test.json" }],
  },
  moduleNameMapper: {
    "^@clinic/(proto|test-stack)$": "<rootDir>/packages/$1/src",
    "^@clinic/proto/shapes$": "<rootDir>/packages/proto/src/shapes",
    "^@clinic/platform/(.*)$": "<rootDir>/packages/platform/src/$1",
    // A service's package entry (services/<name>/src/index.ts), as its package.json exports it.
    "^@clinic/(doctor|slot|booking|notifier|edge)-service$": "<rootDir>/services/$1/src",
  },
  testTimeout: 60_000,
  // Integration tests share one PostgreSQL, Kafka and Redis; a couple of workers keeps the
  // 2-core machines responsive while still overlapping I/O waits.
  maxWorkers: 2,
};
