// What the real provider sends Docker for a container, and what it stores back from Docker's
// answer (kreuzwerker/terraform-provider-docker v4.5.0 resource_docker_container_funcs.go,
// resourceDockerContainerCreate and resourceDockerContainerRead). After every `up` the provider's
// state is the read-back, and the next plan diffs the program's inputs against it: any input that
// does not survive the round trip unchanged is a change on every `pulumi up`. The harness checks
// live containers with this, and the unit tests check every stack's containers against Docker's
// documented normalisation (dockerStores).

import type { PropertyMap } from "../../../tools/mock-run/property-map";

/** Go's time.Duration.String() for whole nanoseconds: 60s prints as "1m0s", 1.5s as "1.5s". */
export function goDurationString(nanos: number): string {
  if (nanos === 0) return "0s";
  const sign = nanos < 0 ? "-" : "";
  let n = Math.abs(nanos);
  if (n < 1e9) {
    const [unit, size] = n < 1e3 ? ["ns", 1] : n < 1e6 ? ["µs", 1e3] : ["ms", 1e6];
    return `${sign}${trimZeros(n / size)}${unit}`;
  }
  const h = Math.floor(n / 3600e9);
  n -= h * 3600e9;
  const m = Math.floor(n / 60e9);
  n -= m * 60e9;
  const s = `${trimZeros(n / 1e9)}s`;
  return `${sign}${h ? `${h}h${m}m` : m ? `${m}m` : ""}${s}`;
}

function trimZeros(x: number): string {
  return String(Number(x.toFixed(9)));
}

/** Go's time.ParseDuration for the forms the provider accepts ("90s", "1m30s", "500ms"). */
export function parseGoDuration(d: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(d); m; m = re.exec(d)) {
    total += Number(m[1]) * units[m[2]];
    consumed = re.lastIndex;
  }
  if (d === "0") return 0;
  if (!d || consumed !== d.length) throw new Error(`time.ParseDuration would refuse ${JSON.stringify(d)}`);
  return Math.round(total);
}

type Inputs = PropertyMap;
type Port = { internal: number; external: number; ip: string; protocol: string };

/** Docker's create request the provider builds from the inputs (the fields the program uses). */
export function createBody(i: Inputs): PropertyMap {
  const ports: Port[] = (i.ports ?? []).map((p: Partial<Port>) => ({
    internal: p.internal,
    external: p.external,
    ip: p.ip || "0.0.0.0",
    protocol: p.protocol ?? "tcp",
  }));
  const key = (p: Port) => `${p.internal}/${p.protocol}`;
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) (bindings[key(p)] ??= []).push({ HostIp: p.ip, HostPort: p.external ? String(p.external) : "" });
  const hc = i.healthcheck;
  const volumes: { hostPath: string; containerPath: string; readOnly?: boolean }[] = i.volumes ?? [];
  return {
    Image: i.image,
    Hostname: i.hostname ?? "",
    Env: i.envs?.length ? i.envs : undefined,
    Volumes: volumes.length ? Object.fromEntries(volumes.map((v) => [v.containerPath, {}])) : undefined,
    Cmd: i.command?.length ? i.command : undefined,
    Entrypoint: i.entrypoints?.length ? i.entrypoints : undefined,
    StopTimeout: i.stopTimeout,
    Labels: Object.fromEntries((i.labels ?? []).map((l: { label: string; value: string }) => [l.label, l.value])),
    Healthcheck: hc
      ? {
          Test: hc.tests ?? [],
          Interval: parseGoDuration(hc.interval ?? "0s"),
          Timeout: parseGoDuration(hc.timeout ?? "0s"),
          StartPeriod: parseGoDuration(hc.startPeriod ?? "0s"),
          Retries: hc.retries ?? 0,
        }
      : undefined,
    ExposedPorts: ports.length ? Object.fromEntries(ports.map((p) => [key(p), {}])) : undefined,
    HostConfig: {
      // volumeSetToDockerVolumes: always a mode, `rw` unless read_only.
      Binds: volumes.map((v) => `${v.hostPath}:${v.containerPath}:${v.readOnly ? "ro" : "rw"}`),
      Tmpfs: i.tmpfs,
      PortBindings: ports.length ? bindings : undefined,
      RestartPolicy: { Name: i.restart ?? "no", MaximumRetryCount: 0 },
      Memory: (i.memory ?? 0) * 1024 * 1024,
      MemorySwap: i.memorySwap ? (i.memorySwap > 0 ? i.memorySwap * 1024 * 1024 : i.memorySwap) : 0,
      LogConfig: { Type: i.logDriver ?? "", Config: i.logOpts ?? {} },
      Dns: i.dns?.length ? i.dns : undefined,
      // capabilities' one block: its add and drop sets, as given.
      CapAdd: i.capabilities?.adds?.length ? i.capabilities.adds : undefined,
      CapDrop: i.capabilities?.drops?.length ? i.capabilities.drops : undefined,
      // The provider always sends these two (network_mode's schema default is bridge): the
      // daemon's defaults never apply.
      NetworkMode: i.networkMode ?? "bridge",
      Init: false,
    },
  };
}

