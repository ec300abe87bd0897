// MTA-STS (RFC 8461) policies and the DNS records that announce them and TLS reporting (RFC 8460).
// The policy tells sending MTAs to insist on TLS with a valid certificate for our MX host names.
import * as crypto from "crypto";
import { PlatformConfig } from "../../config/platform";
import { DnsRecord } from "../pki/dns-records";

export type MtaStsMode = "enforce" | "testing";

/** What every domain's policy says: enforce, one week (RFC 8461 §3.2 suggests weeks or more). */
const MTA_STS_MODE: MtaStsMode = "enforce";
const MTA_STS_MAX_AGE_SECONDS = 604800;
/** RFC 8461 §3.2: max_age is at most 31557600 (about one year). */
const MAX_AGE_LIMIT = 31557600;

class MtaStsError extends Error {}

/**
 * The policy file of RFC 8461 §3.2: `version`, `mode`, one `mx` line per host name, `max_age`,
 * each line ended by CRLF (the RFC allows LF or CRLF; CRLF is what large providers serve).
 */
export function mtaStsPolicy(mxHostnames: string[], mode: MtaStsMode, maxAgeSeconds: number): string {
  const mx = [...new Set(mxHostnames.map((h) => h.toLowerCase()))];
  if (mx.length === 0) throw new MtaStsError("mtaStsPolicy: at least one MX host name is required");
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0 || maxAgeSeconds > MAX_AGE_LIMIT) {
    throw new MtaStsError(`mtaStsPolicy: max_age must be an integer from 0 to ${MAX_AGE_LIMIT}, got ${maxAgeSeconds}`);
  }
  const lines = ["version: STSv1", `mode: ${mode}`, ...mx.map((h) => `mx: ${h}`), `max_age: ${maxAgeSeconds}`];
  return lines.map((l) => `${l}\r\n`).join("");
}

/** The MX host names a domain's mail may go to: the platform's hostname and mail.<domain>. */
function mtaStsMxHostnames(platform: PlatformConfig, domain: string): string[] {
  return [...new Set([platform.hostname, `mail.${domain}`])];
}

/**
 * `enforce` only where senders can validate the certificate (a bought one, or an ACME CA's): a
 * domain on the stack's own CA would have its mail refused by every MTA-STS sender, so it
 * publishes `testing` (reports, no refusal). An ACME domain serves its bootstrap chain until the
 * first issuance, seconds after the deployment; a renewal failing for weeks is what the ACME
 * metrics are for, long before the chain expires.
 */
function mtaStsModeFor(domain: { tls: { source: string } }): MtaStsMode {
  return domain.tls.source === "self-signed" ? "testing" : MTA_STS_MODE;
}

/** Every domain's policy text: domain -> policy. */
export function mtaStsPolicies(platform: PlatformConfig): Record<string, string> {
  return Object.fromEntries(
    platform.domains.map((d) => [d.name, mtaStsPolicy(mtaStsMxHostnames(platform, d.name), mtaStsModeFor(d), MTA_STS_MAX_AGE_SECONDS)]),
  );
}

/**
 * The policy id of the `_mta-sts` record (RFC 8461 §3.1: 1 to 32 alphanumeric characters): a hash
 * of the policy, so it changes exactly when the policy does and senders fetch the new one.
 */
export function mtaStsPolicyId(policy: string): string {
  return crypto.createHash("sha256").update(policy).digest("hex").slice(0, 32);
}

/** `_mta-sts.<domain>` TXT `v=STSv1; id=<hash of the policy>` for each domain -> policy. */
export function mtaStsDnsRecords(policies: Record<string, string>): DnsRecord[] {
  return Object.entries(policies).map(([domain, policy]) => ({
    domain,
    name: `_mta-sts.${domain}.`,
    type: "TXT",
    value: `v=STSv1; id=${mtaStsPolicyId(policy)}`,
    purpose: `MTA-STS: senders fetch https://mta-sts.${domain}/.well-known/mta-sts.txt and insist on TLS`,
  }));
}

/** `_smtp._tls.<domain>` TXT `v=TLSRPTv1; rua=mailto:<DMARC report address or postmaster@domain>`. */
export function tlsRptDnsRecords(domains: { name: string; dmarcReportAddress?: string }[]): DnsRecord[] {
  return domains.map((d) => ({
    domain: d.name,
    name: `_smtp._tls.${d.name}.`,
    type: "TXT",
    value: `v=TLSRPTv1; rua=mailto:${d.dmarcReportAddress ?? `postmaster@${d.name}`}`,
    purpose: "TLS-RPT: where senders report TLS failures delivering to the domain",
  }));
}
