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
      /** Certificate chain (leaf first), PEM, read on the machine running Pulumi. */
      certFile: absolutePath,
      /** Private key, PEM; it becomes a Pulumi secret. */
      keyFile: absolutePath,
    })
    .strict(),
]);

const domain = z
  .object({
    /** The mail domain, e.g. `example.com`. */
    name: fqdn,
    /** DKIM selector published as `<selector>._domainkey.<name>`. */
    dkimSelector: z
      .string()
      .refine((s) => DNS_LABEL.test(s), { message: "one DNS label such as mail2026" })
      .default("mail"),
    /** Where this domain's TLS certificate comes from. */
    tls: tlsSource.default({ source: "self-signed" }),
    /** Address that receives DMARC aggregate reports; defaults to `postmaster@<name>`. */
    dmarcReportAddress: emailAddress.optional(),
    /** DMARC policy published for this domain. */
    dmarcPolicy: z.enum(["none", "quarantine", "reject"]).default("quarantine"),
  })
  .strict();

const mailbox = z
  .object({
    address: emailAddress,
    /** Display name. */
    name: z.string().min(1),
    /** Quota in MiB; must be positive (PostfixAdmin reads 0 as unlimited, which is never what a typo meant). */
    quotaMb: z.number().int().positive(),
  })
  .strict();

const alias = z
  .object({
    address: emailAddress,
    /** Where the alias delivers: local mailboxes, other aliases or external addresses. */
    goto: z.array(emailAddress).min(1),
  })
  .strict();

export const STORAGE_VOLUMES = {
  queue: "ssd",
  mailboxes: "ssd",
  database: "ssd",
  index: "ssd",
  archive: "bulk",
  backups: "bulk",
} as const;
export type StorageVolume = keyof typeof STORAGE_VOLUMES;

const storage = z
  .object({
    /** Root on fast storage (queue, mailboxes, database, search index). */
    ssdRoot: absolutePath,
    /** Root on bulk storage (archive, backups). */
    bulkRoot: absolutePath,
    /** Per-volume override of the host path, e.g. `{ mailboxes: /mnt/nvme1/mail }`. */
    volumes: z
      .object({
        queue: absolutePath,
        mailboxes: absolutePath,
        database: absolutePath,
        index: absolutePath,
        archive: absolutePath,
        backups: absolutePath,
      })
      .partial()
      .strict()
      .default({}),
  })
  .strict();

const ports = z
  .object({
    smtp: port.default(25),
    submissions: port.default(465),
    submission: port.default(587),
    imap: port.default(143),
    imaps: port.default(993),
    pop3: port.default(110),
    pop3s: port.default(995),
    managesieve: port.default(4190),
    http: port.default(80),
    https: port.default(443),
  })
  .strict();

const tuning = z
  .object({
    /** CPU cores of the Docker host; the other knobs default from it. Defaults to this machine's count. */
    hostCpus: z.number().int().positive().optional(),
    /** Postfix `default_process_limit`. Defaults to 25 per core. */
    postfixProcessLimit: z.number().int().positive().optional(),
    /** Amavis `$max_servers` (pre-forked children), also Postfix's concurrency towards it. Defaults to cores + 1. */
    amavisChildren: z.number().int().positive().optional(),
    /** clamd `MaxThreads`. Defaults to 2 per core. */
    clamdThreads: z.number().int().positive().optional(),
    /** Postfix's concurrency towards Dovecot LMTP and Dovecot's LMTP process limit. Defaults to 2 per core. */
    lmtpConcurrency: z.number().int().positive().optional(),
    /** Size of Amavis's tmpfs work area in MiB. Defaults to 1024. */
    amavisTmpMb: z.number().int().min(64).optional(),
  })
  .strict();

