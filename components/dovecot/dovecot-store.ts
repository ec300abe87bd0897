// The DovecotStore: IMAP/POP3 for users, LMTP delivery and SASL auth for Postfix, Sieve and
// ManageSieve, mailboxes in Maildir on the mailboxes volume, spam/ham learning through spamd.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { containerFiles } from "../host/container-files";
import { restoreMount } from "../backup/render";
import { serviceContainer } from "../host/service-container";
import { liveChainMounts } from "../acme/live-chains";
import { DomainCertificate, Endpoint, PlatformNetworks, SqlEndpoint, TlsEndpoint } from "../types";
import { DOVECOT_ALIAS, DOVECOT_METRICS_PORT, DOVECOT_PORTS, MAIL_ROOT } from "./constants";
import { dovecotFileModes, renderDovecotFiles } from "./render";

const DOVECOT_STORE_TYPE = "mail-platform:mailstore:DovecotStore";

export interface DovecotStoreArgs {
  platform: PlatformConfig;
  /** Image id built from images/dovecot. */
  image: pulumi.Input<string>;
  /** Postfix, MariaDB and spamd on the internal network; the published IMAP, POP3 and ManageSieve ports on the edge. */
  networks: PlatformNetworks;
  /** Dovecot's read-only account on PostfixAdmin's database. */
  sql: pulumi.Input<SqlEndpoint>;
  /** One certificate per domain, served by SNI; the one naming the primary hostname is the default. */
  certificates: pulumi.Input<DomainCertificate[]>;
  /** The ContentFilter's spamd, the learning target of users' moves into and out of Junk. */
  spamd: pulumi.Input<Endpoint>;
  /**
   * Networks trusted to forward the address of the user behind a login (Webmail.loginForwarders),
   * so failed-login delays slow down that user, not every login through the same client. None by default.
   */
  loginForwarders?: pulumi.Input<string[]>;
  /** What this service starts after (Database.ready): ordering only, see ServiceContainerArgs.startAfter. */
  startAfter?: pulumi.Input<pulumi.Resource>[];
}

export class DovecotStore extends pulumi.ComponentResource {
  /** LMTP delivery target for Postfix (internal network only). */
  public readonly lmtpEndpoint: pulumi.Output<Endpoint>;
  /** Dovecot's auth service for Postfix's SMTP AUTH, over TCP (internal network only). */
  public readonly saslEndpoint: pulumi.Output<Endpoint>;
  /** IMAP with STARTTLS, for internal clients such as webmail. */
  public readonly imapEndpoint: pulumi.Output<Endpoint>;
  /** ManageSieve with STARTTLS, for internal clients such as webmail. */
  public readonly managesieveEndpoint: pulumi.Output<Endpoint>;
  /** Dovecot's OpenMetrics page (`/metrics`), for the monitoring's Prometheus (internal network only). */
  public readonly metricsEndpoint: pulumi.Output<Endpoint>;
  /** The rendered config files uploaded into the container (secret: SQL password, private keys). */
  /** Its TLS listeners (IMAP, POP3 and ManageSieve with STARTTLS; IMAPS, POP3S), for the served-certificate check. */
  public readonly tlsEndpoints: pulumi.Output<TlsEndpoint[]>;
  public readonly files: pulumi.Output<RenderedFiles>;
  /** The Dovecot container. */
  public readonly container: docker.Container;

  constructor(name: string, args: DovecotStoreArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(DOVECOT_STORE_TYPE, name, {}, opts);
    const platform = args.platform;

    this.files = containerFiles(
      this,
      { sql: args.sql, certificates: args.certificates, spamd: args.spamd, loginForwarders: args.loginForwarders ?? [] },
      (v) => renderDovecotFiles({ platform, ...v }),
    );

    this.container = serviceContainer(
      `${name}-container`,
      {
        service: "dovecot",
        platform,
        image: args.image,
        networks: args.networks,
        // Only the internal network knows the `dovecot` alias, so LMTP and SASL are looked up there.
        alias: DOVECOT_ALIAS,
        edge: true,
        files: this.files,
        fileModes: dovecotFileModes(platform),
        ports: [
          { internal: DOVECOT_PORTS.imap, external: platform.ports.imap },
          { internal: DOVECOT_PORTS.imaps, external: platform.ports.imaps },
          { internal: DOVECOT_PORTS.pop3, external: platform.ports.pop3 },
          { internal: DOVECOT_PORTS.pop3s, external: platform.ports.pop3s },
          { internal: DOVECOT_PORTS.managesieve, external: platform.ports.managesieve },
        ],
        mounts: [
          { hostPath: platform.volumePaths.mailboxes, containerPath: MAIL_ROOT },
          ...liveChainMounts(platform),
          // Mailboxes restored from a backup (restore-mailbox), read-only: `doveadm import` copies
          // from there into the live mailbox, so Dovecot's indexes stay right.
          ...(platform.features.backup ? [restoreMount(platform)] : []),
        ],
        startPeriodSeconds: 30,
        startAfter: args.startAfter,
      },
      { parent: this },
    );

    // Endpoints are known without waiting for the container: Postfix and the ContentFilter refer to
    // each other and to this store, and tying these to the container would let a cycle hang.
    const endpoint = (port: number) => pulumi.output<Endpoint>({ host: DOVECOT_ALIAS, port });
    this.lmtpEndpoint = endpoint(DOVECOT_PORTS.lmtp);
    this.saslEndpoint = endpoint(DOVECOT_PORTS.sasl);
    this.imapEndpoint = endpoint(DOVECOT_PORTS.imap);
    this.managesieveEndpoint = endpoint(DOVECOT_PORTS.managesieve);
    this.metricsEndpoint = endpoint(DOVECOT_METRICS_PORT);
    const tls = (port: number, starttls?: TlsEndpoint["starttls"]): TlsEndpoint => ({
      service: "dovecot",
      host: DOVECOT_ALIAS,
      port,
      ...(starttls ? { starttls } : {}),
    });
    this.tlsEndpoints = pulumi.output([
      tls(DOVECOT_PORTS.imap, "imap"),
      tls(DOVECOT_PORTS.imaps),
      tls(DOVECOT_PORTS.pop3, "pop3"),
      tls(DOVECOT_PORTS.pop3s),
      tls(DOVECOT_PORTS.managesieve, "sieve"),
    ]);

    this.registerOutputs({
      lmtpEndpoint: this.lmtpEndpoint,
      saslEndpoint: this.saslEndpoint,
      imapEndpoint: this.imapEndpoint,
      managesieveEndpoint: this.managesieveEndpoint,
      metricsEndpoint: this.metricsEndpoint,
      tlsEndpoints: this.tlsEndpoints,
      files: this.files,
    });
  }
}
