// The stack config: one zod schema states its shape, its defaults and the rules that span several
// keys, so that validation, defaults, the TypeScript type and the README's config reference all
// come from the same place and cannot drift apart.
import * as fs from "fs";
import { z } from "zod";
import { contains, gatewayOf, isCanonicalCidr, overlaps, parseCidr } from "./network";

/** Every key sits under this namespace in a stack file: `mail-platform:<key>`. */
export const CONFIG_NAMESPACE = "mail-platform";

// ---- Cross-key rules as zod checks ----------------------------------------------------------------
// A rule that spans several keys is a check on the object that holds them all. zod skips a check
// once any part of its value failed (the default `when`); these run regardless, so one parse lists
// the rules' problems next to the shape's. They read the value through `PartlyParsed`: zod's own
// output, defaults applied, wherever zod accepted it, and nothing where it did not. So a rule needs
// neither defaults nor type guards of its own, and never judges a value zod already rejected.
// One limit: zod skips even these after an issue that aborts explicitly, which `.max()` on a list
// (an oversized list) and `z.stringbool()` raise. Nothing in this schema uses them; adding one
// would silence the rules whenever it fails.

type Path = readonly PropertyKey[];

/** The type at `P` inside `T`: list entries by index, a union (such as `tls`) member by member. */
type At<T, P extends Path> = P extends readonly [infer K, ...infer R extends Path] ? Step<NonNullable<T>, K, R> : T;
type Step<T, K, R extends Path> = T extends readonly (infer E)[]
  ? K extends number
    ? At<E, R>
    : never
  : K extends keyof T
    ? At<T[K], R>
    : undefined;

interface PartlyParsed<T> {
  /** The parsed value at `path`, or undefined where it is absent or zod found a problem at, inside or above it. */
  ok<const P extends Path>(path: P): At<T, P> | undefined;
  /** The indices of the list at `path`, whether or not its entries are valid. */
  indices(path: Path): number[];
  /** The keys of the object at `path` as zod parsed it (the schema's keys it has, defaults included). */
  keys<const P extends Path>(path: P): (keyof NonNullable<At<T, P>> & string)[];
  /** Whether the config sets `path` at all, valid or not. */
  has(path: Path): boolean;
  /**
   * Reports a problem at `path` (relative to the checked object), unless zod already reported one
   * at that very key. `found` is what the rule judged; without it the problem shows the value as
   * the stack file has it.
   */
  report(path: Path, expected: string, found?: unknown): void;
}

/** The issues the rules raise, told apart from zod's own: only zod's make a value unreadable to a rule. */
const ruleIssues = new WeakSet<object>();

function partlyParsed<T>(payload: z.core.ParsePayload<T>): PartlyParsed<T> {
  const zodIssues = payload.issues.filter((i) => !ruleIssues.has(i));
  // An unknown key is reported on its object, but it leaves the object's known keys intact.
  const rejected = zodIssues.filter((i) => i.code !== "unrecognized_keys").map((i) => i.path ?? []);
  const reported = new Set(zodIssues.map((i) => JSON.stringify(i.path ?? [])));
  const prefix = (a: Path, b: Path) => a.length <= b.length && a.every((seg, n) => seg === b[n]);
  const get = (path: Path): unknown =>
    path.reduce<unknown>(
      (v, seg) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[seg] : undefined),
      payload.value,
    );
  return {
    ok: (path) => (rejected.some((r) => prefix(r, path) || prefix(path, r)) ? undefined : (get(path) as never)),
    indices: (path) => {
      const v = get(path);
      return Array.isArray(v) ? v.map((_, i) => i) : [];
    },
    keys: (path) => {
      const v = get(path);
      return (v !== null && typeof v === "object" && !Array.isArray(v) ? Object.keys(v) : []) as never;
    },
    has: (path) => get(path) !== undefined,
    report: (path, expected, ...found) => {
      if (reported.has(JSON.stringify(path))) return;
      const issue: z.core.$ZodRawIssue = {
        code: "custom",
        path: [...path],
        message: expected,
        input: found[0],
        ...(found.length ? { params: { found: found[0] } } : {}),
        continue: true,
      };
      ruleIssues.add(issue);
      payload.issues.push(issue);
    },
  };
}

/** A cross-key rule as a check that runs on partly invalid input too. */
function rule<T>(fn: (c: PartlyParsed<T>) => void): z.core.$ZodCheck<T> {
  return z.superRefine<T>((_, ctx) => fn(partlyParsed(ctx)), { when: () => true });
}

/** Each value of an object used by one key only (two services on one port, two volumes on one path). */
function distinct<T extends Record<string, unknown>>(object: string, what: string): z.core.$ZodCheck<T> {
  return rule<T>((c) => {
    const usedBy = new Map<unknown, string>();
    for (const key of c.keys([])) {
      const value = c.ok([key]);
      if (value === undefined) continue;
      const other = usedBy.get(value);
      if (other) c.report([key], `${what} not already used by ${object}.${other}`, value);
      usedBy.set(value, key);
    }
  });
}

/** A config key as the problems name it, e.g. `mail-platform:mailboxes[2].address`. */
export function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : `${acc}${acc === CONFIG_NAMESPACE ? ":" : "."}${String(seg)}`),
    CONFIG_NAMESPACE,
  );
}

const FQDN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const fqdn = z
  .string()
  .transform((s) => s.toLowerCase())
  .refine((s) => FQDN.test(s), { message: "a fully qualified domain name such as mail.example.com" });

const emailAddress = z
  .string()
  .transform((s) => s.toLowerCase())
  .refine(
    (s) => {
      const at = s.lastIndexOf("@");
      return at > 0 && LOCAL_PART.test(s.slice(0, at)) && FQDN.test(s.slice(at + 1));
    },
    { message: "an e-mail address such as alice@example.com" },
  );

/** An IPv4 CIDR such as `192.0.2.0/24`; the host bits must be zero so a reader sees the real range. */
const cidr = z.string().refine(isCanonicalCidr, {
  message: "an IPv4 network in CIDR form with zero host bits, such as 192.0.2.0/24",
});

const port = z.number().int().min(1).max(65535);
const absolutePath = z.string().refine((p) => p.startsWith("/") && !p.includes(".."), {
  message: "an absolute path without '..'",
});

