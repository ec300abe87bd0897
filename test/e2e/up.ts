// npm run e2e:up [-- <stack file>]
// Deploys the e2e stack (test/e2e/Pulumi.e2e.yaml by default) onto this machine's Docker engine
// through the real program, starts the test hosts beside it (the simulated Internet's DNS server
// and remote MX, the archive receiver), leaves it all running, and writes .e2e/endpoints.json.
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { readStackFile } from "../../config/stack-file";
import { docker } from "../support/docker";
import { deploy, StepRecord } from "./harness/deploy";
import { ARCHIVE_RECEIVER, INTERNET, startTestHosts } from "./support/platform";

export const E2E_DIR = path.resolve(__dirname, "..", "..", ".e2e");
export const DEFAULT_STACK = path.join(__dirname, "Pulumi.e2e.yaml");

export interface Endpoints {
  stack: string;
  /** The platform's host name (`hostname`), what its MX records name. */
  hostname: string;
  host: string;
  ports: Record<string, number>;
  /** The platform's CA certificate (PEM file) to trust. */
  caFile: string;
  accounts: { address: string; password: string }[];
  /** PostfixAdmin super-administrators (`web.admins`) with their initial passwords. */
  admins: { address: string; password: string }[];
  /** The web apps' URLs (the `webUrls` output): webmail, postfixadmin, archive when on. */
  webUrls: Record<string, string>;
  /** The monitoring pages' login (the `monitoringPassword` output), when monitoring is on. */
  monitoring?: { user: string; password: string };
  /** Stack outputs a test may need (DNS records, zone snippet). */
  outputs: Record<string, unknown>;
  /** Container name -> id, to check a second apply recreates nothing. */
  containers: Record<string, string>;
  /** What the last deploy did to each resource (create, same, update, replace, delete, ...). */
  steps: StepRecord[];
  deploySeconds: number;
  /** The test hosts beside the stack on its edge network (absent until they are started). */
  testHosts?: {
    /** Authoritative for the stack's domains, remote.test and archive.test; the stack's dnsResolvers. */
    dns: { container: string; ip: string; zones: string[] };
    /** remote.test's MX: keeps every message it receives (`/var/spool/remote-mx/*.json`). */
    remoteMx: { container: string; ip: string; domains: string[] };
    /** The archive intake (`archive.intake`), standing in for Piler: keeps every copy likewise. */
    archive: { container: string; ip: string; domains: string[] };
  };
}

