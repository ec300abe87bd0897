// scripts/deploy-dev.sh, the real script, in controlled environments: what it refuses and says,
// its exit codes, and that a run that cannot deploy leaves the dev stack alone. Every run has no
// Pulumi CLI it could use (none on the PATH, an empty PULUMI_HOME), so none can reach `pulumi up`.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { after, before, describe, it, TestContext } from "node:test";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "scripts", "deploy-dev.sh");
const STATE = path.join(ROOT, ".pulumi");
const STACK_FILE = path.join(ROOT, "Pulumi.dev.yaml");
const stackConfig = parse(fs.readFileSync(STACK_FILE, "utf8")).config as Record<string, string | undefined>;
const SOCKET = (stackConfig["mail-platform:dockerHost"] ?? "unix:///var/run/docker.sock").replace(/^unix:\/\//, "");
const BASE_IMAGE = stackConfig["mail-platform:baseImage"] ?? "mail-platform/debian:trixie";

/** The status of one GET to the dev stack's engine, undefined when it does not answer. */
function engineStatus(urlPath: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: SOCKET, path: urlPath, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", () => resolve(undefined));
    req.on("timeout", () => req.destroy());
  });
}

/** Whether the CLI's download could succeed from here (then the script would deploy). */
async function pulumiDownloadsReachable(): Promise<boolean> {
  try {
    await fetch("https://get.pulumi.com/install.sh", { method: "HEAD", signal: AbortSignal.timeout(3000) });
    return true;
  } catch {
    return false;
  }
}

let pulumiHome: string;
let noEngineSocket: string;
let machine: { engine: boolean; baseImage: boolean; offline: boolean };

before(async () => {
  pulumiHome = fs.mkdtempSync(path.join(os.tmpdir(), "mp-deploy-dev-home-"));
  noEngineSocket = path.join(pulumiHome, "no-engine.sock");
  const ping = await engineStatus("/_ping");
  machine = {
    engine: ping === 200,
    baseImage: ping === 200 && (await engineStatus(`/images/${BASE_IMAGE}/json`)) === 200,
    offline: !(await pulumiDownloadsReachable()),
  };
});
after(() => fs.rmSync(pulumiHome, { recursive: true, force: true }));

/** The environment of every run: no Docker or Pulumi variables of the caller, no CLI to use. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(e)) if (/^(DOCKER_|PULUMI_|MAIL_PLATFORM_)/.test(k)) delete e[k];
  // A pulumi of the caller's would be used; npm's shim in node_modules/.bin stays, first, as
  // under `npm run`: the script must skip it.
  const dirs = (e.PATH ?? "")
    .split(path.delimiter)
    .filter((d) => d.endsWith("node_modules/.bin") || !fs.existsSync(path.join(d, "pulumi")));
  e.PATH = [path.join(ROOT, "node_modules", ".bin"), ...dirs].join(path.delimiter);
  return { ...e, PULUMI_HOME: pulumiHome, ...extra };
}

function run(args: string[], extra: Record<string, string> = {}) {
  const started = Date.now();
  const r = spawnSync("bash", [SCRIPT, ...args], { cwd: ROOT, env: env(extra), encoding: "utf8", timeout: 15000 });
  return { code: r.status, signal: r.signal, out: `${r.stdout}\n${r.stderr}`, stderr: r.stderr, ms: Date.now() - started };
}

/** The dev stack's state and stack file, to show a run left them as they were. */
function devStack(): string {
  const state = fs.existsSync(STATE) ? `state modified ${fs.statSync(STATE).mtimeMs}` : "no state";
  return `${state}\n${fs.readFileSync(STACK_FILE, "utf8")}`;
}

function needs(t: TestContext, what: (keyof typeof machine)[]): boolean {
  const reasons = {
    engine: `no Docker engine answers at ${SOCKET}`,
    baseImage: `base image ${BASE_IMAGE} absent (the script would build it)`,
    offline: "get.pulumi.com is reachable here: the script would fetch the CLI and deploy",
  };
  const missing = what.filter((w) => !machine[w]);
  if (missing.length) t.skip(missing.map((m) => reasons[m]).join("; "));
  return missing.length === 0;
}

describe("scripts/deploy-dev.sh", () => {
  it("refuses DOCKER_CONTEXT and DOCKER_CERT_PATH, naming each, before any Pulumi CLI", () => {
    const stackBefore = devStack();
    const r = run([], { DOCKER_CONTEXT: "someone-elses-engine", DOCKER_CERT_PATH: "/nonexistent/certs" });
    assert.equal(r.code, 1, r.out);
    assert.match(r.stderr, /DOCKER_CONTEXT is set \(someone-elses-engine\).*unset DOCKER_CONTEXT/);
    assert.match(r.stderr, /DOCKER_CERT_PATH is set: .*TLS.*unset DOCKER_CERT_PATH/);
    assert.match(r.stderr, /not deploying/);
    assert.doesNotMatch(r.out, /get\.pulumi\.com|Downloading pulumi/);
    assert.equal(devStack(), stackBefore);
  });

  it("says no engine answers at an unreachable socket, and exits 1", () => {
    const stackBefore = devStack();
    const r = run([], { MAIL_PLATFORM_DOCKER_SOCKET: noEngineSocket });
    assert.equal(r.code, 1, r.out);
    assert.match(r.stderr, new RegExp(`no Docker engine answers at unix://${noEngineSocket}: start it`));
    assert.match(r.stderr, /not deploying/);
    assert.equal(devStack(), stackBefore);
  });

  it("--check passes on this machine (engine reachable, base image present) and deploys nothing", (t) => {
    if (!needs(t, ["engine", "baseImage"])) return;
    const stackBefore = devStack();
    const r = run(["--check"]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /ok: Docker engine answers at unix:\/\//);
    assert.match(r.out, new RegExp(`ok: base image ${BASE_IMAGE} present`));
    assert.match(r.out, /all checks passed/);
    assert.equal(devStack(), stackBefore);
  });

  it("without a usable Pulumi CLI: 'could not be fetched', exit 3, quickly, the dev stack untouched", (t) => {
    if (!needs(t, ["engine", "baseImage", "offline"])) return;
    const stackBefore = devStack();
    const r = run([]);
    assert.equal(r.signal, null, `killed after ${r.ms} ms:\n${r.out}`);
    assert.equal(r.code, 3, r.out);
    assert.match(r.stderr, /the Pulumi CLI 3\.\d+\.\d+ could not be fetched from get\.pulumi\.com/);
    assert.match(r.stderr, /https:\/\/www\.pulumi\.com\/docs\/install\//);
    // npm's shim, first on the PATH, is the pinned CLI's downloader, not a CLI on the PATH.
    assert.doesNotMatch(r.out, /node_modules\/\.bin\/pulumi \(/);
    assert.ok(r.ms < 15000, `took ${r.ms} ms`);
    assert.equal(devStack(), stackBefore);
    assert.deepEqual(
      fs.readdirSync(pulumiHome).filter((f) => f !== "no-engine.sock"),
      [],
    );
  });
});
