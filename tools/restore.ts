// npm run restore -- <Pulumi.<stack>.yaml> [--snapshot ID] [--repository NAME] [--yes]
// Restores a whole stack from one snapshot, on the Docker host (DOCKER_HOST is honoured), typically
// onto a fresh deployment: the same stack config and Pulumi state, `pulumi up` done, the data gone.
//  1. Stops every container of the stack except MariaDB and the backup: nothing writes into the
//     mailboxes or reads a half-loaded database; mail sent meanwhile waits at its sender (port 25
//     is closed), none is accepted and lost.
//  2. Restores the backed-up directories in place (mailboxes with Sieve scripts, ACME state,
//     quarantine, the built-in archive's store) through a one-off container of the backup image:
//     the backup container's own mounts, but the data writable, and its network. Its configuration
//     and secrets are streamed from the backup container, never written on the host.
//  3. Loads every database dump of the snapshot into MariaDB (as its root, over the socket in that
//     container): PostfixAdmin (passwords, aliases), Roundcube (settings, identities),
//     SpamAssassin (Bayes), Piler.
//  4. Starts what it stopped, waits for it to be healthy, and rebuilds Dovecot's indexes
//     (`doveadm force-resync`).
// Without --yes it shows the snapshot and what it would do, and changes nothing.
import { spawn, spawnSync } from "child_process";
import * as path from "path";
import { readStackFile } from "../config/stack-file";
import { resolvePlatform } from "../config/platform";
import { formatProblems, validateStack } from "../config/validate";
import { BACKUP_DATA_ROOT, BACKUP_CONF_FILE } from "../components/backup/constants";

interface Options {
  file: string;
  snapshot?: string;
  repository?: string;
  yes: boolean;
}

function parseArgs(argv: string[]): Options {
  const usage = "usage: npm run restore -- <Pulumi.<stack>.yaml> [--snapshot ID] [--repository NAME] [--yes]";
  const o: Partial<Options> = { yes: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--yes") o.yes = true;
    else if (a === "--snapshot" || a === "--repository") {
      const v = argv[++i];
      if (!v) fail(usage);
      if (a === "--snapshot") o.snapshot = v;
      else o.repository = v;
    } else if (a.startsWith("-") || o.file) fail(usage);
    else o.file = a;
  }
  if (!o.file) fail(usage);
  return o as Options;
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function log(message: string): void {
  console.log(`${new Date().toISOString()} restore: ${message}`);
}

/** A docker CLI call; fails with its stderr unless it succeeds. */
function docker(args: string[]): string {
  const r = spawnSync("docker", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0)
    throw new Error(`docker ${args.slice(0, 3).join(" ")} ...: exit ${r.status}: ${(r.stderr || r.error?.message || "").trim()}`);
  return r.stdout;
}

/** `docker <from...> | docker <to...>`, stderr of both shown; returns the bytes that went through. */
function pipe(from: string[], to: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const a = spawn("docker", from, { stdio: ["ignore", "pipe", "inherit"] });
    const b = spawn("docker", to, { stdio: ["pipe", "inherit", "inherit"] });
    let bytes = 0;
    a.stdout.on("data", (chunk: Buffer) => (bytes += chunk.length));
    a.stdout.pipe(b.stdin);
    const codes: (number | null)[] = [];
    const done = (which: string) => (code: number | null) => {
      codes.push(code);
      if (code !== 0) a.kill();
      if (codes.length < 2) return;
      if (codes.every((c) => c === 0)) resolve(bytes);
      else
        reject(
          new Error(
            `${which}: docker ${from.slice(0, 3).join(" ")} ... | docker ${to.slice(0, 3).join(" ")} ...: exits ${codes.join(", ")}`,
          ),
        );
    };
    a.on("close", done("the source"));
    b.on("close", done("the target"));
  });
}

interface Mount {
  Type: string;
  Source: string;
  Destination: string;
  RW: boolean;
}

