// The AcmeClient: lego, under cron in its own container, obtaining and renewing the chains of the
// domains with `tls.source: acme` from the CSRs Pulumi made, so the keys never change. It writes
// them to a host path the daemons mount read-only and reload from (./live-chains.ts), and checks
// that every TLS port then serves them. The configuration is rendered by ./render.ts.
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { containerFiles } from "../host/container-files";
import { jobMetricsMount } from "../host/scheduled-jobs";
import { serviceContainer } from "../host/service-container";
import { AcmeOrder, DomainCertificate, Endpoint, PlatformNetworks, TlsEndpoint } from "../types";
import { ACME_ALIAS, ACME_CHALLENGE_PORT, ACME_STATE_DIR } from "./constants";
import { acmeFileModes, renderAcmeFiles } from "./render";

const ACME_CLIENT_TYPE = "mail-platform:pki:AcmeClient";

export interface AcmeClientArgs {
  platform: PlatformConfig;
  /** Image id built from images/acme. */
  image: pulumi.Input<string>;
  /** The edge to reach the CA; the internal network for the proxy's challenge requests and the TLS check. */
  networks: PlatformNetworks;
  /** Certificates.acmeOrders. */
  orders: pulumi.Input<AcmeOrder[]>;
  /** Certificates.certificates: the bootstrap chains the check expects before the first issuance. */
  certificates: pulumi.Input<DomainCertificate[]>;
  /** Every TLS port of the platform (the daemons' tlsEndpoints). */
  tlsEndpoints: pulumi.Input<TlsEndpoint[]>;
  /**
   * What this starts after: the daemons and the proxy, so the first order (at container start)
   * finds port 80 answering and the check finds every port up. Ordering only.
   */
  startAfter?: pulumi.Input<pulumi.Resource>[];
}

export class AcmeClient extends pulumi.ComponentResource {
  /** lego's HTTP-01 responder, where the proxy forwards /.well-known/acme-challenge/. */
  public readonly challengeEndpoint: pulumi.Output<Endpoint>;
  /** Every file the container receives (secret: EAB and TSIG keys). */
  public readonly files: pulumi.Output<RenderedFiles>;

  constructor(name: string, args: AcmeClientArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(ACME_CLIENT_TYPE, name, {}, opts);
    const p = args.platform;
    this.files = containerFiles(this, { orders: args.orders, certificates: args.certificates, tlsEndpoints: args.tlsEndpoints }, (v) =>
      renderAcmeFiles({ platform: p, ...v }),
    );
    const domains = p.domains.filter((d) => d.tls.source === "acme").map((d) => ({ domain: d.name }));

    serviceContainer(
      `${name}-container`,
      {
        service: "acme",
        platform: p,
        image: args.image,
        networks: args.networks,
        alias: ACME_ALIAS,
        // The way to the CA (and, for DNS-01, to the company's name server).
        edge: true,
        files: this.files,
        fileModes: acmeFileModes(domains),
        mounts: [{ hostPath: p.volumePaths.acme, containerPath: ACME_STATE_DIR }, jobMetricsMount(p)],
        startPeriodSeconds: 10,
        startAfter: args.startAfter,
      },
      { parent: this },
    );

    // A plain value: the proxy needs it before this container, which starts after the proxy, exists.
    this.challengeEndpoint = pulumi.output<Endpoint>({ host: ACME_ALIAS, port: ACME_CHALLENGE_PORT });
    this.registerOutputs({ challengeEndpoint: this.challengeEndpoint, files: this.files });
  }
}
