// Pure renderer of the ReverseProxy's files: plain values in, container path -> content out. The
// component lifts it over Pulumi outputs; tests call it directly.
//
// Sites and documents repeat per domain and per web app: those templates are rendered as copies,
// each at its own path (`sites/mail-domain.conf` -> `/etc/nginx/sites/mail-domain.<domain>.conf`);
// the others once, at the path the template has.
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles, renderTemplates, TemplateCopy, TemplateValues } from "../../render/template";
import { certificateFor, oneCertificatePerDomain } from "../pki/certificate-choice";
import { isFqdn, mailClientHostnames } from "../pki/hostnames";
import { tlsWatchFiles } from "../acme/live-chains";
import { pemFile } from "../pki/pem";
import { DomainCertificate, Endpoint, WebApp } from "../types";
import { certFile, DOCUMENT_ROOT, documentDir, keyFile, SITES_DIR } from "./constants";
import { mtaStsPolicies } from "./mta-sts";

export interface ProxyRenderInput {
  platform: PlatformConfig;
  /** One per domain; each must cover the names served for its domain. */
  certificates: DomainCertificate[];
  /** May be empty. */
  apps: WebApp[];
  /** The ACME client's HTTP-01 responder (AcmeClient.challengeEndpoint); required exactly when a domain orders with http-01. */
  acmeChallenge?: Endpoint;
}

class ProxyRenderError extends Error {}

/** Two years, above the one year browsers' preload lists ask for. */
const HSTS_MAX_AGE_SECONDS = 63072000;
/** Full URLs never leave the platform's sites (a webmail URL names folders and message ids). */
export const REFERRER_POLICY = "same-origin";
/** Powerful browser features none of the apps uses, switched off for every page. */
const PERMISSIONS_POLICY = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()";
/** The documents (policy, XML) load nothing, run nothing and are framed nowhere. */
export const DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/** Mozilla "intermediate": ECDHE with AES-GCM or ChaCha20 for TLS 1.2 (TLS 1.3 suites are OpenSSL's defaults). */
const TLS_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

const UPSTREAM_HOST = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i;

/**
 * An app's CSP as the header value: refused if it could break out of nginx's quoted string or be
 * read as a variable; `frame-ancestors 'self'` added when the app's policy does not say.
 */
