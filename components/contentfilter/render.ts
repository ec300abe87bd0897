// Pure renderers of the ContentFilter's configuration (Amavis, SpamAssassin, spamd, clamd and
// freshclam, the rule updater and the two scheduled jobs): plain values in, container path -> file content out. The component lifts them over
// Pulumi outputs; tests call them directly.
import { PlatformConfig } from "../../config/platform";
import { gatewayOf, platformPeers } from "../../config/network";
import { perlString } from "../../render/literals";
import { RenderedFiles, renderTemplates, TemplateValues } from "../../render/template";
import { pemFile } from "../pki/pem";
import { ArchiveIntake, DkimKey, Endpoint, SqlEndpoint } from "../types";
import { renderSchedule } from "../host/scheduled-jobs";
import {
  BAYES_REPORT_JOB,
  BAYES_SECRET_FILE,
  dkimKeyPath,
  FRESHCLAM_JOB,
  SA_UPDATE_CHANNELS_FILE,
  SA_UPDATE_JOB,
  SA_UPDATE_KEYS_DIR,
} from "./constants";

/** The Bayes "user" every learning and every scan uses (`bayes_sql_override_username`). */
export const BAYES_GLOBAL_USER = "mail-platform";
/** spamd children: it only takes Bayes training (users moving mail into or out of Junk). */
const SPAMD_CHILDREN = 2;

/** The platform settings the ContentFilter reads. */
type ContentFilterPlatform = Pick<
  PlatformConfig,
  "hostname" | "domains" | "internalSubnet" | "edgeSubnet" | "trustedNetworks" | "spam" | "limits" | "tuning" | "schedules"
>;

export interface ContentFilterRenderInput {
  platform: ContentFilterPlatform;
  /** Postfix's re-injection listener: where Amavis hands back scanned mail and sends notices. */
  reinjection: Endpoint;
  /** clamd, as Amavis reaches it. */
  clamd: Endpoint;
  /** SpamAssassin's Bayes database (read-write account; the password is in clear: the output is secret). */
  bayesSql: SqlEndpoint;
  /** One per configured domain (private keys in clear: the output is secret). */
  dkimKeys: DkimKey[];
  /** Where a copy of every message goes, when archiving is on. */
  archive?: ArchiveIntake;
}

class ContentFilterRenderError extends Error {}

// RFC 2606 / RFC 6761: names that can never receive mail from the Internet.
const RESERVED_TLDS = ["test", "example", "invalid", "localhost"];
const RESERVED_DOMAINS = ["example.com", "example.net", "example.org"];

function isReservedDomain(domain: string): boolean {
  const d = domain.toLowerCase();
  return RESERVED_TLDS.some((t) => d === t || d.endsWith(`.${t}`)) || RESERVED_DOMAINS.some((r) => d === r || d.endsWith(`.${r}`));
}

/**
 * Whether SpamAssassin and Amavis use network tests (DNS blocklists, URI blocklists, SPF, DKIM
 * verification). On for any stack that serves a real domain. Off only when every domain is
 * reserved for testing (`example.test`, ...): such a stack never receives Internet mail, the
 * lookups could only time out, and test deployments must not query the Internet.
 */
export function networkChecksEnabled(platform: Pick<PlatformConfig, "domains">): boolean {
  return !platform.domains.every((d) => isReservedDomain(d.name));
}

