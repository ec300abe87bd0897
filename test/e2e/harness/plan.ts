// What the engine plans for one registration, given the state of the last update: create, same,
// update in place, record only, or replace, from the contract's effect of every changed input;
// and, for a replacement that deletes first, which dependents the engine deletes with it
// (pulumi/pulumi pkg/resource/deploy/step_generator.go, calculateDependentReplacements: every
// transitive dependent whose replace-forcing inputs take a replaced resource's outputs, judged
// with those inputs unknown; dependsOn edges never count).
import { containsUnknown } from "../../../tools/mock-run/secrets";
import { CONTRACT, Effect, InputRule } from "./contract";

export interface Change {
  path: string;
  effect: Effect;
  /** The provider releases disagree on this input's effect (see contract.ts). */
  ambiguous: boolean;
  before: unknown;
  after: unknown;
}

export type StepKind = "create" | "same" | "update" | "record" | "replace";

export interface Step {
  kind: StepKind;
  changes: Change[];
  /** For a replacement: the old object goes first. */
  deleteBeforeReplace: boolean;
}

/** Inputs that are sets in the provider's schema: their order is no change. */
const SETS: Record<string, string[]> = {
  "docker:index/container:Container": [
    "envs",
    "dns",
    "uploads",
    "volumes",
    "labels",
    "networksAdvanced",
    "networksAdvanced.aliases",
    "capabilities",
    "capabilities.adds",
    "capabilities.drops",
  ],
  "docker:index/network:Network": ["ipamConfigs"],
};

function canonical(v: unknown, type: string, path: string): unknown {
  if (Array.isArray(v)) {
    const items = v.map((x) => canonical(x, type, `${path}`));
    return (SETS[type] ?? []).includes(path) ? items.map((x) => JSON.stringify(x)).sort() : items;
  }
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, canonical((v as Record<string, unknown>)[k], type, path ? `${path}.${k}` : k)]),
    );
  }
  return v;
}

function equal(type: string, path: string, a: unknown, b: unknown): boolean {
  if (containsUnknown(b)) return false;
  return JSON.stringify(canonical(a, type, path)) === JSON.stringify(canonical(b, type, path));
}

/** The changed inputs of a resource, each with the contract's effect; an input the contract lacks is an error. */
export function diffInputs(type: string, before: Record<string, unknown>, after: Record<string, unknown>): Change[] {
  const contract = CONTRACT[type];
  if (!contract) throw new Error(`the harness's contract has no resource type ${type}`);
  const changes: Change[] = [];
  const walk = (rules: Record<string, InputRule>, a: Record<string, unknown>, b: Record<string, unknown>, prefix: string) => {
    for (const k of new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])) {
      const path = prefix ? `${prefix}.${k}` : k;
      const [x, y] = [a?.[k], b?.[k]];
      if ((x === undefined || x === null) && (y === undefined || y === null)) continue;
      const rule = rules[k];
      if (!rule)
        throw new Error(`the harness's contract does not list ${type} input ${path}; add it to test/e2e/harness/contract.ts first`);
      // A block whose own change replaces is compared whole; otherwise its fields decide.
      if (rule.fields && rule.effect !== "replace" && !rule.ambiguous && !Array.isArray(x ?? y) && !containsUnknown(y)) {
        walk(rule.fields, (x ?? {}) as Record<string, unknown>, (y ?? {}) as Record<string, unknown>, path);
        continue;
      }
      if (!equal(type, path, x, y)) changes.push({ path, effect: rule.effect, ambiguous: Boolean(rule.ambiguous), before: x, after: y });
    }
  };
  walk(contract.inputs, before, after, "");
  return changes;
}

/**
 * The engine's step for a registration. `assumeReplace`: count an ambiguous input's change as
 * replace-forcing (previews and cascades take the safe side); otherwise it is recorded only.
 */
export function planStep(
  type: string,
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
  options: { deleteBeforeReplace?: boolean; failed?: boolean; assumeReplace?: boolean },
): Step {
  const deleteBeforeReplace = options.deleteBeforeReplace ?? CONTRACT[type]?.deleteBeforeReplace ?? false;
  if (!before) return { kind: "create", changes: [], deleteBeforeReplace };
  const changes = diffInputs(type, before, after);
  // A create that failed (unhealthy, a failed start) is in the state with its error; the engine replaces it.
  const forcing = changes.filter((c) => c.effect === "replace" || (c.ambiguous && options.assumeReplace));
  const kind: StepKind =
    options.failed || forcing.length
      ? "replace"
      : changes.some((c) => c.effect === "update")
        ? "update"
        : changes.length
          ? "record"
          : "same";
  return { kind, changes, deleteBeforeReplace };
}

/** What the cascade needs to know of each resource in the last update's state. */
export interface GraphNode {
  urn: string;
  type: string;
  custom: boolean;
  provider?: string;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
}

/** Whether an input whose value becomes unknown makes the provider replace the resource. */
function forcesReplacement(type: string, key: string): boolean {
  const rule = CONTRACT[type]?.inputs[key];
  if (!rule) return true;
  const forcing = (r: InputRule): boolean => r.effect === "replace" || Boolean(r.ambiguous) || Object.values(r.fields ?? {}).some(forcing);
  return forcing(rule);
}

/**
 * The dependents the engine deletes (and later re-creates) before deleting `root` for a
 * delete-before-replace replacement, in the order it finds them. `graph` is the last state in
 * registration order; `registered` are the URNs already registered in this update, which cannot
 * depend on `root` any more and are skipped, as the engine skips them.
 */
export function dependentReplacements(root: string, graph: GraphNode[], registered: Set<string>): GraphNode[] {
  const replaceSet = new Set([root]);
  const out: GraphNode[] = [];
  const dependsOnSet = (n: GraphNode) =>
    n.dependencies.some((d) => replaceSet.has(d)) || Object.values(n.propertyDependencies).some((ds) => ds.some((d) => replaceSet.has(d)));
  const start = graph.findIndex((n) => n.urn === root);
  const seen = new Set([root]);
  for (const n of graph.slice(start + 1)) {
    if (registered.has(n.urn) || !n.custom) continue;
    // Only transitive dependents of root are looked at.
    const reaches =
      dependsOnSet(n) ||
      n.dependencies.some((d) => seen.has(d)) ||
      Object.values(n.propertyDependencies).some((ds) => ds.some((d) => seen.has(d)));
    if (!reaches) continue;
    seen.add(n.urn);
    const providerUrn = n.provider?.split("::").slice(0, -1).join("::");
    const replaced =
      (providerUrn !== undefined && replaceSet.has(providerUrn)) ||
      Object.entries(n.propertyDependencies).some(([key, deps]) => deps.some((d) => replaceSet.has(d)) && forcesReplacement(n.type, key));
    if (replaced) {
      replaceSet.add(n.urn);
      out.push(n);
    }
  }
  return out;
}
