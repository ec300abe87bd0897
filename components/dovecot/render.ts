// Pure renderer of the DovecotStore's configuration: plain values in, container path -> file
// content out. The component lifts it over Pulumi outputs; tests call it directly.
import { PlatformConfig } from "../../config/platform";
import { dovecotValue, sieveString } from "../../render/literals";
import { RenderedFiles, renderTemplates, TemplateValues } from "../../render/template";
import { defaultCertificate, oneCertificatePerDomain, sniNames } from "../pki/certificate-choice";
import { tlsWatchFiles } from "../acme/live-chains";
import { pemFile } from "../pki/pem";
import { MAILBOX_PASSWORD_SCHEME } from "../postfixadmin/constants";
import { DomainCertificate, Endpoint, SqlEndpoint } from "../types";
import { certFile, DOVECOT_METRICS_PORT, DOVECOT_PORTS, keyFile, MAIL_ROOT, SQL_CONFIG_FILE } from "./constants";

export interface DovecotRenderInput {
  platform: PlatformConfig;
  /** Dovecot's read-only account on PostfixAdmin's database (password in clear: the output is secret). */
  sql: SqlEndpoint;
  /** One per domain; the one naming the primary hostname is the default certificate. */
  certificates: DomainCertificate[];
  /** The ContentFilter's spamd, which learns spam and ham from users' moves. */
  spamd: Endpoint;
  /** Networks that may forward the address of the user behind a login (the webmail's); empty trusts none. */
  loginForwarders: string[];
}

/** Seconds a failed login waits before the answer (Dovecot's own default, stated explicitly). */
const AUTH_FAILURE_DELAY_SECONDS = 2;

/** The `local_name` blocks: one per name in the SNI table, each with its certificate's files. */
export function sniBlocks(certificates: DomainCertificate[]): string {
  return sniNames(certificates)
    .map(({ name, certificate }) =>
      [
        `local_name ${name} {`,
        `  ssl_server_cert_file = ${certFile(certificate.domain)}`,
        `  ssl_server_key_file = ${keyFile(certificate.domain)}`,
        `}`,
      ].join("\n"),
    )
    .join("\n");
}

/** Octal modes for the uploaded files that hold secrets: everything under /etc/dovecot/private. */
export function dovecotFileModes(platform: Pick<PlatformConfig, "domains">): Record<string, string> {
  return Object.fromEntries([[SQL_CONFIG_FILE, "0600"], ...platform.domains.map((d) => [keyFile(d.name), "0600"])]);
}

export function renderDovecotFiles(input: DovecotRenderInput): RenderedFiles {
  const { platform, sql, spamd } = input;
  const domains = platform.domains.map((d) => d.name);
  const certificates = oneCertificatePerDomain(domains, input.certificates);
  const def = defaultCertificate(platform.hostname, domains, certificates);

  const spamdValues: TemplateValues = { spamdHost: sieveString(spamd.host), spamdPort: sieveString(String(spamd.port)) };
  const files = renderTemplates("dovecot", {
    "/etc/dovecot/dovecot.conf": {
      hostname: platform.hostname,
      postmasterAddress: `postmaster@${domains[0]}`,
    },
    "/etc/dovecot/conf.d/10-auth.conf": {
      authFailureDelaySeconds: AUTH_FAILURE_DELAY_SECONDS,
      loginTrustedNetworks: input.loginForwarders.join(" "),
      passwordScheme: MAILBOX_PASSWORD_SCHEME,
      mailRoot: MAIL_ROOT,
    },
    [SQL_CONFIG_FILE]: {
      sqlHost: dovecotValue(sql.host),
      sqlPort: sql.port,
      sqlDatabase: dovecotValue(sql.database),
      sqlUser: dovecotValue(sql.user),
      sqlPassword: dovecotValue(sql.password),
    },
    "/etc/dovecot/conf.d/10-master.conf": {
      lmtpProcessLimit: platform.tuning.lmtpConcurrency,
      lmtpClientLimit: 1,
      saslPort: DOVECOT_PORTS.sasl,
    },
    "/etc/dovecot/conf.d/10-ssl.conf": {
      defaultCertFile: certFile(def.domain),
      defaultKeyFile: keyFile(def.domain),
      sniBlocks: sniBlocks(certificates),
    },
    "/etc/dovecot/conf.d/95-metrics.conf": { metricsPort: DOVECOT_METRICS_PORT },
    "/etc/dovecot/sieve/learn-spam.sieve": spamdValues,
    "/etc/dovecot/sieve/learn-ham.sieve": spamdValues,
  });
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