const httpsUrl = z.url({ protocol: /^https$/, message: "an https:// URL" });

/** How the ACME CA checks that the platform controls a name. */
const acmeChallenge = z.discriminatedUnion("type", [
  z
    .object({ type: z.literal("http-01") })
    .strict()
    .describe("The CA fetches a token from http://<name>/.well-known/acme-challenge/ through the HTTPS front's port 80 (the default)."),
  z
    .object({
      type: z.literal("dns-01"),
      provider: z.literal("rfc2136").describe("DNS UPDATE (RFC 2136) signed with a TSIG key, which BIND, Knot and PowerDNS accept."),
      nameserver: z
        .string()
        .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, { message: "host:port of the primary name server, e.g. ns1.example.com:53" })
        .describe("The primary name server that takes the updates, `host:port`."),
      tsigKeyName: z.string().min(1).describe("The TSIG key's name, e.g. `acme-update.`."),
      tsigAlgorithm: z.enum(["hmac-sha256.", "hmac-sha512."]).default("hmac-sha256.").describe("The TSIG key's algorithm."),
      tsigSecretFile: absolutePath.describe(
        "File holding the TSIG key's base64 secret, read on the machine running Pulumi; it becomes a Pulumi secret.",
      ),
    })
    .strict()
    .describe(
      "The CA looks up a TXT record at _acme-challenge.<name>, written through the company's DNS API; names need not point at the platform.",
    ),
]);

const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";

/** The key Pulumi keeps for a domain: a renewal never changes it, a rollover is two deploys (README, "DANE"). */
const keptKey = {
  keyGeneration: z
    .number()
    .int()
    .min(1)
    .default(1)
    .describe("Which of the domain's keys the certificate uses; raise it by one to switch to the next key (after publishNextKey)."),
  publishNextKey: z
    .boolean()
    .default(false)
    .describe("Makes the next key now and adds its TLSA records to the `dns` output, so they are published before the switch."),
};

const tlsSource = z.discriminatedUnion("source", [
  z.object({ source: z.literal("self-signed"), ...keptKey }).strict(),
  z
    .object({
      source: z.literal("acme"),
      email: emailAddress.describe("Contact address for the CA's account (expiry warnings, policy changes)."),
      directoryUrl: httpsUrl
        .default(LETS_ENCRYPT_DIRECTORY)
        .describe(
          "The CA's ACME directory. Let's Encrypt's by default; its staging directory is https://acme-staging-v02.api.letsencrypt.org/directory.",
        ),
      caFile: absolutePath
        .optional()
        .describe(
          "PEM bundle trusted for the directory's HTTPS, read on the machine running Pulumi (a private ACME CA); Debian's CA certificates by default.",
        ),
      externalAccountBinding: z
        .object({
          keyId: z.string().min(1).describe("The key identifier the CA gave."),
          hmacKeyFile: absolutePath.describe("File holding the base64url MAC key the CA gave; it becomes a Pulumi secret."),
        })
        .strict()
        .optional()
        .describe("External account binding, for CAs that require it (ZeroSSL, Google, a company's own)."),
      challenge: acmeChallenge.default({ type: "http-01" }).describe("How the CA validates the names."),
      ...keptKey,
    })
    .strict(),
  z
    .object({
      source: z.literal("pem"),
      certFile: absolutePath.describe("Certificate chain (leaf first), PEM, read on the machine running Pulumi."),
      keyFile: absolutePath.describe("Private key, PEM; it becomes a Pulumi secret."),
    })
    .strict(),
]);

const domain = z
  .object({
    name: fqdn.describe("The mail domain, e.g. `example.com`."),
    dkimSelector: z
      .string()
      .refine((s) => DNS_LABEL.test(s), { message: "one DNS label such as mail2026" })
      .default("mail")
      .describe("DKIM selector published as `<selector>._domainkey.<name>`."),
    tls: tlsSource
      .default({ source: "self-signed", keyGeneration: 1, publishNextKey: false })
      .describe("Where this domain's TLS certificate comes from."),
    dmarcReportAddress: emailAddress.optional().describe("Address that receives DMARC aggregate reports; defaults to `postmaster@<name>`."),
    dmarcPolicy: z.enum(["none", "quarantine", "reject"]).default("quarantine").describe("DMARC policy published for this domain."),
  })
  .strict();

const mailbox = z
  .object({
    address: emailAddress.describe("The mailbox's address; its domain must be declared under `domains`."),
    name: z.string().min(1).describe("Display name."),
    quotaMb: z
      .number()
      .int()
      .positive()
      .describe("Quota in MiB; must be positive (PostfixAdmin reads 0 as unlimited, which is never what a typo meant)."),
  })
  .strict();

const alias = z
  .object({
    address: emailAddress.describe("The alias address; its domain must be declared under `domains`."),
    goto: z.array(emailAddress).min(1).describe("Where the alias delivers: local mailboxes, other aliases or external addresses."),
  })
  .strict();

/** Upstream's Piler image, pinned (it cannot be built from Debian's packages: Debian ships no Piler). */
const PILER_IMAGE = "sutoj/piler:1.4.8";
/** Upstream's Manticore image, pinned. */
const MANTICORE_IMAGE = "manticoresearch/manticore:6.3.8";

export const STORAGE_VOLUMES = {
  queue: "ssd",
  acme: "ssd",
  metrics: "ssd",
  monitoring: "ssd",
  sarules: "ssd",
  mailboxes: "ssd",
  database: "ssd",
  index: "ssd",
  quarantine: "ssd",
  virusdb: "ssd",
  bans: "ssd",
  archive: "bulk",
  backups: "bulk",
  logs: "bulk",
} as const;
export type StorageVolume = keyof typeof STORAGE_VOLUMES;

