// What the ReverseProxy's renderer, component, image and tests agree on.

/** Network alias other containers reach the proxy by; only ReverseProxy's outputs carry it. */
export const PROXY_ALIAS = "proxy";

/** Ports nginx listens on inside the container. */
export const PROXY_PORTS = { http: 80, https: 443 } as const;

/** Per-domain documents (MTA-STS policy, autoconfig, autodiscover) live under here. */
export const DOCUMENT_ROOT = "/var/www/mail-platform";
const TLS_DIR = "/etc/nginx/tls";
/** Private keys; the entrypoint makes the folder 0700 and its files 0600. */
const PRIVATE_DIR = "/etc/nginx/private";
/** nginx.conf includes every `*.conf` here: one file per served site. */
export const SITES_DIR = "/etc/nginx/sites";

export const certFile = (domain: string): string => `${TLS_DIR}/${domain}.crt`;
export const keyFile = (domain: string): string => `${PRIVATE_DIR}/${domain}.key`;
export const documentDir = (domain: string): string => `${DOCUMENT_ROOT}/${domain}`;
