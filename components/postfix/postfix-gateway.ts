// The MTA: Postfix on 25 (MX), 465 and 587 (submission with SASL through Dovecot), handing every
// message to Amavis and taking it back on the re-injection listener, delivering to Dovecot over
// LMTP. The configuration is rendered by ./render.ts; this file only wires it into a container.
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { serviceContainer } from "../host/service-container";
import { DomainCertificate, Endpoint, NetworkRef, SqlEndpoint } from "../types";
import { POSTFIX_HEALTHCHECK, POSTFIX_PORTS, POSTFIX_QUEUE_DIR, postfixFileModes, renderPostfixFiles } from "./render";

export const POSTFIX_GATEWAY_TYPE = "mail-platform:mta:PostfixGateway";
/** Network alias other containers reach Postfix by; only this component's outputs carry it. */
const ALIAS = "postfix";

export interface PostfixGatewayArgs {
  platform: PlatformConfig;
  /** Image id built from images/postfix. */
  image: pulumi.Input<string>;
  /** Where Amavis, Dovecot and MariaDB are. */
  internalNetwork: NetworkRef;
  /** Published ports and outbound SMTP. */
  edgeNetwork: NetworkRef;
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
  /** Every file the container receives (secret: SQL password and private keys). */
  public readonly files: pulumi.Output<RenderedFiles>;

  constructor(name: string, args: PostfixGatewayArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(POSTFIX_GATEWAY_TYPE, name, {}, opts);
    const p = args.platform;

    // Always secret, whatever the inputs say: the SQL files carry a password, the .pem files keys.
    this.files = pulumi.secret(
      pulumi
        .output({
          sql: args.sql,
          certificates: args.certificates,
          lmtp: args.lmtp,
          sasl: args.sasl,
          inboundFilter: args.inboundFilter,
          originatingFilter: args.originatingFilter,
        })
        .apply((v) => renderPostfixFiles({ platform: p, ...v })),
    );

    serviceContainer(
      `${name}-container`,
      {
        startAfter: args.startAfter,
        dnsResolvers: p.dnsResolvers,
        service: "postfix",
        containerName: `${p.instanceName}-postfix`,
        image: args.image,
        networks: [
          { network: args.internalNetwork, aliases: [ALIAS] },
          { network: args.edgeNetwork, aliases: [] },
        ],
        files: this.files,
        fileModes: postfixFileModes(p.domains.map((d) => d.name)),
        bindAddress: p.bindAddress,
        ports: [
          { internal: POSTFIX_PORTS.smtp, external: p.ports.smtp },
          { internal: POSTFIX_PORTS.submissions, external: p.ports.submissions },
          { internal: POSTFIX_PORTS.submission, external: p.ports.submission },
        ],
        mounts: [{ hostPath: p.volumePaths.queue, containerPath: POSTFIX_QUEUE_DIR }],
        healthcheck: POSTFIX_HEALTHCHECK,
        startPeriodSeconds: 30,
        // Time for in-flight deliveries to finish; the queue itself survives on the host path.
        stopTimeoutSeconds: 30,
      },
      { parent: this },
    );

    // Plain values, not derived from the container: Amavis needs the re-injection endpoint before
    // this container (which needs Amavis's endpoints) exists, so a dependency here would deadlock.
    this.reinjectionEndpoint = pulumi.output<Endpoint>({ host: ALIAS, port: POSTFIX_PORTS.reinjection });
    this.smtpEndpoint = pulumi.output<Endpoint>({ host: ALIAS, port: POSTFIX_PORTS.smtp });
    this.submissionEndpoint = pulumi.output<Endpoint>({ host: ALIAS, port: POSTFIX_PORTS.submission });

    this.registerOutputs({
      reinjectionEndpoint: this.reinjectionEndpoint,
      smtpEndpoint: this.smtpEndpoint,
      submissionEndpoint: this.submissionEndpoint,
      files: this.files,
    });
  }
}