const storage = z
  .object({
    ssdRoot: absolutePath.describe("Root on fast storage (queue, mailboxes, database, search index)."),
    bulkRoot: absolutePath.describe("Root on bulk storage (archive, backups, logs)."),
    volumes: z
      .object({
        queue: absolutePath.describe("Postfix's queue: mail in transit."),
        acme: absolutePath.describe("The ACME client's account, renewal state and the issued certificate chains the daemons read."),
        metrics: absolutePath.describe(
          "Textfile metrics the scheduled jobs write (last run, last success, results) for the monitoring to read.",
        ),
        monitoring: absolutePath.describe("Prometheus's time series and Alertmanager's silences and notification log."),
        sarules: absolutePath.describe("SpamAssassin's rules as the updater published them (after its lint), read by Amavis and spamd."),
        mailboxes: absolutePath.describe("Dovecot's Maildirs."),
        database: absolutePath.describe("MariaDB's data directory."),
        index: absolutePath.describe("The built-in archive's Manticore search index."),
        quarantine: absolutePath.describe("Amavis's quarantine: viruses, banned attachments and killed spam."),
        virusdb: absolutePath.describe("ClamAV's signature databases, so a new container does not download them again."),
        bans: absolutePath.describe("fail2ban's database: the bans in force, which a new bans container puts back."),
        archive: absolutePath.describe("The built-in archive's message store (Piler)."),
        backups: absolutePath.describe("The backup's local repositories and the mailboxes it restores (`restore-mailbox`)."),
        logs: absolutePath.describe("One directory per component with its rotated log file (`postfix/postfix.log`, ...)."),
      })
      .partial()
      .strict()
      // One disk for both roots is fine on a small host, but two volumes must never share a path.
      .check(distinct("storage.volumes", "a path"))
      .default({})
      .describe("Per-volume override of the host path, e.g. `{ mailboxes: /mnt/nvme1/mail }`."),
  })
  .strict();

const ports = z
  .object({
    smtp: port.default(25).describe("SMTP (MX) port, container port 25."),
    submissions: port.default(465).describe("Submission over implicit TLS, container port 465."),
    submission: port.default(587).describe("Submission with STARTTLS, container port 587."),
    imap: port.default(143).describe("IMAP with STARTTLS, container port 143."),
    imaps: port.default(993).describe("IMAP over TLS, container port 993."),
    pop3: port.default(110).describe("POP3 with STARTTLS, container port 110."),
    pop3s: port.default(995).describe("POP3 over TLS, container port 995."),
    managesieve: port.default(4190).describe("ManageSieve, container port 4190."),
    http: port.default(80).describe("HTTP (redirects to HTTPS; used from the proxy milestone on)."),
    https: port.default(443).describe("HTTPS (from the proxy milestone on)."),
  })
  .strict()
  .check(distinct("ports", "a host port"));

const tuning = z
  .object({
    hostCpus: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("CPU cores of the Docker host; the other knobs default from it. Defaults to this machine's count."),
    postfixProcessLimit: z.number().int().positive().optional().describe("Postfix `default_process_limit`. Defaults to 25 per core."),
    amavisChildren: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("Amavis `$max_servers` (pre-forked children), also Postfix's concurrency towards it. Defaults to cores + 1."),
    clamdThreads: z.number().int().positive().optional().describe("clamd `MaxThreads`. Defaults to 2 per core."),
    lmtpConcurrency: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("Postfix's concurrency towards Dovecot LMTP and Dovecot's LMTP process limit. Defaults to 2 per core."),
    amavisTmpMb: z.number().int().min(64).optional().describe("Size of Amavis's tmpfs work area in MiB. Defaults to 1024."),
  })
  .strict();

const spam = z
  .object({
    tagScore: z.number().default(5).describe("Score at which Amavis adds X-Spam-Flag: YES and tags the subject."),
    rejectScore: z.number().default(12).describe("Score at which inbound spam is rejected at SMTP time (after queue: bounced by Amavis)."),
    virusAction: z
      .enum(["reject", "quarantine"])
      .default("reject")
      .describe(
        "What happens to a message with a virus. `reject` refuses it; `quarantine` keeps it in Amavis's quarantine. Neither delivers it.",
      ),
    bannedExtensions: z
      .array(z.string().regex(/^[a-z0-9]{1,10}$/))
      .default(["exe", "com", "scr", "pif", "bat", "cmd", "vbs", "js", "jse", "wsf", "hta", "cpl", "msi", "lnk", "iso"])
      .describe("Attachment file name extensions that are never delivered."),
    ruleUpdates: z
      .object({
        channels: z
          .array(
            z
              .object({
                name: z
                  .string()
                  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/, {
                    message: "a channel name as sa-update takes it, a DNS name such as updates.spamassassin.org",
                  })
                  .describe(
                    "The channel: sa-update reads its version from DNS (TXT at <reversed version>.<name>) and its mirrors from mirrors.<name>.",
                  ),
                gpgKey: z
                  .string()
                  .regex(/^\s*-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+-----END PGP PUBLIC KEY BLOCK-----\s*$/, {
                    message: "one ASCII-armored OpenPGP public key (-----BEGIN PGP PUBLIC KEY BLOCK----- ...)",
                  })
                  .optional()
                  .describe(
                    "The public key that signs this channel's updates, ASCII-armored (gpg --armor --export). Without it only SpamAssassin's own release key is trusted, as Debian ships it; a key given here is trusted for this channel only.",
                  ),
              })
              .strict(),
          )
          .min(1)
          .default([{ name: "updates.spamassassin.org" }])
          .describe(
            "SpamAssassin rule channels, updated in this order on schedules.spamassassinRules, each with its own key. The base rules (updates.spamassassin.org, as Debian's package ships them) stay in place whether listed or not; list updates.spamassassin.org to keep them current, and add others (a vendor's) after it. A channel removed from the list leaves the rules at the next update.",
          ),
      })
      .strict()
      .default({ channels: [{ name: "updates.spamassassin.org" }] })
      .describe(
        "Where SpamAssassin's rules come from; new rules reach the filter only after sa-compile and a lint with the platform's config.",
      ),
    virusSignatures: z
      .object({
        mirrors: z.array(fqdn).min(1).default(["database.clamav.net"]).describe("freshclam's DatabaseMirror entries, tried in order."),
        privateMirrors: z
          .array(z.string().regex(/^(https?:\/\/)?[A-Za-z0-9.-]+(:\d{1,5})?(\/\S*)?$/, { message: "a host name or http(s):// URL" }))
          .default([])
          .describe("freshclam's PrivateMirror entries: a mirror of the official databases of your own, used instead of `mirrors`."),
        officialDatabases: z
          .boolean()
          .default(true)
          .describe("Whether freshclam fetches ClamAV's official databases (main, daily, bytecode); off leaves only `customUrls`."),
        customUrls: z
          .array(
            z.string().regex(/^(https?|file):\/\/\S+\.[a-z0-9]+$/, { message: "an http://, https:// or file:// URL of a database file" }),
          )
          .default([])
          .describe("freshclam's DatabaseCustomURL entries: further signature files (.ndb, .hdb, .ldb, ...) fetched on every update."),
      })
      .strict()
      .default({ mirrors: ["database.clamav.net"], privateMirrors: [], officialDatabases: true, customUrls: [] })
      .describe("Where freshclam gets ClamAV's signatures, on schedules.clamavSignatures."),
  })
  .strict()
  .check(
    rule((c) => {
      const tag = c.ok(["tagScore"]);
      const reject = c.ok(["rejectScore"]);
      if (tag !== undefined && reject !== undefined && reject <= tag)
        c.report(["rejectScore"], `a score above spam.tagScore (${tag})`, reject);
      const names = c.indices(["ruleUpdates", "channels"]).map((i) => c.ok(["ruleUpdates", "channels", i, "name"]));
      names.forEach((name, i) => {
        if (name !== undefined && names.indexOf(name) !== i)
          c.report(["ruleUpdates", "channels", i, "name"], "each channel listed once", name);
      });
      if (c.ok(["virusSignatures", "officialDatabases"]) === false && c.ok(["virusSignatures", "customUrls"])?.length === 0)
        c.report(
          ["virusSignatures", "customUrls"],
          "at least one URL when virusSignatures.officialDatabases is false (else freshclam fetches nothing)",
          [],
        );
    }),
  );

