// The resolved platform settings: the validated stack config plus everything derived from it
// once (tuning from the host's cores, a host path per data volume, the name prefix).
import * as os from "os";
import * as path from "path";
import { ParsedStack, STORAGE_VOLUMES, StorageVolume } from "./schema";

export interface Tuning {
  hostCpus: number;
  postfixProcessLimit: number;
  amavisChildren: number;
  clamdThreads: number;
  lmtpConcurrency: number;
  amavisTmpMb: number;
}

export interface PlatformConfig extends ParsedStack {
  /** Prefix of every Docker object's name. */
  instanceName: string;
  tuning: Tuning;
  /** Host path of each data volume. */
  volumePaths: Record<StorageVolume, string>;
  /** Host names of the web apps, defaults applied (each is served only when its feature is on). */
  webHostnames: WebHostnames;
}

interface WebHostnames {
  webmail: string;
  admin: string;
  archive: string;
  monitoring: string;
}

/** The web apps' host names, each defaulting to a name under the first domain. */
function webHostnames(stack: Pick<ParsedStack, "web" | "domains" | "monitoring">): WebHostnames {
  const first = stack.domains[0].name;
  return {
    webmail: stack.web.webmailHostname ?? `webmail.${first}`,
    admin: stack.web.adminHostname ?? `postfixadmin.${first}`,
    archive: stack.web.archiveHostname ?? `archive.${first}`,
    monitoring: stack.monitoring.hostname ?? `monitor.${first}`,
  };
}

/** The host names the proxy serves for the web features that are on. */
export function servedWebHostnames(p: Pick<PlatformConfig, "features" | "webHostnames" | "archive">): string[] {
  return [
    ...(p.features.webmail ? [p.webHostnames.webmail] : []),
    ...(p.features.admin ? [p.webHostnames.admin] : []),
    ...(p.features.archive && !p.archive.intake ? [p.webHostnames.archive] : []),
    ...(p.features.monitoring ? [p.webHostnames.monitoring] : []),
  ];
}

export function resolvePlatform(stack: ParsedStack, stackName: string, localCpus: number = os.cpus().length): PlatformConfig {
  const cpus = stack.tuning.hostCpus ?? localCpus;
  const tuning: Tuning = {
    hostCpus: cpus,
    // Workers scale with cores. Postfix's own default (100) is sized for
    // a dedicated host; a container sharing 2 cores with Amavis and ClamAV drowns at that level.
    postfixProcessLimit: stack.tuning.postfixProcessLimit ?? 25 * cpus,
    amavisChildren: stack.tuning.amavisChildren ?? cpus + 1,
    clamdThreads: stack.tuning.clamdThreads ?? 2 * cpus,
    lmtpConcurrency: stack.tuning.lmtpConcurrency ?? 2 * cpus,
    amavisTmpMb: stack.tuning.amavisTmpMb ?? 1024,
  };
  const volumePaths = Object.fromEntries(
    (Object.keys(STORAGE_VOLUMES) as StorageVolume[]).map((v) => {
      const root = STORAGE_VOLUMES[v] === "ssd" ? stack.storage.ssdRoot : stack.storage.bulkRoot;
      return [v, stack.storage.volumes[v] ?? path.posix.join(root, v)];
    }),
  ) as Record<StorageVolume, string>;
  return { ...stack, instanceName: stack.instanceName ?? `mp-${stackName}`, tuning, volumePaths, webHostnames: webHostnames(stack) };
}
