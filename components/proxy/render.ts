// Pure renderer of the ReverseProxy's files: plain values in, container path -> content out. The
// component lifts it over Pulumi outputs; tests call it directly.
//
// Sites repeat per domain and per web app, so two templates are rendered several times, each
// copy at its own path (`sites/mail-domain.conf` -> `/etc/nginx/sites/mail-domain.<domain>.conf`);
// the others are rendered once at the path the template has.
import { PlatformConfig } from "../../config/platform";
import { containerPath, renderTemplate, RenderedFiles } from "../../render/template";
import { DomainCertificate, Endpoint } from "../types";
import { certFile, documentDir, keyFile, mailClientHostnames, SITES_DIR } from "./constants";
import { mtaStsPolicies } from "./mta-sts";

/** A web application served over HTTPS on its own host name. */
export interface WebApp {
  /** Host name it is served on, e.g. webmail.example.com. */
  hostname: string;
  /** Upstream inside the platform (plain HTTP). */
  upstream: Endpoint;
  /** Content-Security-Policy for this app. */
  csp: string;
}

export interface ProxyRenderInput {
  platform: PlatformConfig;
  /** One per domain; each must cover the names served for its domain. */
  certificates: DomainCertificate[];
  /** May be empty. */
  apps: WebApp[];
}

export class ProxyRenderError extends Error {}

/** Two years, above the one year browsers' preload lists ask for. */
export const HSTS_MAX_AGE_SECONDS = 63072000;
/** Full URLs never leave the platform's sites (a webmail URL names folders and message ids). */
export const REFERRER_POLICY = "same-origin";
/** Powerful browser features none of the apps uses, switched off for every page. */
export const PERMISSIONS_POLICY = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()";
/** The documents (policy, XML) load nothing, run nothing and are framed nowhere. */
export const DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/** Mozilla "intermediate": ECDHE with AES-GCM or ChaCha20 for TLS 1.2 (TLS 1.3 suites are OpenSSL's defaults). */
export const TLS_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

const FQDN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const UPSTREAM_HOST = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i;

/**
 * An app's CSP as the header value: refused if it could break out of nginx's quoted string or be
 * read as a variable; `frame-ancestors 'self'` added when the app's policy does not say.
 */
