// Postfix's configuration as a pure function of plain values: the stack's settings, the resolved
// endpoints of Dovecot, Amavis and MariaDB, and the certificates. Every computed value (network
// lists, limits, next hops) is decided here; the templates under config-templates/postfix only
// place them. Tested without Pulumi (test/unit/postfix.test.ts) and by Postfix itself
// (test/daemons/postfix.test.ts).
import { PlatformConfig } from "../../config/platform";
import { gatewayOf } from "../../config/network";
import { RenderedFiles, renderTemplates, TemplateValues } from "../../render/template";
import { tlsWatchFiles } from "../acme/live-chains";
import { renderSchedule } from "../host/scheduled-jobs";
import { defaultCertificate, oneCertificatePerDomain, sniNames } from "../pki/certificate-choice";
import { pemFile } from "../pki/pem";
import { DomainCertificate, Endpoint, SqlEndpoint } from "../types";
import { certificateFile, POSTFIX_SQL_FILES, QUEUE_REPORT_JOB } from "./constants";

/** The stack settings Postfix's configuration depends on. */
export type PostfixPlatform = Pick<
  PlatformConfig,
  "hostname" | "domains" | "relayhost" | "trustedNetworks" | "internalSubnet" | "edgeSubnet" | "limits" | "tuning" | "schedules"
>;

export interface PostfixRenderInput {
  platform: PostfixPlatform;
  /** Read-only account on PostfixAdmin's database (password included). */
  sql: SqlEndpoint;
  /** One per domain, in any order; the one covering the primary hostname is the default. */
  certificates: DomainCertificate[];
  /** Dovecot's LMTP listener. */
  lmtp: Endpoint;
  /** Dovecot's auth service for Postfix (SASL over TCP). */
  sasl: Endpoint;
  /** Amavis, inbound policy (10024). */
  inboundFilter: Endpoint;
  /** Amavis, originating policy that DKIM-signs (10026). */
  originatingFilter: Endpoint;
}

/** A message is this many times the size limit after Amavis added its headers (re-injection only). */
const REINJECTION_SIZE_HEADROOM = 1.1;
/**
 * Recipients per client per minute: five messages with the full recipient list. More is what a
 * compromised account sending spam looks like, and anvil then answers 4xx (the client retries).
 */
const RECIPIENT_RATE_FULL_MESSAGES = 5;

/** Every file the container receives that holds a secret, with the mode it is uploaded with. */
export function postfixFileModes(domains: string[]): Record<string, string> {
  return Object.fromEntries([...POSTFIX_SQL_FILES.map((f) => [f, "0640"]), ...domains.map((d) => [certificateFile(d), "0600"])]);
}

/** `[host]:port`: the brackets stop Postfix from looking up MX records for a container name. */
function nexthop(e: Endpoint): string {
  return `[${e.host}]:${e.port}`;
}

/**
 * Port 25's mynetworks: trustedNetworks only, with both Docker gateways excluded first (first match
 * wins). Through docker-proxy every client arrives from the edge gateway, and host processes reach
 * the internal addresses from the internal gateway; neither may ever relay, even when a trusted
 * network happens to contain it. Empty when nothing is trusted.
 */
export function relayNetworks(p: Pick<PostfixPlatform, "trustedNetworks" | "internalSubnet" | "edgeSubnet">): string {
  if (p.trustedNetworks.length === 0) return "";
  return [`!${gatewayOf(p.internalSubnet)}`, `!${gatewayOf(p.edgeSubnet)}`, ...p.trustedNetworks].join(", ");
}

/** The re-injection listener's mynetworks: the internal subnet (Amavis) minus its gateway (the host). */
export function reinjectionNetworks(internalSubnet: string): string {
  // No spaces: it is a `-o name=value` argument in master.cf.
  return `!${gatewayOf(internalSubnet)},${internalSubnet}`;
}

export interface PostfixLimits {
  messageSizeLimit: number;
  reinjectionSizeLimit: number;
  recipientLimit: number;
  messageRateLimit: number;
  connectionRateLimit: number;
  recipientRateLimit: number;
  authRateLimit: number;
}