async function main(): Promise<void> {
  const stackFile = path.resolve(process.argv[2] ?? DEFAULT_STACK);
  fs.mkdirSync(E2E_DIR, { recursive: true });
  const stateFile = path.join(E2E_DIR, "state.json");
  const stack = readStackFile(stackFile).values as { instanceName?: string; storage: { ssdRoot: string; bulkRoot: string } };
  // The data under the storage roots belongs to the state (keys, passwords) that made it. A marker
  // ties them together: another checkout's deploy into the same roots makes this one start over.
  const marker = path.join(stack.storage.ssdRoot, ".e2e-owner");
  const owner = fs.existsSync(stateFile) ? (JSON.parse(fs.readFileSync(stateFile, "utf8")).owner as string | undefined) : undefined;
  if (!owner || !fs.existsSync(marker) || fs.readFileSync(marker, "utf8") !== owner) {
    // A new stack: its containers go first, so nothing writes into the data while it is removed,
    // then its networks (with any test host still on them), which a fresh deploy must create.
    if (stack.instanceName) {
      const ids = docker(["ps", "-aq", "--filter", `name=^${stack.instanceName}-`])
        .stdout.split("\n")
        .filter(Boolean);
      if (ids.length) docker(["rm", "-f", ...ids]);
      const nets = docker(["network", "ls", "-q", "--filter", `name=^${stack.instanceName}-`])
        .stdout.split("\n")
        .filter(Boolean);
      for (const net of nets) {
        const attached = docker(["network", "inspect", "-f", "{{range $id, $c := .Containers}}{{$id}} {{end}}", net])
          .stdout.split(" ")
          .filter((x) => x.trim());
        if (attached.length) docker(["rm", "-f", ...attached]);
        docker(["network", "rm", net]);
      }
    }
    for (const root of [stack.storage.ssdRoot, stack.storage.bulkRoot]) fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(stateFile, { force: true });
    const id = randomUUID();
    fs.mkdirSync(stack.storage.ssdRoot, { recursive: true });
    fs.writeFileSync(marker, id);
    fs.writeFileSync(stateFile, JSON.stringify({ owner: id }), { mode: 0o600 });
  }
  const { run, seconds, steps } = await deploy(stackFile, stateFile);
  const values = readStackFile(stackFile).values as { hostname: string; bindAddress?: string; ports?: Record<string, number> };
  const caFile = path.join(E2E_DIR, "ca.pem");
  fs.writeFileSync(caFile, String(run.outputs.caCertificate ?? ""));
  const passwords = (run.outputs.mailboxPasswords ?? {}) as Record<string, string>;
  const containers = Object.fromEntries(
    run.resources.filter((r) => r.type === "docker:index/container:Container").map((r) => [r.inputs.name, r.state.id as string]),
  );
  const endpoints: Endpoints = {
    stack: stackFile,
    hostname: values.hostname,
    host: values.bindAddress ?? "127.0.0.1",
    ports: run.outputs.endpoints
      ? (Object.fromEntries(Object.entries(run.outputs.endpoints as Record<string, unknown>).filter(([k]) => k !== "host")) as Record<
          string,
          number
        >)
      : {},
    caFile,
    accounts: Object.entries(passwords).map(([address, password]) => ({ address, password })),
    admins: Object.entries((run.outputs.adminPasswords ?? {}) as Record<string, string>).map(([address, password]) => ({
      address,
      password,
    })),
    webUrls: (run.outputs.webUrls ?? {}) as Record<string, string>,
    ...(run.outputs.monitoringPassword ? { monitoring: { user: "monitoring", password: run.outputs.monitoringPassword as string } } : {}),
    outputs: { dns: run.outputs.dns, dnsZone: run.outputs.dnsZone },
    containers,
    steps,
    deploySeconds: seconds,
  };
  const endpointsFile = path.join(E2E_DIR, "endpoints.json");
  // Written before the test hosts start: they are made from it, and a client has it even when they fail.
  fs.writeFileSync(endpointsFile, JSON.stringify(endpoints, null, 2), { mode: 0o600 });
  const changed = steps.filter((s) => s.kind !== "same");
  for (const s of changed) console.log(`  ${s.kind} ${s.name}${s.reason ? ` (${s.reason})` : ""}`);
  console.log(
    `deployed ${Object.keys(containers).length} containers in ${seconds.toFixed(1)} s (${changed.length} of ${steps.length} steps changed something)`,
  );

  // Without them no mail is delivered (Amavis defers what the archive cannot take) and every SMTP
  // session waits for a PTR look-up to time out (the stack's resolver is the simulated Internet's).
  const started = Date.now();
  const hosts = startTestHosts(endpoints, true);
  const net = hosts.internet;
  endpoints.testHosts = {
    dns: { container: net.dns.container, ip: net.dns.ip, zones: hosts.zones },
    remoteMx: { container: net.mx.container, ip: net.mx.ip, domains: [INTERNET.remoteDomain] },
    archive: { container: hosts.archive.container, ip: hosts.archive.ip, domains: [ARCHIVE_RECEIVER.domain] },
  };
  fs.writeFileSync(endpointsFile, JSON.stringify(endpoints, null, 2), { mode: 0o600 });
  console.log(
    `test hosts in ${((Date.now() - started) / 1000).toFixed(1)} s: DNS ${net.dns.ip} ${net.setup.dns}, remote MX ${net.mx.ip} ${net.setup.mx}, archive receiver ${hosts.archive.ip} ${hosts.archive.setup}; endpoints in .e2e/endpoints.json`,
  );
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