export function appCsp(app: WebApp): string {
  const csp = app.csp.trim().replace(/;\s*$/, "");
  if (csp === "") throw new ProxyRenderError(`apps: ${app.hostname} has an empty csp; give its Content-Security-Policy, e.g. "default-src 'self'"`);
  if (/["\\$\r\n\0]/.test(csp)) throw new ProxyRenderError(`apps: the csp of ${app.hostname} contains a double quote, backslash, '$' or line break, which nginx would misread: ${JSON.stringify(app.csp)}`);
  return /(^|;)\s*frame-ancestors\s/i.test(csp) ? csp : `${csp}; frame-ancestors 'self'`;
}

/** Whether a certificate name (possibly `*.example.com`) covers a host name. */
function covers(certName: string, hostname: string): boolean {
  const c = certName.toLowerCase();
  if (c === hostname) return true;
  return c.startsWith("*.") && hostname.endsWith(c.slice(1)) && !hostname.slice(0, -(c.length - 1)).includes(".");
}

/** The certificate nginx presents for a name: the one listing it exactly, else one whose wildcard covers it. */
export function certificateFor(hostname: string, certificates: DomainCertificate[]): DomainCertificate {
  const exact = certificates.find((c) => c.hostnames.some((h) => h.toLowerCase() === hostname));
  const found = exact ?? certificates.find((c) => c.hostnames.some((h) => covers(h, hostname)));
  if (!found) {
    throw new ProxyRenderError(
      `certificates: no certificate covers ${hostname}; add it to the names of its domain's certificate (components/pki/hostnames.ts) so HTTPS clients accept it`,
    );
  }
  return found;
}

/** Every host name the proxy serves: each domain's mta-sts/autoconfig/autodiscover names, then the apps'. */
export function servedHostnames(platform: PlatformConfig, apps: WebApp[]): string[] {
  return [...platform.domains.flatMap((d) => mailClientHostnames(d.name)), ...apps.map((a) => a.hostname.toLowerCase())];
}

function validate(input: ProxyRenderInput): void {
  const { platform, certificates, apps } = input;
  const domains = new Set(platform.domains.map((d) => d.name));
  for (const c of certificates) {
    if (!domains.has(c.domain)) throw new ProxyRenderError(`certificates: ${c.domain} is not one of the stack's domains (${[...domains].join(", ")})`);
  }
  const missing = [...domains].filter((d) => !certificates.some((c) => c.domain === d));
  if (missing.length) throw new ProxyRenderError(`certificates: no certificate for ${missing.join(", ")}; every domain is served by SNI`);
  const seen = new Set<string>();
  for (const name of servedHostnames(platform, [])) seen.add(name);
  for (const app of apps) {
    const h = app.hostname.toLowerCase();
    if (!FQDN.test(h)) throw new ProxyRenderError(`apps: hostname ${JSON.stringify(app.hostname)} is not a fully qualified domain name such as webmail.example.com`);
    if (seen.has(h)) throw new ProxyRenderError(`apps: ${h} is served twice; each app needs its own host name, distinct from mta-sts/autoconfig/autodiscover names`);
    seen.add(h);
    if (!UPSTREAM_HOST.test(app.upstream.host) || !Number.isInteger(app.upstream.port) || app.upstream.port < 1 || app.upstream.port > 65535) {
      throw new ProxyRenderError(`apps: upstream of ${h} must be a host name or address and a port 1-65535, got ${JSON.stringify(app.upstream)}`);
    }
  }
}

/** Octal modes of the uploaded files holding secrets: every domain's private key. */
export function proxyFileModes(platform: PlatformConfig): Record<string, string> {
  return Object.fromEntries(platform.domains.map((d) => [keyFile(d.name), "0600"]));
}

export function renderProxyFiles(input: ProxyRenderInput): RenderedFiles {
  validate(input);
  const { platform, certificates, apps } = input;
  const httpsPortSuffix = platform.ports.https === 443 ? "" : `:${platform.ports.https}`;
  const policies = mtaStsPolicies(platform);
  const files: RenderedFiles = {};
  const once = (template: string, values: Record<string, string | number>) => {
    files[containerPath(`nginx/${template}`)] = renderTemplate(`nginx/${template}`, values);
  };

  once("etc/nginx/nginx.conf", { workerProcesses: "auto", tlsCiphers: TLS_CIPHERS });
  once("etc/nginx/snippets/security-headers.conf", {
    hstsMaxAgeSeconds: HSTS_MAX_AGE_SECONDS,
    referrerPolicy: REFERRER_POLICY,
    permissionsPolicy: PERMISSIONS_POLICY,
  });
  once("etc/nginx/sites/00-default.conf", { servedHostnames: servedHostnames(platform, apps).join(" "), httpsPortSuffix });

  for (const cert of certificates) {
    files[certFile(cert.domain)] = cert.certChainPem.endsWith("\n") ? cert.certChainPem : `${cert.certChainPem}\n`;
    files[keyFile(cert.domain)] = cert.privateKeyPem.endsWith("\n") ? cert.privateKeyPem : `${cert.privateKeyPem}\n`;
  }

  for (const d of platform.domains) {
    const names = mailClientHostnames(d.name);
    const certs = new Set(names.map((n) => certificateFor(n, certificates).domain));
    // The three names share a server block pair and so one certificate.
    if (certs.size !== 1) throw new ProxyRenderError(`certificates: ${names.join(", ")} must all be covered by one certificate, found ${[...certs].join(", ")}`);
    const cert = certificateFor(names[0], certificates);
    const dir = documentDir(d.name);
    files[`${SITES_DIR}/mail-domain.${d.name}.conf`] = renderTemplate("nginx/etc/nginx/sites/mail-domain.conf", {
      domain: d.name,
      certFile: certFile(cert.domain),
      keyFile: keyFile(cert.domain),
      documentCsp: DOCUMENT_CSP,
      documentDir: dir,
    });
    const ports = {
      domain: d.name,
      hostname: platform.hostname,
      imapsPort: platform.ports.imaps,
      submissionsPort: platform.ports.submissions,
    };
    files[`${dir}/mta-sts.txt`] = policies[d.name];
    files[`${dir}/config-v1.1.xml`] = renderTemplate("nginx/var/www/mail-platform/config-v1.1.xml", { ...ports, submissionPort: platform.ports.submission });
    files[`${dir}/autodiscover.xml`] = renderTemplate("nginx/var/www/mail-platform/autodiscover.xml", ports);
  }

  for (const app of apps) {
    const hostname = app.hostname.toLowerCase();
    const cert = certificateFor(hostname, certificates);
    files[`${SITES_DIR}/web-app.${hostname}.conf`] = renderTemplate("nginx/etc/nginx/sites/web-app.conf", {
      hostname,
      certFile: certFile(cert.domain),
      keyFile: keyFile(cert.domain),
      csp: appCsp(app),
      maxBodyMb: platform.limits.messageSizeMb,
      upstream: `${app.upstream.host}:${app.upstream.port}`,
      httpsPort: platform.ports.https,
    });
  }
  return files;
}