const limits = z
  .object({
    messageSizeMb: z.number().int().min(1).max(1024).default(50).describe("Largest message accepted, in MiB."),
    messagesPerMinute: z
      .number()
      .int()
      .positive()
      .default(60)
      .describe("Messages an authenticated or remote client may send per minute (Postfix anvil)."),
    recipientsPerMessage: z.number().int().positive().default(100).describe("Recipients per message."),
    connectionsPerMinute: z.number().int().positive().default(60).describe("SMTP connections per client per minute."),
  })
  .strict();

const archive = z
  .object({
    intake: z
      .object({
        host: z.string().min(1).describe("Host name or address of the archive server's SMTP intake (piler-smtp)."),
        port: port.default(25).describe("Its port."),
      })
      .strict()
      .optional()
      .describe("An existing archive server elsewhere (Piler on its own host). Leave it out to run the built-in Piler."),
    address: emailAddress
      .optional()
      .describe("Envelope recipient of the archive copies (Piler's archive_address). Defaults to `archive@<hostname>`."),
    image: z
      .string()
      .min(1)
      .default(PILER_IMAGE)
      .describe("Image of the built-in Piler (upstream's, pinned); replace it to follow a newer release or a mirror."),
    retentionDays: z
      .number()
      .int()
      .positive()
      .default(2557)
      .describe("How long the built-in Piler keeps each message, in days (2557 = seven years, a common legal minimum)."),
  })
  .strict();

const search = z
  .object({
    image: z
      .string()
      .min(1)
      .default(MANTICORE_IMAGE)
      .describe("Image of the built-in Piler's search index, Manticore (upstream's, pinned)."),
    chineseSegmentation: z
      .enum(["icu", "ngram"])
      .default("ngram")
      .describe(
        "How Chinese text is split into searchable terms. `ngram`: every character is a term; any substring is found, indexing is fast, the index is larger and phrase queries do the work. `icu`: words from ICU's dictionary; a smaller index and more precise hits, but a word the dictionary splits differently is missed.",
      ),
  })
  .strict();

const web = z
  .object({
    webmailHostname: fqdn.optional().describe("Where Roundcube is served. Defaults to `webmail.<first domain>`."),
    adminHostname: fqdn.optional().describe("Where PostfixAdmin is served. Defaults to `postfixadmin.<first domain>`."),
    archiveHostname: fqdn.optional().describe("Where the built-in Piler's UI is served. Defaults to `archive.<first domain>`."),
    admins: z
      .array(emailAddress)
      .default([])
      .describe(
        "PostfixAdmin super-administrators; each gets a random initial password (`pulumi stack output --show-secrets adminPasswords`).",
      ),
  })
  .strict();

const features = z
  .object({
    archive: z
      .boolean()
      .default(false)
      .describe("Archive every accepted message with all envelope recipients: to `archive.intake` when set, else to the built-in Piler."),
    search: z.boolean().default(false).describe("The built-in Piler's Manticore search index; required with the built-in Piler."),
    webmail: z.boolean().default(false).describe("Roundcube webmail behind the HTTPS proxy on `web.webmailHostname`."),
    admin: z.boolean().default(false).describe("PostfixAdmin's web UI behind the HTTPS proxy on `web.adminHostname`."),
    monitoring: z
      .boolean()
      .default(false)
      .describe("Prometheus, Alertmanager and the exporters, with the dashboard behind the HTTPS proxy on `monitoring.hostname`."),
    backup: z
      .boolean()
      .default(false)
      .describe("Scheduled, encrypted backups (restic) of the databases, mailboxes, archive and TLS state to `backup.repositories`."),
    bans: z
      .boolean()
      .default(false)
      .describe(
        "fail2ban bans clients that fail too many logins (SMTP AUTH, IMAP, POP3, ManageSieve, webmail, PostfixAdmin) from every published port, in the Docker host's DOCKER-USER chain.",
      ),
  })
  .strict();

/** Five cron fields; `%` is refused because cron turns it into a newline in the command. */
const cronExpression = z
  .string()
  .refine((s) => /^\s*[0-9*,/-]+(\s+[0-9*,/-]+){4}\s*$/.test(s), {
    message: "five cron fields (minute hour day-of-month month day-of-week) of digits, *, ',', '/' and '-', e.g. `17 3 * * *`",
  })
  .transform((s) => s.trim().split(/\s+/).join(" "));

/** A schedule that runs at most once an hour: one fixed minute. */
const hourlyAtMost = cronExpression.refine((s) => /^\d{1,2} /.test(s), {
  message: "a fixed minute first (e.g. `7 */3 * * *`): ClamAV's mirrors ban clients that check more than once an hour",
});

