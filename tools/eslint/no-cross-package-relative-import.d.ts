import type { Rule } from "eslint";

/** The rule of no-cross-package-relative-import.js, typed for its test. */
declare const rule: Rule.RuleModule;
export = rule;
