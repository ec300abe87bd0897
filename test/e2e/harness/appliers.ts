// What each resource type means on a real Docker engine. Every applier names the inputs it
// understands and refuses any other, so the harness can never quietly deploy something other
// than what `pulumi up` would.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Engine, dockerCli } from "./engine";
import { HarnessState } from "./state";

export interface Resource {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

export interface ApplyContext {
  engine: () => Engine;
  dockerHost: () => string;
  state: HarnessState;
  /** Progress lines for the operator. */
  log: (line: string) => void;
}

const SPEC_LABEL = "mail-platform.e2e-spec";

function refuseUnknown(r: Resource, allowed: string[]): void {
  const unknown = Object.keys(r.inputs).filter((k) => r.inputs[k] !== undefined && !allowed.includes(k));
  if (unknown.length) {
    throw new Error(`the e2e harness does not apply ${r.type} input(s) ${unknown.join(", ")} (resource ${r.name}); teach test/e2e/harness/appliers.ts what they mean first`);
  }
}

export function specHash(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as any)[k])])) : v;
  return crypto.createHash("sha256").update(JSON.stringify(canonical(value))).digest("hex").slice(0, 24);
}

/** Docker duration strings ("10s", "2m") in nanoseconds, as the engine API wants them. */
function nanos(d: string | undefined): number | undefined {
  if (!d) return undefined;
  const m = /^(\d+)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`cannot read the duration ${d}`);
  const unit = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2] as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * unit;
}

export async function applyProvider(r: Resource, ctx: ApplyContext): Promise<Record<string, any>> {
  refuseUnknown(r, ["host"]);
  ctx.state.dockerHost = r.inputs.host;
  await ctx.engine().call("GET", "/_ping").catch(() => null);
  return {};
}

export async function applyNetwork(r: Resource, ctx: ApplyContext): Promise<Record<string, any>> {
  refuseUnknown(r, ["name", "driver", "internal", "ipamConfigs"]);
  const engine = ctx.engine();
  const want = { subnet: r.inputs.ipamConfigs?.[0]?.subnet, gateway: r.inputs.ipamConfigs?.[0]?.gateway, internal: !!r.inputs.internal };
  const existing = await engine.find(`/networks/${r.inputs.name}`);
  if (existing) {
    const have = { subnet: existing.IPAM?.Config?.[0]?.Subnet, gateway: existing.IPAM?.Config?.[0]?.Gateway, internal: !!existing.Internal };
    if (JSON.stringify(have) !== JSON.stringify(want)) {
      throw new Error(`network ${r.inputs.name} exists with ${JSON.stringify(have)}, the program wants ${JSON.stringify(want)}: run npm run e2e:down first`);
    }
    ctx.state.remember("networks", r.inputs.name);
    return { id: existing.Id, name: r.inputs.name };
  }
  const created = await engine.call("POST", "/networks/create", {
    Name: r.inputs.name,
    Driver: r.inputs.driver ?? "bridge",
    Internal: !!r.inputs.internal,
    CheckDuplicate: true,
    IPAM: { Driver: "default", Config: (r.inputs.ipamConfigs ?? []).map((c: any) => ({ Subnet: c.subnet, Gateway: c.gateway })) },
    Labels: { "mail-platform.e2e": "true" },
  });
  ctx.state.remember("networks", r.inputs.name);
  ctx.log(`network ${r.inputs.name} created`);
  return { id: created.Id, name: r.inputs.name };
}

