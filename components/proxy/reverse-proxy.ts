// The ReverseProxy: nginx on 80 (redirects only) and 443 (TLS by SNI per domain), serving each
// domain's MTA-STS policy and mail client autoconfiguration, and proxying the web apps. The
// configuration is rendered by ./render.ts; this file only wires it into a container.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { containerFiles } from "../host/container-files";
import { HEALTHCHECK, serviceContainer } from "../host/service-container";
import { mailClientHostnames } from "../pki/hostnames";
import { liveChainMounts } from "../acme/live-chains";
import { DomainCertificate, Endpoint, PlatformNetworks, TlsEndpoint, WebApp } from "../types";
import { PROXY_ALIAS, PROXY_PORTS } from "./constants";
import { mtaStsPolicies } from "./mta-sts";
import { proxyFileModes, renderProxyFiles } from "./render";

const REVERSE_PROXY_TYPE = "mail-platform:proxy:ReverseProxy";

export interface ReverseProxyArgs {
  platform: PlatformConfig;
  /** Image id built from images/proxy. */
  image: pulumi.Input<string>;
  /** The web apps on the internal network; the published HTTP and HTTPS ports on the edge. */
  networks: PlatformNetworks;
  /** One per domain (Certificates.certificates), each covering mta-sts., autoconfig., autodiscover.<domain> and the apps on it. */
  certificates: pulumi.Input<DomainCertificate[]>;
  /** The web components' `webApp`s, each served on its own host name; may be empty. */
  apps: pulumi.Input<pulumi.Input<WebApp>[]>;
  /** The ACME client's HTTP-01 responder (AcmeClient.challengeEndpoint), when a domain orders with http-01. */
  acmeChallenge?: pulumi.Input<Endpoint>;
}

export class ReverseProxy extends pulumi.ComponentResource {
  /** HTTPS inside the platform (443 on the internal network). */
  public readonly httpsEndpoint: pulumi.Output<Endpoint>;
  /** Its TLS listener (443), for the served-certificate check. */
  public readonly tlsEndpoints: pulumi.Output<TlsEndpoint[]>;
  /** Each domain's MTA-STS policy text, as served: domain -> policy. */
  public readonly mtaStsPolicies: pulumi.Output<Record<string, string>>;
  /** Every file the container receives (secret: the private keys). */
  public readonly files: pulumi.Output<RenderedFiles>;
  /** The nginx container. */
  public readonly container: docker.Container;

  constructor(name: string, args: ReverseProxyArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(REVERSE_PROXY_TYPE, name, {}, opts);
    const platform = args.platform;

    this.files = containerFiles(
      this,
      { certificates: args.certificates, apps: args.apps, ...(args.acmeChallenge ? { acmeChallenge: args.acmeChallenge } : {}) },
      (v) => renderProxyFiles({ platform, ...v }),
    );

    this.container = serviceContainer(
      `${name}-container`,
      {
        service: "proxy",
        platform,
        image: args.image,
        networks: args.networks,
        // The apps are looked up on the internal network; the alias lets platform containers
        // (and tests) reach HTTPS without going through the host.
        alias: PROXY_ALIAS,
        edge: true,
        files: this.files,
        fileModes: proxyFileModes(platform),
        ports: [
          { internal: PROXY_PORTS.http, external: platform.ports.http },
          { internal: PROXY_PORTS.https, external: platform.ports.https },
        ],
        // The first domain's MTA-STS policy over HTTPS with SNI: what a sending MTA fetches.
        healthcheck: [HEALTHCHECK, mailClientHostnames(platform.domains[0].name)[0]],
        mounts: liveChainMounts(platform),
        startPeriodSeconds: 15,
      },
      { parent: this },
    );

    this.httpsEndpoint = pulumi.output<Endpoint>({ host: PROXY_ALIAS, port: PROXY_PORTS.https });
    this.mtaStsPolicies = pulumi.output(mtaStsPolicies(platform));
    this.tlsEndpoints = pulumi.output<TlsEndpoint[]>([{ service: "proxy", host: PROXY_ALIAS, port: PROXY_PORTS.https }]);

    this.registerOutputs({
      httpsEndpoint: this.httpsEndpoint,
      mtaStsPolicies: this.mtaStsPolicies,
      tlsEndpoints: this.tlsEndpoints,
      files: this.files,
    });
  }
}