const schedules = z
  .object({
    acmeRenewal: cronExpression
      .default("23 */6 * * *")
      .describe(
        "When the ACME client looks at each `tls.source: acme` certificate; it renews one only when a third of its lifetime is left (or it is missing, or its names changed), and waits out its back-off after a failure.",
      ),
    tlsCheck: cronExpression
      .default("*/10 * * * *")
      .describe("When every TLS port is asked for each ACME domain's certificate, which must be the one on disk."),
    spamassassinRules: cronExpression
      .default("47 4 * * *")
      .describe("When SpamAssassin's rules are updated (sa-update, sa-compile, lint, then a reload)."),
    clamavSignatures: hourlyAtMost.default("7 */2 * * *").describe("When freshclam updates ClamAV's signatures; at most hourly."),
    queueReport: cronExpression
      .default("5 * * * *")
      .describe("When Postfix's deferred queue is reported: how many messages, how old, and why."),
    bayesReport: cronExpression
      .default("13 * * * *")
      .describe("When spamd reports how much SpamAssassin's Bayes store has learned (spam, ham, tokens)."),
    backup: cronExpression
      .default("17 2 * * *")
      .describe("When the databases are dumped and everything is backed up to each repository, then old snapshots forgotten."),
    backupCheck: cronExpression
      .default("37 3 * * 0")
      .describe("When each backup repository's integrity is checked (a share of its data read back: `backup.checkReadDataPercent`)."),
    restoreDrill: cronExpression
      .default("57 3 * * 0")
      .describe("When the latest snapshot is restored into a scratch place and its content checked."),
    dnsCheck: cronExpression
      .default("41 * * * *")
      .describe("When the monitoring compares the published DNS records (MX, SPF, DKIM, DMARC, MTA-STS, TLSA) with the `dns` output."),
  })
  .strict();

/** A Prometheus duration such as `30s`, `5m` or `1h`. */
const promDuration = z.string().regex(/^[1-9][0-9]*(s|m|h|d)$/, { message: "a duration such as 30s, 5m, 1h or 2d" });

/** A relay as `host:port`. */
const hostPort = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, { message: "host:port, e.g. smtp.office365.com:587" });

const alertEmail = z
  .object({
    to: z
      .array(emailAddress)
      .min(1)
      .describe("Who receives the alerts: an address outside the platform, so a broken platform still reaches it."),
    from: emailAddress.describe("The alerts' sender address, as the relay accepts it."),
    smarthost: hostPort.describe("The external relay the alerts go through (never the platform's own Postfix), `host:port`."),
    username: z.string().min(1).optional().describe("Login at the relay, when it asks for one."),
    passwordFile: absolutePath
      .optional()
      .describe("File holding the relay password, read on the machine running Pulumi; it becomes a Pulumi secret."),
    requireTls: z.boolean().default(true).describe("Refuse to send without STARTTLS (turn off only for a relay on a trusted network)."),
  })
  .strict();

const thresholds = z
  .object({
    deferredMessages: z.number().int().positive().default(50).describe("Messages in the deferred queue above which it alerts."),
    oldestDeferredMinutes: z.number().int().positive().default(60).describe("Age of the oldest deferred message above which it alerts."),
    authFailureRatio: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe("Share of failed logins (IMAP, POP3, SMTP AUTH) above which it alerts..."),
    authFailuresPerMinute: z.number().positive().default(5).describe("...when there are also more failed logins per minute than this."),
    amavisScanSeconds: z.number().positive().default(10).describe("Average Amavis scan time per message above which it alerts."),
    clamavSignatureAgeHours: z.number().positive().default(48).describe("Age of ClamAV's daily signatures above which it alerts."),
    spamassassinRulesAgeDays: z.number().positive().default(3).describe("Age of SpamAssassin's published rules above which it alerts."),
    certificateDays: z.number().int().positive().default(14).describe("Days before a served certificate expires when it alerts."),
    diskFreePercent: z.number().min(1).max(99).default(10).describe("Free space on the SSD or bulk root below which it alerts."),
    jobSuccessAgeHours: z.number().positive().default(26).describe("Hours since a scheduled job's last success above which it alerts."),
  })
  .strict();

const alertFor = z
  .object({
    down: promDuration.default("2m").describe("How long a service or port is down before it alerts."),
    queue: promDuration.default("15m").describe("How long the deferred queue is over its limits before it alerts."),
    auth: promDuration.default("5m").describe("How long failed logins are over their limits before it alerts."),
    filter: promDuration.default("5m").describe("How long the content filter is down, failing or slow before it alerts."),
    signatures: promDuration.default("1h").describe("How long ClamAV's or SpamAssassin's rules are too old before it alerts."),
    certificate: promDuration.default("1h").describe("How long a certificate problem lasts before it alerts."),
    disk: promDuration.default("10m").describe("How long a disk is nearly full before it alerts."),
    jobs: promDuration.default("1h").describe("How long a scheduled job is failing or overdue before it alerts."),
    dns: promDuration.default("1h").describe("How long a published DNS record differs from the stack's before it alerts."),
  })
  .strict();

const backupRepository = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,15}$/, { message: "lower-case letters and digits, starting with a letter, 16 at most" })
      .describe("The repository's name in logs, metrics and the restore commands."),
    url: z
      .string()
      .regex(/^(s3:https?:\/\/|rest:https?:\/\/)\S+$/, {
        message: "`s3:https://host/bucket[/path]` (S3-compatible) or `rest:https://[user:pass@]host:8000/path` (a restic REST server)",
      })
      .optional()
      .describe(
        "Where it is, as restic names it (S3-compatible storage or a REST server on a NAS); absent: a directory under `storage.volumes.backups`.",
      ),
    accessKeyIdFile: absolutePath.optional().describe("S3: file with the access key id, read by Pulumi and kept as a secret."),
    secretAccessKeyFile: absolutePath.optional().describe("S3: file with the secret access key, read by Pulumi and kept as a secret."),
  })
  .strict();