/**
 * What Docker keeps of a create request, as far as the read-back goes: the moby defaults that
 * show in inspect (MemorySwap twice the memory when only memory is set, the daemon's log driver
 * when none is named, exposed-only ports, ...). For the unit tests; live, the harness inspects.
 */
export function dockerStores(body: PropertyMap, running = true): PropertyMap {
  const hc = body.HostConfig;
  const memorySwap = hc.Memory > 0 && hc.MemorySwap === 0 ? 2 * hc.Memory : hc.MemorySwap;
  return {
    Name: "/",
    Image: body.Image,
    State: { Running: running },
    Config: { ...body, Cmd: body.Cmd ?? null, Entrypoint: body.Entrypoint ?? null, User: "", WorkingDir: "", Domainname: "" },
    HostConfig: {
      ...hc,
      MemorySwap: memorySwap,
      LogConfig: { Type: hc.LogConfig.Type || "json-file", Config: hc.LogConfig.Config ?? {} },
      Dns: hc.Dns ?? [],
    },
    NetworkSettings: { Ports: hc.PortBindings ?? {} },
  };
}

/** The provider's Read: the state it stores from Docker's inspect, in the program's input names. */
export function providerRead(inspect: PropertyMap, inputs: Inputs): PropertyMap {
  const c = inspect.Config;
  const h = inspect.HostConfig;
  const ports: Port[] = [];
  const keys = Object.keys(inspect.NetworkSettings?.Ports ?? {}).sort((a, b) => {
    const [pa, qa] = a.split("/");
    const [pb, qb] = b.split("/");
    return Number(pa) - Number(pb) || qa.localeCompare(qb);
  });
  for (const k of keys) {
    for (const b of inspect.NetworkSettings.Ports[k] ?? []) {
      const [internal, protocol] = k.split("/");
      ports.push({ internal: Number(internal), external: Number(b.HostPort), ip: b.HostIp, protocol });
    }
  }
  const state: PropertyMap = {
    name: String(inspect.Name ?? "").replace(/^\//, "") || inputs.name,
    // An image given by id reads back as the container's image id.
    image: String(inputs.image ?? "").startsWith("sha256:") ? inspect.Image : c.Image,
    hostname: c.Hostname,
    domainname: c.Domainname ?? "",
    command: c.Cmd ?? [],
    entrypoints: c.Entrypoint ?? [],
    user: c.User ?? "",
    workingDir: c.WorkingDir ?? "",
    dns: h.Dns ?? [],
    restart: h.RestartPolicy?.Name ?? "",
    init: h.Init ?? false,
    tmpfs: h.Tmpfs ?? {},
    memory: Math.floor((h.Memory ?? 0) / 1024 / 1024),
    memorySwap: h.MemorySwap > 0 ? Math.floor(h.MemorySwap / 1024 / 1024) : (h.MemorySwap ?? 0),
    logDriver: h.LogConfig?.Type,
    // Read keeps the daemon's view of log options only when the program sets some.
    logOpts: inputs.logOpts ? (h.LogConfig?.Config ?? {}) : undefined,
    networkMode: h.NetworkMode,
    // Read sets the block only when Docker has capabilities added or dropped.
    capabilities: h.CapAdd?.length || h.CapDrop?.length ? { adds: h.CapAdd ?? [], drops: h.CapDrop ?? [] } : undefined,
    stopTimeout: c.StopTimeout,
    // Set by Read from Docker although the program never sets them: a daemon default that differs
    // from the schema's (userns-remap, say) would show as a change.
    privileged: h.Privileged ?? false,
    readOnly: h.ReadonlyRootfs ?? false,
    publishAllPorts: h.PublishAllPorts ?? false,
    tty: c.Tty ?? false,
    stdinOpen: c.OpenStdin ?? false,
    usernsMode: h.UsernsMode ?? "",
    sysctls: h.Sysctls ?? {},
    groupAdds: h.GroupAdd ?? [],
    dnsOpts: h.DnsOptions ?? [],
    dnsSearches: h.DnsSearch ?? [],
    maxRetryCount: h.RestartPolicy?.MaximumRetryCount ?? 0,
    memoryReservation: Math.floor((h.MemoryReservation ?? 0) / 1024 / 1024),
    cpuShares: h.CpuShares ?? 0,
    cpuSet: h.CpusetCpus ?? "",
    // Ports are read only from a running container, or one that must run.
    ports: inspect.State?.Running || inputs.mustRun !== false ? ports : inputs.ports,
    mustRun: !inspect.State?.Running && inputs.mustRun !== false ? false : inputs.mustRun,
  };
  if (c.Healthcheck) {
    state.healthcheck = {
      tests: c.Healthcheck.Test ?? [],
      interval: goDurationString(c.Healthcheck.Interval ?? 0),
      timeout: goDurationString(c.Healthcheck.Timeout ?? 0),
      startPeriod: goDurationString(c.Healthcheck.StartPeriod ?? 0),
      startInterval: goDurationString(c.Healthcheck.StartInterval ?? 0),
      retries: c.Healthcheck.Retries ?? 0,
    };
  }
  return state;
}

/** Schema defaults of attributes Read sets: an unset input equals its default or type zero. */
const DEFAULTS: Record<string, unknown> = {
  restart: "no",
  networkMode: "bridge",
  init: false,
  memory: 0,
  memorySwap: 0,
  domainname: "",
  user: "",
  workingDir: "",
  privileged: false,
  readOnly: false,
  publishAllPorts: false,
  tty: false,
  stdinOpen: false,
  usernsMode: "",
  maxRetryCount: 0,
  memoryReservation: 0,
  cpuShares: 0,
  cpuSet: "",
};
/** Optional+Computed attributes: unset in the program, any read-back value is no change. */
const COMPUTED = new Set(["hostname", "command", "entrypoints", "logDriver", "stopTimeout", "init", "healthcheck"]);
const HEALTHCHECK_DEFAULTS: Record<string, unknown> = {
  interval: "0s",
  timeout: "0s",
  startPeriod: "0s",
  startInterval: "0s",
  retries: 0,
  tests: [],
};

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const setOf = (xs: unknown): string => JSON.stringify([...((xs as string[] | undefined) ?? [])].sort());

/**
 * The inputs the next `pulumi up` would show as changed against this read-back, as
 * `path: read back X, the program says Y`. Empty when the second `up` is a no-op.
 */
export function readBackDiff(inputs: Inputs, state: PropertyMap): string[] {
  const problems: string[] = [];
  const report = (p: string, seen: unknown, wanted: unknown) =>
    problems.push(`${p}: Docker reads back ${JSON.stringify(seen)}, the program says ${JSON.stringify(wanted)}`);
  for (const [k, seen] of Object.entries(state)) {
    if (["mustRun", "name", "ports", "healthcheck", "dns", "capabilities"].includes(k) || seen === undefined) continue;
    const wanted = inputs[k];
    if (wanted === undefined) {
      if (COMPUTED.has(k)) continue;
      const zero = k in DEFAULTS ? DEFAULTS[k] : Array.isArray(seen) ? [] : typeof seen === "object" ? {} : undefined;
      if (!same(seen, zero)) report(k, seen, null);
      continue;
    }
    if (!same(seen, wanted)) report(k, seen, wanted);
  }
  if (setOf(state.dns) !== setOf(inputs.dns)) report("dns", state.dns, inputs.dns ?? []);
  // capabilities: two sets, whatever order Docker keeps them in; set when either has entries.
  const caps = (c: { adds?: string[]; drops?: string[] } | undefined) =>
    c && (c.adds?.length || c.drops?.length) ? `${setOf(c.adds)} ${setOf(c.drops)}` : "";
  if (caps(state.capabilities) !== caps(inputs.capabilities)) report("capabilities", state.capabilities, inputs.capabilities ?? null);
  if (inputs.healthcheck && state.healthcheck) {
    for (const [f, seen] of Object.entries(state.healthcheck)) {
      const wanted = inputs.healthcheck[f] ?? HEALTHCHECK_DEFAULTS[f];
      if (!same(seen, wanted)) report(`healthcheck.${f}`, seen, wanted);
    }
  }
  // Ports: the provider suppresses a diff when the same ports come back in another order.
  const norm = (ps: Partial<Port>[] | undefined) =>
    JSON.stringify(
      (ps ?? [])
        .map((p) => ({ internal: p.internal, external: p.external, ip: p.ip || "0.0.0.0", protocol: p.protocol ?? "tcp" }))
        .sort((a, b) => Number(a.internal) - Number(b.internal)),
    );
  if (state.ports !== undefined && norm(state.ports) !== norm(inputs.ports)) report("ports", state.ports, inputs.ports ?? []);
  return problems;
}
