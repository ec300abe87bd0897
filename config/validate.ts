// Turns raw stack config into the one typed object the program uses, or into the full list of
// problems. The schema (config/schema.ts) states the shape, the defaults and the rules that span
// several keys, and lists every problem in one parse; this file words zod's issues for the admin.
import { z } from "zod";
import { CONFIG_NAMESPACE, keyPath, ParsedStack, stackSchema, stackSchemaWithFiles } from "./schema";

export { CONFIG_NAMESPACE };

export interface ConfigProblem {
  /** Key path inside the stack config, e.g. `mail-platform:mailboxes[2].address`. */
  key: string;
  /** What the config says. */
  found: string;
  /** What would be accepted, phrased as a hint. */
  expected: string;
}

export class ConfigError extends Error {
  constructor(public readonly problems: ConfigProblem[]) {
    super(formatProblems(problems));
    this.name = "ConfigError";
  }
}

export function formatProblems(problems: ConfigProblem[]): string {
  const lines = problems.map((p) => `  - ${p.key}: found ${p.found}; expected ${p.expected}`);
  return `The stack config has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${lines.join("\n")}`;
}

export interface ValidateOptions {
  /**
   * Check that files the config names (PEM certificates) exist on this machine. The program always
   * does; a reviewer validating a stack file away from the deploy machine can skip it.
   */
  checkFiles: boolean;
}

/** Validates the stack's config values (keys without the namespace). Returns the parsed object or every problem. */
export function validateStack(
  raw: Record<string, unknown>,
  options: ValidateOptions = { checkFiles: true },
): { ok: true; value: ParsedStack } | { ok: false; problems: ConfigProblem[] } {
  const parsed = (options.checkFiles ? stackSchemaWithFiles : stackSchema).safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, problems: parsed.error.issues.map((i) => zodProblem(i, raw)) };
}

function at(raw: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (v, seg) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[seg] : undefined),
    raw,
  );
}

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function zodProblem(issue: z.core.$ZodIssue, raw: unknown): ConfigProblem {
  if (issue.code === "unrecognized_keys") {
    return {
      key: keyPath(issue.path),
      found: `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")}`,
      expected: "only the keys listed in the README's config reference (check the spelling)",
    };
  }
  // A cross-key rule says what it judged (a lower-cased address, a default, an alias loop); every
  // other problem shows the value as the stack file has it.
  const found = issue.code === "custom" && issue.params && "found" in issue.params ? issue.params.found : at(raw, issue.path);
  return { key: keyPath(issue.path), found: show(found), expected: hint(issue, found) };
}

function hint(issue: z.core.$ZodIssue, found: unknown): string {
  switch (issue.code) {
    case "invalid_type":
      return found === undefined ? `a ${issue.expected}; this key is required` : `a ${issue.expected}`;
    case "too_small":
      return issue.origin === "array"
        ? `at least ${issue.minimum} entr${issue.minimum === 1 ? "y" : "ies"}`
        : `a ${issue.origin} ${issue.inclusive ? ">=" : ">"} ${issue.minimum}`;
    case "too_big":
      return `a ${issue.origin} ${issue.inclusive ? "<=" : "<"} ${issue.maximum}`;
    case "invalid_value":
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_union":
      return "one of the documented forms (see the README's config reference)";
    default:
      return issue.message;
  }
}