const spam = z
  .object({
    /** Score at which Amavis adds X-Spam-Flag: YES and tags the subject. */
    tagScore: z.number().default(5),
    /** Score at which inbound spam is rejected at SMTP time (after queue: bounced by Amavis). */
    rejectScore: z.number().default(12),
    /** What happens to a message with a virus. `reject` refuses it; `quarantine` keeps it in Amavis's quarantine. Neither delivers it. */
    virusAction: z.enum(["reject", "quarantine"]).default("reject"),
    /** Attachment file name extensions that are never delivered. */
    bannedExtensions: z
      .array(z.string().regex(/^[a-z0-9]{1,10}$/))
      .default(["exe", "com", "scr", "pif", "bat", "cmd", "vbs", "js", "jse", "wsf", "hta", "cpl", "msi", "lnk", "iso"]),
  })
  .strict();

const limits = z
  .object({
    /** Largest message accepted, in MiB. */
    messageSizeMb: z.number().int().min(1).max(1024).default(50),
    /** Messages an authenticated or remote client may send per minute (Postfix anvil). */
    messagesPerMinute: z.number().int().positive().default(60),
    /** Recipients per message. */
    recipientsPerMessage: z.number().int().positive().default(100),
    /** SMTP connections per client per minute. */
    connectionsPerMinute: z.number().int().positive().default(60),
  })
  .strict();

const features = z
  .object({
    archive: z.boolean().default(false),
    search: z.boolean().default(false),
    webmail: z.boolean().default(false),
  })
  .strict();

/** Scalar keys: declared in Pulumi.yaml too (the test `pulumi-yaml.test.ts` keeps both in step). */
export const scalarKeys = {
  /** Primary host name of the mail server, used in the SMTP banner, HELO and the MX record. */
  hostname: fqdn,
  /** Docker engine to deploy onto: `unix:///var/run/docker.sock` or `ssh://user@host`. */
  dockerHost: z
    .string()
    .refine((s) => /^unix:\/\/\/.+/.test(s) || /^ssh:\/\/([^@/\s]+@)?[^@/\s:]+(:\d+)?$/.test(s), {
      message: "unix:///path/to/docker.sock or ssh://user@host[:port]",
    })
    .default("unix:///var/run/docker.sock"),
  /** Base image every project image is built FROM (Debian 13, made by scripts/base-image.sh). */
  baseImage: z.string().min(1).default("mail-platform/debian:trixie"),
  /** Host address the published ports bind to. */
  bindAddress: z.ipv4().default("0.0.0.0"),
  /** Prefix of every Docker object's name, so several stacks can share one host. Defaults to `mp-<stack>`. */
  instanceName: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,30}$/)
    .optional(),
  /** Subnet of the platform's internal network (the seed's intranet-net). */
  internalSubnet: cidr.default("172.30.0.0/24"),
  /** Subnet of the edge network that carries published ports and outbound traffic. */
  edgeSubnet: cidr.default("172.30.1.0/24"),
  /** Smart host for outbound mail, e.g. `[smtp.provider.net]:587`; empty sends directly to each MX. */
  relayhost: z.string().default(""),
  /** Keep mail on disk when a mailbox is removed from the config (the default); `true` deletes it. */
  deleteRemovedMailboxes: z.boolean().default(false),
  /** `protect` the stateful containers so `pulumi destroy` refuses until this is switched off. */
  protectData: z.boolean().default(true),
};

export const stackSchema = z
  .object({
    ...scalarKeys,
    domains: z.array(domain).min(1),
    mailboxes: z.array(mailbox).default([]),
    aliases: z.array(alias).default([]),
    storage,
    /** Host ports published on `bindAddress`. */
    ports: ports.default(ports.parse({})),
    /** Networks whose clients may relay without authentication, e.g. an office printer's LAN. */
    trustedNetworks: z.array(cidr).default([]),
    tuning: tuning.default({}),
    spam: spam.default(spam.parse({})),
    limits: limits.default(limits.parse({})),
    /** Components from later milestones, off until enabled. */
    features: features.default(features.parse({})),
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
