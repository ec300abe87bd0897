// What each resource type's create, read, update and delete do on a real Docker engine, as the
// real provider does them (kreuzwerker/terraform-provider-docker v4.5.0; contract.ts names the
// files). The planner decides which of them runs; nothing here adopts an object the state does
// not hold, and every input the contract does not list is refused before the engine is contacted.
import * as path from "path";
import type { Registration } from "../../../tools/mock-run/recording-monitor";
import { buildImage, refuseUnsupportedBuilder } from "./build";
import { CONTRACT, inputPaths, MAP_INPUTS, OPTIONS, ruleFor } from "./contract";
import { demux, Engine } from "./engine";
import { Change } from "./plan";
import { createBody, parseGoDuration, providerRead, readBackDiff } from "./readback";
import { ResourceRecord } from "./state";
import { tarArchive, tarEntry } from "./tar";
import type { PropertyMap } from "../../../tools/mock-run/property-map";

export interface ApplyContext {
  engine: () => Engine;
  /** Where the provider would run: relative build contexts resolve here. */
  projectDir: string;
  /** Progress lines for the operator. */
  log: (line: string) => void;
}

/** A created object: its id and the outputs the provider reports. */
export interface Created {
  id: string;
  outputs: PropertyMap;
}

/** An error after the object was created: the engine records it with its error and replaces it next time. */
export class CreatedButFailed extends Error {
  constructor(
    public readonly id: string,
    message: string,
  ) {
    super(message);
  }
}

/** Refuses inputs and options the contract does not describe, before anything reaches the engine. */
export function refuseUnmodelled(r: Registration): void {
  if (!r.custom) return;
  const contract = CONTRACT[r.type];
  if (!contract)
    throw new Error(`the e2e harness does not know how to apply ${r.type} (${r.name}); describe it in test/e2e/harness/contract.ts first`);
  const unlisted = inputPaths(r.type, r.inputs).filter(
    (p) => !ruleFor(r.type, p) && !(MAP_INPUTS[r.type] ?? []).includes(p.replace(/\[\]/g, "")),
  );
  if (unlisted.length) {
    throw new Error(
      `the e2e harness does not apply ${r.type} input(s) ${unlisted.join(", ")} (resource ${r.name}); look up what the provider does with them and add them to test/e2e/harness/contract.ts first`,
    );
  }
  const o = r.options;
  const set = {
    ignoreChanges: o.ignoreChanges.length > 0,
    replaceOnChanges: o.replaceOnChanges.length > 0,
    aliases: o.aliases > 0,
    deletedWith: Boolean(o.deletedWith),
    retainOnDelete: o.retainOnDelete,
    importId: Boolean(o.importId),
    customTimeouts: o.customTimeouts,
    replaceWith: o.replaceWith.length > 0,
    replacementTrigger: o.replacementTrigger,
    hooks: o.hooks,
  };
  const unmodelled = Object.entries(set)
    .filter(([k, v]) => v && !OPTIONS[k]?.modelled)
    .map(([k]) => k);
  if (unmodelled.length)
    throw new Error(`the e2e harness does not model the resource option(s) ${unmodelled.join(", ")} (resource ${r.name})`);
  if (r.type.startsWith("docker:")) {
    if (!r.provider)
      throw new Error(
        `${r.name} uses the default docker provider: Pulumi.yaml disables it, so a real up refuses it (pass the stack's provider)`,
      );
    // A provider reference is `<urn>::<id>`; the URN's type names the parents' types first, `$`-joined.
    const providerType = r.provider.split("::")[2]?.split("$").pop();
    if (providerType !== "pulumi:providers:docker") throw new Error(`${r.name} uses the provider ${r.provider}, not a docker provider`);
  }
  for (const u of r.type === "docker:index/container:Container" ? (r.inputs.uploads ?? []) : []) {
    // resourceDockerContainerCreate: "one of 'content', 'content_base64', or 'source' must be set".
    if (!u.content) throw new Error(`${r.name}: the upload ${u.file} is empty; the provider refuses an upload without content`);
  }
}

// --- provider -------------------------------------------------------------------------------

export function checkProvider(r: Registration, previous: ResourceRecord | undefined): void {
  if (previous && previous.inputs.host !== r.inputs.host) {
    throw new Error(
      `the provider's host changed from ${previous.inputs.host} to ${r.inputs.host}; the harness deploys to one engine (run npm run e2e:down first)`,
    );
  }
}

// --- networks -------------------------------------------------------------------------------

export async function createNetwork(r: Registration, ctx: ApplyContext): Promise<Created> {
  const i = r.inputs;
  const created = await ctx.engine().call("POST", "/networks/create", {
    Name: i.name,
    Driver: i.driver ?? "bridge",
    Internal: Boolean(i.internal),
    CheckDuplicate: true,
    IPAM: {
      Driver: "default",
      Config: (i.ipamConfigs ?? []).map((c: { subnet?: string; gateway?: string }) => ({ Subnet: c.subnet, Gateway: c.gateway })),
    },
  });
  ctx.log(`network ${i.name} created`);
  return { id: created.Id, outputs: {} };
}

