// Names and paths the proxy's renderer, component and image agree on.

/** Network alias other containers reach the proxy by; only ReverseProxy's outputs carry it. */
export const PROXY_ALIAS = "proxy";

/** Ports nginx listens on inside the container. */
export const PROXY_PORTS = { http: 80, https: 443 } as const;

/** Per-domain documents (MTA-STS policy, autoconfig, autodiscover) live under here. */
export const DOCUMENT_ROOT = "/var/www/mail-platform";
export const TLS_DIR = "/etc/nginx/tls";
/** Private keys; the entrypoint makes the folder 0700 and its files 0600. */
export const PRIVATE_DIR = "/etc/nginx/private";
/** nginx.conf includes every `*.conf` here: one file per served site. */
export const SITES_DIR = "/etc/nginx/sites";

export const certFile = (domain: string): string => `${TLS_DIR}/${domain}.crt`;
export const keyFile = (domain: string): string => `${PRIVATE_DIR}/${domain}.key`;
export const documentDir = (domain: string): string => `${DOCUMENT_ROOT}/${domain}`;

/** The names the proxy serves for each mail domain, besides the web apps' host names. */
export function mailClientHostnames(domain: string): string[] {
  return [`mta-sts.${domain}`, `autoconfig.${domain}`, `autodiscover.${domain}`];
}

/** What the healthcheck fetches: the first domain's MTA-STS policy over HTTPS with SNI. */
export function proxyHealthcheck(firstDomain: string): string[] {
  return ["/usr/local/bin/healthcheck.sh", `mta-sts.${firstDomain}`];
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
