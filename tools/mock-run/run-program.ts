// Runs the real program (index.ts) for a stack file under Pulumi's mocks and records every resource
// it registers: resolved inputs, the options and dependencies the engine would receive, and the
// outputs. The render tool, the tests and the live deploy harness read the platform from here, so
// what they check is what `pulumi up` would be handed. The stack's config reaches the program the
// way the CLI hands it over (project-config.ts), and outputs come back the way the engine returns
// them: secret where the provider or the inputs make them secret.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { readStackFile } from "../../config/stack-file";
import * as material from "./material";
import { cliStackConfig } from "./project-config";
import { invokeResult, outputsFor } from "./provider-outputs";
import { isSecretEnvelope, secretEnvelope, secretPaths, unwrapSecrets } from "./secrets";
import { installRecordingMonitor, RecordingMonitor, Registration } from "./recording-monitor";
import type { PropertyMap } from "./property-map";

export interface RegisteredResource extends Registration {
  /** Outputs as the program saw them (inputs merged with what the provider returned), secrets unwrapped. */
  state: PropertyMap;
}

export interface ProgramRun {
  stack: string;
  resources: RegisteredResource[];
  /** Stack outputs, secrets unwrapped. */
  outputs: Record<string, unknown>;
  /** Dotted paths of the stack outputs that are secret, as `pulumi stack output` would show them. */
  secretOutputs: string[];
  /** The data sources the program called (invoke tokens). */
  invokes: string[];
}

const ROOT = path.resolve(__dirname, "..", "..");

