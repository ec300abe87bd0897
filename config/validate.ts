// Turns raw stack config into the one typed object the program uses, or into the full list of
// problems. Shape errors come from zod; the rules that span several keys (a mailbox in an
// undeclared domain, an alias loop, ...) are checked here so the admin sees everything at once.
import * as fs from "fs";
import { z } from "zod";
import { contains, gatewayOf } from "./network";
import { cidr, ParsedStack, parseCidr, stackSchema } from "./schema";

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

export const CONFIG_NAMESPACE = "mail-platform";

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
  const parsed = stackSchema.safeParse(raw);
  const shape = parsed.success ? [] : parsed.error.issues.map((i) => zodProblem(i, raw));
  // The cross-key rules run on whatever is readable even when the shape is wrong, so one run
  // lists every mistake; a key already reported for its shape is not reported twice.
  const reported = new Set(shape.map((p) => p.key));
  const cross = crossFieldProblems(looseView(raw), options).filter((p) => !reported.has(p.key));
  const problems = [...shape, ...cross];
  if (problems.length || !parsed.success) return { ok: false, problems };
  return { ok: true, value: parsed.data };
}

/** The parts of a raw config the cross-key rules read, with defaults, skipping what is unreadable. */
interface LooseConfig {
  domains: { name: string; tls: { source: string; certFile?: string; keyFile?: string } }[];
  mailboxes: { address: string }[];
  aliases: { address: string; goto: string[] }[];
  internalSubnet: string;
  edgeSubnet: string;
  trustedNetworks: (string | undefined)[];
  ports: Record<string, number>;
  relayhost: unknown;
  spam: { tagScore: unknown; rejectScore: unknown };
  volumes: Record<string, unknown>;
  features: Record<string, unknown>;
  archiveIntake: unknown;
  web: Record<string, unknown>;
}

function looseView(raw: Record<string, unknown>): LooseConfig {
  const arr = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map((x) => (x && typeof x === "object" ? x : {})) : []);
  const defaults = stackSchema.shape;
  const cidrOr = (v: unknown, key: "internalSubnet" | "edgeSubnet") => {
    const r = defaults[key].safeParse(v);
    return r.success ? r.data : "";
  };
  const spam = (raw.spam ?? {}) as Record<string, unknown>;
  const ports = defaults.ports.safeParse(raw.ports);
  return {
    domains: arr(raw.domains).map((d) => ({ name: str(d.name), tls: (d.tls as LooseConfig["domains"][number]["tls"]) ?? { source: "self-signed" } })),
    mailboxes: arr(raw.mailboxes).map((m) => ({ address: str(m.address) })),
    aliases: arr(raw.aliases).map((a) => ({ address: str(a.address), goto: Array.isArray(a.goto) ? a.goto.map(str) : [] })),
    internalSubnet: cidrOr(raw.internalSubnet, "internalSubnet"),
    edgeSubnet: cidrOr(raw.edgeSubnet, "edgeSubnet"),
    trustedNetworks: (Array.isArray(raw.trustedNetworks) ? raw.trustedNetworks : []).map((n) => (cidr.safeParse(n).success ? (n as string) : undefined)),
    ports: ports.success ? ports.data : {},
    relayhost: raw.relayhost,
    spam: { tagScore: spam.tagScore ?? 5, rejectScore: spam.rejectScore ?? 12 },
    volumes: ((raw.storage as Record<string, unknown> | undefined)?.volumes as Record<string, unknown>) ?? {},
    features: (raw.features as Record<string, unknown>) ?? {},
    archiveIntake: (raw.archive as Record<string, unknown> | undefined)?.intake,
    web: (raw.web as Record<string, unknown>) ?? {},
  };
}

/** A string value lower-cased, or "" for anything else. */
function str(v: unknown): string {
  return typeof v === "string" ? v.toLowerCase() : "";
}

function keyPath(path: PropertyKey[]): string {
  return path.reduce<string>(
    (acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : `${acc}${acc === CONFIG_NAMESPACE ? ":" : "."}${String(seg)}`),
    CONFIG_NAMESPACE,
  );
}

