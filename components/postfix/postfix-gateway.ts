// The MTA: Postfix on 25 (MX), 465 and 587 (submission with SASL through Dovecot), handing every
// message to Amavis and taking it back on the re-injection listener, delivering to Dovecot over
// LMTP. The configuration is rendered by ./render.ts; this file only wires it into a container.
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { containerFiles } from "../host/container-files";
import { serviceContainer } from "../host/service-container";
import { liveChainMounts } from "../acme/live-chains";
import { jobMetricsMount } from "../host/scheduled-jobs";
import { DomainCertificate, Endpoint, PlatformNetworks, SqlEndpoint, TlsEndpoint } from "../types";
import { POSTFIX_ALIAS, POSTFIX_PORTS, POSTFIX_QUEUE_DIR } from "./constants";
import { postfixFileModes, renderPostfixFiles } from "./render";

const POSTFIX_GATEWAY_TYPE = "mail-platform:mta:PostfixGateway";

export interface PostfixGatewayArgs {
  platform: PlatformConfig;
  /** Image id built from images/postfix. */
  image: pulumi.Input<string>;
  /** Amavis, Dovecot and MariaDB on the internal network; published ports and outbound SMTP on the edge. */
  networks: PlatformNetworks;
  /** Read-only account on PostfixAdmin's database (Database.postfixSql). */
  sql: pulumi.Input<SqlEndpoint>;
  /** One per domain (Certificates.certificates), served by SNI. */
  certificates: pulumi.Input<DomainCertificate[]>;
  /** Dovecot's LMTP listener (DovecotStore.lmtpEndpoint). */
  lmtp: pulumi.Input<Endpoint>;
  /** Dovecot's auth service (DovecotStore.saslEndpoint). */
  sasl: pulumi.Input<Endpoint>;
  /** Amavis, inbound policy (ContentFilter.inboundFilter). */
  inboundFilter: pulumi.Input<Endpoint>;
  /** Amavis, originating policy that DKIM-signs (ContentFilter.originatingFilter). */
  originatingFilter: pulumi.Input<Endpoint>;
  /** What this service starts after (Database.ready): ordering only, see ServiceContainerArgs.startAfter. */
  startAfter?: pulumi.Input<pulumi.Resource>[];
}

export class PostfixGateway extends pulumi.ComponentResource {
  /** Where Amavis hands scanned mail back (10025, internal network only, never published). */
  public readonly reinjectionEndpoint: pulumi.Output<Endpoint>;
  /** SMTP on the internal network (25). */
  public readonly smtpEndpoint: pulumi.Output<Endpoint>;
  /** Submission with STARTTLS on the internal network (587), e.g. for webmail. */
  public readonly submissionEndpoint: pulumi.Output<Endpoint>;
  /** Its TLS listeners (25 and 587 with STARTTLS, 465), for the served-certificate check. */
  public readonly tlsEndpoints: pulumi.Output<TlsEndpoint[]>;
  /** Every file the container receives (secret: SQL password and private keys). */
  public readonly files: pulumi.Output<RenderedFiles>;

  constructor(name: string, args: PostfixGatewayArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(POSTFIX_GATEWAY_TYPE, name, {}, opts);
    const p = args.platform;

    this.files = containerFiles(
      this,
      {
        sql: args.sql,
        certificates: args.certificates,
        lmtp: args.lmtp,
        sasl: args.sasl,
        inboundFilter: args.inboundFilter,
        originatingFilter: args.originatingFilter,
      },
      (v) => renderPostfixFiles({ platform: p, ...v }),
    );

    serviceContainer(
      `${name}-container`,
      {
        service: "postfix",
        platform: p,
        image: args.image,
        networks: args.networks,
        alias: POSTFIX_ALIAS,
        edge: true,
        files: this.files,
        fileModes: postfixFileModes(p.domains.map((d) => d.name)),
        ports: [
          { internal: POSTFIX_PORTS.smtp, external: p.ports.smtp },
          { internal: POSTFIX_PORTS.submissions, external: p.ports.submissions },
          { internal: POSTFIX_PORTS.submission, external: p.ports.submission },
        ],
        mounts: [{ hostPath: p.volumePaths.queue, containerPath: POSTFIX_QUEUE_DIR }, jobMetricsMount(p), ...liveChainMounts(p)],
        startPeriodSeconds: 30,
        // Time for in-flight deliveries to finish; the queue itself survives on the host path.
        stopTimeoutSeconds: 30,
        startAfter: args.startAfter,
      },
      { parent: this },
    );

    // Plain values, not derived from the container: Amavis needs the re-injection endpoint before
    // this container (which needs Amavis's endpoints) exists, so a dependency here would deadlock.
    this.reinjectionEndpoint = pulumi.output<Endpoint>({ host: POSTFIX_ALIAS, port: POSTFIX_PORTS.reinjection });
    this.smtpEndpoint = pulumi.output<Endpoint>({ host: POSTFIX_ALIAS, port: POSTFIX_PORTS.smtp });
    this.submissionEndpoint = pulumi.output<Endpoint>({ host: POSTFIX_ALIAS, port: POSTFIX_PORTS.submission });
    this.tlsEndpoints = pulumi.output<TlsEndpoint[]>([
      { service: "postfix", host: POSTFIX_ALIAS, port: POSTFIX_PORTS.smtp, starttls: "smtp" },
      { service: "postfix", host: POSTFIX_ALIAS, port: POSTFIX_PORTS.submissions },
      { service: "postfix", host: POSTFIX_ALIAS, port: POSTFIX_PORTS.submission, starttls: "smtp" },
    ]);

    this.registerOutputs({
      reinjectionEndpoint: this.reinjectionEndpoint,
      smtpEndpoint: this.smtpEndpoint,
      submissionEndpoint: this.submissionEndpoint,
      tlsEndpoints: this.tlsEndpoints,
      files: this.files,
    });
  }
}
