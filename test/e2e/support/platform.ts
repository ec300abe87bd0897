// The deployed e2e platform as the tests see it: deploys it through the real program (idempotent,
// so every test file may ask), and gives its endpoints, accounts and container logs. Beside it run
// the test hosts (the simulated Internet and the archive receiver); e2e:up starts them after each
// deploy with `startTestHosts`, and every test file keeps them current through `platform()`.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { containerLog, dockerExec, RunResult } from "../../support/docker";
import {
  acceptMail,
  buildInternetImage,
  CONTAINER_PREFIX,
  ensureTestHost,
  HostOutcome,
  hostStates,
  Internet,
  internetSpecs,
  remoteMxRecords,
  removeTestHosts as removeContainers,
  specDigest,
  startInternet,
  StartInternetOptions,
  TestHostSpec,
  waitUntilReady,
  zoneFiles,
} from "../internet/internet";
import { DEFAULT_STACK, type Endpoints } from "../up";
import { PlatformConfig, resolvePlatform } from "../../../config/platform";
import { readStackFile } from "../../../config/stack-file";
import { validateStack } from "../../../config/validate";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const ENDPOINTS = path.join(ROOT, ".e2e", "endpoints.json");

let cached: Endpoints | undefined;

/** Deploys (or re-applies) the e2e stack once per process and returns its endpoints; later calls keep the test hosts current. */
export function platform(): Endpoints {
  if (cached) {
    keepTestHosts();
    return cached;
  }
  const r = runUp();
  if (r.code !== 0) throw new Error(`deploying the e2e stack failed:\n${r.stdout}\n${r.stderr}`);
  cached = readEndpoints();
  return cached;
}

/**
 * Runs up.ts as `npm run e2e:up` does: deploys `stackFile` (a file of the e2e stack; Pulumi.e2e.yaml
 * by default), then starts (or keeps) the test hosts. Its exit code and output; the deploy's result
 * is then in readEndpoints().
 */
export function runUp(stackFile?: string): RunResult {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "test", "e2e", "up.ts"), ...(stackFile ? [stackFile] : [])], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** What the last up.ts wrote: ports, accounts, the steps of the deploy, the test hosts. */
export function readEndpoints(): Endpoints {
  return JSON.parse(fs.readFileSync(ENDPOINTS, "utf8")) as Endpoints;
}

/**
 * The e2e stack archives to an external archive server at 172.31.1.26 (see Pulumi.e2e.yaml).
 * Piler's image cannot be pulled here, so a test receiver stands in for it: the remote-MX image
 * accepting archive.test and storing every copy with its envelope. It must run whenever mail
 * flows, because Amavis defers a message rather than deliver it unarchived.
 */
export const ARCHIVE_RECEIVER = {
  name: "mp-e2e-internet-archive-intake-test-receiver",
  ip: "172.31.1.26",
  domain: "archive.test",
  hostname: "archive.archive.test",
};

/** The simulated Internet's fixed addresses on the platform's edge network; the e2e stack's dnsResolvers names the DNS one. */
export const INTERNET = { network: "mp-e2e-edge", dnsIp: "172.31.1.53", mxIp: "172.31.1.25", remoteDomain: "remote.test" };

/** An address on the edge network's Internet side for a throwaway client container. */
export const INTERNET_CLIENT_IP = "172.31.1.80";

/** Part of the simulated Internet's container names (`mp-e2e-internet-e2e-dns`, `-mx`). */
const INTERNET_NAME = "e2e";

/** Every test host's container name: what e2e:down removes. */
export const TEST_HOSTS = {
  dns: `${CONTAINER_PREFIX}${INTERNET_NAME}-dns`,
  remoteMx: `${CONTAINER_PREFIX}${INTERNET_NAME}-mx`,
  archive: ARCHIVE_RECEIVER.name,
};

const POSTFIX = "mp-e2e-postfix";

/**
 * The test hosts for deployment `p` with Postfix at `postfixIp` on the edge network. The DNS server
 * is authoritative for the stack's domains (its dnsZone output, plus the A record of its host name
 * pointing at Postfix), for remote.test (MX and its A) and for archive.test (the archive receiver).
 */
function testHostSpecs(p: Endpoints, postfixIp: string): { internet: StartInternetOptions; archive: TestHostSpec } {
  const hostname = p.hostname ?? "mail.example.test";
  const zones = [
    ...new Set(((p.outputs.dns ?? []) as { domain: string }[]).map((r) => r.domain)),
    INTERNET.remoteDomain,
    ARCHIVE_RECEIVER.domain,
  ];
  if (!zones.some((z) => hostname === z || hostname.endsWith(`.${z}`))) zones.push(hostname.split(".").slice(1).join("."));
  const files = zoneFiles(
    String(p.outputs.dnsZone),
    [
      { name: hostname, type: "A", value: postfixIp },
      ...remoteMxRecords([INTERNET.remoteDomain], INTERNET.mxIp),
      ...remoteMxRecords([ARCHIVE_RECEIVER.domain], ARCHIVE_RECEIVER.ip, ARCHIVE_RECEIVER.hostname),
    ],
    { zones, nameserverIp: INTERNET.dnsIp },
  );
  return {
    internet: {
      network: INTERNET.network,
      dnsIp: INTERNET.dnsIp,
      mxIp: INTERNET.mxIp,
      zones: files,
      remoteDomains: [INTERNET.remoteDomain],
      name: INTERNET_NAME,
    },
    archive: {
      name: ARCHIVE_RECEIVER.name,
      image: buildInternetImage("remote-mx"),
      network: INTERNET.network,
      ip: ARCHIVE_RECEIVER.ip,
      hostname: ARCHIVE_RECEIVER.hostname,
      env: { REMOTE_DOMAINS: ARCHIVE_RECEIVER.domain, MX_HOSTNAME: ARCHIVE_RECEIVER.hostname },
      ready: ["python3", "/usr/local/lib/remote-mx/healthcheck.py"],
    },
  };
}

