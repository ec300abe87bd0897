// The one mocks module for unit tests: records every resource the program registers and gives
// each one believable outputs, so a test can assert on child inputs and wiring.
import * as pulumi from "@pulumi/pulumi";
import { installRecordingMonitor, RecordingMonitor, Registration } from "../../tools/mock-run/recording-monitor";

/** A registration as the engine would receive it: inputs (secrets unwrapped, `secretInputs` says where they were), options, dependencies. */
export type RecordedResource = Registration;

export const recorded: RecordedResource[] = [];

/** Fake-but-stable outputs per resource type, so dependants get the shapes they expect. */
export function mockOutputs(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  switch (type) {
    case "docker:index/remoteImage:RemoteImage":
      return { ...inputs, imageId: `sha256:mock-${name}` };
    case "docker:index/network:Network":
      return { ...inputs, name: inputs.name ?? name };
    case "random:index/randomPassword:RandomPassword":
      return { ...inputs, result: `mock-secret-${name}`, bcryptHash: `mock-bcrypt-${name}` };
    case "docker:index/container:Container":
      return inputs.attach ? { ...inputs, exitCode: 0, containerLogs: "" } : { ...inputs };
    case "tls:index/privateKey:PrivateKey":
      return {
        ...inputs,
        privateKeyPem: `-----MOCK PRIVATE KEY ${name}-----\n`,
        publicKeyPem: `-----MOCK PUBLIC KEY ${name}-----\n`,
        publicKeyOpenssh: `ssh-rsa MOCK${name}`,
      };
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      return { ...inputs, certPem: `-----MOCK CERTIFICATE ${name}-----\n` };
    case "tls:index/certRequest:CertRequest":
      return { ...inputs, certRequestPem: `-----MOCK CSR ${name}-----\n` };
    default:
      return { ...inputs };
  }
}

/**
 * Installs the mocks and the stack config. Call before importing the program or a component.
 * `config` holds `mail-platform:<key>` -> JSON or plain string, as `Pulumi.<stack>.yaml` gives it.
 */
export function installMocks(
  config: Record<string, string> = {},
  stack = "unit",
  /** Outputs to report beyond mockOutputs' for some resources (a provisioning run's log, say). */
  extraOutputs: (type: string, name: string) => Record<string, any> = () => ({}),
): void {
  recorded.length = 0;
  pulumi.runtime.setAllConfig(config);
  const monitor: RecordingMonitor = new RecordingMonitor({
    newResource(args: pulumi.runtime.MockResourceArgs) {
      const registration = monitor.registration(args.type, args.name, args.inputs, args.provider);
      recorded.push(registration);
      return { id: `${args.name}-id`, state: { ...mockOutputs(args.type, args.name, registration.inputs), ...extraOutputs(args.type, args.name) } };
    },
    call(args: pulumi.runtime.MockCallArgs) {
      if (args.token === "docker:index/getRemoteImage:getRemoteImage") return { id: `sha256:mock-base-${args.inputs.name}`, name: args.inputs.name, repoDigest: "" };
      throw new Error(`no mock for the data source ${args.token}`);
    },
  });
  installRecordingMonitor(monitor, "mail-platform", stack, false);
}

/** Resolves an Output in a test (mocks run with preview=false, so every output is known). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply(resolve));
}

/** Recorded resources of one type (e.g. `docker:index/container:Container`). */
export function ofType(type: string): RecordedResource[] {
  return recorded.filter((r) => r.type === type);
}

/** Waits until the mocks have seen every registration queued so far. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}
