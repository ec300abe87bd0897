// npm run e2e:up [-- <stack file>]
// Deploys the e2e stack (test/e2e/Pulumi.e2e.yaml by default) onto this machine's Docker engine
// through the real program, leaves it running, and writes .e2e/endpoints.json for clients.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { readStackFile } from "../../config/stack-file";
import { deploy } from "./harness/deploy";

export const E2E_DIR = path.resolve(__dirname, "..", "..", ".e2e");
export const DEFAULT_STACK = path.join(__dirname, "Pulumi.e2e.yaml");

export interface Endpoints {
  stack: string;
  host: string;
  ports: Record<string, number>;
  /** The platform's CA certificate (PEM file) to trust. */
  caFile: string;
  accounts: { address: string; password: string }[];
  /** Stack outputs a test may need (DNS records, zone snippet). */
  outputs: Record<string, unknown>;
  /** Container name -> id, to check a second apply recreates nothing. */
  containers: Record<string, string>;
  deploySeconds: number;
}

async function main(): Promise<void> {
  const stackFile = path.resolve(process.argv[2] ?? DEFAULT_STACK);
  fs.mkdirSync(E2E_DIR, { recursive: true });
  const stateFile = path.join(E2E_DIR, "state.json");
  if (!fs.existsSync(stateFile)) {
    // A first deploy is a new stack: data left under the storage roots by an earlier checkout
    // belongs to passwords nobody has any more.
    // Its containers go first, so nothing writes into the data while it is removed.
    const values = readStackFile(stackFile).values as { instanceName?: string; storage: { ssdRoot: string; bulkRoot: string } };
    if (values.instanceName) {
      const ids = spawnSync("docker", ["ps", "-aq", "--filter", `name=^${values.instanceName}-`], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
      if (ids.length) spawnSync("docker", ["rm", "-f", ...ids]);
    }
    for (const root of [values.storage.ssdRoot, values.storage.bulkRoot]) fs.rmSync(root, { recursive: true, force: true });
  }
  const { run, seconds } = await deploy(stackFile, stateFile);
  const values = readStackFile(stackFile).values as { bindAddress?: string; ports?: Record<string, number> };
  const caFile = path.join(E2E_DIR, "ca.pem");
  fs.writeFileSync(caFile, String(run.outputs.caCertificate ?? ""));
  const passwords = (run.outputs.mailboxPasswords ?? {}) as Record<string, string>;
  const containers = Object.fromEntries(
    run.resources.filter((r) => r.type === "docker:index/container:Container").map((r) => [r.inputs.name, r.state.id as string]),
  );
  const endpoints: Endpoints = {
    stack: stackFile,
    host: values.bindAddress ?? "127.0.0.1",
    ports: run.outputs.endpoints ? Object.fromEntries(Object.entries(run.outputs.endpoints as Record<string, unknown>).filter(([k]) => k !== "host")) as Record<string, number> : {},
    caFile,
    accounts: Object.entries(passwords).map(([address, password]) => ({ address, password })),
    outputs: { dns: run.outputs.dns, dnsZone: run.outputs.dnsZone },
    containers,
    deploySeconds: seconds,
  };
  fs.writeFileSync(path.join(E2E_DIR, "endpoints.json"), JSON.stringify(endpoints, null, 2), { mode: 0o600 });
  console.log(`deployed ${Object.keys(containers).length} containers in ${seconds.toFixed(1)} s; endpoints in .e2e/endpoints.json`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
