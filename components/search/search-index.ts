// The SearchIndex: Manticore Search holding the built-in Piler's full-text index, in upstream's
// image (Debian ships no Manticore). Piler writes each archived message into it as it arrives
// (real-time tables, SQL over the MySQL protocol) and its web UI searches it. The configuration
// is rendered by ./render.ts; this file only wires it into a container.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { containerFiles } from "../host/container-files";
import { serviceContainer } from "../host/service-container";
import { Endpoint, PlatformNetworks } from "../types";
import { MANTICORE_ALIAS, MANTICORE_CONFIG_FILE, MANTICORE_DATA_DIR, MANTICORE_PORTS } from "./constants";
import { renderSearchFiles, searchMemoryMb } from "./render";

const SEARCH_INDEX_TYPE = "mail-platform:search:SearchIndex";

export interface SearchIndexArgs {
  platform: PlatformConfig;
  /** The index joins the internal network only, where Piler is: it has no authentication, so nothing else may reach it. */
  networks: PlatformNetworks;
}

export class SearchIndex extends pulumi.ComponentResource {
  /** Manticore's MySQL protocol (`manticore:9306`), for Piler's daemon and web UI. */
  public readonly sqlEndpoint: pulumi.Output<Endpoint>;
  /** The rendered config files uploaded into the container (secret by rule, though nothing in them is). */
  public readonly files: pulumi.Output<RenderedFiles>;
  /** The Manticore container. */
  public readonly container: docker.Container;

  constructor(name: string, args: SearchIndexArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(SEARCH_INDEX_TYPE, name, {}, opts);
    const platform = args.platform;

    // Upstream's image, pinned by search.image. Kept locally: `pulumi destroy` or an image change
    // must not delete an image the host may have no registry access to pull again.
    const image = new docker.RemoteImage(`${name}-image`, { name: platform.search.image, keepLocally: true }, { parent: this });

    this.files = containerFiles(this, {}, () => renderSearchFiles({ platform }));

    this.container = serviceContainer(
      `${name}-container`,
      {
        service: "manticore",
        platform,
        image: image.imageId,
        networks: args.networks,
        alias: MANTICORE_ALIAS,
        files: this.files,
        // The image's entrypoint chowns the data directory and drops to the manticore user when
        // the command starts with `searchd`; naming the config keeps image defaults out of it.
        command: ["searchd", "--nodetach", "--config", MANTICORE_CONFIG_FILE],
        // Not behind log-to-file: the entrypoint looks at the command's first word. searchd's
        // log stays in the container's; Piler's own errors are in piler/piler.log.
        logFile: "none",
        // The index on fast storage, on a host path: it survives every replacement of this
        // container (new image, changed config), and rebuilding it from the archive
        // (`reindex -a` in Piler) takes hours on a large store.
        mounts: [{ hostPath: platform.volumePaths.index, containerPath: MANTICORE_DATA_DIR }],
        // The image ships the MySQL client; a listing of tables only succeeds once the tables are loaded.
        healthcheck: ["mysql", "-h", "127.0.0.1", "-P", String(MANTICORE_PORTS.sql), "-e", "SHOW TABLES"],
        // A start after a crash replays the binary log first.
        startPeriodSeconds: 120,
        memoryMb: searchMemoryMb(),
        // searchd writes its RAM chunks out on SIGTERM; a SIGKILL leaves that to the log replay.
        stopTimeoutSeconds: 60,
      },
      // Never two searchd on one data directory, even for a moment.
      { parent: this, deleteBeforeReplace: true },
    );

    // Known without waiting for the container, so Piler's container is configured in parallel.
    this.sqlEndpoint = pulumi.output<Endpoint>({ host: MANTICORE_ALIAS, port: MANTICORE_PORTS.sql });

    this.registerOutputs({ sqlEndpoint: this.sqlEndpoint, files: this.files });
  }
}
