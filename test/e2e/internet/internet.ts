// The Internet, simulated, for the live end-to-end tests: an authoritative DNS server (NSD) serving
// the stack's own DNS records, and another company's MX (aiosmtpd) that receives the platform's
// outbound mail and keeps every message byte-exact with its envelope, client IP and HELO. Each runs
// in its own container on a Docker network the caller created; nothing here talks to any address
// other than those containers (client containers get `--dns <our DNS>` so no query leaves).
import { createHash } from "crypto";
import * as path from "path";
import { txtStrings } from "../../../components/pki/dns-records";
import { BASE_IMAGE, containerLog, copyInto, docker, dockerExec, inspect, mustDocker, RunResult } from "../../support/docker";

export { docker };
export type { RunResult };

/** Every container this module starts has a name beginning with this. */
export const CONTAINER_PREFIX = "mp-e2e-internet-";

/** One resource record to add to the zones; `name` is the owner (a trailing dot is optional). */
export interface ZoneRecord {
  name: string;
  type: "A" | "MX" | "TXT";
  /** A: the address; MX: `<preference> <host>`; TXT: the unquoted text (split and quoted here). */
  value: string;
}

export interface ZoneFileOptions {
  /** The zones to write, e.g. `["example.test", "remote.test"]`. Defaults to every MX owner name,
   *  plus the parent name of any other record no zone covers. */
  zones?: string[];
  /** Adds `ns.<zone>. A <ip>` to every zone, so the NS records resolve. Defaults to no glue. */
  nameserverIp?: string;
}

export interface ReceivedMessage {
  /** Envelope sender (MAIL FROM), empty for a bounce. */
  mailFrom: string;
  /** Envelope recipients (RCPT TO) accepted for this message. */
  rcptTo: string[];
  /** Address of the client that connected to the MX (what SPF checks). */
  clientIp: string;
  /** The name the client gave in HELO/EHLO. */
  helo: string;
  /** The message as received (CRLF line ends, dot-unstuffed), decoded as UTF-8. */
  raw: string;
  /** The exact octets received; use these for DKIM verification of 8-bit mail. */
  rawBytes: Buffer;
  /** TLS version negotiated with STARTTLS (e.g. `TLSv1.3`), or null for a plain-text session. */
  tls: string | null;
  /** ISO time the MX stored it. */
  receivedAt: string;
}

export interface DigResult {
  /** DNS rcode as dig prints it (NOERROR, NXDOMAIN, REFUSED, SERVFAIL), or TIMEOUT. */
  status: string;
  /** The aa (authoritative answer) flag was set. */
  authoritative: boolean;
  /** Answer-section rdata of the asked type; TXT strings are joined back into one value. */
  answers: string[];
  /** Wall time of the lookup including the docker call, in milliseconds. */
  ms: number;
  /** dig's whole output, for failure messages. */
  output: string;
}

export interface StartInternetOptions {
  /** An existing Docker network (created by the caller) standing in for the Internet. */
  network: string;
  /** Fixed address of the DNS container on `network`. */
  dnsIp: string;
  /** Fixed address of the remote MX container on `network`. */
  mxIp: string;
  /** Zone files keyed by zone name, as `zoneFiles` returns them. */
  zones: Record<string, string>;
  /** Domains the remote MX accepts mail for (others get 554 at RCPT). */
  remoteDomains: string[];
  /** Part of the container names (`mp-e2e-internet-<name>-dns`). Defaults to the process id. */
  name?: string;
  /** The MX's host name (banner, certificate). Defaults to `mx.<first remote domain>`. */
  mxHostname?: string;
  /** How long to wait for both containers to be ready. Defaults to 30 s. */
  readyTimeoutMs?: number;
  /** Keep containers of these names that run from the same images with the same options (zones
   *  included) instead of making both anew. Defaults to false. */
  reuse?: boolean;
}

