// The one place that turns "a service of the platform" into a docker.Container, so every service
// gets the same restart policy, log rotation, health-gated start and config-hash label.
import * as crypto from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { RenderedFiles } from "../../render/template";
import { NetworkRef } from "../types";

export interface PublishedPort {
  /** Port inside the container. */
  internal: number;
  /** Port on the Docker host. */
  external: number;
}

export interface DataMount {
  /** Directory on the Docker host; it survives any replacement of the container. */
  hostPath: string;
  containerPath: string;
}

export interface ServiceContainerArgs {
  /** The service's folder under images/ and config-templates/, e.g. `postfix`; also a label. */
  service: string;
  /** Full container name, e.g. `mp-dev-postfix`. */
  containerName: string;
  /** Image id to run. */
  image: pulumi.Input<string>;
  /** Networks to join and the aliases this container answers to on each. */
  networks: { network: NetworkRef; aliases: pulumi.Input<string>[] }[];
  /** Config files uploaded before the container starts: container path -> content. */
  files: pulumi.Input<RenderedFiles>;
  /** Octal modes of uploaded files (container path -> "0755"); others get "0644". Keys go in "0600". */
  fileModes?: Record<string, string>;
  /** Host address the ports are published on. */
  bindAddress?: string;
  ports?: PublishedPort[];
  mounts?: DataMount[];
  /** tmpfs mounts: container path -> mount options. */
  tmpfs?: Record<string, string>;
  envs?: pulumi.Input<string>[];
  /** Resolvers for names outside the platform; Docker's embedded DNS still answers container names. Defaults to the host's. */
  dnsResolvers?: string[];
  command?: string[];
  /** Replaces the image's entrypoint (Docker then drops the image's CMD as well). Defaults to the image's. */
  entrypoint?: string[];
  /** Exit 0 when the service answers; the container is only reported created once healthy. */
  healthcheck: string[];
  /** Time a cold start may take before failed checks count. Defaults to 60 s. */
  startPeriodSeconds?: number;
  /** Memory limit in MiB. Defaults to none. */
  memoryMb?: number;
  /** Seconds `docker stop` waits before SIGKILL, so queues get flushed. Defaults to 30. */
  stopTimeoutSeconds?: number;
  /** Extra labels. */
  labels?: Record<string, pulumi.Input<string>>;
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
export function goDuration(seconds: number): string {
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
export function unappliedSettingsHash(settings: { tmpfs?: Record<string, string>; healthcheck: unknown }): string {
  return crypto.createHash("sha256").update(JSON.stringify([settings.tmpfs ?? {}, settings.healthcheck])).digest("hex").slice(0, 16);
}

export function serviceContainer(name: string, args: ServiceContainerArgs, opts: pulumi.CustomResourceOptions): docker.Container {
  const files = pulumi.output(args.files);
  const modes = args.fileModes ?? {};
  // The hash of secret material reveals nothing about it, and a readable hash is what makes a
  // config change reviewable in a preview.
  const configHash = pulumi.unsecret(files.apply(filesHash));
  const healthcheck = {
    tests: ["CMD", ...args.healthcheck],
    interval: goDuration(10),
    timeout: goDuration(5),
    retries: 3,
    startPeriod: goDuration(args.startPeriodSeconds ?? 60),
  };
  return new docker.Container(
    name,
    {
      name: args.containerName,
      image: args.image,
      hostname: args.containerName,
      restart: "unless-stopped",
      mustRun: true,
      wait: true,
      waitTimeout: (args.startPeriodSeconds ?? 60) + 120,
      stopTimeout: args.stopTimeoutSeconds ?? 30,
      destroyGraceSeconds: args.stopTimeoutSeconds ?? 30,
      networksAdvanced: args.networks.map((n) => ({ name: n.network.name, aliases: n.aliases })),
      ports: (args.ports ?? []).map((p) => ({ internal: p.internal, external: p.external, ip: args.bindAddress ?? "0.0.0.0", protocol: "tcp" })),
      volumes: (args.mounts ?? []).map((m) => ({ hostPath: m.hostPath, containerPath: m.containerPath })),
      tmpfs: args.tmpfs,
      envs: args.envs,
      dns: args.dnsResolvers?.length ? args.dnsResolvers : undefined,
      command: args.command,
      entrypoints: args.entrypoint,
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
        ...Object.entries(args.labels ?? {}).map(([label, value]) => ({ label, value })),
      ],
    },
    { ...opts, dependsOn: [...dependsOnList(opts.dependsOn), ...(args.startAfter ?? [])] },
  );
}

function dependsOnList(d: pulumi.CustomResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
  return d === undefined ? [] : Array.isArray(d) ? d : [d as pulumi.Input<pulumi.Resource>];
}
