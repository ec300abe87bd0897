// Test-side Docker helpers, the one way every test (unit, daemons, e2e) talks to the docker CLI:
// build a project image and run a command in it with rendered config files in place, the way a
// deployed container receives them (uploaded before start); exec, inspect, logs, health waits.
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
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

/** Runs the docker CLI, with `input` on its stdin when given; never throws. The one place tests start `docker`. */
export function docker(args: string[], input?: string): RunResult {
  // A long log (docker logs --since) is the largest output a test reads.
  const r = spawnSync("docker", args, { encoding: "utf8", input, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Runs the docker CLI and returns its trimmed output; throws with both streams when it fails. */
export function mustDocker(args: string[]): string {
  const r = docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim();
}

/** Runs `command` in a running container (`docker exec`), with `input` on its stdin when given; never throws. */
export function dockerExec(container: string, command: string[], input?: string): RunResult {
  return docker(["exec", ...(input !== undefined ? ["-i"] : []), container, ...command], input);
}

/** `dockerExec` without blocking the test's event loop, for commands that run while the test does other things. */
export function dockerExecAsync(container: string, command: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn("docker", ["exec", container, ...command]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: `${stderr}${e.message}` }));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** What `docker inspect -f <format>` prints for a container (or the object of `type`), trimmed; empty when there is no such object. */
export function inspect(name: string, format: string, type: "container" | "network" | "image" = "container"): string {
  return docker(["inspect", "--type", type, "-f", format, name]).stdout.trim();
}

/** A container's log, both streams (`docker logs [flags] <container>`), e.g. `["--tail", "60"]` or `["--since", iso]`. */
export function containerLog(container: string, flags: string[] = []): string {
  const r = docker(["logs", ...flags, container]);
  return `${r.stdout}${r.stderr}`;
}

/**
 * `docker create` flags that run the image's health check every second (its own interval is
 * meant for production), so `waitHealthy` sees a test's container ready as soon as it is.
 */
export function quickHealthcheck(retries = 60): string[] {
  return ["--health-cmd", "/usr/local/bin/healthcheck", "--health-interval", "1s", "--health-retries", String(retries)];
}

/** Waits until Docker reports the container running and healthy; fails with the end of its log otherwise. */
export async function waitHealthy(container: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let status = "";
  while (Date.now() < deadline) {
    status = inspect(container, "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}");
    if (status === "running healthy") return;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.fail(
    `${container} is "${status}" after ${timeoutMs / 1000} s, expected "running healthy":\n${containerLog(container, ["--tail", "30"])}`,
  );
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

export interface TestContainer {
  name: string;
  image: string;
  /** The network it is created on (`host` for the host's namespace). */
  network: string;
  /** More networks, connected before it starts. */
  moreNetworks?: string[];
  /** Bind mounts, `host:container[:ro]`. */
  mounts?: string[];
  /** Files handed in before it starts (container path -> content), root only as the deployment's secrets. */
  files?: Record<string, string>;
  /** Further `docker create` flags (capabilities, environment). */
  flags?: string[];
}

/**
 * A container of the image as the deployment runs it, its health check run every second: created,
 * connected, handed its files, started, and returned once healthy.
 */
export async function startTestContainer(c: TestContainer): Promise<void> {
  mustDocker(
    ["create", "--name", c.name, "--network", c.network, ...quickHealthcheck(), ...(c.flags ?? [])]
      .concat((c.mounts ?? []).flatMap((m) => ["-v", m]))
      .concat([c.image]),
  );
  for (const n of c.moreNetworks ?? []) mustDocker(["network", "connect", n, c.name]);
  copyInto(c.name, c.files ?? {}, 0o600);
  mustDocker(["start", c.name]);
  await waitHealthy(c.name, 60_000);
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
  await buildWithEngine(engine, {
    context: path.join(ROOT, "images"),
    dockerfile: `${service}/Dockerfile`,
    tag,
    buildArgs: { BASE_IMAGE },
  });
  return tag;
}

export interface RunWithFilesOptions {
  /** Replaces the image's entrypoint. */
  entrypoint?: string;
  /** Names that resolve to 127.0.0.1 in the container, e.g. the platform's service aliases. */
  loopbackHosts?: string[];
  /** The network the container joins; `none` by default (nothing to reach, nothing to wait for). */
  network?: string;
  /** The container's name; Docker picks one by default. */
  name?: string;
  /** Mode of the copied files: 0644 by default, 0600 for secret files as the deployment uploads them. */
  fileMode?: number;
}

/**
 * Runs `command` in a fresh container of `image` whose file system has `files` (container path ->
 * content) copied in before start, waits for it to end and removes it.
 */
export function runWithFiles(image: string, files: Record<string, string>, command: string[], opts: RunWithFilesOptions = {}): RunResult {
  const create = docker([
    "create",
    ...(opts.name ? ["--name", opts.name] : []),
    "--network",
    opts.network ?? "none",
    ...(opts.loopbackHosts ?? []).flatMap((h) => ["--add-host", `${h}:127.0.0.1`]),
    ...(opts.entrypoint ? ["--entrypoint", opts.entrypoint] : []),
    image,
    ...command,
  ]);
  if (create.code !== 0) throw new Error(`docker create failed: ${create.stderr}`);
  const id = create.stdout.trim();
  try {
    copyInto(id, files, opts.fileMode ?? 0o644);
    return docker(["start", "--attach", id]);
  } finally {
    docker(["rm", "-f", id]);
  }
}

/** A run's exit code and both streams, for a failure message; `tail` keeps only the last characters of each. */
export function explain(r: RunResult, tail?: number): string {
  const end = (text: string) => (tail === undefined ? text : text.slice(-tail));
  return `exit ${r.code}\n--- stdout\n${end(r.stdout)}\n--- stderr\n${end(r.stderr)}`;
}

/** Creates an internal network (nothing on it reaches beyond its own containers) labelled `mail-platform.test=<label>`; returns its subnet. */
export function createInternalNetwork(name: string, label: string): string {
  mustDocker(["network", "create", "--internal", "--label", `mail-platform.test=${label}`, name]);
  return mustDocker(["network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", name]);
}

/** Removes every container named `<prefix>-...` with its volumes, then the network: what a test file made, whatever state it is in. */
export function removeTestContainers(prefix: string, network: string): void {
  const leftovers = docker(["ps", "-aq", "--filter", `name=^${prefix}-`])
    .stdout.split("\n")
    .filter(Boolean);
  if (leftovers.length) docker(["rm", "-f", "-v", ...leftovers]);
  docker(["network", "rm", network]);
}
