// The Webmail: Roundcube (Debian's package) behind the ReverseProxy, talking IMAP and submission
// over STARTTLS to the platform with verified certificates, Sieve filters through ManageSieve,
// password changes into PostfixAdmin's tables, and its own database in the platform's MariaDB.
// The configuration is rendered by ./render.ts; this file only wires it into a container.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { serviceContainer } from "../host/service-container";
import { Endpoint, NetworkRef, SqlEndpoint } from "../types";
import { renderWebmailFiles, WEBMAIL_SECRET_FILES } from "./render";

export const WEBMAIL_TYPE = "mail-platform:webmail:Webmail";
/** Network alias of the webmail container on the internal network. */
export const WEBMAIL_ALIAS = "webmail";
/**
 * Roundcube's Content-Security-Policy. Its elastic skin and plugins use inline scripts and
 * handlers and eval (rcmail's client), so those two cannot be dropped; everything else is
 * same-origin only. Message bodies are sanitised by Roundcube and remote images blocked by default;
 * `data:`/`blob:` serve inline images, attachments previews and the PDF/image viewer frames.
 */
export const WEBMAIL_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self' blob:",
  "frame-ancestors 'self'",
  "form-action 'self'",
  "object-src 'none'",
  "base-uri 'self'",
].join("; ");

/** Plain HTTP inside the platform; TLS ends at the ReverseProxy. */
export const WEBMAIL_HTTP_PORT = 80;

export interface WebmailArgs {
  platform: PlatformConfig;
  /** Image id built from images/webmail. */
  image: pulumi.Input<string>;
  /** Where Dovecot, Postfix, MariaDB and the ReverseProxy are; the webmail joins nothing else. */
  internalNetwork: NetworkRef;
  /** DovecotStore.imapEndpoint (143, STARTTLS). */
  imap: pulumi.Input<Endpoint>;
  /** PostfixGateway.submissionEndpoint (587, STARTTLS). */
  submission: pulumi.Input<Endpoint>;
  /** DovecotStore.managesieveEndpoint (4190, STARTTLS). */
  managesieve: pulumi.Input<Endpoint>;
  /** Roundcube's own database account. */
  sql: pulumi.Input<SqlEndpoint>;
  /** PostfixAdmin account allowed to UPDATE mailbox.password, for the password plugin. */
  passwordSql: pulumi.Input<SqlEndpoint>;
  /** The stack's CA, so Roundcube verifies Dovecot's and Postfix's certificates; empty string when certificates are public. */
  caCertPem: pulumi.Input<string>;
  /** What this service starts after (Database.ready): ordering only, see ServiceContainerArgs.startAfter. */
  startAfter?: pulumi.Input<pulumi.Resource>[];
}

export class Webmail extends pulumi.ComponentResource {
  /** Internal HTTP for the ReverseProxy (`webmail:80`). */
  public readonly httpEndpoint: pulumi.Output<Endpoint>;
  /** The rendered config files uploaded into the container (secret: database passwords, des_key). */
  public readonly files: pulumi.Output<RenderedFiles>;
  /** The Roundcube container. */
  public readonly container: docker.Container;

  constructor(name: string, args: WebmailArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(WEBMAIL_TYPE, name, {}, opts);
    const platform = args.platform;

    // Encrypts the IMAP password Roundcube keeps in each session; one per deployment, never in the image.
    const desKey = new random.RandomPassword(`${name}-des-key`, { length: 24, special: false }, { parent: this });

    // Always secret, even if a caller hands in plain values: the files carry two database
    // passwords and the des_key.
    this.files = pulumi.secret(
      pulumi
        .all([args.imap, args.submission, args.managesieve, args.sql, args.passwordSql, args.caCertPem, desKey.result])
        .apply(([imap, submission, managesieve, sql, passwordSql, caCertPem, key]) =>
          renderWebmailFiles({ platform, imap, submission, managesieve, sql, passwordSql, caCertPem, desKey: key }),
        ),
    );

    this.container = serviceContainer(
      `${name}-container`,
      {
        startAfter: args.startAfter,
        service: "webmail",
        containerName: `${platform.instanceName}-webmail`,
        image: args.image,
        // Internal only: users reach it through the ReverseProxy, which joins this network.
        networks: [{ network: args.internalNetwork, aliases: [WEBMAIL_ALIAS] }],
        files: this.files,
        fileModes: Object.fromEntries(WEBMAIL_SECRET_FILES.map((f) => [f, "0600"])),
        healthcheck: ["/usr/local/bin/healthcheck.sh"],
        // The entrypoint waits up to 120 s for MariaDB and may create the schema first.
        startPeriodSeconds: 150,
      },
      { parent: this },
    );

    // Known without waiting for the container, so the ReverseProxy can be configured in parallel.
    this.httpEndpoint = pulumi.output<Endpoint>({ host: WEBMAIL_ALIAS, port: WEBMAIL_HTTP_PORT });

    this.registerOutputs({ httpEndpoint: this.httpEndpoint, files: this.files });
  }
}