/** A SpamAssassin config value: one line, no spaces (every value we write is a token). */
function saToken(key: string, value: string): string {
  if (!/^[^\s#]+$/.test(value))
    throw new ContentFilterRenderError(`${key}: ${JSON.stringify(value)} cannot be written into SpamAssassin's config (no spaces or '#')`);
  return value;
}

/** A number as Amavis and SpamAssassin read it (no exponent notation). */
function score(n: number): string {
  return Number.isInteger(n) ? n.toFixed(1) : String(n);
}

/**
 * The Amavis `$banned_filename_re`: each extension as the last one (`invoice.exe`) and as a
 * hidden double extension (`invoice.pdf.exe.`). `undef` when nothing is banned.
 */
export function bannedFilenameRe(extensions: string[]): string {
  const exts = [...new Set(extensions.map((e) => e.toLowerCase()))];
  for (const e of exts) {
    if (!/^[a-z0-9]+$/.test(e))
      throw new ContentFilterRenderError(`spam.bannedExtensions: ${JSON.stringify(e)} is not a plain file name extension`);
  }
  if (exts.length === 0) return "undef";
  const alt = exts.join("|");
  return ["new_RE(", `  qr'.\\.(${alt})$'i,`, `  qr'.\\.[^./]*\\.(${alt})\\.?$'i,`, ")"].join("\n");
}

/** The `dkim_key(...)` lines; every configured domain must have exactly its configured key. */
export function dkimKeyLines(platform: Pick<PlatformConfig, "domains">, keys: DkimKey[]): string {
  const configured = new Map(platform.domains.map((d) => [d.name, d.dkimSelector]));
  const seen = new Set<string>();
  for (const k of keys) {
    const selector = configured.get(k.domain);
    if (selector === undefined) throw new ContentFilterRenderError(`dkimKeys: a key for ${k.domain}, which is not a configured domain`);
    if (selector !== k.selector)
      throw new ContentFilterRenderError(`dkimKeys: the key for ${k.domain} has selector ${k.selector}; the config says ${selector}`);
    if (seen.has(k.domain)) throw new ContentFilterRenderError(`dkimKeys: two keys for ${k.domain}`);
    seen.add(k.domain);
  }
  const missing = [...configured.keys()].filter((d) => !seen.has(d));
  if (missing.length)
    throw new ContentFilterRenderError(`dkimKeys: no key for ${missing.join(", ")}; every domain's outbound mail is signed`);
  return platform.domains
    .map((d) => `dkim_key(${perlString(d.name)}, ${perlString(d.dkimSelector)}, ${perlString(dkimKeyPath(d.name, d.dkimSelector))});`)
    .join("\n");
}

/**
 * Networks SpamAssassin trusts as our own relays: the internal subnet and the configured trusted
 * networks, but never a Docker gateway (through which Internet clients and host processes arrive).
 */
export function saTrustedNetworks(p: Pick<PlatformConfig, "internalSubnet" | "edgeSubnet" | "trustedNetworks">): string {
  return [`!${gatewayOf(p.internalSubnet)}`, `!${gatewayOf(p.edgeSubnet)}`, p.internalSubnet, ...p.trustedNetworks].join(" ");
}

/** ClamAV's stream and file limits, from the platform's message size limit. */
export function clamdLimits(messageSizeMb: number): { streamMaxMb: number; maxScanMb: number } {
  // A decoded part is never larger than the message; the total scanned data of a message with
  // archives inside can be several times its size.
  return { streamMaxMb: messageSizeMb + 1, maxScanMb: Math.max(100, 4 * messageSizeMb) };
}

/** SpamAssassin's site config, shared by Amavis (scanning) and spamd (learning). */
function renderSpamAssassinFiles(input: Pick<ContentFilterRenderInput, "platform" | "bayesSql">): RenderedFiles {
  const { platform: p, bayesSql: db } = input;
  const net = networkChecksEnabled(p);
  const networkChecksComment = net
    ? "ON (this stack serves real domains)."
    : "OFF (every domain of this stack is reserved for testing, so it never gets Internet mail).";
  return renderTemplates("spamassassin", {
    "/etc/spamassassin/local.cf": {
      tagScore: score(p.spam.tagScore),
      trustedNetworks: saTrustedNetworks(p),
      bayesDatabase: saToken("bayesSql.database", db.database),
      bayesHost: saToken("bayesSql.host", db.host),
      bayesPort: db.port,
      bayesGlobalUser: BAYES_GLOBAL_USER,
      networkChecksComment,
      dnsAvailable: net ? "yes" : "no",
      skipRblChecks: net ? 0 : 1,
    },
    [BAYES_SECRET_FILE]: { bayesUser: saToken("bayesSql.user", db.user), bayesPassword: saToken("bayesSql.password", db.password) },
  });
}

/** Amavis's files: its site policy, /etc/mailname, the DKIM keys and SpamAssassin's config. */
export function renderAmavisFiles(input: ContentFilterRenderInput): RenderedFiles {
  const p = input.platform;
  const primaryDomain = p.domains[0].name;
  const net = networkChecksEnabled(p);
  const quarantine = p.spam.virusAction === "quarantine";
  const policy: TemplateValues = {
    hostname: p.hostname,
    primaryDomain,
    localDomains: p.domains.map((d) => perlString(d.name)).join(", "),
    inetAcl: ["127.0.0.1", `!${gatewayOf(p.internalSubnet)}`, p.internalSubnet].join(" "),
    maxServers: p.tuning.amavisChildren,
    // Amavis's archiving quarantine: one copy per message, whatever the recipients' policies,
    // sent to the archive address with X-Envelope-From and X-Envelope-To headers listing every
    // envelope recipient (Bcc and alias expansions included). Only the copy carries them, never a
    // user's or an outbound copy; Piler reads them with extra_to_field=X-Envelope-To:.
    archiveMethod: input.archive ? perlString(`smtp:[${input.archive.endpoint.host}]:${input.archive.endpoint.port}`) : "undef",
    archiveTo: input.archive ? perlString(input.archive.address) : "undef",
    reinjectionHost: input.reinjection.host,
    reinjectionPort: input.reinjection.port,
    clamdHost: input.clamd.host,
    clamdPort: input.clamd.port,
    virusPolicyComment: quarantine
      ? "spam.virusAction = quarantine: the message is dropped silently (no bounce to a sender a virus forged), kept in the virus quarantine, and postmaster is told."
      : "spam.virusAction = reject: not delivered; Amavis (not Postfix, whose bounce would carry the virus back) decides on a notice with the headers only, never for viruses known to forge senders; a copy stays in the virus quarantine.",
    // Not D_REJECT: the filter runs after the queue, so a reject makes Postfix bounce the whole
    // message, virus included, to a sender the virus most likely forged.
    virusDestiny: quarantine ? "D_DISCARD" : "D_BOUNCE",
    virusAdmin: quarantine ? perlString(`postmaster@${primaryDomain}`) : "undef",
    bannedFilenameRe: bannedFilenameRe(p.spam.bannedExtensions),
    tagScore: score(p.spam.tagScore),
    rejectScore: score(p.spam.rejectScore),
    dsnCutoffScore: score(p.spam.rejectScore + 5),
    credibleDsnCutoffScore: score(p.spam.rejectScore + 10),
    networkChecksComment: net ? "ON (this stack serves real domains)." : "OFF (every domain of this stack is reserved for testing).",
    saLocalTestsOnly: net ? 0 : 1,
    dkimVerification: net ? 1 : 0,
    dkimKeys: dkimKeyLines(p, input.dkimKeys),
  };
  const files = renderTemplates("amavis", { "/etc/amavis/conf.d/50-user": policy, "/etc/mailname": { hostname: p.hostname } });
  for (const k of input.dkimKeys) files[dkimKeyPath(k.domain, k.selector)] = pemFile(k.privateKeyPem);
  return { ...files, ...renderSpamAssassinFiles(input) };
}

/** spamd's files: its command line (/etc/default/spamd), SpamAssassin's config, and the Bayes report's schedule. */
export function renderSpamdFiles(input: Pick<ContentFilterRenderInput, "platform" | "bayesSql">): RenderedFiles {
  const p = input.platform;
  const allowedIps = ["127.0.0.1/32", ...platformPeers(p.internalSubnet)].join(",");
  return {
    ...renderTemplates("spamd", { "/etc/default/spamd": { allowedIps, maxChildren: SPAMD_CHILDREN } }),
    ...renderSpamAssassinFiles(input),
    ...renderSchedule([{ name: BAYES_REPORT_JOB, schedule: p.schedules.bayesReport, command: "bayes-report" }]),
  };
}

/** Lines of a config file, or one comment line saying there are none (a template line is never left empty). */
function linesOr(lines: string[], none: string): string {
  return lines.length ? lines.join("\n") : `# ${none}`;
}

/** A value written into freshclam.conf or the channel list: one token, nothing a line or a comment could break. */
function configToken(key: string, value: string): string {
  if (!/^[^\s#]+$/.test(value)) throw new ContentFilterRenderError(`${key}: ${JSON.stringify(value)} cannot be written into a config line`);
  return value;
}

/** clamd's and freshclam's config, and the schedule of the freshclam job. */
export function renderClamavFiles(input: Pick<ContentFilterRenderInput, "platform">): RenderedFiles {
  const p = input.platform;
  const v = p.spam.virusSignatures;
  const { streamMaxMb, maxScanMb } = clamdLimits(p.limits.messageSizeMb);
  const mirrors = [
    ...v.mirrors.map((m) => `DatabaseMirror ${configToken("spam.virusSignatures.mirrors", m)}`),
    ...v.privateMirrors.map((m) => `PrivateMirror ${configToken("spam.virusSignatures.privateMirrors", m)}`),
  ];
  return {
    ...renderTemplates("clamav", {
      "/etc/clamav/clamd.conf": { maxThreads: p.tuning.clamdThreads, streamMaxMb, maxScanMb },
      "/etc/clamav/freshclam.conf": {
        mirrors: mirrors.join("\n"),
        officialComment: v.officialDatabases
          ? "fetched (spam.virusSignatures.officialDatabases)."
          : "not fetched (spam.virusSignatures.officialDatabases is false).",
        excludes: linesOr(v.officialDatabases ? [] : OFFICIAL_CLAMAV_DATABASES.map((d) => `ExcludeDatabase ${d}`), "none excluded"),
        customUrls: linesOr(
          v.customUrls.map((u) => `DatabaseCustomURL ${configToken("spam.virusSignatures.customUrls", u)}`),
          "none",
        ),
      },
    }),
    ...renderSchedule([{ name: FRESHCLAM_JOB, schedule: p.schedules.clamavSignatures, command: "update-signatures" }]),
  };
}

/** The databases freshclam fetches unless excluded. */
const OFFICIAL_CLAMAV_DATABASES = ["main", "daily", "bytecode"];

/** The file under the updater's keys/ holding a channel's public key. */
function channelKeyFile(channel: string): string {
  return `${channel}.asc`;
}

/**
 * The rule updater's files: SpamAssassin's site config as Amavis reads it (so its lint judges new
 * rules with the filter's settings; without the Bayes account, which the lint does not need), the
 * channel list with their keys, and the schedule of the sa-update job.
 */
export function renderSaUpdateFiles(input: Pick<ContentFilterRenderInput, "platform" | "bayesSql">): RenderedFiles {
  const p = input.platform;
  const channels = p.spam.ruleUpdates.channels;
  const siteConfig = Object.fromEntries(Object.entries(renderSpamAssassinFiles(input)).filter(([file]) => file !== BAYES_SECRET_FILE));
  return {
    ...siteConfig,
    ...renderTemplates("sa-update", {
      [SA_UPDATE_CHANNELS_FILE]: {
        channels: channels
          .map((c) => `${configToken("spam.ruleUpdates.channels.name", c.name)} ${c.gpgKey === undefined ? "-" : channelKeyFile(c.name)}`)
          .join("\n"),
      },
      [`${SA_UPDATE_KEYS_DIR}/channel.asc`]: channels
        .filter((c) => c.gpgKey !== undefined)
        .map((c) => ({ path: `${SA_UPDATE_KEYS_DIR}/${channelKeyFile(c.name)}`, values: { key: c.gpgKey!.trim() } })),
    }),
    ...renderSchedule([{ name: SA_UPDATE_JOB, schedule: p.schedules.spamassassinRules, command: "sa-rules update" }]),
  };
}

/** Upload modes: keys and the Bayes account are not world-readable (the entrypoints set the group). */
export function amavisFileModes(p: Pick<PlatformConfig, "domains">): Record<string, string> {
  return {
    ...Object.fromEntries(p.domains.map((d) => [dkimKeyPath(d.name, d.dkimSelector), "0640"])),
    [BAYES_SECRET_FILE]: "0640",
  };
}

export const SPAMD_FILE_MODES: Record<string, string> = { [BAYES_SECRET_FILE]: "0640" };
