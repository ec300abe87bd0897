// The one place that turns "a service of the platform" into a docker.Container, so every service
// gets the same name, networks, resolvers, restart policy, log file and rotation, health-gated
// start and config-hash label.
import * as crypto from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { PlatformNetworks } from "../types";
import { componentLogEnvs, componentLogMount, LOG_TO_FILE } from "./component-logs";

/** The health check every image under images/ ships: it exits 0 once its daemon answers. */
export const HEALTHCHECK = "/usr/local/bin/healthcheck";

/** The stack settings every container takes the same way. */
type ServicePlatform = Pick<PlatformConfig, "instanceName" | "bindAddress" | "dnsResolvers" | "volumePaths" | "logs">;

interface PublishedPort {
  /** Port inside the container. */
  internal: number;
  /** Port on the Docker host, published on the stack's bindAddress. */
  external: number;
}

interface DataMount {
  /** Directory on the Docker host; it survives any replacement of the container. */
  hostPath: string;
  containerPath: string;
  /** Mounted read-only: the container reads what another one writes there (certificates, rules). */
  readOnly?: boolean;
}

export interface ServiceContainerArgs {
  /**
   * The service: the container is `<instanceName>-<service>` and carries it as a label; for a
   * project image, also its folder under images/.
   */
  service: string;
  platform: ServicePlatform;
  /** Image id to run. */
  image: pulumi.Input<string>;
  networks: PlatformNetworks;
  /** The name other containers reach this one by on the internal network. */
  alias: string;
  /**
   * Joins the edge network too: for published ports, or to reach the Internet (MX hosts, DNS
   * blocklists, freshclam's mirror, an archive server elsewhere). Such a container, and only
   * such, gets the stack's dnsResolvers: they answer names outside the platform, and a container
   * on the internal network alone has no route to them. Docker's embedded DNS answers the
   * platform's own names on either network.
   */
  edge?: boolean;
  /**
   * Runs in the Docker host's network namespace instead of the platform's networks (`networks`,
   * `alias` and `edge` then do nothing, and Docker allows no hostname or DNS servers of its own):
   * only for what acts on the host's own packet filter, the bans.
   */
  hostNetwork?: boolean;
  /** Linux capabilities added to Docker's default set, e.g. NET_ADMIN for the host's packet filter. */
  capabilities?: string[];
  /** Config files uploaded before the container starts: container path -> content. */
  files: pulumi.Input<RenderedFiles>;
  /** Octal modes of uploaded files (container path -> "0755"); others get "0644". Keys go in "0600". */
  fileModes?: Record<string, string>;
  ports?: PublishedPort[];
  mounts?: DataMount[];
  /** tmpfs mounts: container path -> mount options. */
  tmpfs?: Record<string, string>;
  envs?: pulumi.Input<string>[];
  command?: string[];
  /**
   * Replaces the image's entrypoint (Docker then drops the image's CMD as well). Defaults to the
   * image's. log-to-file stays in front of it, as in every image's own.
   */
  entrypoint?: string[];
  /**
   * How the service's output reaches its log file (`<volumePaths.logs>/<service>/<service>.log`):
   * "image" (the default) for the project's images, whose entrypoint starts with log-to-file;
   * "command" for an upstream image that runs log-to-file uploaded among its files, in front of
   * `command`; "none" for an upstream image whose entrypoint must see its own command first
   * (its output stays in the container's log only).
   */
  logFile?: "image" | "command" | "none";
  /**
   * Exits 0 when the service answers; the container is only reported created once healthy.
   * Defaults to the image's HEALTHCHECK; an upstream image (Piler, Manticore), which ships none,
   * names a command of its own.
   */
  healthcheck?: string[];
  /** Time a cold start may take before failed checks count. Defaults to 60 s. */
  startPeriodSeconds?: number;
  /** Memory limit in MiB. Defaults to none. */
  memoryMb?: number;
  /** Seconds `docker stop` waits before SIGKILL, so queues get flushed. Defaults to 30. */
  stopTimeoutSeconds?: number;
  /**
   * Resources this service starts after, for ordering only. They go into `dependsOn`, never into
   * an input: the engine re-creates every container whose replace-forcing inputs derive from a
   * replaced container's outputs, so a re-run of, say, the provisioning run must not reach here.
   */
  startAfter?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Seconds in the form Go's time.Duration prints them (`1m30s`, not `90s`): the provider stores
 * Docker's value read back that way, and any other spelling shows as a change on every `up`.
 */
function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h ? `${h}h${m}m${s}s` : m ? `${m}m${s}s` : `${s}s`;
}