export function appCsp(app: WebApp): string {
  const csp = app.csp.trim().replace(/;\s*$/, "");
  if (csp === "")
    throw new ProxyRenderError(`apps: ${app.hostname} has an empty csp; give its Content-Security-Policy, e.g. "default-src 'self'"`);
  if (/["\\$\r\n\0]/.test(csp))
    throw new ProxyRenderError(
      `apps: the csp of ${app.hostname} contains a double quote, backslash, '$' or line break, which nginx would misread: ${JSON.stringify(app.csp)}`,
    );
  return /(^|;)\s*frame-ancestors\s/i.test(csp) ? csp : `${csp}; frame-ancestors 'self'`;
}

/** Every host name the proxy serves: each domain's mta-sts/autoconfig/autodiscover names, then the apps'. */
function servedHostnames(platform: PlatformConfig, apps: WebApp[]): string[] {
  return [...platform.domains.flatMap((d) => mailClientHostnames(d.name)), ...apps.map((a) => a.hostname.toLowerCase())];
}

function validateApps(platform: PlatformConfig, apps: WebApp[]): void {
  const seen = new Set<string>();
  for (const name of servedHostnames(platform, [])) seen.add(name);
  for (const app of apps) {
    const h = app.hostname.toLowerCase();
    if (!isFqdn(h))
      throw new ProxyRenderError(
        `apps: hostname ${JSON.stringify(app.hostname)} is not a fully qualified domain name such as webmail.example.com`,
      );
    if (seen.has(h))
      throw new ProxyRenderError(
        `apps: ${h} is served twice; each app needs its own host name, distinct from mta-sts/autoconfig/autodiscover names`,
      );
    seen.add(h);
    if (
      !UPSTREAM_HOST.test(app.upstream.host) ||
      !Number.isInteger(app.upstream.port) ||
      app.upstream.port < 1 ||
      app.upstream.port > 65535
    ) {
      throw new ProxyRenderError(
        `apps: upstream of ${h} must be a host name or address and a port 1-65535, got ${JSON.stringify(app.upstream)}`,
      );
    }
  }
}

/** The password file of an app behind basic auth. */
const usersFile = (hostname: string) => `/etc/nginx/users/${hostname}.htpasswd`;

/** A realm nginx reads as one quoted string. */
function quoted(realm: string): string {
  if (!/^[A-Za-z0-9 .@-]+$/.test(realm))
    throw new ProxyRenderError(`apps: basic auth realm ${JSON.stringify(realm)}: letters, digits, spaces, '.', '@', '-'`);
  return realm;
}

function htpasswdUser(user: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(user))
    throw new ProxyRenderError(`apps: basic auth user ${JSON.stringify(user)}: letters, digits, '.', '_', '-'`);
  return user;
}

/** Octal modes of the uploaded files holding secrets: every domain's private key. */
export function proxyFileModes(platform: PlatformConfig): Record<string, string> {
  return Object.fromEntries(platform.domains.map((d) => [keyFile(d.name), "0600"]));
}

const ACME_SNIPPET = "/etc/nginx/snippets/acme-challenge.conf";

/** The ACME client's challenge path on port 80, when a domain orders with http-01. */
function acmeChallengeValues(platform: PlatformConfig, challenge: Endpoint | undefined): { site: TemplateValues; snippet: TemplateCopy[] } {
  const wanted = platform.domains.some((d) => d.tls.source === "acme" && d.tls.challenge.type === "http-01");
  if (wanted !== (challenge !== undefined))
    throw new ProxyRenderError(
      wanted
        ? "acmeChallenge: a domain orders its certificate with http-01, and the proxy needs the ACME client's endpoint to answer the CA"
        : "acmeChallenge: given, but no domain orders its certificate with http-01",
    );
  if (!challenge) return { site: { acmeChallenge: "", acmeNote: "" }, snippet: [] };
  return {
    site: { acmeChallenge: `    include ${ACME_SNIPPET};`, acmeNote: " but the ACME challenge path" },
    snippet: [{ path: ACME_SNIPPET, values: { upstream: `${challenge.host}:${challenge.port}` } }],
  };
}

export function renderProxyFiles(input: ProxyRenderInput): RenderedFiles {
  const { platform, apps } = input;
  const certificates = oneCertificatePerDomain(
    platform.domains.map((d) => d.name),
    input.certificates,
  );
  validateApps(platform, apps);
  const httpsPortSuffix = platform.ports.https === 443 ? "" : `:${platform.ports.https}`;
  const acme = acmeChallengeValues(platform, input.acmeChallenge);
  const tls = (cert: DomainCertificate) => ({ certFile: certFile(cert.domain), keyFile: keyFile(cert.domain) });

  const domainSites: TemplateCopy[] = [];
  const autoconfig: TemplateCopy[] = [];
  const autodiscover: TemplateCopy[] = [];
  for (const d of platform.domains) {
    const names = mailClientHostnames(d.name);
    const certs = new Set(names.map((n) => certificateFor(n, certificates).domain));
    // The three names share a server block pair and so one certificate.
    if (certs.size !== 1)
      throw new ProxyRenderError(
        `certificates: ${names.join(", ")} must all be covered by one certificate, found ${[...certs].join(", ")}`,
      );
    const dir = documentDir(d.name);
    domainSites.push({
      path: `${SITES_DIR}/mail-domain.${d.name}.conf`,
      values: { domain: d.name, ...tls(certificateFor(names[0], certificates)), documentCsp: DOCUMENT_CSP, documentDir: dir },
    });
    const client = {
      domain: d.name,
      hostname: platform.hostname,
      imapsPort: platform.ports.imaps,
      submissionsPort: platform.ports.submissions,
    };
    autoconfig.push({ path: `${dir}/config-v1.1.xml`, values: { ...client, submissionPort: platform.ports.submission } });
    autodiscover.push({ path: `${dir}/autodiscover.xml`, values: client });
  }
  const appSites: TemplateCopy[] = apps.map((app) => {
    const hostname = app.hostname.toLowerCase();
    return {
      path: `${SITES_DIR}/web-app.${hostname}.conf`,
      values: {
        hostname,
        ...tls(certificateFor(hostname, certificates)),
        csp: appCsp(app),
        maxBodyMb: platform.limits.messageSizeMb,
        upstream: `${app.upstream.host}:${app.upstream.port}`,
        httpsPort: platform.ports.https,
        basicAuth: app.basicAuth
          ? `    # The app has no logins of its own.\n    auth_basic "${quoted(app.basicAuth.realm)}";\n    auth_basic_user_file ${usersFile(hostname)};`
          : "",
      },
    };
  });

  const files = renderTemplates("nginx", {
    "/etc/nginx/nginx.conf": { workerProcesses: "auto", tlsCiphers: TLS_CIPHERS },
    "/etc/nginx/snippets/security-headers.conf": {
      hstsMaxAgeSeconds: HSTS_MAX_AGE_SECONDS,
      referrerPolicy: REFERRER_POLICY,
      permissionsPolicy: PERMISSIONS_POLICY,
    },
    [`${SITES_DIR}/00-default.conf`]: {
      servedHostnames: servedHostnames(platform, apps).join(" "),
      httpsPortSuffix,
      ...acme.site,
    },
    [ACME_SNIPPET]: acme.snippet,
    [`${SITES_DIR}/mail-domain.conf`]: domainSites,
    [`${SITES_DIR}/web-app.conf`]: appSites,
    [`${DOCUMENT_ROOT}/config-v1.1.xml`]: autoconfig,
    [`${DOCUMENT_ROOT}/autodiscover.xml`]: autodiscover,
  });
  const policies = mtaStsPolicies(platform);
  for (const d of platform.domains) files[`${documentDir(d.name)}/mta-sts.txt`] = policies[d.name];
  for (const app of apps) {
    if (app.basicAuth) files[usersFile(app.hostname.toLowerCase())] = `${htpasswdUser(app.basicAuth.user)}:${app.basicAuth.passwordHash}\n`;
  }
  for (const cert of certificates) {
    files[certFile(cert.domain)] = pemFile(cert.certChainPem);
    files[keyFile(cert.domain)] = pemFile(cert.privateKeyPem);
  }
  Object.assign(
    files,
    tlsWatchFiles(platform.domains, (d) => ({ served: certFile(d), key: keyFile(d) })),
  );
  return files;
}
