// The stack config's shape: one zod schema, so that validation, defaults, the TypeScript type and
// the README's config reference all come from the same place and cannot drift apart.
import { z } from "zod";

const FQDN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const fqdn = z
  .string()
  .transform((s) => s.toLowerCase())
  .refine((s) => FQDN.test(s), { message: "a fully qualified domain name such as mail.example.com" });

export const emailAddress = z
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
export const cidr = z.string().refine(isCanonicalCidr, {
  message: "an IPv4 network in CIDR form with zero host bits, such as 192.0.2.0/24",
});

const port = z.number().int().min(1).max(65535);
const absolutePath = z.string().refine((p) => p.startsWith("/") && !p.includes(".."), {
  message: "an absolute path without '..'",
});

const tlsSource = z.discriminatedUnion("source", [
  z.object({ source: z.literal("self-signed") }).strict(),
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
      .default("mail").describe("DKIM selector published as `<selector>._domainkey.<name>`."),
    tls: tlsSource.default({ source: "self-signed" }).describe("Where this domain's TLS certificate comes from."),
    dmarcReportAddress: emailAddress.optional().describe("Address that receives DMARC aggregate reports; defaults to `postmaster@<name>`."),
    dmarcPolicy: z.enum(["none", "quarantine", "reject"]).default("quarantine").describe("DMARC policy published for this domain."),
  })
  .strict();

const mailbox = z
  .object({
    address: emailAddress.describe("The mailbox's address; its domain must be declared under `domains`."),
    name: z.string().min(1).describe("Display name."),
    quotaMb: z.number().int().positive().describe("Quota in MiB; must be positive (PostfixAdmin reads 0 as unlimited, which is never what a typo meant)."),
  })
  .strict();

const alias = z
  .object({
    address: emailAddress.describe("The alias address; its domain must be declared under `domains`."),
    goto: z.array(emailAddress).min(1).describe("Where the alias delivers: local mailboxes, other aliases or external addresses."),
  })
  .strict();

/** Upstream's Piler image, pinned (it cannot be built from Debian's packages: Debian ships no Piler). */
export const PILER_IMAGE = "sutoj/piler:1.4.8";
/** Upstream's Manticore image, pinned. */
export const MANTICORE_IMAGE = "manticoresearch/manticore:6.3.8";

export const STORAGE_VOLUMES = {
  queue: "ssd",
  mailboxes: "ssd",
  database: "ssd",
  index: "ssd",
  quarantine: "ssd",
  virusdb: "ssd",
  archive: "bulk",
  backups: "bulk",
} as const;
export type StorageVolume = keyof typeof STORAGE_VOLUMES;