/** sha256 of the rendered files, for a label: a config change then shows in `pulumi preview`. */
export function filesHash(files: RenderedFiles): string {
  const h = crypto.createHash("sha256");
  for (const k of Object.keys(files).sort()) h.update(k).update("\0").update(files[k]).update("\0");
  return h.digest("hex").slice(0, 16);
}

/**
 * The settings the provider writes to its state but never applies to a running container (tmpfs,
 * and the health check in provider releases before kreuzwerker#989), hashed into a label: labels
 * force a replacement, so a changed setting reaches the container under every provider release.
 */
function unappliedSettingsHash(settings: { tmpfs?: Record<string, string>; healthcheck: unknown }): string {
  return crypto
    .createHash("sha256")
    .update(JSON.stringify([settings.tmpfs ?? {}, settings.healthcheck]))
    .digest("hex")
    .slice(0, 16);
}

export function serviceContainer(name: string, args: ServiceContainerArgs, opts: pulumi.CustomResourceOptions): docker.Container {
  const p = args.platform;
  const containerName = `${p.instanceName}-${args.service}`;
  const files = pulumi.output(args.files);
  const modes = args.fileModes ?? {};
  // The hash of secret material reveals nothing about it, and a readable hash is what makes a
  // config change reviewable in a preview.
  const configHash = pulumi.unsecret(files.apply(filesHash));
  const healthcheck = {
    tests: ["CMD", ...(args.healthcheck ?? [HEALTHCHECK])],
    interval: goDuration(10),
    timeout: goDuration(5),
    retries: 3,
    startPeriod: goDuration(args.startPeriodSeconds ?? 60),
  };
  const logFile = args.logFile ?? "image";
  const logging =
    logFile === "none"
      ? { mounts: [], envs: [] }
      : { mounts: [componentLogMount(p, args.service)], envs: componentLogEnvs(p, args.service) };
  const networks = [
    { name: args.networks.internal.name, aliases: [args.alias] },
    ...(args.edge ? [{ name: args.networks.edge.name, aliases: [] }] : []),
  ];
  const network = args.hostNetwork
    ? { networkMode: "host" }
    : { hostname: containerName, networksAdvanced: networks, dns: args.edge && p.dnsResolvers.length ? p.dnsResolvers : undefined };
  return new docker.Container(
    name,
    {
      name: containerName,
      image: args.image,
      ...network,
      ...(args.capabilities?.length ? { capabilities: { adds: args.capabilities } } : {}),
      restart: "unless-stopped",
      mustRun: true,
      wait: true,
      waitTimeout: (args.startPeriodSeconds ?? 60) + 120,
      stopTimeout: args.stopTimeoutSeconds ?? 30,
      destroyGraceSeconds: args.stopTimeoutSeconds ?? 30,
      ports: (args.ports ?? []).map((port) => ({ internal: port.internal, external: port.external, ip: p.bindAddress, protocol: "tcp" })),
      volumes: [...(args.mounts ?? []), ...logging.mounts].map((m) => ({
        hostPath: m.hostPath,
        containerPath: m.containerPath,
        ...(m.readOnly ? { readOnly: true } : {}),
      })),
      tmpfs: args.tmpfs,
      envs: args.envs || logging.envs.length ? [...(args.envs ?? []), ...logging.envs] : undefined,
      command: logFile === "command" && args.command ? [LOG_TO_FILE, ...args.command] : args.command,
      entrypoints: args.entrypoint && logFile === "image" ? [LOG_TO_FILE, ...args.entrypoint] : args.entrypoint,
      uploads: files.apply((f) =>
        Object.keys(f)
          .sort()
          .map((file) => ({ file, content: f[file], permissions: modes[file] ?? "0644" })),
      ),
      healthcheck,
      memory: args.memoryMb,
      // No swap beyond the limit. Left unset, Docker makes it twice the memory, which the
      // provider reads back as a change on every `up`.
      memorySwap: args.memoryMb,
      logDriver: "json-file",
      logOpts: { "max-size": "20m", "max-file": "5" },
      labels: [
        { label: "mail-platform.service", value: args.service },
        { label: "mail-platform.config-hash", value: configHash },
        { label: "mail-platform.settings-hash", value: unappliedSettingsHash({ tmpfs: args.tmpfs, healthcheck }) },
      ],
    },
    { ...opts, dependsOn: [...dependsOnList(opts.dependsOn), ...(args.startAfter ?? [])] },
  );
}

function dependsOnList(d: pulumi.CustomResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
  return d === undefined ? [] : Array.isArray(d) ? d : [d as pulumi.Input<pulumi.Resource>];
}
