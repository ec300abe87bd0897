// The one mocks module for unit tests: records every resource the program registers and gives
// each one the outputs a whole-program mock run gives it (tools/mock-run/provider-outputs.ts, with
// material.ts's masked stand-ins), so a test can assert on child inputs and wiring.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { invokeResult, outputsFor } from "../../tools/mock-run/provider-outputs";
import { installRecordingMonitor, RecordingMonitor, Registration } from "../../tools/mock-run/recording-monitor";
import { unwrapSecrets } from "../../tools/mock-run/secrets";
import type { PropertyMap } from "../../tools/mock-run/property-map";

/** A registration as the engine would receive it: inputs (secrets unwrapped, `secretInputs` says where they were), options, dependencies. */
export type RecordedResource = Registration;

export const recorded: RecordedResource[] = [];

/**
 * Installs the mocks and the stack config. Call before importing the program or a component.
 * `config` holds `mail-platform:<key>` -> JSON or plain string, as `Pulumi.<stack>.yaml` gives it.
 */
export function installMocks(
  config: Record<string, string> = {},
  stack = "unit",
  /** Outputs to report beyond the providers' for some resources (a provisioning run's log, say). */
  extraOutputs: (type: string, name: string) => PropertyMap = () => ({}),
): void {
  recorded.length = 0;
  pulumi.runtime.setAllConfig(config);
  const monitor: RecordingMonitor = new RecordingMonitor({
    newResource(args: pulumi.runtime.MockResourceArgs) {
      const registration = monitor.registration(args.type, args.name, args.inputs, args.provider);
      recorded.push(registration);
      const outputs = outputsFor("masked", args.type, args.name, registration.inputs);
      return { id: `${args.name}-id`, state: { ...registration.inputs, ...outputs, ...extraOutputs(args.type, args.name) } };
    },
    call(args: pulumi.runtime.MockCallArgs) {
      return invokeResult(args.token, unwrapSecrets(args.inputs));
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

/**
 * Waits until the mocks have answered every registration started so far, and every one those
 * led to: the SDK's own count of outstanding registrations, what it drains before a program ends.
 */
export function registered(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("@pulumi/pulumi/runtime/settings").waitForRPCs();
}

/** Once every registration is answered: the one container registered, for a component that makes exactly one. */
export async function onlyContainer(): Promise<RecordedResource> {
  await registered();
  const containers = ofType("docker:index/container:Container");
  assert.equal(containers.length, 1, `expected one container, saw ${containers.map((c) => c.name).join(", ")}`);
  return containers[0];
}