/** A throwaway self-signed certificate (CN "stand-in certificate (masked render)"), its key discarded when it was made. */
const MASKED_PEM_CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBoTCCAUigAwIBAgIBATAKBggqhkjOPQQDAjAvMS0wKwYDVQQDDCRzdGFuZC1p
biBjZXJ0aWZpY2F0ZSAobWFza2VkIHJlbmRlcikwIBcNMjYxMjAyMDU0MjAyWhgP
MjEyNjExMDgwNTQyMDJaMC8xLTArBgNVBAMMJHN0YW5kLWluIGNlcnRpZmljYXRl
IChtYXNrZWQgcmVuZGVyKTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABO3hlr0Q
HHWdxOFVeTkTtb56tO8JgZg3czFmMlsPi6MX3ya9NqAAbR7+r10kcyQnT4XBKSJV
eLXXLlY7z+d6UVKjUzBRMB0GA1UdDgQWBBTqfRHzhk5A7xryFk9U/h2Xzs7+hjAf
BgNVHSMEGDAWgBTqfRHzhk5A7xryFk9U/h2Xzs7+hjAPBgNVHRMBAf8EBTADAQH/
MAoGCCqGSM49BAMCA0cAMEQCICODehWZE/raxIEMsyVhwtCcgkn2CWCGOHPvzdRn
kJbPAiA58wF9AdgCdU9DPLrcta9Id5gWIg2LnBz/5csMTPTLDw==
-----END CERTIFICATE-----
`;

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
    // The program reads the certificate's public key (TLSA records), so even a masked render needs
    // a parseable one: a fixed certificate, the same in every render, whose key nobody kept.
    fs.writeFileSync(certFile, mode === "masked" ? MASKED_PEM_CERTIFICATE : cert.certPem);
    fs.writeFileSync(keyFile, key.privateKeyPem, { mode: 0o600 });
    return { ...d, tls: { source: "pem", certFile, keyFile } };
  });
  return { "mail-platform:domains": JSON.stringify(rewritten) };
}

/** A stand-in for a secret file the stack names (the alert relay's password, the backup's password and keys), so no real secret reaches a render. */
function standInSecret(dir: string, name: string, what: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `stand-in ${what}\n`, { mode: 0o600 });
  return file;
}

/** The secret files the stack names, replaced by stand-ins, as stack config overrides. */
function standInSecretFiles(values: Record<string, unknown>): Record<string, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-secrets-"));
  const overrides: Record<string, string> = {};
  const monitoring = values.monitoring as { alerts?: { email?: { passwordFile?: string } } } | undefined;
  const email = monitoring?.alerts?.email;
  if (email?.passwordFile) {
    const passwordFile = standInSecret(dir, "relay.password", "relay password");
    overrides["mail-platform:monitoring"] = JSON.stringify({
      ...monitoring,
      alerts: { ...monitoring!.alerts, email: { ...email, passwordFile } },
    });
  }
  type Repository = { name: string; accessKeyIdFile?: string; secretAccessKeyFile?: string };
  const backup = values.backup as { passwordFile?: string; repositories?: Repository[] } | undefined;
  if (backup) {
    const repositories = backup.repositories?.map((r) => ({
      ...r,
      ...(r.accessKeyIdFile ? { accessKeyIdFile: standInSecret(dir, `${r.name}.access-key-id`, `${r.name} access key id`) } : {}),
      ...(r.secretAccessKeyFile
        ? { secretAccessKeyFile: standInSecret(dir, `${r.name}.secret-access-key`, `${r.name} secret access key`) }
        : {}),
    }));
    overrides["mail-platform:backup"] = JSON.stringify({
      ...backup,
      ...(backup.passwordFile ? { passwordFile: standInSecret(dir, "backup.password", "backup password") } : {}),
      ...(repositories ? { repositories } : {}),
    });
  }
  return overrides;
}

/**
 * What the deploy harness does with one registration: the outputs the provider would report (they
 * replace the generated ones), or, in a preview, the outputs known before the step runs (keys left
 * out are unknown, like a created or replaced resource's computed outputs in `pulumi preview`).
 */
type Applier = (resource: Registration, generated: PropertyMap) => Promise<PropertyMap>;
/** Answers a data source call (an invoke such as docker.getRemoteImage) the way the provider would. */
type Invoker = (token: string, inputs: PropertyMap, provider: string | undefined) => Promise<PropertyMap>;

export interface RunOptions {
  apply?: Applier;
  invoke?: Invoker;
  /** Run as `pulumi preview` does: unknown values stay unknown in inputs and outputs. */
  preview?: boolean;
}

/** Marks the outputs the engine would report as secret: the provider's secret outputs, and every output whose input was secret. */
function engineSecrets(state: PropertyMap, rawInputs: Record<string, unknown>, additionalSecretOutputs: string[]): PropertyMap {
  return Object.fromEntries(
    Object.entries(state).map(([k, v]) => [
      k,
      isSecretEnvelope(rawInputs[k]) || additionalSecretOutputs.includes(k) ? secretEnvelope(v) : v,
    ]),
  );
}

export async function runProgram(stackFile: string, mode: material.SecretsMode, options: RunOptions = {}): Promise<ProgramRun> {
  const file = readStackFile(stackFile);
  const resources: RegisteredResource[] = [];
  const invokes: string[] = [];
  pulumi.runtime.setAllConfig({ ...cliStackConfig(file), ...standInPemFiles(file.values, mode), ...standInSecretFiles(file.values) });
  const monitor: RecordingMonitor = new RecordingMonitor({
    async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
      const registration: Registration = monitor.registration(args.type, args.name, args.inputs, args.provider);
      const generated = outputsFor(mode, args.type, args.name, registration.inputs);
      const applied: PropertyMap = options.apply ? await options.apply(registration, generated) : generated;
      const { id: appliedId, ...outputs } = applied;
      // A preview does not know a created or replaced resource's id; an update always does.
      const id = (appliedId as string | undefined) ?? (options.preview ? undefined : `${args.name}-id`);
      // A preview reports only what is known before the step runs; an update reports everything.
      const state = options.preview ? outputs : { ...registration.inputs, ...outputs };
      resources.push({ ...registration, state: { id, ...state } });
      const rawInputs = args.inputs as Record<string, unknown>;
      return { id, state: engineSecrets(state, rawInputs, registration.options.additionalSecretOutputs) };
    },
    async call(args: pulumi.runtime.MockCallArgs): Promise<PropertyMap> {
      invokes.push(args.token);
      return options.invoke
        ? options.invoke(args.token, unwrapSecrets(args.inputs), args.provider)
        : invokeResult(args.token, unwrapSecrets(args.inputs));
    },
  });
  installRecordingMonitor(monitor, "mail-platform", file.stack, options.preview ?? false);
  const program = require.resolve(path.join(ROOT, "index.ts"));
  // A second run in the same process (a baseline and a change) must execute the program again.
  delete require.cache[program];
  const outputs = (await pulumi.runtime.runInPulumiStack(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(program);
  })) as Record<string, unknown>;
  // Registrations whose inputs were still resolving when the program returned.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
  return { stack: file.stack, resources, outputs: outputs ?? {}, secretOutputs: secretPaths(monitor.stackOutputs ?? {}), invokes };
}
