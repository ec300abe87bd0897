// Which certificate serves which name: one set of rules for every TLS daemon of the platform
// (Postfix, Dovecot, nginx), so a client gets the same certificate for a name on every port.
import { DomainCertificate } from "../types";

class CertificateChoiceError extends Error {}

/**
 * The certificates in the stack's domain order, refusing anything but exactly one per domain:
 * every domain is served by SNI, and a second certificate for one would make the choice depend
 * on the order the certificates arrive in.
 */
export function oneCertificatePerDomain(domains: string[], certificates: DomainCertificate[]): DomainCertificate[] {
  const problems: string[] = [];
  for (const c of certificates) {
    if (!domains.includes(c.domain)) problems.push(`${c.domain} is not one of the stack's domains (${domains.join(", ")})`);
  }
  const missing = domains.filter((d) => !certificates.some((c) => c.domain === d));
  if (missing.length) problems.push(`no certificate for ${missing.join(", ")}; every domain is served by SNI`);
  const twice = domains.filter((d) => certificates.filter((c) => c.domain === d).length > 1);
  if (twice.length) problems.push(`more than one certificate for ${twice.join(", ")}; each domain has exactly one`);
  if (problems.length) throw new CertificateChoiceError(`certificates: ${problems.join("; ")}`);
  return domains.map((d) => certificates.find((c) => c.domain === d)!);
}

/**
 * The SNI table: every name the certificates cover, lower-cased, once. A name on two
 * certificates (the primary hostname may also be mail.<another domain>) goes to the first one:
 * both cover it, and the first is the primary domain's.
 */
export function sniNames(certificates: DomainCertificate[]): { name: string; certificate: DomainCertificate }[] {
  const seen = new Set<string>();
  const out: { name: string; certificate: DomainCertificate }[] = [];
  for (const certificate of certificates) {
    for (const name of certificate.hostnames.map((h) => h.toLowerCase())) {
      if (seen.has(name)) continue;
      seen.add(name);
      out.push({ name, certificate });
    }
  }
  return out;
}

/**
 * The certificate for a client that sends no SNI name (or one no certificate covers): the one
 * naming the primary hostname, which such clients connect by (the webmail verifies it as that
 * name), else the first domain's.
 */
export function defaultCertificate(hostname: string, domains: string[], certificates: DomainCertificate[]): DomainCertificate {
  const byHostname = sniNames(certificates).find((e) => e.name === hostname.toLowerCase())?.certificate;
  const chosen = byHostname ?? certificates.find((c) => c.domain === domains[0]) ?? certificates[0];
  if (!chosen) throw new CertificateChoiceError("certificates: none given; every domain needs one for TLS");
  return chosen;
}

/** Whether a certificate name (possibly `*.example.com`) covers a host name: a wildcard covers one label. */
function covers(certName: string, hostname: string): boolean {
  const c = certName.toLowerCase();
  if (c === hostname) return true;
  return c.startsWith("*.") && hostname.endsWith(c.slice(1)) && !hostname.slice(0, -(c.length - 1)).includes(".");
}

/** The certificate presented for a name: the SNI table's, else the first whose wildcard covers it. */
export function certificateFor(hostname: string, certificates: DomainCertificate[]): DomainCertificate {
  const h = hostname.toLowerCase();
  const exact = sniNames(certificates).find((e) => e.name === h)?.certificate;
  const found = exact ?? certificates.find((c) => c.hostnames.some((n) => covers(n, h)));
  if (!found) {
    throw new CertificateChoiceError(
      `certificates: no certificate covers ${h}; add it to the names of its domain's certificate (components/pki/hostnames.ts) so clients accept it`,
    );
  }
  return found;
}
