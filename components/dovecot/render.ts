// Pure renderer of the DovecotStore's configuration: plain values in, container path -> file
// content out. The component lifts it over Pulumi outputs; tests call it directly.
import { platformPeers } from "../../config/network";
import { PlatformConfig } from "../../config/platform";
import { containerPath, renderTemplate, RenderedFiles, TemplateValues, templatesOf } from "../../render/template";
import { DomainCertificate, Endpoint, SqlEndpoint } from "../types";
import { certFile, DOVECOT_PORTS, keyFile, MAIL_ROOT, PRIVATE_DIR } from "./constants";
import { MAILBOX_PASSWORD_SCHEME } from "../database/database";

export interface DovecotRenderInput {
  platform: PlatformConfig;
  /** Dovecot's read-only account on PostfixAdmin's database (password in clear: the output is secret). */
  sql: SqlEndpoint;
  /** One per domain; the one of the first configured domain is the default certificate. */
  certificates: DomainCertificate[];
  /** The ContentFilter's spamd, which learns spam and ham from users' moves. */
  spamd: Endpoint;
}

/** Seconds a failed login waits before the answer (Dovecot's own default, stated explicitly). */
export const AUTH_FAILURE_DELAY_SECONDS = 2;

export class DovecotRenderError extends Error {}

/** Who may forward a client's address to Dovecot: with the webmail on, the internal subnet minus its gateway. */
export function loginTrustedNetworks(platform: Pick<PlatformConfig, "features" | "internalSubnet">): string[] {
  return platform.features.webmail ? platformPeers(platform.internalSubnet) : [];
}

/**
 * A value for a Dovecot 2.4 setting. Bare when it is a plain token; otherwise double-quoted with
 * `\` and `"` escaped. `%` becomes `%%` (2.4 expands `%{...}` in most string settings) and a
 * leading `$` is quoted so `$SET:`/`$ENV:` references can never be injected by a value.
 */
export function dovecotValue(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new DovecotRenderError("a Dovecot setting value cannot contain a line break or NUL");
  if (/^[A-Za-z0-9._@/+=:-]+$/.test(value)) return value;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%")}"`;
}

/** Which certificate is the default (no or unknown SNI name): the first configured domain's. */
export function defaultCertificate(platform: PlatformConfig, certificates: DomainCertificate[]): DomainCertificate {
  if (certificates.length === 0) throw new DovecotRenderError("certificates: at least one domain certificate is required");
  return certificates.find((c) => c.domain === platform.domains[0].name) ?? certificates[0];
}

/** The `local_name` blocks: one per host name a certificate covers, each with its domain's files. */
export function sniBlocks(certificates: DomainCertificate[]): string {
  const owner = new Map<string, string>();
  const blocks: string[] = [];
  for (const cert of certificates) {
    for (const name of [...new Set(cert.hostnames.map((h) => h.toLowerCase()))]) {
      const other = owner.get(name);
      if (other !== undefined) {
        throw new DovecotRenderError(`certificates: host name ${name} is covered by both ${other} and ${cert.domain}; SNI needs one certificate per name`);
      }
      owner.set(name, cert.domain);
      blocks.push(
        [
          `local_name ${name} {`,
          `  ssl_server_cert_file = ${certFile(cert.domain)}`,
          `  ssl_server_key_file = ${keyFile(cert.domain)}`,
          `}`,
        ].join("\n"),
      );
    }
  }
  return blocks.join("\n");
}

/** Octal modes for the uploaded files that hold secrets: everything under /etc/dovecot/private. */
export function dovecotFileModes(platform: PlatformConfig): Record<string, string> {
  const modes: Record<string, string> = { [`${PRIVATE_DIR}/sql.conf.ext`]: "0600" };
  for (const d of platform.domains) modes[keyFile(d.name)] = "0600";
  return modes;
}

export function renderDovecotFiles(input: DovecotRenderInput): RenderedFiles {
  const { platform, sql, certificates, spamd } = input;
  const domains = new Set(platform.domains.map((d) => d.name));
  for (const c of certificates) {
    if (!domains.has(c.domain)) throw new DovecotRenderError(`certificates: ${c.domain} is not one of the stack's domains (${[...domains].join(", ")})`);
  }
  const missing = [...domains].filter((d) => !certificates.some((c) => c.domain === d));
  if (missing.length) throw new DovecotRenderError(`certificates: no certificate for ${missing.join(", ")}; every domain is served by SNI`);
  const def = defaultCertificate(platform, certificates);

  const spamdValues: TemplateValues = { spamdHost: sieveString(spamd.host), spamdPort: sieveString(String(spamd.port)) };
  const values: Record<string, TemplateValues> = {
    "dovecot/etc/dovecot/dovecot.conf": {
      hostname: platform.hostname,
      postmasterAddress: `postmaster@${platform.domains[0].name}`,
    },
    "dovecot/etc/dovecot/conf.d/10-auth.conf": {
      authFailureDelaySeconds: AUTH_FAILURE_DELAY_SECONDS,
      loginTrustedNetworks: loginTrustedNetworks(platform).join(" "),
      passwordScheme: MAILBOX_PASSWORD_SCHEME,
      mailRoot: MAIL_ROOT,
    },
    "dovecot/etc/dovecot/private/sql.conf.ext": {
      sqlHost: dovecotValue(sql.host),
      sqlPort: sql.port,
      sqlDatabase: dovecotValue(sql.database),
      sqlUser: dovecotValue(sql.user),
      sqlPassword: dovecotValue(sql.password),
    },
    "dovecot/etc/dovecot/conf.d/10-master.conf": {
      lmtpProcessLimit: platform.tuning.lmtpConcurrency,
      lmtpClientLimit: 1,
      saslPort: DOVECOT_PORTS.sasl,
    },
    "dovecot/etc/dovecot/conf.d/10-ssl.conf": {
      defaultCertFile: certFile(def.domain),
      defaultKeyFile: keyFile(def.domain),
      sniBlocks: sniBlocks(certificates),
    },
    "dovecot/etc/dovecot/sieve/learn-spam.sieve": spamdValues,
    "dovecot/etc/dovecot/sieve/learn-ham.sieve": spamdValues,
  };

  const files: RenderedFiles = {};
  for (const template of templatesOf("dovecot")) {
    files[containerPath(template)] = renderTemplate(template, values[template] ?? {});
  }
  for (const cert of certificates) {
    files[certFile(cert.domain)] = withNewline(cert.certChainPem);
    files[keyFile(cert.domain)] = withNewline(cert.privateKeyPem);
  }
  return files;
}

/** A Sieve string's content: quoted by the template, so only `\` and `"` need escaping. */
function sieveString(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

function withNewline(s: string): string {
  return s.endsWith("\n") ? s : `${s}\n`;
}