const backup = z
  .object({
    repositories: z
      .array(backupRepository)
      .min(1)
      .default([{ name: "local" }])
      .describe("Every repository each backup goes to; one failing does not stop the others."),
    passwordFile: absolutePath
      .optional()
      .describe("File with the repositories' encryption password, read by Pulumi; absent, one is generated and kept in the Pulumi state."),
    keep: z
      .object({
        daily: z.number().int().min(1).default(7).describe("Daily snapshots kept."),
        weekly: z.number().int().min(0).default(4).describe("Weekly snapshots kept."),
        monthly: z.number().int().min(0).default(12).describe("Monthly snapshots kept."),
      })
      .strict()
      .default({ daily: 7, weekly: 4, monthly: 12 })
      .describe("The retention policy (restic forget --keep-*)."),
    checkReadDataPercent: z.number().min(1).max(100).default(5).describe("Share of each repository's data the integrity check reads back."),
  })
  .strict();

/** A time as fail2ban reads it: a number and one unit. */
const banDuration = z.string().regex(/^[1-9]\d{0,5}[smhdw]$/, { message: "a number and a unit, s, m, h, d or w, e.g. `10m`, `1h`, `1w`" });

const bans = z
  .object({
    banTime: banDuration.default("1h").describe("How long a client stays banned."),
    findTime: banDuration.default("10m").describe("The window in which `maxRetry` failed logins ban a client."),
    maxRetry: z.number().int().min(1).max(100).default(5).describe("Failed logins within `findTime` that ban a client, per jail."),
    recidive: z
      .object({
        banTime: banDuration.default("1w").describe("How long a client banned again and again stays banned."),
        findTime: banDuration.default("1d").describe("The window in which `maxRetry` bans make a client a recidivist."),
        maxRetry: z.number().int().min(1).max(100).default(3).describe("Bans within `findTime` that make a client a recidivist."),
      })
      .strict()
      .default({ banTime: "1w", findTime: "1d", maxRetry: 3 })
      .describe("Clients banned by the other jails again and again, banned for longer."),
    ignore: z
      .array(
        z.string().refine((s) => isCanonicalCidr(s.includes("/") ? s : `${s}/32`), {
          message: "an IPv4 address or a network with zero host bits, e.g. `198.51.100.7` or `198.51.100.0/24`",
        }),
      )
      .default([])
      .describe(
        "Addresses or networks never banned (the office's, an external monitor's). Loopback, the platform's networks with their gateways and `trustedNetworks` are never banned anyway.",
      ),
  })
  .strict();

const logs = z
  .object({
    maxFileMb: z.number().int().min(1).max(1024).default(20).describe("Size at which a component's log file is rotated."),
    keepFiles: z.number().int().min(1).max(100).default(10).describe("Rotated files kept per component beside the current one."),
  })
  .strict();

const monitoring = z
  .object({
    hostname: fqdn.optional().describe("Where the dashboard and Prometheus are served. Defaults to `monitor.<first domain>`."),
    scrapeInterval: promDuration.default("15s").describe("How often Prometheus reads every exporter and probes every port."),
    retentionDays: z.number().int().positive().default(30).describe("How long Prometheus keeps its time series."),
    alerts: z
      .object({
        email: alertEmail.optional().describe("Alerts by e-mail through an external relay."),
        webhookUrl: z.url().optional().describe("Alerts POSTed as Alertmanager's JSON to this URL (a chat bridge, an incident tool)."),
      })
      .strict()
      .default({})
      .describe("Where alerts go; with neither set they only show on the dashboard (validate warns)."),
    thresholds: thresholds.default(thresholds.parse({})).describe("The alert rules' limits."),
    for: alertFor.default(alertFor.parse({})).describe("How long each kind of condition lasts before it alerts."),
  })
  .strict();

/** Scalar keys: declared in Pulumi.yaml too (the test `pulumi-yaml.test.ts` keeps both in step). */
export const scalarKeys = {
  hostname: fqdn.describe("Primary host name of the mail server, used in the SMTP banner, HELO and the MX record."),
  dockerHost: z
    .string()
    .refine((s) => /^unix:\/\/\/.+/.test(s) || /^ssh:\/\/([^@/\s]+@)?[^@/\s:]+(:\d+)?$/.test(s), {
      message: "unix:///path/to/docker.sock or ssh://user@host[:port]",
    })
    .default("unix:///var/run/docker.sock")
    .describe("Docker engine to deploy onto: `unix:///var/run/docker.sock` or `ssh://user@host`."),
  baseImage: z
    .string()
    .min(1)
    .default("mail-platform/debian:trixie")
    .describe("Base image every project image is built FROM (Debian 13, made by scripts/base-image.sh)."),
  bindAddress: z.ipv4().default("0.0.0.0").describe("Host address the published ports bind to."),
  instanceName: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,30}$/)
    .optional()
    .describe("Prefix of every Docker object's name, so several stacks can share one host. Defaults to `mp-<stack>`."),
  internalSubnet: cidr.default("172.30.0.0/24").describe("Subnet of the platform's internal network, which has no route in or out."),
  edgeSubnet: cidr.default("172.30.1.0/24").describe("Subnet of the edge network that carries published ports and outbound traffic."),
  relayhost: z
    .string()
    .refine((s) => s === "" || /^(\[[^\]\s]+\]|[^\s:[\]]+)(:\d{1,5})?$/.test(s), {
      message: "host, [host] or [host]:port, as Postfix's relayhost takes it",
    })
    .default("")
    .describe("Smart host for outbound mail, e.g. `[smtp.provider.net]:587`; empty sends directly to each MX."),
  deleteRemovedMailboxes: z
    .boolean()
    .default(false)
    .describe(
      "A mailbox or alias removed from the config is deactivated (the default); `true` deletes its database rows instead. Maildirs always stay on disk, and addresses made in PostfixAdmin's UI are never touched.",
    ),
};