/** Waits until Docker reports the container healthy (or running, without a health check). */
async function untilHealthy(name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let status = "";
  while (Date.now() < deadline) {
    status = docker(["inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}healthy{{end}}", name]).trim();
    if (status === "running healthy") return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${name} is "${status}" ${timeoutMs / 1000} s after its start, expected "running healthy": see docker logs ${name}`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const stack = readStackFile(path.resolve(o.file));
  const parsed = validateStack(stack.values, { checkFiles: false });
  if (!parsed.ok) fail(`${o.file}: ${formatProblems(parsed.problems)}`);
  const p = resolvePlatform(parsed.value, stack.stack);
  if (!p.features.backup) fail(`${o.file}: features.backup is off: this stack has no backups to restore from`);
  const name = (service: string) => `${p.instanceName}-${service}`;
  const backup = name("backup");
  const mariadb = name("mariadb");
  for (const c of [backup, mariadb])
    if (docker(["inspect", "-f", "{{.State.Running}}", c]).trim() !== "true")
      fail(`${c} is not running: deploy the stack first (pulumi up), then restore into it`);

  const select = [...(o.repository ? ["--repository", o.repository] : []), ...(o.snapshot ? ["--snapshot", o.snapshot] : [])];
  const shown = docker(["exec", backup, "restore-stack", "show", ...select]);
  const head = /^snapshot=([0-9a-f]+) time=(\S+) repository=(\S+)$/m.exec(shown);
  if (!head) throw new Error(`restore-stack show answered no snapshot:\n${shown}`);
  const [, snapshot, time, repository] = head;
  const databases = [...shown.matchAll(/^database=(\S+)$/gm)].map((m) => m[1]);
  const paths = [...shown.matchAll(/^path=(\S+)$/gm)].map((m) => m[1]);
  const running = docker([
    "ps",
    "--filter",
    `name=^${p.instanceName}-`,
    "--filter",
    "label=mail-platform.service",
    "--format",
    "{{.Names}}",
  ])
    .split("\n")
    .filter((c) => c && c !== backup && c !== mariadb);

  console.log(`Snapshot ${snapshot} of ${time} in repository ${repository}, into stack ${stack.stack} (${p.instanceName}):`);
  console.log(`  stop:      ${running.join(", ") || "(nothing running)"}`);
  console.log(
    `  restore:   ${paths.map((d) => path.posix.relative(BACKUP_DATA_ROOT, d)).join(", ")} (files of the snapshot written back, newer ones kept)`,
  );
  console.log(`  load:      ${databases.join(", ")} (each database's tables replaced by the dump's)`);
  console.log(`  start:     the same containers, then doveadm force-resync of every mailbox`);
  if (!o.yes) {
    console.log("Nothing changed. Run again with --yes to restore.");
    process.exit(2);
  }

  const stopped: string[] = [];
  try {
    if (running.length) {
      log(`stopping ${running.join(", ")}`);
      // Postfix gets time to finish its deliveries; the queue stays on its host path.
      docker(["stop", "-t", "60", ...running]);
      stopped.push(...running);
    }

    const mounts = JSON.parse(docker(["inspect", "-f", "{{json .Mounts}}", backup])) as Mount[];
    const image = docker(["inspect", "-f", "{{.Image}}", backup]).trim();
    const mountArgs = mounts
      .filter((m) => m.Type === "bind")
      .flatMap((m) => {
        const writable = m.RW || m.Destination.startsWith(`${BACKUP_DATA_ROOT}/`);
        return ["--mount", `type=bind,src=${m.Source},dst=${m.Destination}${writable ? "" : ",readonly"}`];
      });
    const configDir = path.posix.dirname(BACKUP_CONF_FILE);
    log(`restoring the files of snapshot ${snapshot}`);
    await pipe(
      ["exec", backup, "tar", "-C", configDir, "-cf", "-", "."],
      [
        "run",
        "--rm",
        "-i",
        "--name",
        name("restore"),
        "--network",
        `container:${backup}`,
        ...mountArgs,
        "--entrypoint",
        "sh",
        image,
        "-c",
        `mkdir -p ${configDir} && tar -xf - -C ${configDir} && exec restore-stack files --repository "$1" "$2"`,
        "restore-stack",
        repository,
        snapshot,
      ],
    );

    for (const db of databases) {
      const bytes = await pipe(
        ["exec", backup, "restore-stack", "dump", "--repository", repository, snapshot, db],
        ["exec", "-i", mariadb, "mariadb", "--batch", "--default-character-set=utf8mb4"],
      );
      log(`database ${db} loaded (${bytes} bytes of dump)`);
    }
  } finally {
    if (stopped.length) {
      log(`starting ${stopped.join(", ")}`);
      docker(["start", ...stopped]);
    }
  }
  for (const c of stopped) await untilHealthy(c, 300_000);
  const dovecot = name("dovecot");
  if (stopped.includes(dovecot)) {
    docker(["exec", dovecot, "doveadm", "force-resync", "-A", "*"]);
    log("Dovecot's indexes rebuilt (doveadm force-resync -A '*')");
  }
  log(`stack ${stack.stack} restored from snapshot ${snapshot} (${time})`);
}

main().catch((e) => {
  console.error(`restore failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
