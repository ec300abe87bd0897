// Deploys the real program onto the local Docker engine the way `pulumi up` would: a refresh
// first when Pulumi.yaml asks for one, then index.ts runs under Pulumi's mocks and each resource
// it registers is planned against the last update's state (plan.ts, from contract.ts) and
// applied for real before the program sees its outputs: created, left alone, updated in place,
// recorded only, or replaced, a delete-before-replace one together with the dependents the
// engine would delete with it. Resources the program no longer registers are deleted at the end.
// Nothing here describes the platform; the program does.
import * as crypto from "crypto";
import * as path from "path";
import { readStackFile } from "../../../config/stack-file";
import { readProject } from "../../../tools/mock-run/project-config";
import type { Registration } from "../../../tools/mock-run/recording-monitor";
import { ProgramRun, runProgram } from "../../../tools/mock-run/run-program";
import * as appliers from "./appliers";
import { ApplyContext, Created, CreatedButFailed } from "./appliers";
import { Engine } from "./engine";
import { dependentReplacements, planStep, StepKind } from "./plan";
import { HarnessState, ResourceRecord } from "./state";
import type { PropertyMap } from "../../../tools/mock-run/property-map";

const PROJECT_DIR = path.resolve(__dirname, "..", "..", "..");

/** One thing the deployment did, for the operator and for tests that assert what a change touches. */
export interface StepRecord {
  name: string;
  type: string;
  kind: StepKind | "delete" | "found-gone" | "found-stopped";
  /** Why: the changed inputs, or what a cascade or a refresh found. */
  reason?: string;
}

export interface DeployResult {
  run: ProgramRun;
  state: HarnessState;
  steps: StepRecord[];
  seconds: number;
}

const CONTAINER = "docker:index/container:Container";
const NETWORK = "docker:index/network:Network";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const PROVIDER = "pulumi:providers:docker";
const LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert";

async function deleteObject(record: ResourceRecord, ctx: ApplyContext): Promise<void> {
  if (record.type === CONTAINER) await appliers.deleteContainer(record, ctx);
  else if (record.type === NETWORK) await appliers.deleteNetwork(record, ctx);
  // Images are kept (keepLocally), providers and key material have nothing on the engine.
}

async function createObject(r: Registration, generated: PropertyMap, ctx: ApplyContext): Promise<Created> {
  switch (r.type) {
    case CONTAINER:
      return appliers.createContainer(r, ctx);
    case NETWORK:
      return appliers.createNetwork(r, ctx);
    case IMAGE:
      return appliers.createImage(r, ctx);
    default:
      // Keys, certificates, passwords: the material the mock run generated, kept from now on.
      return { id: generated.id ?? `${r.name}-id`, outputs: generated };
  }
}

/** tls's LocallySignedCert: ModifyPlan replaces a certificate once now is within earlyRenewalHours of its end. */
function dueForRenewal(record: ResourceRecord | undefined): boolean {
  if (record?.type !== LOCALLY_SIGNED || !record.outputs.certPem) return false;
  const end = new Date(new crypto.X509Certificate(record.outputs.certPem).validTo).getTime();
  return Date.now() >= end - (record.inputs.earlyRenewalHours ?? 0) * 3600_000;
}

/** `pulumi refresh`: what the provider's Read finds of each object replaces the state. */
async function refresh(state: HarnessState, ctx: ApplyContext, steps: StepRecord[]): Promise<void> {
  for (const record of [...state.resources]) {
    const step = (kind: StepRecord["kind"], reason: string) => steps.push({ name: record.name, type: record.type, kind, reason });
    if (record.type === CONTAINER) {
      const found = await appliers.readContainer(record, ctx);
      if (!found) {
        state.drop(record.urn);
        step("found-gone", "the container no longer exists; the update creates it again");
      } else if (!found.running && record.inputs.mustRun !== false) {
        record.inputs = { ...record.inputs, mustRun: false };
        step("found-stopped", "the provider's Read sets mustRun false; the update starts it");
      } else if (record.inputs.attach) {
        record.outputs = { ...record.outputs, exitCode: found.exitCode };
      }
    } else if (record.type === NETWORK && !(await appliers.networkExists(record, ctx))) {
      state.drop(record.urn);
      step("found-gone", "the network no longer exists");
    } else if (record.type === IMAGE) {
      const id = await appliers.readImage(record, ctx);
      if (!id) {
        state.drop(record.urn);
        step("found-gone", "the image no longer exists");
      } else record.outputs = { ...record.outputs, imageId: id };
    }
  }
}