export interface Internet {
  dns: { ip: string; container: string };
  mx: { ip: string; container: string; hostname: string };
  /** Image tags, reusable as client images: `dns` has dig, `mx` has python3 (smtplib) and openssl. */
  images: InternetImages;
  /** What `startInternet` did with each container (kept, started, created, replaced). */
  setup: Record<"dns" | "mx", HostOutcome>;
  /** Every message the remote MX has stored, in arrival order. */
  messages(): ReceivedMessage[];
  /** Empties the remote MX's store (and turns its refuse switch off), as a new MX would start. */
  clearMessages(): void;
  /** Polls `messages()` every 250 ms until one matches; rejects after `timeoutMs` with what was seen. */
  waitForMessage(predicate: (m: ReceivedMessage) => boolean, timeoutMs: number): Promise<ReceivedMessage>;
  /** Both containers' logs, for failure output. */
  logs(): string;
  /** Removes both containers. Safe to call twice. */
  stop(): void;
  /** Answers (rdata; TXT joined) for `name`/`type`, asked of the DNS container's network address. */
  query(name: string, type: string): string[];
  /** A full lookup with status and flags. `from: "client"` asks from a throwaway container on the
   *  network through Docker's embedded resolver (`--dns`), the path platform containers use. */
  dig(name: string, type: string, from?: "server" | "client"): DigResult;
}

export interface InternetImages {
  dns: string;
  mx: string;
}