/** Postfix's size and anvil limits from the stack's `limits`. */
export function postfixLimits(l: PostfixPlatform["limits"]): PostfixLimits {
  const messageSizeLimit = l.messageSizeMb * 1024 * 1024;
  return {
    messageSizeLimit,
    reinjectionSizeLimit: Math.ceil(messageSizeLimit * REINJECTION_SIZE_HEADROOM),
    recipientLimit: l.recipientsPerMessage,
    messageRateLimit: l.messagesPerMinute,
    connectionRateLimit: l.connectionsPerMinute,
    recipientRateLimit: l.recipientsPerMessage * RECIPIENT_RATE_FULL_MESSAGES,
    // A legitimate client authenticates once per connection.
    authRateLimit: l.connectionsPerMinute,
  };
}

/** SNI table source: one `hostname file` line per name a certificate covers (the pki module's SNI rule). */
export function sniEntries(certificates: DomainCertificate[]): string {
  return sniNames(certificates)
    .map((e) => `${e.name} ${certificateFile(e.certificate.domain)}`)
    .join("\n");
}

function checkInput(input: PostfixRenderInput): void {
  const problems: string[] = [];
  const { sql } = input;
  for (const [key, value] of Object.entries({ host: sql.host, database: sql.database, user: sql.user, password: sql.password })) {
    // A Postfix table file value ends at the line end and loses surrounding whitespace.
    if (!/^\S(.*\S)?$/.test(value ?? "")) problems.push(`sql.${key} must be one non-empty line without leading or trailing whitespace`);
  }
  const endpoints = {
    sql,
    lmtp: input.lmtp,
    sasl: input.sasl,
    inboundFilter: input.inboundFilter,
    originatingFilter: input.originatingFilter,
  };
  for (const [key, e] of Object.entries(endpoints)) {
    if (!/^[A-Za-z0-9.-]+$/.test(e.host)) problems.push(`${key}.host must be a host name or IPv4 address, got "${e.host}"`);
    if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) problems.push(`${key}.port must be a TCP port, got ${e.port}`);
  }
  if (problems.length) throw new Error(`PostfixGateway: cannot render Postfix's configuration:\n  - ${problems.join("\n  - ")}`);
}

/** Every file Postfix's container receives: container path -> content. */
export function renderPostfixFiles(input: PostfixRenderInput): RenderedFiles {
  checkInput(input);
  const { platform: p, sql } = input;
  const domains = p.domains.map((d) => d.name);
  const certificates = oneCertificatePerDomain(domains, input.certificates);
  const limits = postfixLimits(p.limits);
  const sqlValues: TemplateValues = { host: sql.host, port: sql.port, database: sql.database, user: sql.user, password: sql.password };
  const files = renderTemplates("postfix", {
    "/etc/postfix/main.cf": {
      hostname: p.hostname,
      primaryDomain: domains[0],
      lmtpNexthop: `inet:${input.lmtp.host}:${input.lmtp.port}`,
      lmtpConcurrency: p.tuning.lmtpConcurrency,
      inboundFilterNexthop: nexthop(input.inboundFilter),
      amavisChildren: p.tuning.amavisChildren,
      relayhost: p.relayhost,
      defaultChainFile: certificateFile(defaultCertificate(p.hostname, domains, certificates).domain),
      saslTarget: `${input.sasl.host}:${input.sasl.port}`,
      mynetworks: relayNetworks(p),
      messageSizeLimit: limits.messageSizeLimit,
      recipientLimit: limits.recipientLimit,
      messageRateLimit: limits.messageRateLimit,
      connectionRateLimit: limits.connectionRateLimit,
      recipientRateLimit: limits.recipientRateLimit,
      authRateLimit: limits.authRateLimit,
      processLimit: p.tuning.postfixProcessLimit,
    },
    "/etc/postfix/master.cf": {
      originatingFilterNexthop: nexthop(input.originatingFilter),
      reinjectionNetworks: reinjectionNetworks(p.internalSubnet),
      reinjectionSizeLimit: limits.reinjectionSizeLimit,
      amavisChildren: p.tuning.amavisChildren,
    },
    ...Object.fromEntries(POSTFIX_SQL_FILES.map((f) => [f, sqlValues])),
    "/etc/postfix/tls/sni": { entries: sniEntries(certificates) },
  });
  for (const c of certificates) files[certificateFile(c.domain)] = pemFile(c.privateKeyPem) + pemFile(c.certChainPem);
  // Postfix reads an ACME domain's key and chain from one file: tls-watch rewrites it whole.
  Object.assign(
    files,
    tlsWatchFiles(p.domains, (d) => ({ served: certificateFile(d), key: certificateFile(d) })),
    renderSchedule([{ name: QUEUE_REPORT_JOB, schedule: p.schedules.queueReport, command: "queue-report" }]),
  );
  return files;
}
