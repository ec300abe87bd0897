// PostfixAdmin's web UI (Debian's package, Apache + mod_php) behind the ReverseProxy: the company's
// administrators manage domains, mailboxes and aliases in the tables the platform's daemons read.
// It runs the same image as the Database component's provisioning run, with another entrypoint,
// and the same config.local.php, which the Database hands over once the schema is provisioned.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { serviceContainer } from "../host/service-container";
import { Endpoint, NetworkRef } from "../types";
import { POSTFIXADMIN_CONFIG_FILE, renderPostfixadminUiFiles } from "./render";

export const POSTFIXADMIN_UI_TYPE = "mail-platform:postfixadmin:PostfixAdminUi";
/** Network alias of the UI container on the internal network. */
export const POSTFIXADMIN_ALIAS = "postfixadmin";
/**
 * PostfixAdmin's Content-Security-Policy: its pages carry inline <script> blocks and onclick=
 * handlers (delete confirmations), so inline scripts and styles stay allowed; nothing is loaded
 * from anywhere else, and no other site may frame it (clickjacking an admin's delete button).
 */
export const POSTFIXADMIN_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "object-src 'none'",
  "base-uri 'self'",
].join("; ");

/** Plain HTTP inside the platform; TLS ends at the ReverseProxy. */
export const POSTFIXADMIN_HTTP_PORT = 80;
/** The image's UI entrypoint; its default entrypoint is the one-shot provisioning run. */
export const SERVE_UI_ENTRYPOINT = "/usr/local/bin/serve-ui.sh";

export interface PostfixAdminUiArgs {
  platform: PlatformConfig;
  /** Image id built from images/postfixadmin (the same image as the provisioning run). */
  image: pulumi.Input<string>;
  /** Where MariaDB and the ReverseProxy are; the UI joins nothing else. */
  internalNetwork: NetworkRef;
  /** Database.postfixadminConfig: /etc/postfixadmin/config.local.php; resolves once the schema is provisioned. Secret. */
  config: pulumi.Input<RenderedFiles>;
  /** What this service starts after (Database.ready): ordering only, see ServiceContainerArgs.startAfter. */
  startAfter?: pulumi.Input<pulumi.Resource>[];
}

export class PostfixAdminUi extends pulumi.ComponentResource {
  /** Internal HTTP for the ReverseProxy (`postfixadmin:80`). */
  public readonly httpEndpoint: pulumi.Output<Endpoint>;
  /** The files uploaded into the container (secret: config.local.php holds the database password). */
  public readonly files: pulumi.Output<RenderedFiles>;
  /** The PostfixAdmin UI container. */
  public readonly container: docker.Container;

  constructor(name: string, args: PostfixAdminUiArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(POSTFIXADMIN_UI_TYPE, name, {}, opts);
    const platform = args.platform;

    // Always secret, even if a caller hands in a plain value.
    this.files = pulumi.secret(
      pulumi.output(args.config).apply((config) => {
        try {
          return renderPostfixadminUiFiles({ platform, config });
        } catch (e) {
          throw new pulumi.ResourceError((e as Error).message, this);
        }
      }),
    );

    this.container = serviceContainer(
      `${name}-container`,
      {
        startAfter: args.startAfter,
        service: "postfixadmin",
        containerName: `${platform.instanceName}-postfixadmin`,
        image: args.image,
        // The image's own entrypoint is the one-shot provisioning run.
        entrypoint: [SERVE_UI_ENTRYPOINT],
        // Internal only: administrators reach it through the ReverseProxy, which joins this network.
        networks: [{ network: args.internalNetwork, aliases: [POSTFIXADMIN_ALIAS] }],
        files: this.files,
        fileModes: { [POSTFIXADMIN_CONFIG_FILE]: "0600" },
        healthcheck: ["/usr/local/bin/healthcheck.sh"],
        // MariaDB is up and the schema provisioned before the config resolves: Apache starts in a second.
        startPeriodSeconds: 30,
      },
      { parent: this },
    );

    // Known without waiting for the container, so the ReverseProxy can be configured in parallel.
    this.httpEndpoint = pulumi.output<Endpoint>({ host: POSTFIXADMIN_ALIAS, port: POSTFIXADMIN_HTTP_PORT });

    this.registerOutputs({ httpEndpoint: this.httpEndpoint, files: this.files });
  }
}