export async function networkExists(record: ResourceRecord, ctx: ApplyContext): Promise<boolean> {
  return (await ctx.engine().find(`/networks/${record.id}`)) !== null;
}

export async function deleteNetwork(record: ResourceRecord, ctx: ApplyContext): Promise<void> {
  const r = await ctx.engine().request("DELETE", `/networks/${record.id}`);
  if (r.status >= 300 && r.status !== 404) throw new Error(`deleting network ${record.inputs.name}: ${r.status} ${r.body.trim()}`);
  ctx.log(`network ${record.inputs.name} ${r.status === 404 ? "was already gone" : "deleted"}`);
}

// --- images ---------------------------------------------------------------------------------

export async function createImage(r: Registration, ctx: ApplyContext): Promise<Created> {
  const b = r.inputs.build;
  if (!b) throw new Error(`${r.name}: the provider would pull ${r.inputs.name}; no registry is reachable from the harness, so it cannot`);
  await refuseUnsupportedBuilder(ctx.engine());
  const { imageId, seconds } = await buildImage(ctx.engine(), {
    context: path.resolve(ctx.projectDir, b.context),
    dockerfile: b.dockerfile ?? "Dockerfile",
    tag: r.inputs.name,
    buildArgs: b.buildArgs,
    labels: b.labels,
  });
  ctx.log(`image ${r.inputs.name} built (${seconds.toFixed(1)} s)`);
  // The provider's id is the image id followed by the name.
  return { id: `${imageId}${r.inputs.name}`, outputs: { imageId, repoDigest: "" } };
}

/** The provider's Read: the image found by name, or undefined when it is gone. */
export async function readImage(record: ResourceRecord, ctx: ApplyContext): Promise<string | undefined> {
  const found = await ctx.engine().find(`/images/${encodeURIComponent(record.inputs.name)}/json`);
  return found?.Id;
}

/** docker.getRemoteImage, as DATA_SOURCES describes it. */
export async function getRemoteImage(inputs: PropertyMap, ctx: ApplyContext): Promise<PropertyMap> {
  const found = await ctx.engine().find(`/images/${encodeURIComponent(inputs.name)}/json`);
  if (!found) throw new Error(`did not find docker image '${inputs.name}' (docker.getRemoteImage); build it with scripts/base-image.sh`);
  return { id: found.Id, name: inputs.name, repoDigest: found.RepoDigests?.[0] ?? "" };
}

// --- containers -----------------------------------------------------------------------------

/** One upload as the provider sends it: a one-entry tar, no directory entries, owned by 0:0. */
function uploadTar(u: { file: string; content: string; permissions?: string; executable?: boolean }): Buffer {
  const mode = u.permissions ? parseInt(u.permissions, 8) : u.executable ? 0o744 : 0o644;
  return tarArchive(tarEntry({ name: u.file, mode, mtime: Math.floor(Date.now() / 1000), data: Buffer.from(u.content, "utf8") }));
}

async function containerLogs(engine: Engine, id: string): Promise<string> {
  return demux((await engine.requestRaw("GET", `/containers/${id}/logs?stdout=1&stderr=1`)).body);
}

async function logTail(engine: Engine, id: string): Promise<string> {
  return (await containerLogs(engine, id)).split("\n").slice(-200).join("\n");
}