export async function deploy(stackFile: string, stateFile: string, log: (line: string) => void = console.log): Promise<DeployResult> {
  const started = Date.now();
  const state = new HarnessState(stateFile);
  const storage = readStackFile(stackFile).values.storage as { ssdRoot: string; bulkRoot: string } | undefined;
  for (const root of [storage?.ssdRoot, storage?.bulkRoot]) if (root) state.rememberStorageRoot(root);
  const ctx: ApplyContext = { engine: () => Engine.fromHost(state.dockerHost), projectDir: PROJECT_DIR, log };
  const steps: StepRecord[] = [];
  // Registrations already under way: the engine never counts them as dependents to cascade to.
  const begun = new Set<string>();
  const registered = new Set<string>();
  try {
    if (readProject().options.refresh === "always") await refresh(state, ctx, steps);

    const apply = async (r: Registration, generated: PropertyMap): Promise<PropertyMap> => {
      appliers.refuseUnmodelled(r);
      if (!r.custom) return generated;
      begun.add(r.urn);
      const old = state.find(r.urn);
      if (r.type === PROVIDER) {
        appliers.checkProvider(r, old);
        state.dockerHost = r.inputs.host;
      }
      const plan = planStep(r.type, old?.inputs, r.inputs, {
        deleteBeforeReplace: r.options.deleteBeforeReplace,
        failed: Boolean(old?.failed),
      });
      if (dueForRenewal(old) && plan.kind !== "create") plan.kind = "replace";
      const reasons = plan.changes.map((c) => c.path).join(", ");
      const ambiguous = plan.changes.filter((c) => c.ambiguous);
      if (ambiguous.length && plan.kind !== "replace") {
        throw new Error(
          `${r.name}: ${ambiguous.map((c) => c.path).join(", ")} changed with nothing replace-forcing: provider releases disagree on whether that replaces the container or is silently not applied (contract.ts); hash it into a label`,
        );
      }
      const record = (id: string | undefined, outputs: PropertyMap, failed?: string): ResourceRecord => ({
        urn: r.urn,
        type: r.type,
        name: r.name,
        custom: true,
        provider: r.provider,
        id,
        inputs: r.inputs,
        outputs,
        dependencies: r.dependencies,
        propertyDependencies: r.propertyDependencies,
        protect: r.options.protect,
        deleteBeforeReplace: r.options.deleteBeforeReplace,
        failed,
      });
      const create = async (): Promise<PropertyMap> => {
        try {
          const created = await createObject(r, generated, ctx);
          state.put(record(created.id, created.outputs));
          return { id: created.id, ...created.outputs };
        } catch (e) {
          // Like the engine: an object that exists but failed is in the state, and the next update replaces it.
          if (e instanceof CreatedButFailed) state.put(record(e.id, {}, e.message));
          throw e;
        } finally {
          state.save();
        }
      };
      steps.push({ name: r.name, type: r.type, kind: plan.kind, reason: reasons || undefined });
      try {
        switch (plan.kind) {
          case "create":
            return await create();
          case "same":
            state.put(record(old!.id, old!.outputs));
            return { id: old!.id, ...old!.outputs };
          case "record":
            log(`${r.name}: ${reasons} changed; the provider records it and applies nothing`);
            state.put(record(old!.id, old!.outputs));
            return { id: old!.id, ...old!.outputs };
          case "update":
            if (r.type === CONTAINER) await appliers.updateContainer(old!, r, plan.changes, ctx);
            state.put(record(old!.id, old!.outputs));
            return { id: old!.id, ...old!.outputs };
          case "replace": {
            if (old!.protect)
              throw new Error(`${r.name} is protected: a real \`pulumi up\` fails rather than replace it (changed: ${reasons})`);
            if (!plan.deleteBeforeReplace) {
              // Create before delete: the old object goes at the end of the update.
              state.drop(r.urn);
              const outputs = await create();
              await deleteObject(old!, ctx);
              return outputs;
            }
            // The engine deletes the dependents it would re-create first, newest first, then this.
            const dependents = dependentReplacements(r.urn, state.resources, begun);
            for (const d of [...dependents].reverse()) {
              if (d.urn === r.urn) continue;
              const dep = state.find(d.urn)!;
              if (dep.protect) throw new Error(`${dep.name} is protected, and replacing ${r.name} would replace it`);
              await deleteObject(dep, ctx);
              state.drop(d.urn);
              steps.push({ name: dep.name, type: dep.type, kind: "delete", reason: `its replace-forcing inputs take ${r.name}'s outputs` });
            }
            await deleteObject(old!, ctx);
            state.drop(r.urn);
            return await create();
          }
        }
      } finally {
        registered.add(r.urn);
      }
    };

    const run = await runProgram(path.resolve(stackFile), "real", { apply, invoke: (token, inputs) => invoke(token, inputs, ctx) });

    // What the program no longer registers is deleted, dependents first.
    for (const gone of [...state.resources].reverse().filter((x) => !registered.has(x.urn))) {
      if (gone.protect) throw new Error(`${gone.name} is protected: a real \`pulumi up\` refuses to delete it`);
      await deleteObject(gone, ctx);
      state.drop(gone.urn);
      steps.push({ name: gone.name, type: gone.type, kind: "delete", reason: "no longer in the program" });
    }
    return { run, state, steps, seconds: (Date.now() - started) / 1000 };
  } finally {
    state.save();
  }
}

async function invoke(token: string, inputs: PropertyMap, ctx: ApplyContext): Promise<PropertyMap> {
  if (token === "docker:index/getRemoteImage:getRemoteImage") return appliers.getRemoteImage(inputs, ctx);
  throw new Error(`the e2e harness does not answer the data source ${token}; describe it in contract.ts's DATA_SOURCES first`);
}

/** Removes what `deploy` made, newest first, and (unless kept) the data under the storage roots. */
export async function destroy(stateFile: string, keepData: boolean, log: (line: string) => void = console.log): Promise<void> {
  const state = new HarnessState(stateFile);
  const engine = Engine.fromHost(state.dockerHost);
  const ctx: ApplyContext = { engine: () => engine, projectDir: PROJECT_DIR, log };
  for (const record of [...state.resources].reverse()) {
    if (record.type === NETWORK) {
      // Test hosts attached by the suite (the simulated Internet) go with the network.
      const net = await engine.find(`/networks/${record.id}`);
      for (const id of Object.keys(net?.Containers ?? {})) await engine.request("DELETE", `/containers/${id}?force=1`);
    }
    if (record.type === CONTAINER || record.type === NETWORK) await deleteObject(record, ctx);
  }
  if (!keepData) {
    const fs = await import("fs");
    for (const root of state.storageRoots) {
      fs.rmSync(root, { recursive: true, force: true });
      log(`data under ${root} removed`);
    }
    fs.rmSync(stateFile, { force: true });
  } else {
    state.resources = state.resources.filter((x) => x.type !== CONTAINER && x.type !== NETWORK);
    state.save();
  }
}
