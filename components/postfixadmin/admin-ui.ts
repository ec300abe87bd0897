// PostfixAdmin's web UI (Debian's package, Apache + mod_php) behind the ReverseProxy: the company's
// administrators manage domains, mailboxes and aliases in the tables the platform's daemons read.
// It runs the same image as the provisioning run (./provisioning.ts), with another entrypoint,
// and the same config.local.php.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { containerFiles } from "../host/container-files";
import { serviceContainer } from "../host/service-container";
import { PlatformNetworks, PostfixadminAccess, WebApp } from "../types";
import { POSTFIXADMIN_ALIAS, POSTFIXADMIN_PORTS, SERVE_UI_ENTRYPOINT } from "./constants";
import { POSTFIXADMIN_UI_FILE_MODES, renderPostfixadminUiFiles } from "./render";

const POSTFIXADMIN_UI_TYPE = "mail-platform:postfixadmin:PostfixAdminUi";

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

export interface PostfixAdminUiArgs {
  platform: PlatformConfig;
  /** Image id built from images/postfixadmin (the same image as the provisioning run). */
  image: pulumi.Input<string>;
  /** The UI joins the internal network only, where MariaDB and the ReverseProxy are. */
  networks: PlatformNetworks;
  /** Database.postfixadmin: PostfixAdmin's database account and setup password hash. Secret. */
  access: pulumi.Input<PostfixadminAccess>;
  /** What this service starts after (Database.ready): ordering only, see ServiceContainerArgs.startAfter. */
  startAfter?: pulumi.Input<pulumi.Resource>[];
}

export class PostfixAdminUi extends pulumi.ComponentResource {
  /** What the ReverseProxy serves: web.adminHostname, proxied to `postfixadmin:80`. */
  public readonly webApp: pulumi.Output<WebApp>;
  /** The files uploaded into the container (secret: config.local.php holds the database password). */
  public readonly files: pulumi.Output<RenderedFiles>;
  /** The PostfixAdmin UI container. */
  public readonly container: docker.Container;

  constructor(name: string, args: PostfixAdminUiArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(POSTFIXADMIN_UI_TYPE, name, {}, opts);
    const platform = args.platform;

    this.files = containerFiles(this, { access: args.access }, ({ access }) => renderPostfixadminUiFiles({ platform, access }));

    this.container = serviceContainer(
      `${name}-container`,
      {
        service: "postfixadmin",
        platform,
        image: args.image,
        // The image's own entrypoint is the one-shot provisioning run.
        entrypoint: [SERVE_UI_ENTRYPOINT],
        // Internal only: administrators reach it through the ReverseProxy, which joins this network.
        networks: args.networks,
        alias: POSTFIXADMIN_ALIAS,
        files: this.files,
        fileModes: POSTFIXADMIN_UI_FILE_MODES,
        // MariaDB is up and the schema provisioned before it starts: Apache starts in a second.
        startPeriodSeconds: 30,
        startAfter: args.startAfter,
      },
      { parent: this },
    );

    // Known without waiting for the container, so the ReverseProxy can be configured in parallel.
    this.webApp = pulumi.output<WebApp>({
      hostname: platform.webHostnames.admin,
      upstream: { host: POSTFIXADMIN_ALIAS, port: POSTFIXADMIN_PORTS.http },
      csp: POSTFIXADMIN_CSP,
    });

    this.registerOutputs({ webApp: this.webApp, files: this.files });
  }
}
