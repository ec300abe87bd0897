// Each component's log file: what every service container writes (through images/lib/log-to-file,
// the front of every image's entrypoint) and what the readers (the monitoring's Postfix exporter
// and mtail, the brute-force bans) mount. One directory per service under `volumePaths.logs`, the
// same path inside every container, so a reader finds `postfix/postfix.log` where Postfix wrote it.
import * as fs from "fs";
import * as path from "path";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { IMAGES_DIR, SHARED_IMAGE_DIR } from "./docker-host";

/** Where every container sees the log directories. */
const LOG_ROOT = "/var/log/mail-platform";

/** Inside the image: the entrypoint's front, which runs the command with its output logged. */
export const LOG_TO_FILE = "/usr/local/bin/log-to-file";

type LogPlatform = Pick<PlatformConfig, "volumePaths" | "logs">;

/** The service's log file, as every container sees it. */
export function componentLogFile(service: string): string {
  return path.posix.join(LOG_ROOT, service, `${service}.log`);
}

/** The host directory of one service's log, mounted where componentLogFile points; read-only for readers. */
export function componentLogMount(
  p: LogPlatform,
  service: string,
  readOnly = false,
): { hostPath: string; containerPath: string; readOnly?: boolean } {
  return {
    hostPath: path.posix.join(p.volumePaths.logs, service),
    containerPath: path.posix.join(LOG_ROOT, service),
    ...(readOnly ? { readOnly } : {}),
  };
}

/** What tells log-to-file to write the service's file, and how to rotate it (stack config `logs`). */
export function componentLogEnvs(p: LogPlatform, service: string): string[] {
  return [
    `MAIL_PLATFORM_LOG_FILE=${componentLogFile(service)}`,
    `MAIL_PLATFORM_LOG_MAX_BYTES=${p.logs.maxFileMb * 1024 * 1024}`,
    `MAIL_PLATFORM_LOG_KEEP=${p.logs.keepFiles}`,
  ];
}

/**
 * log-to-file as an upload, for an upstream image that lacks it (serviceContainer's logFile
 * "command"): the same script the project's images copy, mode 0755 in the caller's file modes.
 */
export function logToFileUpload(): RenderedFiles {
  return { [LOG_TO_FILE]: fs.readFileSync(path.join(IMAGES_DIR, SHARED_IMAGE_DIR, "log-to-file"), "utf8") };
}
