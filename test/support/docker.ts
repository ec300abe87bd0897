// Test-side Docker helpers: build a project image and run a command in it with rendered config
// files in place, the way a deployed container receives them (uploaded before start).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildImage as buildWithEngine, refuseUnsupportedBuilder } from "../e2e/harness/build";
import { Engine } from "../e2e/harness/engine";

export const BASE_IMAGE = process.env.MAIL_PLATFORM_BASE_IMAGE ?? "mail-platform/debian:trixie";
const ROOT = path.resolve(__dirname, "..", "..");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the docker CLI; never throws. */
export function docker(args: string[], input?: string): RunResult {
  const r = spawnSync("docker", args, { encoding: "utf8", input, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Runs the docker CLI and returns its trimmed output; throws with both streams when it fails. */
export function mustDocker(args: string[]): string {
  const r = docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim();
}

/**
 * Copies files (container path -> content) into a created, not yet started, container. The
 * copies are root-owned (docker cp keeps the copying user) with `mode`, as the deployment's uploads.
 */
export function copyInto(container: string, files: Record<string, string>, mode = 0o600): void {
  if (!Object.keys(files).length) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-files-"));
  try {
    for (const [file, content] of Object.entries(files)) {
      const target = path.join(dir, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content, { mode });
    }
    mustDocker(["cp", `${dir}/.`, `${container}:/`]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let builderChecked: Promise<void> | undefined;

/**
 * Builds images/<service> and returns its tag. It builds the way the e2e deploy (and the real
 * provider) does, BuildKit through the engine API, so both share one layer cache.
 */
export async function buildImage(service: string): Promise<string> {
  const tag = `mail-platform-test/${service}:latest`;
  // The docker CLI these helpers run talks to DOCKER_HOST; the builds must reach the same engine.
  const engine = process.env.DOCKER_HOST ? Engine.fromHost(process.env.DOCKER_HOST) : new Engine();
  builderChecked ??= refuseUnsupportedBuilder(engine);
  await builderChecked;
  await buildWithEngine(engine, { context: path.join(ROOT, "images", service), tag, buildArgs: { BASE_IMAGE } });
  return tag;
}

/**
 * Runs `command` in a fresh container of `image` whose file system has `files` (container path ->
 * content) copied in before start. `entrypoint` replaces the image's entrypoint when given.
 */
export function runWithFiles(
  image: string,
  files: Record<string, string>,
  command: string[],
  entrypoint?: string,
  /** Names that resolve to 127.0.0.1 in the container, e.g. the platform's service aliases. */
  loopbackHosts: string[] = [],
): RunResult {
  const create = docker([
    "create",
    "--network",
    "none",
    ...loopbackHosts.flatMap((h) => ["--add-host", `${h}:127.0.0.1`]),
    ...(entrypoint ? ["--entrypoint", entrypoint] : []),
    image,
    ...command,
  ]);
  if (create.code !== 0) throw new Error(`docker create failed: ${create.stderr}`);
  const id = create.stdout.trim();
  try {
    copyInto(id, files, 0o644);
    return docker(["start", "-a", id]);
  } finally {
    docker(["rm", "-f", id]);
  }
}
