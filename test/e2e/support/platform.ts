// The deployed e2e platform as the tests see it: deploys it through the real program (idempotent,
// so every test file may ask), and gives its endpoints, accounts and container logs.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { buildInternetImage, Internet, remoteMxRecords, startInternet, zoneFiles } from "../internet/internet";
import type { Endpoints } from "../up";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const ENDPOINTS = path.join(ROOT, ".e2e", "endpoints.json");

let cached: Endpoints | undefined;

/** Deploys (or re-applies) the e2e stack and returns its endpoints. */
export function platform(): Endpoints {
  if (cached) {
    ensureArchiveReceiver();
    return cached;
  }
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "test", "e2e", "up.ts")], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`deploying the e2e stack failed:\n${r.stdout}\n${r.stderr}`);
  cached = JSON.parse(fs.readFileSync(ENDPOINTS, "utf8")) as Endpoints;
  ensureArchiveReceiver();
  return cached;
}

/**
 * The e2e stack archives to an external archive server at 172.31.1.26 (see Pulumi.e2e.yaml).
 * Piler's image cannot be pulled here, so a test receiver stands in for it: the remote-MX image
 * accepting archive.test and storing every copy with its envelope. It must run whenever mail
 * flows, because Amavis defers a message rather than deliver it unarchived.
 */
export const ARCHIVE_RECEIVER = { name: "mp-e2e-internet-archive-intake-test-receiver", ip: "172.31.1.26", domain: "archive.test" };

function ensureArchiveReceiver(): void {
  const image = buildInternetImage("remote-mx");
  const imageId = spawnSync("docker", ["image", "inspect", "-f", "{{.Id}}", image], { encoding: "utf8" }).stdout.trim();
  const [state, runningImage] = spawnSync("docker", ["inspect", "-f", "{{.State.Running}} {{.Image}}", ARCHIVE_RECEIVER.name], { encoding: "utf8" }).stdout.trim().split(" ");
  if (state && runningImage !== imageId) {
    // Built from an older version of the receiver: replace it.
    spawnSync("docker", ["rm", "-f", ARCHIVE_RECEIVER.name]);
  }
  if (state === "false" && runningImage === imageId) {
    spawnSync("docker", ["start", ARCHIVE_RECEIVER.name], { encoding: "utf8" });
  } else if (state !== "true" || runningImage !== imageId) {
    const run = spawnSync(
      "docker",
      ["run", "-d", "--name", ARCHIVE_RECEIVER.name, "--network", "mp-e2e-edge", "--ip", ARCHIVE_RECEIVER.ip, "--hostname", "archive.archive.test",
        "-e", `REMOTE_DOMAINS=${ARCHIVE_RECEIVER.domain}`, "-e", "MX_HOSTNAME=archive.archive.test", image],
      { encoding: "utf8" },
    );
    if (run.status !== 0) throw new Error(`starting the archive test receiver failed: ${run.stderr}`);
  }
  // Running is not answering: wait for its SMTP greeting.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (spawnSync("docker", ["exec", ARCHIVE_RECEIVER.name, "python3", "/usr/local/lib/remote-mx/healthcheck.py"]).status === 0) return;
    spawnSync("sleep", ["0.2"]);
  }
  throw new Error(`the archive test receiver did not get ready:\n${spawnSync("docker", ["logs", ARCHIVE_RECEIVER.name], { encoding: "utf8" }).stderr}`);
}

export function password(address: string): string {
  const a = platform().accounts.find((x) => x.address === address);
  if (!a) throw new Error(`no test account ${address}; have ${platform().accounts.map((x) => x.address).join(", ")}`);
  return a.password;
}

export function ca(): string {
  return fs.readFileSync(platform().caFile, "utf8");
}

/** The last lines of the named services' logs (e.g. "postfix", "amavis"), for failure messages. */
export function logs(...services: string[]): string {
  return services
    .map((s) => {
      const r = spawnSync("docker", ["logs", "--tail", "60", `mp-e2e-${s}`], { encoding: "utf8" });
      return `--- ${s} (last 60 lines) ---\n${r.stdout}${r.stderr}`;
    })
    .join("\n");
}

/** Runs a command in one of the platform's containers. */
export function execIn(service: string, command: string[]): { code: number; out: string } {
  const r = spawnSync("docker", ["exec", `mp-e2e-${service}`, ...command], { encoding: "utf8" });
  return { code: r.status ?? -1, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

/** A unique token for subjects and Message-IDs: the mailboxes outlive one run. */
export function unique(label: string): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The simulated Internet's fixed addresses on the platform's edge network; the e2e stack's dnsResolvers names the DNS one. */
export const INTERNET = { network: "mp-e2e-edge", dnsIp: "172.31.1.53", mxIp: "172.31.1.25", remoteDomain: "remote.test" };

/** An address on the edge network's Internet side for a throwaway client container. */
export const INTERNET_CLIENT_IP = "172.31.1.80";

let internetCache: Internet | undefined;

/**
 * Starts the simulated Internet beside the deployed platform: a DNS server authoritative for the
 * stack's own zones (from its dnsZone output, plus the A record of its hostname) and for
 * remote.test, and remote.test's MX. Each test file gets a fresh one.
 */
export function internet(): Internet {
  if (internetCache) return internetCache;
  const p = platform();
  const postfixIp = postfixEdgeIp();
  if (!postfixIp) throw new Error(`cannot find Postfix's address on ${INTERNET.network}`);
  const zones = zoneFiles(
    String(p.outputs.dnsZone),
    [{ name: "mail.example.test", type: "A", value: postfixIp }, ...remoteMxRecords([INTERNET.remoteDomain], INTERNET.mxIp)],
    { zones: ["example.test", "corp.test", INTERNET.remoteDomain], nameserverIp: INTERNET.dnsIp },
  );
  internetCache = startInternet({ network: INTERNET.network, dnsIp: INTERNET.dnsIp, mxIp: INTERNET.mxIp, zones, remoteDomains: [INTERNET.remoteDomain], name: "e2e" });
  return internetCache;
}

/** Postfix's address on the edge network, where Internet hosts reach it directly (no docker-proxy). */
export function postfixEdgeIp(): string {
  return spawnSync("docker", ["inspect", "-f", `{{(index .NetworkSettings.Networks "${INTERNET.network}").IPAddress}}`, "mp-e2e-postfix"], { encoding: "utf8" }).stdout.trim();
}