const stackObject = z
  .object({
    ...scalarKeys,
    domains: z.array(domain).min(1).describe("Mail domains served; the first is the default for TLS and notifications."),
    mailboxes: z.array(mailbox).default([]).describe("Mailboxes to create. Removing one deactivates it; its mail stays on disk."),
    aliases: z.array(alias).default([]).describe("Aliases to create or update."),
    storage: storage.describe("Host paths for data: an SSD root, a bulk root, and per-volume overrides."),
    ports: ports.default(ports.parse({})).describe("Host ports published on `bindAddress`."),
    dnsResolvers: z
      .array(z.ipv4())
      .default([])
      .describe(
        "DNS resolvers the containers use for names outside the platform (MX look-ups, DNS blocklists); empty uses the Docker host's. A resolver of your own keeps DNSBL queries working.",
      ),
    trustedNetworks: z
      .array(cidr)
      .default([])
      .describe("Networks whose clients may relay without authentication, e.g. an office printer's LAN."),
    tuning: tuning.default({}).describe("Performance knobs; each defaults from the host's CPU count."),
    spam: spam.default(spam.parse({})).describe("Spam and virus policy."),
    limits: limits.default(limits.parse({})).describe("Size and rate limits."),
    archive: archive.default(archive.parse({})).describe("Where archive copies go when features.archive is on."),
    search: search.default(search.parse({})).describe("The built-in archive's search index."),
    web: web.default(web.parse({})).describe("Host names of the web apps and PostfixAdmin's administrators."),
    features: features.default(features.parse({})).describe("Optional components, off until enabled."),
    monitoring: monitoring.default(monitoring.parse({})).describe("Monitoring and alerts, when features.monitoring is on."),
    backup: backup.default(backup.parse({})).describe("Backups, when features.backup is on."),
    bans: bans.default(bans.parse({})).describe("Brute-force bans, when features.bans is on."),
    logs: logs
      .default(logs.parse({}))
      .describe("Each component's log file under the bulk root (`storage.volumes.logs`), beside its container's output."),
    schedules: schedules
      .default(schedules.parse({}))
      .describe("When the scheduled jobs run, as cron expressions in UTC; each runs inside the container that owns its tools."),
  })
  .strict();

/** The stack config: its shape and defaults, and the rules across keys. */
export const stackSchema = stackObject.check(rule(addressRules), rule(networkRules), rule(featureRules), rule(backupRules));

/**
 * The stack schema plus one rule that depends on this machine rather than on the config: the PEM
 * files it names must be readable here. The program always parses with it; a reviewer validating
 * a stack file away from the deploy machine uses `stackSchema`.
 */
export const stackSchemaWithFiles = stackSchema.check(rule(pemFilesReadable));

export type ParsedStack = z.output<typeof stackSchema>;
export type DomainConfig = ParsedStack["domains"][number];
export type MailboxConfig = ParsedStack["mailboxes"][number];
export type AliasConfig = ParsedStack["aliases"][number];

// ---- The rules across top-level keys ----------------------------------------------------------------

type Stack = PartlyParsed<z.output<typeof stackObject>>;

const domainOf = (address: string) => address.slice(address.lastIndexOf("@") + 1);

/** Domains, mailboxes and aliases: declared once, in a declared domain, pointing somewhere real. */
function addressRules(c: Stack): void {
  const names = c.indices(["domains"]).map((i) => c.ok(["domains", i, "name"]));
  const domains = new Set<string>();
  names.forEach((name, i) => {
    if (name === undefined) return;
    if (domains.has(name)) c.report(["domains", i, "name"], "each domain declared once", name);
    domains.add(name);
  });
  // A malformed domain name, or a domains list that is missing or empty, is reported by its own
  // schema. Until it is fixed nobody can tell which addresses were meant to be local, so "not in a
  // declared domain" waits for it.
  const allDomainsKnown = names.length > 0 && names.every((n) => n !== undefined);
  const inDeclaredDomain = (path: Path, address: string) => {
    if (allDomainsKnown && !domains.has(domainOf(address)))
      c.report(path, `an address in a declared domain (${[...domains].join(", ")})`, address);
  };

  const owners = new Map<string, string>();
  const claim = (path: Path, address: string) => {
    const previous = owners.get(address);
    if (previous) c.report(path, `an address not already used by ${previous}`, address);
    else owners.set(address, keyPath(path));
  };
  const mailboxes = c.indices(["mailboxes"]).map((i) => c.ok(["mailboxes", i, "address"]));
  const aliases = c.indices(["aliases"]).map((i) => ({
    address: c.ok(["aliases", i, "address"]),
    goto: c.indices(["aliases", i, "goto"]).map((j) => c.ok(["aliases", i, "goto", j])),
  }));
  mailboxes.forEach((address, i) => {
    if (address === undefined) return;
    inDeclaredDomain(["mailboxes", i, "address"], address);
    claim(["mailboxes", i, "address"], address);
  });
  const declared = new Set([...mailboxes, ...aliases.map((a) => a.address)]);
  aliases.forEach((a, i) => {
    if (a.address !== undefined) {
      inDeclaredDomain(["aliases", i, "address"], a.address);
      claim(["aliases", i, "address"], a.address);
    }
    a.goto.forEach((g, j) => {
      if (g !== undefined && domains.has(domainOf(g)) && !declared.has(g)) {
        c.report(
          ["aliases", i, "goto", j],
          "a mailbox or alias declared in this stack (the domain is local, so mail to it would bounce)",
          g,
        );
      }
    });
  });
  // RFC 5321 section 4.5.1: every domain must accept mail for postmaster; bounces and DMARC
  // reports are addressed to it.
  names.forEach((name, i) => {
    if (name !== undefined && !owners.has(`postmaster@${name}`))
      c.report(["domains", i, "name"], `a mailbox or alias for postmaster@${name} (RFC 5321 requires it)`, name);
  });
  const graph = aliases.flatMap((a) =>
    a.address === undefined ? [] : [{ address: a.address, goto: a.goto.filter((g) => g !== undefined) }],
  );
  for (const loop of aliasLoops(graph)) {
    const i = aliases.findIndex((a) => a.address === loop[0]);
    c.report(["aliases", i, "goto"], "aliases that end in a mailbox or external address, not a loop", loop.join(" -> "));
  }
}