export interface TestHosts {
  internet: Internet;
  /** The zones the DNS server serves. */
  zones: string[];
  archive: { container: string; ip: string; setup: HostOutcome };
}

/**
 * Starts the test hosts beside the deployed stack (`p`, by default what .e2e/endpoints.json says),
 * keeping each container that already runs from the same image with the same settings and zone
 * content, and replacing the rest; the zone follows Postfix's edge address as it is now. With
 * `acceptingMail`, both receivers' refuse switches go off (their stores are kept).
 */
export function startTestHosts(p: Endpoints = readEndpoints(), acceptingMail = false): TestHosts {
  const postfixIp = postfixEdgeIp();
  if (!postfixIp) throw new Error(`cannot find Postfix's address on ${INTERNET.network}: is ${POSTFIX} running?`);
  const specs = testHostSpecs(p, postfixIp);
  const net = startInternet({ ...specs.internet, reuse: true });
  const setup = ensureTestHost(specs.archive);
  try {
    waitUntilReady([specs.archive]);
  } catch (e) {
    throw new Error(`the archive test receiver did not get ready: ${(e as Error).message}`, { cause: e });
  }
  if (acceptingMail) for (const c of [net.mx.container, ARCHIVE_RECEIVER.name]) acceptMail(c);
  return {
    internet: net,
    zones: Object.keys(specs.internet.zones).sort(),
    archive: { container: ARCHIVE_RECEIVER.name, ip: ARCHIVE_RECEIVER.ip, setup },
  };
}

/**
 * One docker call: when every test host runs and was made from the specs the deployment asks for
 * now (the zone with Postfix's current address), nothing happens; otherwise `startTestHosts`
 * starts or replaces what differs. While Postfix has no edge address (a test stopped it) there is
 * no zone to compare, and the next call checks.
 */
function keepTestHosts(): void {
  const names = [POSTFIX, TEST_HOSTS.dns, TEST_HOSTS.remoteMx, TEST_HOSTS.archive];
  const states = hostStates(names, INTERNET.network);
  const postfixIp = states.get(POSTFIX)?.ip;
  if (!postfixIp) return;
  const p = readEndpoints();
  const specs = testHostSpecs(p, postfixIp);
  const { dns, mx } = internetSpecs(specs.internet);
  const current = [dns, mx, specs.archive].every((s) => {
    const now = states.get(s.name);
    return now?.running === true && now.digest === specDigest(s);
  });
  if (!current) startTestHosts(p);
}

/** Removes the test hosts (absent ones are fine); returns the names that were there. */
export function removeTestHosts(): string[] {
  return removeContainers(Object.values(TEST_HOSTS));
}

export function password(address: string): string {
  const a = platform().accounts.find((x) => x.address === address);
  if (!a)
    throw new Error(
      `no test account ${address}; have ${platform()
        .accounts.map((x) => x.address)
        .join(", ")}`,
    );
  return a.password;
}

export function ca(): string {
  return fs.readFileSync(platform().caFile, "utf8");
}

/** The last lines of the named services' logs (e.g. "postfix", "amavis"), for failure messages. */
export function logs(...services: string[]): string {
  return services
    .map((s) => {
      return `--- ${s} (last 60 lines) ---\n${containerLog(`mp-e2e-${s}`, ["--tail", "60"])}`;
    })
    .join("\n");
}

/** Runs a command in one of the platform's containers. */
export function execIn(service: string, command: string[]): { code: number; out: string } {
  const r = dockerExec(`mp-e2e-${service}`, command);
  return { code: r.code, out: r.stdout + r.stderr };
}

/** A unique token for subjects and Message-IDs: the mailboxes outlive one run. */
export function unique(label: string): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

let internetCache: Internet | undefined;

/**
 * The simulated Internet beside the deployed platform: a DNS server authoritative for the stack's
 * own zones (from its dnsZone output, plus the A record of its hostname), for remote.test and
 * archive.test, and remote.test's MX. The containers e2e:up started are reused when current; each
 * test file still gets a fresh one in what it can see: the remote MX's store is emptied on the
 * file's first call.
 */
export function internet(): Internet {
  if (internetCache) return internetCache;
  platform();
  const hosts = startTestHosts();
  hosts.internet.clearMessages();
  internetCache = hosts.internet;
  return internetCache;
}

/** A stack container's address on the edge network, where Internet hosts reach it directly (no docker-proxy). */
export function edgeIpOf(container: string): string {
  return hostStates([container], INTERNET.network).get(container)?.ip ?? "";
}

/** Postfix's address on the edge network. */
export function postfixEdgeIp(): string {
  return edgeIpOf(POSTFIX);
}

/** The e2e stack's config as the program resolves it (host paths of the volumes, bans, subnets). */
export function e2eStack(): PlatformConfig {
  const stack = readStackFile(DEFAULT_STACK);
  const parsed = validateStack(stack.values, { checkFiles: false });
  if (!parsed.ok) throw new Error(`${DEFAULT_STACK} does not validate`);
  return resolvePlatform(parsed.value, stack.stack);
}