function dockerOk(args: string[], what: string): string {
  try {
    return mustDocker(args);
  } catch (e) {
    throw new Error(`${what} failed: ${(e as Error).message}`, { cause: e });
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const HERE = __dirname;

/** Image id by tag, for the images this process built: a test host made from another id is out of date. */
const builtIds = new Map<string, string>();

/**
 * Builds test/e2e/internet/<dir> with the classic builder (layer cache reused) and returns its tag.
 * Once per process: a second call returns the tag of the first build.
 */
export function buildInternetImage(dir: "dns" | "remote-mx" | "pebble" | "s3"): string {
  const tag = `mail-platform-test/internet-${dir}:latest`;
  if (builtIds.has(tag)) return tag;
  dockerOk(
    ["build", "-q", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`, "-t", tag, path.join(HERE, dir)],
    `building test/e2e/internet/${dir}`,
  );
  builtIds.set(tag, imageId(tag));
  return tag;
}

/** The id of the image `tag` names now (the one this process built, when it built it). */
export function imageId(tag: string): string {
  return builtIds.get(tag) ?? dockerOk(["image", "inspect", "-f", "{{.Id}}", tag], `looking up the image ${tag}`);
}

export function buildInternetImages(): InternetImages {
  return { dns: buildInternetImage("dns"), mx: buildInternetImage("remote-mx") };
}

// ---------------------------------------------------------------------------------------------
// Zone files

interface Rr {
  owner: string;
  ttl: number;
  type: string;
  rdata: string;
}

function fqdn(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith(".") ? n : `${n}.`;
}

function under(owner: string, zone: string): boolean {
  return owner === zone || owner.endsWith(`.${zone}`);
}

/** Parses the platform's `dnsZone` snippet: `;` comments, then `<owner>\t<ttl>\tIN\t<type>\t<rdata>`. */
export function parseZoneSnippet(snippet: string): Rr[] {
  const rrs: Rr[] = [];
  snippet.split("\n").forEach((line, i) => {
    const text = line.trim();
    if (text === "" || text.startsWith(";")) return;
    const m = /^(\S+)\s+(\d+)\s+IN\s+([A-Za-z]+)\s+(.+)$/.exec(text);
    if (!m)
      throw new Error(`zoneFiles: line ${i + 1} of the zone snippet is not "<owner> <ttl> IN <type> <rdata>": ${JSON.stringify(line)}`);
    rrs.push({ owner: fqdn(m[1]), ttl: Number(m[2]), type: m[3].toUpperCase(), rdata: m[4].trim() });
  });
  return rrs;
}

function extraRr(r: ZoneRecord): Rr {
  let rdata: string;
  if (r.type === "A") rdata = r.value.trim();
  else if (r.type === "MX") {
    const m = /^(\d+)\s+(\S+)$/.exec(r.value.trim());
    if (!m) throw new Error(`zoneFiles: MX value for ${r.name} must be "<preference> <host>", got ${JSON.stringify(r.value)}`);
    rdata = `${m[1]} ${fqdn(m[2])}`;
  } else rdata = txtStrings(r.value);
  return { owner: fqdn(r.name), ttl: 300, type: r.type, rdata };
}

/**
 * Complete zone files (SOA, NS, records) keyed by zone name without the trailing dot, from the
 * platform's `dnsZone` output plus `extra` records (A records for the platform's host name, the
 * remote MX's own zone). Each record goes into the most specific zone its owner is under.
 */
export function zoneFiles(zoneSnippet: string, extra: ZoneRecord[], options: ZoneFileOptions = {}): Record<string, string> {
  const rrs = [...parseZoneSnippet(zoneSnippet), ...extra.map(extraRr)];
  let zones = (options.zones ?? []).map(fqdn);
  if (!options.zones) {
    zones = [...new Set(rrs.filter((r) => r.type === "MX").map((r) => r.owner))];
    for (const r of rrs) {
      if (zones.some((z) => under(r.owner, z))) continue;
      const labels = r.owner.split(".").filter(Boolean);
      zones.push(labels.length > 2 ? `${labels.slice(1).join(".")}.` : r.owner);
    }
  }
  // Most specific zone first, so a record lands in the deepest zone that covers it.
  const bySpecificity = [...zones].sort((a, b) => b.split(".").length - a.split(".").length);
  const body = new Map<string, Rr[]>(zones.map((z) => [z, []]));
  for (const r of rrs) {
    const zone = bySpecificity.find((z) => under(r.owner, z));
    if (!zone) throw new Error(`zoneFiles: ${r.owner} ${r.type} is under none of the zones ${zones.join(", ")}`);
    body.get(zone)!.push(r);
  }
  const files: Record<string, string> = {};
  for (const zone of zones) {
    const lines = [
      `; ${zone} for the simulated Internet (generated by test/e2e/internet/internet.ts).`,
      `$ORIGIN ${zone}`,
      `$TTL 300`,
      // Short negative TTL (last field): a name added by a later test is not cached as missing for long.
      `${zone}\t300\tIN\tSOA\tns.${zone} hostmaster.${zone} 1 300 60 86400 30`,
      `${zone}\t300\tIN\tNS\tns.${zone}`,
      ...(options.nameserverIp ? [`ns.${zone}\t300\tIN\tA\t${options.nameserverIp}`] : []),
      ...body.get(zone)!.map((r) => `${r.owner}\t${r.ttl}\tIN\t${r.type}\t${r.rdata}`),
    ];
    files[zone.replace(/\.$/, "")] = lines.join("\n") + "\n";
  }
  return files;
}

/** The remote company's own DNS: `MX 10 <host>` for each domain and `<host> A <mxIp>`. */
export function remoteMxRecords(domains: string[], mxIp: string, mxHostname = `mx.${domains[0]}`): ZoneRecord[] {
  return [
    ...domains.map((d): ZoneRecord => ({ name: d, type: "MX", value: `10 ${mxHostname}` })),
    { name: mxHostname, type: "A", value: mxIp },
  ];
}

/** Joins TXT character-strings as dig prints them (`"a" "b"`, with `\"`, `\\`, `\DDD` escapes). */
export function joinTxt(rdata: string): string {
  let out = "";
  let i = 0;
  while (i < rdata.length) {
    if (rdata[i] !== '"') {
      i++;
      continue;
    }
    i++;
    while (i < rdata.length && rdata[i] !== '"') {
      if (rdata[i] === "\\") {
        const dec = /^\d{3}/.exec(rdata.slice(i + 1, i + 4));
        if (dec) {
          out += String.fromCharCode(Number(dec[0]));
          i += 4;
        } else {
          out += rdata[i + 1] ?? "";
          i += 2;
        }
      } else out += rdata[i++];
    }
    i++;
  }
  return out;
}

/** Parses `dig +noall +comments +answer` output. */
export function parseDig(output: string, type: string, ms: number): DigResult {
  const status = /status: ([A-Z]+)/.exec(output)?.[1] ?? (/timed out|no servers could be reached/i.test(output) ? "TIMEOUT" : "UNKNOWN");
  const flags = /;; flags: ([^;]*);/.exec(output)?.[1] ?? "";
  const answers: string[] = [];
  for (const line of output.split("\n")) {
    if (line.startsWith(";") || line.trim() === "") continue;
    const m = /^(\S+)\s+(\d+)\s+IN\s+([A-Za-z]+)\s+(.*)$/.exec(line.trim());
    if (!m || m[3].toUpperCase() !== type.toUpperCase()) continue;
    answers.push(m[3].toUpperCase() === "TXT" ? joinTxt(m[4]) : m[4].trim());
  }
  return { status, authoritative: flags.split(/\s+/).includes("aa"), answers, ms, output };
}

// ---------------------------------------------------------------------------------------------
// Containers

/** Runs `command` in a throwaway container on `network` that resolves through `dnsIp`. */
export function runOnNetwork(
  network: string,
  image: string,
  command: string[],
  opts: { dnsIp?: string; ip?: string; entrypoint?: string; input?: string; name?: string } = {},
): RunResult {
  return docker(
    [
      "run",
      "--rm",
      ...(opts.input !== undefined ? ["-i"] : []),
      "--network",
      network,
      ...(opts.ip ? ["--ip", opts.ip] : []),
      ...(opts.dnsIp ? ["--dns", opts.dnsIp] : []),
      ...(opts.name ? ["--name", opts.name] : []),
      ...(opts.entrypoint ? ["--entrypoint", opts.entrypoint] : []),
      image,
      ...command,
    ],
    opts.input,
  );
}

function containerState(name: string): string {
  return inspect(name, "{{.State.Status}}");
}

function containerLogs(name: string): string {
  return `----- ${name} -----\n${containerLog(name, ["--tail", "300"])}`;
}

const SPOOL = "/var/spool/remote-mx";

/** Every message a container of the remote-MX image has stored, oldest first. */
export function spoolMessages(container: string): ReceivedMessage[] {
  const r = dockerExec(container, ["sh", "-c", `cd ${SPOOL} && for f in [0-9]*.json; do [ -e "$f" ] && cat "$f"; done; true`]);
  if (r.code !== 0) throw new Error(`reading the messages stored in ${container} failed: ${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const j = JSON.parse(l) as {
        mailFrom: string;
        rcptTo: string[];
        clientIp: string;
        helo: string;
        tls: string | null;
        receivedAt: string;
        rawBase64: string;
      };
      const rawBytes = Buffer.from(j.rawBase64, "base64");
      return {
        mailFrom: j.mailFrom,
        rcptTo: j.rcptTo,
        clientIp: j.clientIp,
        helo: j.helo,
        tls: j.tls,
        receivedAt: j.receivedAt,
        rawBytes,
        raw: rawBytes.toString("utf8"),
      };
    });
}

/**
 * Empties a remote-MX container's store and turns its refuse switch off (`/run/remote-mx/refuse`,
 * which makes it answer RCPT with 4xx): the state a new container starts in.
 */
export function resetRemoteMx(container: string): void {
  dockerOk(
    ["exec", container, "sh", "-c", `rm -f ${SPOOL}/[0-9]*.json ${SPOOL}/.*.tmp /run/remote-mx/refuse`],
    `clearing the remote MX ${container}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Test hosts: containers that stand in for the Internet's servers

/** Everything that makes a test host's container; two containers made from equal specs behave the same. */
export interface TestHostSpec {
  /** Container name. */
  name: string;
  /** Image tag (built by `buildInternetImage`); the container must run the id it names now. */
  image: string;
  network: string;
  ip: string;
  hostname: string;
  /** The container's resolver (`--dns`), when it needs one. */
  dns?: string;
  env?: Record<string, string>;
  /** Files (container path -> content) copied in before the first start, mode 0644. */
  files?: Record<string, string>;
  /** A command run in the container that exits 0 once it answers. */
  ready: string[];
}

/** What `ensureTestHost` did: kept a current container, started a stopped one, created one, or replaced an outdated one. */
export type HostOutcome = "kept" | "started" | "created" | "replaced";

/** Label holding the digest of the spec (and image id) a test host's container was made from. */
export const SPEC_LABEL = "mail-platform.test-host.spec";

/** The digest `SPEC_LABEL` holds for a container made from `spec` with the image `tag` names now. */
export function specDigest(spec: TestHostSpec): string {
  const sorted = (r: Record<string, string> = {}) =>
    Object.keys(r)
      .sort()
      .map((k) => [k, r[k]]);
  const what = {
    image: imageId(spec.image),
    network: spec.network,
    ip: spec.ip,
    hostname: spec.hostname,
    dns: spec.dns ?? null,
    env: sorted(spec.env),
    files: sorted(spec.files),
  };
  return createHash("sha256").update(JSON.stringify(what)).digest("hex");
}

export interface HostState {
  running: boolean;
  /** The `SPEC_LABEL` label, "" when the container has none. */
  digest: string;
  /** Its address on the network asked about, "" when not attached (or not running). */
  ip: string;
}

/** Containers' run state, spec label and address on `network`, in one docker call; absent names are left out. */
export function hostStates(names: string[], network?: string): Map<string, HostState> {
  const ip = network ? `{{with index .NetworkSettings.Networks "${network}"}}{{.IPAddress}}{{end}}` : "";
  const r = docker([
    "inspect",
    "--type",
    "container",
    "-f",
    `{{.Name}} {{.State.Running}} ${ip} {{index .Config.Labels "${SPEC_LABEL}"}}`,
    ...names,
  ]);
  const found = new Map<string, HostState>();
  for (const line of r.stdout.split("\n")) {
    const [name, running, address, digest] = line.trim().split(" ");
    if (name) found.set(name.replace(/^\//, ""), { running: running === "true", ip: address ?? "", digest: digest ?? "" });
  }
  return found;
}

/** Turns a remote-MX container's refuse switch on: it answers every RCPT with 451, as an MX in maintenance does. */
export function refuseMail(container: string): void {
  dockerOk(
    ["exec", container, "sh", "-c", "mkdir -p /run/remote-mx && touch /run/remote-mx/refuse"],
    `turning ${container}'s refuse switch on`,
  );
}

/** Turns a remote-MX container's refuse switch off, keeping its store. */
export function acceptMail(container: string): void {
  dockerOk(["exec", container, "rm", "-f", "/run/remote-mx/refuse"], `turning ${container}'s refuse switch off`);
}

/**
 * Makes `spec.name` a container of `spec`: keeps it when it runs from the same image and spec,
 * starts it when it is only stopped, and otherwise (or always, with `fresh`) removes it and creates
 * it anew. Does not wait for it to answer; `waitUntilReady` does.
 */
export function ensureTestHost(spec: TestHostSpec, fresh = false): HostOutcome {
  const digest = specDigest(spec);
  const now = hostStates([spec.name]).get(spec.name);
  if (now && !fresh && now.digest === digest) {
    if (now.running) return "kept";
    dockerOk(["start", spec.name], `starting ${spec.name}`);
    return "started";
  }
  docker(["rm", "-f", "-v", spec.name]);
  dockerOk(
    [
      "create",
      "--name",
      spec.name,
      "--label",
      `${SPEC_LABEL}=${digest}`,
      "--network",
      spec.network,
      "--ip",
      spec.ip,
      "--hostname",
      spec.hostname,
      ...(spec.dns ? ["--dns", spec.dns] : []),
      ...Object.entries(spec.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
      spec.image,
    ],
    `creating ${spec.name}`,
  );
  try {
    copyInto(spec.name, spec.files ?? {}, 0o644);
    dockerOk(["start", spec.name], `starting ${spec.name}`);
  } catch (e) {
    const detail = containerLogs(spec.name);
    docker(["rm", "-f", "-v", spec.name]);
    throw new Error(`${(e as Error).message}\n${detail}`, { cause: e });
  }
  return now ? "replaced" : "created";
}

/** Waits until each host's ready command succeeds; fails at once when one stops running. */
export function waitUntilReady(specs: TestHostSpec[], timeoutMs = 30_000): void {
  const deadline = Date.now() + timeoutMs;
  for (const spec of specs) {
    for (;;) {
      const r = dockerExec(spec.name, spec.ready);
      if (r.code === 0) break;
      const state = containerState(spec.name);
      if (state !== "running")
        throw new Error(
          `${spec.name} is ${state || "gone"} instead of running; last check: ${r.stdout}${r.stderr}\n${containerLogs(spec.name)}`,
        );
      if (Date.now() > deadline)
        throw new Error(`${spec.name} not ready in time; last check: ${r.stdout}${r.stderr}\n${containerLogs(spec.name)}`);
      sleepSync(100);
    }
  }
}

/** Removes test hosts by name (absent ones are fine); returns the names that were there. */
export function removeTestHosts(names: string[]): string[] {
  const present = [...hostStates(names).keys()];
  if (present.length) dockerOk(["rm", "-f", "-v", ...present], `removing ${present.join(", ")}`);
  return present;
}

/** The specs of the Internet's two containers, as `startInternet` makes them. */
export function internetSpecs(opts: StartInternetOptions): { dns: TestHostSpec; mx: TestHostSpec } {
  const images = buildInternetImages();
  const prefix = `${CONTAINER_PREFIX}${opts.name ?? process.pid}`;
  const mxHostname = opts.mxHostname ?? `mx.${opts.remoteDomains[0]}`;
  return {
    dns: {
      name: `${prefix}-dns`,
      image: images.dns,
      network: opts.network,
      ip: opts.dnsIp,
      hostname: "ns.internet.test",
      files: Object.fromEntries(Object.entries(opts.zones).map(([zone, text]) => [`/etc/nsd/zones/${zone.replace(/\.$/, "")}.zone`, text])),
      ready: ["dns-healthcheck"],
    },
    mx: {
      name: `${prefix}-mx`,
      image: images.mx,
      network: opts.network,
      ip: opts.mxIp,
      hostname: mxHostname,
      dns: opts.dnsIp,
      env: { REMOTE_DOMAINS: opts.remoteDomains.join(","), MX_HOSTNAME: mxHostname },
      ready: ["python3", "/usr/local/lib/remote-mx/healthcheck.py"],
    },
  };
}

/**
 * Starts the DNS server and the remote MX on `opts.network` and waits until both answer. With
 * `reuse`, containers already running from the same images and options (the same zones) are kept,
 * messages and all; otherwise both are made anew.
 */
export function startInternet(opts: StartInternetOptions): Internet {
  if (opts.remoteDomains.length === 0) throw new Error("startInternet: remoteDomains is empty; the MX needs at least one domain");
  if (Object.keys(opts.zones).length === 0) throw new Error("startInternet: zones is empty; pass zoneFiles(...)");
  const images = buildInternetImages();
  const specs = internetSpecs(opts);
  const dnsName = specs.dns.name;
  const mxName = specs.mx.name;
  const mxHostname = specs.mx.hostname;
  const names = [dnsName, mxName];
  const logs = () => names.map(containerLogs).join("\n");
  const stop = () => {
    for (const n of names) docker(["rm", "-f", "-v", n]);
  };

  let setup: Record<"dns" | "mx", HostOutcome>;
  try {
    setup = { dns: ensureTestHost(specs.dns, !opts.reuse), mx: ensureTestHost(specs.mx, !opts.reuse) };
    waitUntilReady([specs.dns, specs.mx], opts.readyTimeoutMs);
  } catch (e) {
    // The message has the failing container's log; neither container is left half made.
    stop();
    throw new Error(`startInternet: ${(e as Error).message}`, { cause: e });
  }

  const messages = (): ReceivedMessage[] => {
    try {
      return spoolMessages(mxName);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logs()}`, { cause: e });
    }
  };

  const dig = (name: string, type: string, from: "server" | "client" = "server"): DigResult => {
    const args = ["+noall", "+comments", "+answer", "+time=2", "+tries=1", name, type];
    const started = Date.now();
    const r =
      from === "server"
        ? dockerExec(dnsName, ["dig", `@${opts.dnsIp}`, ...args])
        : runOnNetwork(opts.network, images.dns, ["@127.0.0.11", ...args], { dnsIp: opts.dnsIp, entrypoint: "dig" });
    return parseDig(r.stdout + r.stderr, type, Date.now() - started);
  };

  return {
    dns: { ip: opts.dnsIp, container: dnsName },
    mx: { ip: opts.mxIp, container: mxName, hostname: mxHostname },
    images,
    setup,
    messages,
    clearMessages: () => resetRemoteMx(mxName),
    async waitForMessage(predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const seen = messages();
        const hit = seen.find(predicate);
        if (hit) return hit;
        if (Date.now() > deadline) {
          const summary = seen
            .map((m) => `  from=<${m.mailFrom}> to=${m.rcptTo.join(",")} client=${m.clientIp} ${m.raw.length} chars`)
            .join("\n");
          throw new Error(`no matching message at the remote MX within ${timeoutMs} ms; it has ${seen.length}:\n${summary}\n${logs()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    logs,
    stop,
    query: (name, type) => dig(name, type).answers,
    dig,
  };
}