const storage = z
  .object({
    ssdRoot: absolutePath.describe("Root on fast storage (queue, mailboxes, database, search index)."),
    bulkRoot: absolutePath.describe("Root on bulk storage (archive, backups)."),
    volumes: z
      .object({
        queue: absolutePath.describe("Postfix's queue: mail in transit."),
        mailboxes: absolutePath.describe("Dovecot's Maildirs."),
        database: absolutePath.describe("MariaDB's data directory."),
        index: absolutePath.describe("The built-in archive's Manticore search index."),
        quarantine: absolutePath.describe("Amavis's quarantine: viruses, banned attachments and killed spam."),
        virusdb: absolutePath.describe("ClamAV's signature databases, so a new container does not download them again."),
        archive: absolutePath.describe("The built-in archive's message store (Piler)."),
        backups: absolutePath.describe("Backups (later milestone)."),
      })
      .partial()
      .strict()
      .default({}).describe("Per-volume override of the host path, e.g. `{ mailboxes: /mnt/nvme1/mail }`."),
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
  .strict();

const tuning = z
  .object({
    hostCpus: z.number().int().positive().optional().describe("CPU cores of the Docker host; the other knobs default from it. Defaults to this machine's count."),
    postfixProcessLimit: z.number().int().positive().optional().describe("Postfix `default_process_limit`. Defaults to 25 per core."),
    amavisChildren: z.number().int().positive().optional().describe("Amavis `$max_servers` (pre-forked children), also Postfix's concurrency towards it. Defaults to cores + 1."),
    clamdThreads: z.number().int().positive().optional().describe("clamd `MaxThreads`. Defaults to 2 per core."),
    lmtpConcurrency: z.number().int().positive().optional().describe("Postfix's concurrency towards Dovecot LMTP and Dovecot's LMTP process limit. Defaults to 2 per core."),
    amavisTmpMb: z.number().int().min(64).optional().describe("Size of Amavis's tmpfs work area in MiB. Defaults to 1024."),
  })
  .strict();

const spam = z
  .object({
    tagScore: z.number().default(5).describe("Score at which Amavis adds X-Spam-Flag: YES and tags the subject."),
    rejectScore: z.number().default(12).describe("Score at which inbound spam is rejected at SMTP time (after queue: bounced by Amavis)."),
    virusAction: z.enum(["reject", "quarantine"]).default("reject").describe("What happens to a message with a virus. `reject` refuses it; `quarantine` keeps it in Amavis's quarantine. Neither delivers it."),
    bannedExtensions: z
      .array(z.string().regex(/^[a-z0-9]{1,10}$/))
      .default(["exe", "com", "scr", "pif", "bat", "cmd", "vbs", "js", "jse", "wsf", "hta", "cpl", "msi", "lnk", "iso"]).describe("Attachment file name extensions that are never delivered."),
  })
  .strict();

const limits = z
  .object({
    messageSizeMb: z.number().int().min(1).max(1024).default(50).describe("Largest message accepted, in MiB."),
    messagesPerMinute: z.number().int().positive().default(60).describe("Messages an authenticated or remote client may send per minute (Postfix anvil)."),
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
      .describe("PostfixAdmin super-administrators; each gets a random initial password (`pulumi stack output --show-secrets adminPasswords`)."),
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
    .default("unix:///var/run/docker.sock").describe("Docker engine to deploy onto: `unix:///var/run/docker.sock` or `ssh://user@host`."),
  baseImage: z.string().min(1).default("mail-platform/debian:trixie").describe("Base image every project image is built FROM (Debian 13, made by scripts/base-image.sh)."),
  bindAddress: z.ipv4().default("0.0.0.0").describe("Host address the published ports bind to."),
  instanceName: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,30}$/)
    .optional().describe("Prefix of every Docker object's name, so several stacks can share one host. Defaults to `mp-<stack>`."),
  internalSubnet: cidr.default("172.30.0.0/24").describe("Subnet of the platform's internal network (the seed's intranet-net)."),
  edgeSubnet: cidr.default("172.30.1.0/24").describe("Subnet of the edge network that carries published ports and outbound traffic."),
  relayhost: z.string().default("").describe("Smart host for outbound mail, e.g. `[smtp.provider.net]:587`; empty sends directly to each MX."),
  deleteRemovedMailboxes: z.boolean().default(false).describe(
      "A mailbox or alias removed from the config is deactivated (the default); `true` deletes its database rows instead. Maildirs always stay on disk, and addresses made in PostfixAdmin's UI are never touched.",
    ),
};

export const stackSchema = z
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
    trustedNetworks: z.array(cidr).default([]).describe("Networks whose clients may relay without authentication, e.g. an office printer's LAN."),
    tuning: tuning.default({}).describe("Performance knobs; each defaults from the host's CPU count."),
    spam: spam.default(spam.parse({})).describe("Spam and virus policy."),
    limits: limits.default(limits.parse({})).describe("Size and rate limits."),
    archive: archive.default(archive.parse({})).describe("Where archive copies go when features.archive is on."),
    search: search.default(search.parse({})).describe("The built-in archive's search index."),
    web: web.default(web.parse({})).describe("Host names of the web apps and PostfixAdmin's administrators."),
    features: features.default(features.parse({})).describe("Optional components, off until enabled."),
  })
  .strict();

export type StackInput = z.input<typeof stackSchema>;
export type ParsedStack = z.output<typeof stackSchema>;
export type DomainConfig = ParsedStack["domains"][number];
export type MailboxConfig = ParsedStack["mailboxes"][number];
export type AliasConfig = ParsedStack["aliases"][number];

function isCanonicalCidr(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return false;
  const ip = ipToInt(octets);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (ip & ~mask) >>> 0 === 0;
}

export function ipToInt(octets: number[]): number {
  return octets.reduce((acc, o) => ((acc << 8) | o) >>> 0, 0);
}

export function parseCidr(s: string): { base: number; bits: number } {
  const [ip, bits] = s.split("/");
  return { base: ipToInt(ip.split(".").map(Number)), bits: Number(bits) };
}
