// The ReverseProxy: nginx on 80 (redirects only) and 443 (TLS by SNI per domain), serving each
// domain's MTA-STS policy and mail client autoconfiguration, and proxying the web apps. The
// configuration is rendered by ./render.ts; this file only wires it into a container.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { serviceContainer } from "../host/service-container";
import { DomainCertificate, Endpoint, NetworkRef } from "../types";
import { PROXY_ALIAS, PROXY_PORTS, proxyHealthcheck } from "./constants";
import { mtaStsPolicies } from "./mta-sts";
import { proxyFileModes, renderProxyFiles, WebApp } from "./render";

export type { WebApp } from "./render";
export { mtaStsDnsRecords, mtaStsPolicy, mtaStsPolicyId, tlsRptDnsRecords } from "./mta-sts";
export { mailClientHostnames, webHostnamesByDomain } from "./constants";

export const REVERSE_PROXY_TYPE = "mail-platform:proxy:ReverseProxy";

export interface ReverseProxyArgs {
  platform: PlatformConfig;
  /** Image id built from images/proxy. */
  image: pulumi.Input<string>;
  /** Where the web apps' containers are. */
  internalNetwork: NetworkRef;
  /** Carries the published HTTP and HTTPS ports. */
  edgeNetwork: NetworkRef;
  /** One per domain (Certificates.certificates), each covering mta-sts., autoconfig., autodiscover.<domain> and the apps on it. */
  certificates: pulumi.Input<DomainCertificate[]>;
  /** Web apps to serve on their own host names; may be empty. */
  apps: pulumi.Input<WebApp[]>;
}

export class ReverseProxy extends pulumi.ComponentResource {
  /** HTTPS inside the platform (443 on the internal network). */
  public readonly httpsEndpoint: pulumi.Output<Endpoint>;
  /** Each domain's MTA-STS policy text, as served: domain -> policy. */
  public readonly mtaStsPolicies: pulumi.Output<Record<string, string>>;
  /** Every file the container receives (secret: the private keys). */
  public readonly files: pulumi.Output<RenderedFiles>;
  /** The nginx container. */
  public readonly container: docker.Container;

  constructor(name: string, args: ReverseProxyArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(REVERSE_PROXY_TYPE, name, {}, opts);
    const platform = args.platform;

    // Always secret, whatever the inputs say: the files carry every domain's private key.
    this.files = pulumi.secret(
      pulumi.all([args.certificates, args.apps]).apply(([certificates, apps]) => renderProxyFiles({ platform, certificates, apps })),
    );

    this.container = serviceContainer(
      `${name}-container`,
      {
        service: "proxy",
        containerName: `${platform.instanceName}-proxy`,
        image: args.image,
        networks: [
          // The apps are looked up on the internal network; the alias lets platform containers
          // (and tests) reach HTTPS without going through the host.
          { network: args.internalNetwork, aliases: [PROXY_ALIAS] },
          { network: args.edgeNetwork, aliases: [] },
        ],
        files: this.files,
        fileModes: proxyFileModes(platform),
        bindAddress: platform.bindAddress,
        ports: [
          { internal: PROXY_PORTS.http, external: platform.ports.http },
          { internal: PROXY_PORTS.https, external: platform.ports.https },
        ],
        healthcheck: proxyHealthcheck(platform.domains[0].name),
        startPeriodSeconds: 15,
      },
      { parent: this },
    );

    this.httpsEndpoint = pulumi.output<Endpoint>({ host: PROXY_ALIAS, port: PROXY_PORTS.https });
    this.mtaStsPolicies = pulumi.output(mtaStsPolicies(platform));

    this.registerOutputs({
      httpsEndpoint: this.httpsEndpoint,
      mtaStsPolicies: this.mtaStsPolicies,
      files: this.files,
    });
  }
}