async function waitHealthy(engine: Engine, r: Registration, id: string): Promise<void> {
  const timeoutSeconds: number = r.inputs.waitTimeout ?? 60;
  const deadline = Date.now() + timeoutSeconds * 1000;
  const test: string[] | undefined = r.inputs.healthcheck?.tests;
  const checkTimeoutMs = r.inputs.healthcheck?.timeout ? parseGoDuration(r.inputs.healthcheck.timeout) / 1e6 : 30_000;
  while (Date.now() < deadline) {
    const info = await engine.call("GET", `/containers/${id}/json`);
    if (!info.State.Health) throw new CreatedButFailed(id, `${r.inputs.name}: 'wait' without a healthcheck; the provider refuses that`);
    if (info.State.Health.Status === "healthy") return;
    // The provider keeps polling a stopped container until its timeout; either way the create fails.
    if (!info.State.Running)
      throw new CreatedButFailed(
        id,
        `container ${r.inputs.name} stopped (exit ${info.State.ExitCode}) before it was healthy; its log:\n${await logTail(engine, id)}`,
      );
    // Docker runs the first check only after one interval; the same check run now, held to the
    // same timeout, is the same readiness test, sooner.
    if (test?.[0] === "CMD") {
      const started = Date.now();
      const ran = await engine.exec(id, test.slice(1));
      if (ran.code === 0 && Date.now() - started <= checkTimeoutMs) return;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new CreatedButFailed(
    id,
    `container ${r.inputs.name} not healthy within ${timeoutSeconds} s (waitTimeout); its log:\n${await logTail(engine, id)}`,
  );
}

/** Fails when the provider's Read of the container would not give back the program's inputs. */
export async function checkReadBack(r: { name: string; inputs: PropertyMap }, id: string, ctx: ApplyContext): Promise<void> {
  const inspect = await ctx.engine().call("GET", `/containers/${id}/json`);
  const problems = readBackDiff(r.inputs, providerRead(inspect, r.inputs));
  if (problems.length) {
    throw new CreatedButFailed(
      id,
      `a real \`pulumi up\` would show a diff on ${r.inputs.name} every time (the provider stores what Docker reads back):\n  ${problems.join("\n  ")}`,
    );
  }
}

export async function createContainer(r: Registration, ctx: ApplyContext): Promise<Created> {
  const engine = ctx.engine();
  const i = r.inputs;
  const started = Date.now();
  const { Id: id } = await engine.call("POST", `/containers/create?name=${encodeURIComponent(i.name)}`, createBody(i)).catch((e: Error) => {
    throw new Error(
      `Unable to create container: ${e.message}${/Conflict/.test(e.message) ? " (an object the state does not hold is in the way: run npm run e2e:down)" : ""}`,
    );
  });
  try {
    if (i.networksAdvanced?.length) {
      await engine.request("POST", `/networks/bridge/disconnect`, { Container: id, Force: false });
      for (const n of i.networksAdvanced)
        await engine.call("POST", `/networks/${encodeURIComponent(n.name)}/connect`, {
          Container: id,
          EndpointConfig: { Aliases: n.aliases ?? [] },
        });
    }
    for (const u of i.uploads ?? []) await engine.call("PUT", `/containers/${id}/archive?path=/`, uploadTar(u), "application/x-tar");
    await engine.call("POST", `/containers/${id}/start`);
  } catch (e) {
    throw new CreatedButFailed(id, `creating ${i.name}: ${(e as Error).message}`);
  }
  if (i.wait) await waitHealthy(engine, r, id);
  const outputs: PropertyMap = {};
  if (i.attach) {
    const { StatusCode } = await engine.call("POST", `/containers/${id}/wait?condition=not-running`);
    outputs.exitCode = StatusCode;
    if (i.logs) outputs.containerLogs = await containerLogs(engine, id);
    ctx.log(`container ${i.name} ran to exit ${StatusCode} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } else {
    ctx.log(`container ${i.name} created${i.wait ? " and healthy" : ""} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  await checkReadBack(r, id, ctx);
  return { id, outputs };
}

/** The provider's Read on refresh: the container's state, or undefined when it is gone. */
export async function readContainer(
  record: ResourceRecord,
  ctx: ApplyContext,
): Promise<{ running: boolean; exitCode: number } | undefined> {
  const inspect = await ctx.engine().find(`/containers/${record.id}/json`);
  if (!inspect) return undefined;
  return { running: Boolean(inspect.State.Running), exitCode: inspect.State.ExitCode };
}

/** resourceDockerContainerUpdate: start on a must_run flip, ContainerUpdate for restart and memory. */
export async function updateContainer(record: ResourceRecord, r: Registration, changes: Change[], ctx: ApplyContext): Promise<void> {
  const engine = ctx.engine();
  const changed = new Set(changes.map((c) => c.path));
  if (changed.has("mustRun") && r.inputs.mustRun !== false) {
    await engine.call("POST", `/containers/${record.id}/start`);
    ctx.log(`container ${r.inputs.name} started (it was found stopped)`);
  }
  if (["restart", "memory", "memorySwap"].some((k) => changed.has(k))) {
    const mib = (v: number | undefined) => (v && v > 0 ? v * 1024 * 1024 : (v ?? 0));
    await engine.call("POST", `/containers/${record.id}/update`, {
      RestartPolicy: { Name: r.inputs.restart ?? "no", MaximumRetryCount: 0 },
      Memory: mib(r.inputs.memory),
      ...(r.inputs.memorySwap ? { MemorySwap: mib(r.inputs.memorySwap) } : {}),
    });
    ctx.log(
      `container ${r.inputs.name} updated in place (${[...changed].filter((k) => ["restart", "memory", "memorySwap"].includes(k)).join(", ")})`,
    );
  }
}

export async function deleteContainer(record: ResourceRecord, ctx: ApplyContext): Promise<void> {
  const engine = ctx.engine();
  if (!record.inputs.attach) await engine.request("POST", `/containers/${record.id}/stop?t=${record.inputs.destroyGraceSeconds ?? 0}`);
  const r = await engine.request("DELETE", `/containers/${record.id}?force=1`);
  if (r.status >= 300 && r.status !== 404) throw new Error(`deleting container ${record.inputs.name}: ${r.status} ${r.body.trim()}`);
  ctx.log(`container ${record.inputs.name} ${r.status === 404 ? "was already gone" : "deleted"}`);
}
