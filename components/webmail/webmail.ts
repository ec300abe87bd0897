// The Webmail: Roundcube (Debian's package) behind the ReverseProxy, talking IMAP and submission
// over STARTTLS to the platform with verified certificates, Sieve filters through ManageSieve,
// password changes into PostfixAdmin's tables, and its own database in the platform's MariaDB.
// The configuration is rendered by ./render.ts; this file only wires it into a container.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { platformPeers } from "../../config/network";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { containerFiles } from "../host/container-files";
import { serviceContainer } from "../host/service-container";
import { Endpoint, PlatformNetworks, SqlEndpoint, WebApp } from "../types";
import { WEBMAIL_ALIAS, WEBMAIL_PORTS } from "./constants";
import { renderWebmailFiles, WEBMAIL_FILE_MODES } from "./render";

const WEBMAIL_TYPE = "mail-platform:webmail:Webmail";
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

export interface WebmailArgs {
  platform: PlatformConfig;
  /** Image id built from images/webmail. */
  image: pulumi.Input<string>;
  /** The webmail joins the internal network only, where Dovecot, Postfix, MariaDB and the ReverseProxy are. */
  networks: PlatformNetworks;
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
  /** What the ReverseProxy serves: web.webmailHostname, proxied to `webmail:80`. */
  public readonly webApp: pulumi.Output<WebApp>;
  /**
   * Where this webmail connects to Dovecot from, sending each user's own address along (the
   * forward_client_ip plugin): the networks Dovecot should trust to do so (DovecotStore.loginForwarders).
   */
  public readonly loginForwarders: pulumi.Output<string[]>;
  /** The rendered config files uploaded into the container (secret: database passwords, des_key). */
  public readonly files: pulumi.Output<RenderedFiles>;
  /** The Roundcube container. */
  public readonly container: docker.Container;

  constructor(name: string, args: WebmailArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(WEBMAIL_TYPE, name, {}, opts);
    const platform = args.platform;

    // Encrypts the IMAP password Roundcube keeps in each session; one per deployment, never in the image.
    const desKey = new random.RandomPassword(`${name}-des-key`, { length: 24, special: false }, { parent: this });

    this.files = containerFiles(
      this,
      {
        imap: args.imap,
        submission: args.submission,
        managesieve: args.managesieve,
        sql: args.sql,
        passwordSql: args.passwordSql,
        caCertPem: args.caCertPem,
        desKey: desKey.result,
      },
      (v) => renderWebmailFiles({ platform, ...v }),
    );

    this.container = serviceContainer(
      `${name}-container`,
      {
        service: "webmail",
        platform,
        image: args.image,
        // Internal only: users reach it through the ReverseProxy, which joins this network.
        networks: args.networks,
        alias: WEBMAIL_ALIAS,
        files: this.files,
        fileModes: WEBMAIL_FILE_MODES,
        // The entrypoint waits up to 120 s for MariaDB and may create the schema first.
        startPeriodSeconds: 150,
        startAfter: args.startAfter,
      },
      { parent: this },
    );

    // Known without waiting for the container, so the ReverseProxy and Dovecot are configured in parallel.
    this.webApp = pulumi.output<WebApp>({
      hostname: platform.webHostnames.webmail,
      upstream: { host: WEBMAIL_ALIAS, port: WEBMAIL_PORTS.http },
      csp: WEBMAIL_CSP,
    });
    // The container's address is Docker's choice within the internal subnet; the subnet's
    // gateway is the Docker host, whose processes are no webmail.
    this.loginForwarders = pulumi.output(platformPeers(platform.internalSubnet));

    this.registerOutputs({ webApp: this.webApp, loginForwarders: this.loginForwarders, files: this.files });
  }
}
