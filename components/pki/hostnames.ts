// The host-name policy: which names the platform serves for each domain, and so which names each
// domain's certificate covers. Clients reach the mail server as mail.<domain> (what autoconfig
// and the DNS outputs advertise) or by the primary hostname, so SNI needs both; the HTTPS front
// serves each domain's MTA-STS policy and mail-client autoconfiguration on their conventional
// names, and web apps on names under the domain.
import { DomainConfig, fqdn } from "../../config/schema";

/** Whether `name` is a fully qualified domain name, by the one rule the stack config validates with. */
export function isFqdn(name: string): boolean {
  return fqdn.safeParse(name).success;
}

/** The names the HTTPS front serves for each mail domain, besides the web apps' host names. */
export function mailClientHostnames(domain: string): string[] {
  return [`mta-sts.${domain}`, `autoconfig.${domain}`, `autodiscover.${domain}`];
}

/**
 * Which domain's certificate covers each web app host name: the longest mail domain it falls
 * under (webmail.acme-corp.com -> acme-corp.com), else the first domain. Every domain appears.
 */
export function webHostnamesByDomain(domains: string[], hostnames: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = Object.fromEntries(domains.map((d) => [d, []]));
  for (const raw of hostnames) {
    const h = raw.toLowerCase();
    const owner = [...domains].sort((a, b) => b.length - a.length).find((d) => h === d || h.endsWith(`.${d}`)) ?? domains[0];
    if (owner !== undefined && !out[owner].includes(h)) out[owner].push(h);
  }
  return out;
}

/**
 * The names one domain's certificate covers; the primary hostname goes on the first domain's. An
 * ACME certificate leaves out the bare domain: its address is usually the company's web site,
 * not the platform, so the CA could not validate it there, and mail clients are told mail.<domain>.
 */
export function certificateHostnames(domain: DomainConfig, index: number, primaryHostname: string, webHostnames: string[] = []): string[] {
  const bare = domain.tls.source === "acme" ? [] : [domain.name];
  const names = [`mail.${domain.name}`, ...bare, ...mailClientHostnames(domain.name), ...webHostnames];
  if (index === 0) names.unshift(primaryHostname);
  return [...new Set(names)];
}
