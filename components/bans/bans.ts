// Bans: one container (images/bans, Debian's fail2ban) reading the log files of the components
// that take logins and banning a client that fails too many, from every published port of the
// host at once: its rules go to Docker's DOCKER-USER chain, so the container shares the host's
// network namespace with NET_ADMIN, and nothing else (no Docker socket, no other capability).
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { componentLogMount } from "../host/component-logs";
import { containerFiles } from "../host/container-files";
import { jobMetricsMount } from "../host/scheduled-jobs";
import { serviceContainer } from "../host/service-container";
import { PlatformNetworks } from "../types";
import { BAN_CHAIN_ID_ENV, BANS_DB_DIR } from "./constants";
import { banChainId, bannedServices, renderBansFiles } from "./render";

const BANS_TYPE = "mail-platform:bans:Bans";

export interface BansArgs {
  platform: PlatformConfig;
  /** Image id built from images/bans. */
  image: pulumi.Input<string>;
  /** Unused by the container itself (it is on the host's network), but part of every service's arguments. */
  networks: PlatformNetworks;
  /** The components whose log files it reads: they must have written them before a jail can start. Ordering only. */
  startAfter: pulumi.Input<pulumi.Resource>[];
}

export class Bans extends pulumi.ComponentResource {
  /** Every file the container receives. */
  public readonly files: pulumi.Output<RenderedFiles>;

  constructor(name: string, args: BansArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(BANS_TYPE, name, {}, opts);
    const p = args.platform;
    this.files = containerFiles(this, {}, () => renderBansFiles(p));

    serviceContainer(
      `${name}-container`,
      {
        service: "bans",
        platform: p,
        image: args.image,
        networks: args.networks,
        alias: "bans",
        hostNetwork: true,
        capabilities: ["NET_ADMIN"],
        files: this.files,
        envs: [`${BAN_CHAIN_ID_ENV}=${banChainId(p.instanceName)}`],
        mounts: [
          { hostPath: p.volumePaths.bans, containerPath: BANS_DB_DIR },
          ...bannedServices(p).map((service) => componentLogMount(p, service, true)),
          jobMetricsMount(p),
        ],
        startPeriodSeconds: 20,
        startAfter: args.startAfter,
      },
      { parent: this },
    );
    this.registerOutputs({ files: this.files });
  }
}
