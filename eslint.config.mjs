// Type-aware lint: the rules that matter most here catch promises nobody awaits (a lost error
// or an unfinished write) and misused async callbacks.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";
import noCrossPackageRelativeImport from "./tools/eslint/no-cross-package-relative-import.js";

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "**/dist/**", "packages/proto/src/gen/**", "web/src/api/generated/**", "coverage/**", "**/*.js", "**/*.mjs", "loadtest/**/*.k6.js"],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    ignores: ["web/**"],
    languageOptions: {
      parserOptions: { project: ["./tsconfig.check.json"], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-console": "error",
    },
  },
  {
    // Everywhere, the web client included: another workspace package is imported by its name,
    // never by a relative path into its folders.
    files: ["**/*.ts", "**/*.tsx", "**/*.mts", "**/*.cts"],
    plugins: { clinic: { rules: { "no-cross-package-relative-import": noCrossPackageRelativeImport } } },
    rules: { "clinic/no-cross-package-relative-import": "error" },
  },
  {
    // The web client: its own tsconfig (DOM, JSX), the same rules.
    files: ["web/src/**/*.ts", "web/src/**/*.tsx"],
    languageOptions: {
      parserOptions: { project: ["./web/tsconfig.json"], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { attributes: false } }],
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-console": "error",
    },
  },
);