/** The platform's two subnets apart, and trusted networks that cannot open the relay to everyone. */
function networkRules(c: Stack): void {
  const internalSubnet = c.ok(["internalSubnet"]);
  const edgeSubnet = c.ok(["edgeSubnet"]);
  if (internalSubnet === undefined || edgeSubnet === undefined) return;
  const internal = parseCidr(internalSubnet);
  if (overlaps(internal, parseCidr(edgeSubnet)))
    c.report(["edgeSubnet"], `a subnet that does not overlap internalSubnet ${internalSubnet}`, edgeSubnet);
  for (const i of c.indices(["trustedNetworks"])) {
    const n = c.ok(["trustedNetworks", i]);
    if (n === undefined) continue;
    if (parseCidr(n).bits < internal.bits) {
      c.report(
        ["trustedNetworks", i],
        `a network no wider than the platform's own (/${internal.bits}); an open relay is one typo away otherwise`,
        n,
      );
      continue;
    }
    // Every connection through a published port arrives from the edge gateway (docker-proxy), and
    // host processes reach containers from the internal one: trusting either trusts everyone.
    const gateway = [internalSubnet, edgeSubnet].map(gatewayOf).find((g) => contains(n, g));
    if (gateway)
      c.report(
        ["trustedNetworks", i],
        `a network that does not contain the Docker gateway ${gateway} (every client through a published port comes from it)`,
        n,
      );
  }
}

/** Switches that only make sense together, so none is silently ignored; web apps on distinct names. */
function featureRules(c: Stack): void {
  const on = (f: "archive" | "search" | "webmail" | "admin") => c.ok(["features", f]) === true;
  // An intake that is set but malformed still says the archive is external.
  const builtinArchive = on("archive") && !c.has(["archive", "intake"]);
  if (builtinArchive && !on("search")) {
    c.report(
      ["features", "search"],
      "true: the built-in Piler cannot search without its Manticore index (or set archive.intake to use an existing archive server)",
    );
  }
  if (on("search") && !builtinArchive) {
    c.report(
      ["features", "search"],
      "false: the index belongs to the built-in Piler, which runs only with features.archive on and no archive.intake",
    );
  }
  if (on("admin") && c.ok(["web", "admins"])?.length === 0) {
    c.report(["web", "admins"], "at least one administrator address, or nobody can log in to PostfixAdmin");
  }

  // Each name defaults as webHostnames() in platform.ts has it; a name that is set but malformed
  // is reported by its schema and judged no further.
  const first = c.ok(["domains", 0, "name"]);
  const hostname = (path: Path, app: string): string | undefined =>
    c.has(path) ? (c.ok(path) as string | undefined) : first && `${app}.${first}`;
  const served: [Path, string | undefined][] = [];
  if (on("webmail")) served.push([["web", "webmailHostname"], hostname(["web", "webmailHostname"], "webmail")]);
  if (on("admin")) served.push([["web", "adminHostname"], hostname(["web", "adminHostname"], "postfixadmin")]);
  if (builtinArchive) served.push([["web", "archiveHostname"], hostname(["web", "archiveHostname"], "archive")]);
  if (c.ok(["features", "monitoring"]) === true) served.push([["monitoring", "hostname"], hostname(["monitoring", "hostname"], "monitor")]);
  const reserved = new Set(
    c.indices(["domains"]).flatMap((i) => {
      const name = c.ok(["domains", i, "name"]);
      return name === undefined ? [] : [`mta-sts.${name}`, `autoconfig.${name}`, `autodiscover.${name}`];
    }),
  );
  const usedBy = new Map<string, Path>();
  for (const [path, name] of served) {
    if (name === undefined) continue;
    if (reserved.has(name))
      c.report(path, "a host name other than the mta-sts., autoconfig. and autodiscover. names the proxy serves for each domain", name);
    const other = usedBy.get(name);
    if (other) c.report(path, `a host name not already used by ${other.join(".")}`, name);
    usedBy.set(name, path);
  }
}

/** Backup repositories: one name each, and S3's keys exactly where S3 is. */
function backupRules(c: Stack): void {
  const names = new Set<string>();
  for (const i of c.indices(["backup", "repositories"])) {
    const name = c.ok(["backup", "repositories", i, "name"]);
    if (name !== undefined && names.has(name)) c.report(["backup", "repositories", i, "name"], "each repository name once", name);
    if (name !== undefined) names.add(name);
    const url = c.ok(["backup", "repositories", i, "url"]);
    const s3 = typeof url === "string" && url.startsWith("s3:");
    for (const key of ["accessKeyIdFile", "secretAccessKeyFile"] as const) {
      const set = c.has(["backup", "repositories", i, key]);
      if (s3 && !set) c.report(["backup", "repositories", i, key], "set: an S3 repository needs its access key id and secret key files");
      // A url that is set but malformed is reported by its schema: whether it meant S3 is unknown.
      const urlKnown = url !== undefined || !c.has(["backup", "repositories", i, "url"]);
      if (!s3 && set && urlKnown) c.report(["backup", "repositories", i, key], "absent: only an S3 repository (url `s3:...`) takes keys");
    }
  }
}

/** The files a domain's `tls` names exist here (only `stackSchemaWithFiles` checks this). */
function pemFilesReadable(c: Stack): void {
  const check = (path: Path, what: string) => {
    const file: unknown = c.ok(path);
    if (typeof file === "string" && !readable(file)) c.report(path, `${what} on the machine that runs Pulumi`, file);
  };
  for (const i of c.indices(["domains"])) {
    const source = c.ok(["domains", i, "tls", "source"]);
    if (source === "pem") {
      for (const k of ["certFile", "keyFile"] as const) check(["domains", i, "tls", k], "a readable PEM file");
    }
    if (source === "acme") {
      check(["domains", i, "tls", "caFile"], "a readable PEM file");
      check(["domains", i, "tls", "externalAccountBinding", "hmacKeyFile"], "a readable file with the CA's MAC key");
      check(["domains", i, "tls", "challenge", "tsigSecretFile"], "a readable file with the TSIG secret");
    }
  }
  check(["monitoring", "alerts", "email", "passwordFile"], "a readable file with the alert relay's password");
  check(["backup", "passwordFile"], "a readable file with the backup repositories' password");
  for (const i of c.indices(["backup", "repositories"])) {
    check(["backup", "repositories", i, "accessKeyIdFile"], "a readable file with the S3 access key id");
    check(["backup", "repositories", i, "secretAccessKeyFile"], "a readable file with the S3 secret access key");
  }
}

function readable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
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

// ---- IPv4 ------------------------------------------------------------------------------------------
