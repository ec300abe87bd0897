// Runs the real program (index.ts) for a stack file under pulumi.runtime.setMocks and records
// every resource it registers with its resolved inputs. The render tool and the tests read the
// platform from here, so what they check is what `pulumi up` would be handed.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { readStackFile } from "../../config/stack-file";
import * as material from "./material";
import { secretPaths, unwrapSecrets } from "./secrets";

export interface RegisteredResource {
  type: string;
  name: string;
  /** Inputs with secrets unwrapped. */
  inputs: Record<string, any>;
  /** Paths of the inputs that were secrets. */
  secretInputs: string[];
  state: Record<string, any>;
  /** `urn::id` of the provider the resource was registered with, if any. */
  provider?: string;
}

export interface ProgramRun {
  stack: string;
  resources: RegisteredResource[];
  outputs: Record<string, unknown>;
}

const ROOT = path.resolve(__dirname, "..", "..");

function outputsFor(mode: material.SecretsMode, type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  switch (type) {
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: inputs.name };
    case "docker:index/container:Container":
      // A one-shot (attached) container has finished by the time the provider returns.
      return inputs.attach ? { exitCode: 0, containerLogs: "" } : {};
    case "random:index/randomPassword:RandomPassword":
      return material.randomPassword(mode, name, inputs);
    case "tls:index/privateKey:PrivateKey":
      return material.privateKey(mode, name, inputs);
    case "tls:index/certRequest:CertRequest":
      return material.certRequest(mode, name, inputs);
    case "tls:index/selfSignedCert:SelfSignedCert":
      return material.selfSignedCert(mode, name, inputs);
    case "tls:index/locallySignedCert:LocallySignedCert":
      return material.locallySignedCert(mode, name, inputs);
    default:
      return {};
  }
}

/**
 * PEM files named by the stack live on the deploy machine. When rendering for review they are
 * replaced by stand-ins, so the render works anywhere and no real private key reaches its output.
 */
function standInPemFiles(values: Record<string, unknown>, mode: material.SecretsMode): Record<string, string> {
  const domains = values.domains as { name: string; tls?: { source: string; certFile?: string; keyFile?: string } }[] | undefined;
  if (!domains?.some((d) => d.tls?.source === "pem")) return {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-pem-"));
  const rewritten = domains.map((d) => {
    if (d.tls?.source !== "pem") return d;
    const key = material.privateKey(mode, `${d.name} (from ${d.tls.keyFile})`, { algorithm: "ECDSA" });
    const cert = material.selfSignedCert(mode, `${d.name} (from ${d.tls.certFile})`, {
      ...key,
      validityPeriodHours: 24 * 90,
      subject: { commonName: `mail.${d.name}` },
      dnsNames: [`mail.${d.name}`, d.name],
    });
    const certFile = path.join(dir, `${d.name}.crt`);
    const keyFile = path.join(dir, `${d.name}.key`);
    fs.writeFileSync(certFile, cert.certPem);
    fs.writeFileSync(keyFile, key.privateKeyPem, { mode: 0o600 });
    return { ...d, tls: { source: "pem", certFile, keyFile } };
  });
  return { "mail-platform:domains": JSON.stringify(rewritten) };
}

/**
 * Applies one registered resource for real (the live deployment harness) and returns its outputs,
 * which replace the generated ones. Called in registration order; a resource is only registered
 * once everything it depends on has been applied.
 */
export type Applier = (resource: { type: string; name: string; inputs: Record<string, any>; provider?: string }, generated: Record<string, any>) => Promise<Record<string, any>>;

export async function runProgram(stackFile: string, mode: material.SecretsMode, apply?: Applier): Promise<ProgramRun> {
  const file = readStackFile(stackFile);
  const resources: RegisteredResource[] = [];
  pulumi.runtime.setAllConfig({ ...file.flat, ...standInPemFiles(file.values, mode) });
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const inputs = unwrapSecrets(args.inputs);
        const generated = outputsFor(mode, args.type, args.name, inputs);
        const applied = apply ? await apply({ type: args.type, name: args.name, inputs, provider: args.provider }, generated) : generated;
        const state = { ...inputs, ...applied };
        resources.push({ type: args.type, name: args.name, inputs, secretInputs: secretPaths(args.inputs), state, provider: args.provider });
        return { id: (applied.id as string | undefined) ?? `${args.name}-id`, state };
      },
      call(args) {
        return args.inputs;
      },
    },
    "mail-platform",
    file.stack,
    false,
  );
  const outputs = (await pulumi.runtime.runInPulumiStack(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.join(ROOT, "index.ts"));
  })) as Record<string, unknown>;
  // Registrations whose inputs were still resolving when the program returned.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
  return { stack: file.stack, resources, outputs: outputs ?? {} };
}
