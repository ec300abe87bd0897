// How the Pulumi CLI turns Pulumi.yaml's `config:` block and a stack file into the config the
// program receives, and when it refuses a stack before any program runs (pulumi/pulumi
// pkg/workspace/config.go, mergeConfig and validateStackConfigValues; sdk/go/common/workspace/
// project.go, RewriteShorthandConfigValues and ValidateConfigValue). The mock runs use it, so a
// stack the CLI would refuse is refused here too.
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { StackFile } from "../../config/stack-file";

const ROOT = path.resolve(__dirname, "..", "..");
const PROJECT_FILE = path.join(ROOT, "Pulumi.yaml");

interface ProjectConfigType {
  type?: "string" | "integer" | "boolean" | "array" | "object";
  description?: string;
  default?: unknown;
  value?: unknown;
  secret?: boolean;
}

export interface Project {
  name: string;
  config: Record<string, ProjectConfigType>;
  options: { refresh?: string };
}

export function readProject(file = PROJECT_FILE): Project {
  const doc = parse(fs.readFileSync(file, "utf8")) ?? {};
  const config: Record<string, ProjectConfigType> = {};
  for (const [key, value] of Object.entries((doc.config ?? {}) as Record<string, unknown>)) {
    // A scalar or a list is shorthand: a default for the project's own keys, a value for others'.
    const shorthand = value === null || typeof value !== "object" || Array.isArray(value);
    config[key] = shorthand ? (namespaced(doc.name, key) ? { default: value } : { value }) : (value as ProjectConfigType);
  }
  return { name: doc.name, config, options: doc.options ?? {} };
}

/** Whether a Pulumi.yaml config key belongs to the project (no namespace, or the project's own). */
function namespaced(project: string, key: string): boolean {
  return !key.includes(":") || key.startsWith(`${project}:`);
}

function fullKey(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

/** The CLI's ValidateConfigValue for a stack value (strings as the stack file stores scalars). */
function matchesType(type: string, raw: unknown): boolean {
  const value = typeof raw === "object" && raw !== null ? raw : String(raw);
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "string" && /^[+-]?\d+$/.test(value);
    case "boolean":
      return value === "true" || value === "false";
    case "object":
      return typeof value === "object" && !Array.isArray(value);
    default:
      return Array.isArray(value);
  }
}

export class StackConfigError extends Error {}

/**
 * The config the CLI hands the program for this stack file (every `namespace:key` as a string,
 * objects as JSON), or the CLI's own refusal: a project key without a default that the stack
 * does not set, or a stack value of the wrong declared type.
 */
export function cliStackConfig(stack: StackFile, project: Project = readProject()): Record<string, string> {
  const stackValues = stack.raw;
  const config = { ...stack.flat };
  const missing: string[] = [];
  const problems: string[] = [];
  for (const key of Object.keys(project.config).sort()) {
    const declared = project.config[key];
    const k = fullKey(project.name, key);
    const onStack = k in stackValues;
    const fallback = declared.default !== undefined && declared.default !== null ? declared.default : declared.value;
    if (!onStack && (fallback === undefined || fallback === null)) {
      if (namespaced(project.name, key)) missing.push(key);
      continue;
    }
    if (!onStack) config[k] = typeof fallback === "string" ? fallback : JSON.stringify(fallback);
    else if (declared.type && !matchesType(declared.type, stackValues[k]))
      problems.push(`Stack '${stack.stack}' with configuration key '${key}' must be of type '${declared.type}'`);
  }
  if (missing.length) {
    throw new StackConfigError(
      `Stack '${stack.stack}' is missing configuration value${missing.length > 1 ? "s" : ""} ${missing.map((m) => `'${m}'`).join(", ")}`,
    );
  }
  if (problems.length) throw new StackConfigError(problems.join("\n"));
  return config;
}
