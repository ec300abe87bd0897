// `pulumi preview` for a change between two stack files, without an engine: the first runs under
// mocks as the last update's state, the second in preview mode against it. Each registration is
// planned as the harness plans a deploy (plan.ts), and, as in a real preview, a created or
// replaced resource's outputs are unknown to everything that takes them. So a long-running
// container whose replace-forcing inputs derive from a re-run's outputs shows up as replaced,
// exactly where the engine would delete and re-create it.
import type { Registration } from "../../../tools/mock-run/recording-monitor";
import { ProgramRun, RegisteredResource, runProgram } from "../../../tools/mock-run/run-program";
import { containsUnknown } from "../../../tools/mock-run/secrets";
import { CONTRACT } from "./contract";
import { Change, dependentReplacements, GraphNode, planStep, StepKind } from "./plan";
import type { PropertyMap } from "../../../tools/mock-run/property-map";

export interface PlannedStep {
  name: string;
  type: string;
  kind: StepKind | "delete";
  /** The changed inputs, or the replaced resource a cascade came from. */
  reason: string;
  /** The inputs that are unknown in the preview (taken from outputs not yet known). */
  unknownInputs: string[];
  changes: Change[];
}

export interface Preview {
  steps: PlannedStep[];
  run: ProgramRun;
}

const node = (r: RegisteredResource): GraphNode => ({
  urn: r.urn,
  type: r.type,
  custom: r.custom,
  provider: r.provider,
  dependencies: r.dependencies,
  propertyDependencies: r.propertyDependencies,
});

const baselines = new Map<string, Promise<ProgramRun>>();

/** The last update's state: the same stack file always gives the same masked run, so it is run once per process. */
function baselineRun(stackFile: string): Promise<ProgramRun> {
  if (!baselines.has(stackFile)) baselines.set(stackFile, runProgram(stackFile, "masked"));
  return baselines.get(stackFile)!;
}

/** `replace`: resource names to replace whatever changed, as `pulumi preview --replace` does. */
export async function previewChange(baselineStack: string, changedStack: string, options: { replace?: string[] } = {}): Promise<Preview> {
  const baseline = await baselineRun(baselineStack);
  const last = new Map(baseline.resources.filter((r) => r.custom).map((r) => [r.urn, r]));
  const graph = baseline.resources.filter((r) => r.custom).map(node);
  const steps: PlannedStep[] = [];
  const begun = new Set<string>();
  const cascaded = new Map<string, string>();

  const apply = async (r: Registration): Promise<PropertyMap> => {
    if (!r.custom) return {};
    begun.add(r.urn);
    const old = last.get(r.urn);
    const unknownInputs = Object.keys(r.inputs).filter((k) => containsUnknown(r.inputs[k]));
    const plan = planStep(r.type, old?.inputs, r.inputs, { deleteBeforeReplace: r.options.deleteBeforeReplace, assumeReplace: true });
    const forced = options.replace?.includes(r.name);
    if ((cascaded.has(r.urn) || forced) && plan.kind !== "create") plan.kind = "replace";
    const reason = cascaded.has(r.urn)
      ? `deleted with ${cascaded.get(r.urn)}`
      : forced
        ? "--replace"
        : plan.changes.map((c) => c.path).join(", ");
    steps.push({ name: r.name, type: r.type, kind: plan.kind, reason, unknownInputs, changes: plan.changes });
    if (plan.kind === "replace" && plan.deleteBeforeReplace) {
      for (const d of dependentReplacements(r.urn, graph, begun)) if (!cascaded.has(d.urn)) cascaded.set(d.urn, r.name);
    }
    if (plan.kind === "create" || plan.kind === "replace") {
      // Known before the step runs: the inputs; the provider's computed outputs and the id are not.
      const computed = new Set(Object.keys(old?.state ?? {}).filter((k) => !(k in (old?.inputs ?? {}))));
      return Object.fromEntries(Object.entries(r.inputs).filter(([k]) => !computed.has(k)));
    }
    return { ...old!.state };
  };

  const run = await runProgram(changedStack, "masked", { preview: true, apply: (r) => apply(r) });
  for (const gone of baseline.resources.filter((r) => r.custom && !begun.has(r.urn))) {
    steps.push({ name: gone.name, type: gone.type, kind: "delete", reason: "no longer in the program", unknownInputs: [], changes: [] });
  }
  return { steps, run };
}

/** A long-running container: every docker container but the attached one-shot runs. */
export function isService(r: { type: string; inputs: PropertyMap }): boolean {
  return r.type === "docker:index/container:Container" && !r.inputs.attach;
}

/** The replace-forcing inputs of a registration whose values the preview does not know. */
export function unknownReplaceForcing(r: { type: string; inputs: PropertyMap }): string[] {
  const rules = CONTRACT[r.type]?.inputs ?? {};
  return Object.keys(r.inputs).filter((k) => containsUnknown(r.inputs[k]) && (rules[k]?.effect === "replace" || rules[k]?.ambiguous));
}