export async function applyImage(r: Resource, ctx: ApplyContext): Promise<Record<string, any>> {
  refuseUnknown(r, ["name", "keepLocally", "build"]);
  const b = r.inputs.build ?? {};
  const unknownBuild = Object.keys(b).filter((k) => b[k] !== undefined && !["context", "dockerfile", "buildArgs", "useLegacyBuilder", "label"].includes(k));
  if (unknownBuild.length) throw new Error(`the e2e harness does not apply build option(s) ${unknownBuild.join(", ")} of ${r.name}`);
  const started = Date.now();
  const args = [
    "build",
    "-q",
    "-t",
    r.inputs.name,
    "-f",
    path.join(b.context, b.dockerfile ?? "Dockerfile"),
    ...Object.entries(b.buildArgs ?? {}).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
    ...Object.entries(b.label ?? {}).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    b.context,
  ];
  // The classic builder, as useLegacyBuilder asks; the engines we target have no buildx.
  const built = dockerCli(args, ctx.dockerHost());
  if (built.code !== 0) throw new Error(`building ${r.inputs.name} failed:\n${built.stdout}\n${built.stderr}`);
  const id = dockerCli(["image", "inspect", "-f", "{{.Id}}", r.inputs.name], ctx.dockerHost()).stdout.trim();
  ctx.log(`image ${r.inputs.name} ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return { imageId: id, id };
}

const CONTAINER_INPUTS = [
  "name", "image", "hostname", "restart", "mustRun", "wait", "waitTimeout", "stopTimeout", "destroyGraceSeconds",
  "networksAdvanced", "ports", "volumes", "tmpfs", "envs", "dns", "command", "entrypoints", "uploads", "healthcheck", "memory",
  "logDriver", "logOpts", "labels", "attach", "logs",
];

function createBody(r: Resource, spec: string): Record<string, any> {
  const i = r.inputs;
  const ports: { internal: number; external: number; ip?: string; protocol?: string }[] = i.ports ?? [];
  const [first] = i.networksAdvanced ?? [];
  return {
    Image: i.image,
    Hostname: i.hostname,
    Env: i.envs,
    Cmd: i.command,
    Entrypoint: i.entrypoints,
    StopTimeout: i.stopTimeout,
    Labels: { ...Object.fromEntries((i.labels ?? []).map((l: any) => [l.label, l.value])), [SPEC_LABEL]: spec },
    Healthcheck: i.healthcheck
      ? {
          Test: i.healthcheck.tests,
          Interval: nanos(i.healthcheck.interval),
          Timeout: nanos(i.healthcheck.timeout),
          Retries: i.healthcheck.retries,
          StartPeriod: nanos(i.healthcheck.startPeriod),
        }
      : undefined,
    ExposedPorts: Object.fromEntries(ports.map((p) => [`${p.internal}/${p.protocol ?? "tcp"}`, {}])),
    HostConfig: {
      Binds: (i.volumes ?? []).map((v: any) => `${v.hostPath}:${v.containerPath}`),
      Tmpfs: i.tmpfs,
      PortBindings: Object.fromEntries(ports.map((p) => [`${p.internal}/${p.protocol ?? "tcp"}`, [{ HostIp: p.ip ?? "", HostPort: String(p.external) }]])),
      RestartPolicy: { Name: i.restart ?? "no" },
      // The provider's `memory` is in MiB.
      Memory: i.memory ? i.memory * 1024 * 1024 : undefined,
      LogConfig: i.logDriver ? { Type: i.logDriver, Config: i.logOpts ?? {} } : undefined,
      Dns: i.dns,
    },
    NetworkingConfig: first ? { EndpointsConfig: { [first.name]: { Aliases: first.aliases ?? [] } } } : undefined,
  };
}

/** The uploads as a tar archive, with each file's mode, owned by root as the provider uploads them. */
function uploadsTar(uploads: { file: string; content?: string; permissions?: string; executable?: boolean }[]): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-e2e-upload-"));
  try {
    for (const u of uploads) {
      const target = path.join(dir, u.file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, u.content ?? "");
      fs.chmodSync(target, parseInt(u.permissions ?? (u.executable ? "0755" : "0644"), 8));
    }
    return execFileSync("tar", ["-C", dir, "--owner=0", "--group=0", "--numeric-owner", "-c", "."], { maxBuffer: 256 * 1024 * 1024 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function containerLogs(engine: Engine, id: string): Promise<string> {
  const r = await engine.request("GET", `/containers/${id}/logs?stdout=1&stderr=1&tail=200`);
  return r.body.replace(/[\x00-\x02]\x00\x00\x00[\s\S]{4}/g, "");
}

async function waitHealthy(engine: Engine, r: Resource, id: string): Promise<void> {
  const deadline = Date.now() + (r.inputs.waitTimeout ?? 60) * 1000;
  const test: string[] | undefined = r.inputs.healthcheck?.tests;
  while (Date.now() < deadline) {
    const info = await engine.call("GET", `/containers/${id}/json`);
    if (!info.State.Running) throw new Error(`container ${r.inputs.name} stopped (exit ${info.State.ExitCode}) before it was healthy; its log:\n${await containerLogs(engine, id)}`);
    if (!info.State.Health || info.State.Health.Status === "healthy") return;
    // Docker runs the first check only after one interval; running the same check now is the
    // same readiness test, sooner.
    if (test && test[0] === "CMD" && (await engine.exec(id, test.slice(1))).code === 0) return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`container ${r.inputs.name} not healthy within ${r.inputs.waitTimeout ?? 60} s; its log:\n${await containerLogs(engine, id)}`);
}

export async function applyContainer(r: Resource, ctx: ApplyContext): Promise<Record<string, any>> {
  refuseUnknown(r, CONTAINER_INPUTS);
  const engine = ctx.engine();
  const name: string = r.inputs.name;
  const spec = specHash(r.inputs);
  ctx.state.remember("containers", name);
  const existing = await engine.find(`/containers/${name}/json`);
  if (existing && existing.Config.Labels?.[SPEC_LABEL] === spec && (existing.State.Running || r.inputs.attach)) {
    ctx.log(`container ${name} unchanged`);
    return r.inputs.attach ? { id: existing.Id, exitCode: existing.State.ExitCode, containerLogs: await containerLogs(engine, existing.Id) } : { id: existing.Id };
  }
  if (existing) {
    await engine.request("POST", `/containers/${existing.Id}/stop?t=${r.inputs.destroyGraceSeconds ?? 10}`);
    await engine.call("DELETE", `/containers/${existing.Id}?force=1`);
    ctx.log(`container ${name} replaced`);
  }
  const started = Date.now();
  const { Id: id } = await engine.call("POST", `/containers/create?name=${encodeURIComponent(name)}`, createBody(r, spec));
  for (const n of (r.inputs.networksAdvanced ?? []).slice(1)) {
    await engine.call("POST", `/networks/${n.name}/connect`, { Container: id, EndpointConfig: { Aliases: n.aliases ?? [] } });
  }
  if (r.inputs.uploads?.length) await engine.call("PUT", `/containers/${id}/archive?path=/`, uploadsTar(r.inputs.uploads), "application/x-tar");
  await engine.call("POST", `/containers/${id}/start`);
  if (r.inputs.attach) {
    const { StatusCode } = await engine.call("POST", `/containers/${id}/wait`);
    const logs = await containerLogs(engine, id);
    ctx.log(`container ${name} ran to exit ${StatusCode} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return { id, exitCode: StatusCode, containerLogs: r.inputs.logs ? logs : undefined };
  }
  if (r.inputs.wait) await waitHealthy(engine, r, id);
  if (r.inputs.mustRun !== false) {
    const info = await engine.call("GET", `/containers/${id}/json`);
    if (!info.State.Running) throw new Error(`container ${name} is not running (exit ${info.State.ExitCode}):\n${await containerLogs(engine, id)}`);
  }
  ctx.log(`container ${name} started${r.inputs.wait ? " and healthy" : ""} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return { id };
}

/** Key, certificate and password resources: the material generated for them, kept across runs like Pulumi's state keeps it. */
export function applyMaterial(r: Resource, generated: Record<string, any>, ctx: ApplyContext): Record<string, any> {
  const key = `${r.type}::${r.name}`;
  const hash = specHash(r.inputs);
  const kept = ctx.state.material[key];
  if (kept && kept.hash === hash) return kept.outputs;
  ctx.state.material[key] = { hash, outputs: generated };
  return generated;
}