function at(raw: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((v, seg) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[seg] : undefined), raw);
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
  const found = at(raw, issue.path);
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

function crossFieldProblems(c: LooseConfig, options: ValidateOptions): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: PropertyKey[], found: unknown, expected: string) => problems.push({ key: keyPath(path), found: show(found), expected });

  const domains = new Set<string>();
  c.domains.forEach((d, i) => {
    if (!d.name) return;
    if (domains.has(d.name)) add(["domains", i, "name"], d.name, "each domain declared once");
    domains.add(d.name);
    if (d.tls.source === "pem" && options.checkFiles) {
      for (const k of ["certFile", "keyFile"] as const) {
        const file = d.tls[k];
        if (typeof file === "string" && !readable(file)) add(["domains", i, "tls", k], file, "a readable PEM file on the machine that runs Pulumi");
      }
    }
  });

  const owners = new Map<string, string>();
  const claim = (address: string, path: PropertyKey[]) => {
    if (!address) return;
    const previous = owners.get(address);
    if (previous) add(path, address, `an address not already used by ${previous}`);
    else owners.set(address, keyPath(path));
  };
  const domainOf = (a: string) => a.slice(a.lastIndexOf("@") + 1);

  c.mailboxes.forEach((m, i) => {
    if (m.address && !domains.has(domainOf(m.address))) add(["mailboxes", i, "address"], m.address, `an address in a declared domain (${[...domains].join(", ")})`);
    claim(m.address, ["mailboxes", i, "address"]);
  });
  c.aliases.forEach((a, i) => {
    if (a.address && !domains.has(domainOf(a.address))) add(["aliases", i, "address"], a.address, `an address in a declared domain (${[...domains].join(", ")})`);
    claim(a.address, ["aliases", i, "address"]);
    a.goto.forEach((g, j) => {
      const local = domains.has(domainOf(g));
      if (local && !c.mailboxes.some((m) => m.address === g) && !c.aliases.some((x) => x.address === g)) {
        add(["aliases", i, "goto", j], g, "a mailbox or alias declared in this stack (the domain is local, so mail to it would bounce)");
      }
    });
  });
  // RFC 5321 section 4.5.1: every domain must accept mail for postmaster; bounces and DMARC
  // reports are addressed to it.
  c.domains.forEach((d, i) => {
    const postmaster = `postmaster@${d.name}`;
    if (d.name && !owners.has(postmaster)) add(["domains", i, "name"], d.name, `a mailbox or alias for ${postmaster} (RFC 5321 requires it)`);
  });
  for (const loop of aliasLoops(c.aliases)) {
    const i = c.aliases.findIndex((a) => a.address === loop[0]);
    add(["aliases", i, "goto"], loop.join(" -> "), "aliases that end in a mailbox or external address, not a loop");
  }

  if (c.internalSubnet && c.edgeSubnet) {
    const internal = parseCidr(c.internalSubnet);
    const edge = parseCidr(c.edgeSubnet);
    if (overlaps(internal, edge)) add(["edgeSubnet"], c.edgeSubnet, `a subnet that does not overlap internalSubnet ${c.internalSubnet}`);
    c.trustedNetworks.forEach((n, i) => {
      if (!n) return;
      if (parseCidr(n).bits < internal.bits) {
        add(["trustedNetworks", i], n, `a network no wider than the platform's own (/${internal.bits}); an open relay is one typo away otherwise`);
        return;
      }
      // Every connection through a published port arrives from the edge gateway (docker-proxy), and
      // host processes reach containers from the internal one: trusting either trusts everyone.
      const gateway = [c.internalSubnet, c.edgeSubnet].map(gatewayOf).find((g) => contains(n, g));
      if (gateway) add(["trustedNetworks", i], n, `a network that does not contain the Docker gateway ${gateway} (every client through a published port comes from it)`);
    });
  }

  const portEntries = Object.entries(c.ports) as [string, number][];
  const seen = new Map<number, string>();
  for (const [name, p] of portEntries) {
    const other = seen.get(p);
    if (other) add(["ports", name], p, `a host port not already used by ports.${other}`);
    seen.set(p, name);
  }

  if (typeof c.relayhost === "string" && c.relayhost && !/^(\[[^\]\s]+\]|[^\s:[\]]+)(:\d{1,5})?$/.test(c.relayhost)) {
    add(["relayhost"], c.relayhost, "host, [host] or [host]:port, as Postfix's relayhost takes it");
  }
  if (typeof c.spam.rejectScore === "number" && typeof c.spam.tagScore === "number" && c.spam.rejectScore <= c.spam.tagScore) {
    add(["spam", "rejectScore"], c.spam.rejectScore, `a score above spam.tagScore (${c.spam.tagScore})`);
  }
  // Switches that only make sense together, so none is silently ignored.
  const on = (f: string) => c.features[f] === true;
  const builtinArchive = on("archive") && !c.archiveIntake;
  if (builtinArchive && !on("search")) {
    add(["features", "search"], c.features.search, "true: the built-in Piler cannot search without its Manticore index (or set archive.intake to use an existing archive server)");
  }
  if (on("search") && !builtinArchive) {
    add(["features", "search"], true, "false: the index belongs to the built-in Piler, which runs only with features.archive on and no archive.intake");
  }
  const admins = Array.isArray(c.web.admins) ? c.web.admins : [];
  if (on("admin") && admins.length === 0) {
    add(["web", "admins"], c.web.admins, "at least one administrator address, or nobody can log in to PostfixAdmin");
  }
  const firstDomain = c.domains[0]?.name ?? "";
  const served: [string, string][] = [];
  if (on("webmail")) served.push(["webmailHostname", str(c.web.webmailHostname) || `webmail.${firstDomain}`]);
  if (on("admin")) served.push(["adminHostname", str(c.web.adminHostname) || `postfixadmin.${firstDomain}`]);
  if (builtinArchive) served.push(["archiveHostname", str(c.web.archiveHostname) || `archive.${firstDomain}`]);
  const reserved = new Set(c.domains.flatMap((d) => [`mta-sts.${d.name}`, `autoconfig.${d.name}`, `autodiscover.${d.name}`]));
  const usedBy = new Map<string, string>();
  for (const [key, hostname] of served) {
    if (reserved.has(hostname)) add(["web", key], hostname, "a host name other than the mta-sts., autoconfig. and autodiscover. names the proxy serves for each domain");
    const other = usedBy.get(hostname);
    if (other) add(["web", key], hostname, `a host name not already used by web.${other}`);
    usedBy.set(hostname, key);
  }

  // One disk for both roots is fine on a small host, but two volumes must never share a path.
  const volumePaths = Object.entries(c.volumes).filter(([, p]) => typeof p === "string");
  const byPath = new Map<string, string>();
  for (const [name, p] of volumePaths) {
    const other = byPath.get(p as string);
    if (other) add(["storage", "volumes", name], p, `a path not already used by storage.volumes.${other}`);
    byPath.set(p as string, name);
  }
  return problems;
}

function overlaps(a: { base: number; bits: number }, b: { base: number; bits: number }): boolean {
  const bits = Math.min(a.bits, b.bits);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0;
}

/** Every cycle among local aliases, each reported once, starting at its first alias in config order. */
export function aliasLoops(aliases: { address: string; goto: string[] }[]): string[][] {
  const graph = new Map(aliases.map((a) => [a.address, a.goto]));
  const loops: string[][] = [];
  const reported = new Set<string>();
  for (const start of graph.keys()) {
    const stack: { node: string; path: string[] }[] = [{ node: start, path: [start] }];
    while (stack.length) {
      const { node, path } = stack.pop()!;
      for (const next of graph.get(node) ?? []) {
        if (next === start) {
          const key = [...path].sort().join(",");
          if (!reported.has(key)) {
            reported.add(key);
            loops.push([...path, start]);
          }
        } else if (graph.has(next) && !path.includes(next)) {
          stack.push({ node: next, path: [...path, next] });
        }
      }
    }
  }
  return loops;
}

function readable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
