// Pulumi's MockMonitor hands a mock only a resource's type, name and inputs. The engine is told
// much more with each registration: its URN and parent, which resources each input property
// depends on (what decides the engine's dependent replacements), and the resource options. This
// monitor records all of that, so the deploy harness can act on what the real engine acts on,
// and refuse what it does not model.
import type * as pulumi from "@pulumi/pulumi";
import { runtime } from "@pulumi/pulumi";
import type { RegisterResourceOutputsRequest, RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as state from "@pulumi/pulumi/runtime/state";
import { secretPaths, unwrapSecrets } from "./secrets";
import type { PropertyMap } from "./property-map";

type Mocks = pulumi.runtime.Mocks;
/** The gRPC callback the SDK passes a monitor method. */
type Callback = (err: Error | null, resp?: unknown) => void;

/** The resource options the engine receives; the harness refuses any it does not model. */
interface RegistrationOptions {
  /** Set explicitly by the program (undefined: the provider's default applies). */
  deleteBeforeReplace?: boolean;
  protect: boolean;
  retainOnDelete: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  aliases: number;
  deletedWith: string;
  importId: string;
  customTimeouts: boolean;
  replaceWith: string[];
  replacementTrigger: boolean;
  hooks: boolean;
}

export interface Registration {
  type: string;
  name: string;
  urn: string;
  /** URN of the parent component, empty for the stack's direct children. */
  parent: string;
  custom: boolean;
  /** Inputs with secrets unwrapped. */
  inputs: PropertyMap;
  /** Dotted paths of the inputs that were secret. */
  secretInputs: string[];
  /** `urn::id` of the provider the resource was registered with, if any. */
  provider?: string;
  /** Every resource this one waits for (dependsOn and property dependencies). */
  dependencies: string[];
  /** Top-level input name -> URNs its value came from: what the engine's replacement cascade follows. */
  propertyDependencies: Record<string, string[]>;
  options: RegistrationOptions;
}

interface Details {
  urn: string;
  parent: string;
  custom: boolean;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  options: RegistrationOptions;
}

/** The URN the engine gives a registration: the parent's type chain, `$`-joined, before its own type (as MockMonitor makes it). */
function urnOf(parent: string, type: string, name: string): string {
  const qualified = parent ? `${parent.split("::")[2].split("$").pop()}$${type}` : type;
  return `urn:pulumi:${runtime.getStack()}::${runtime.getProject()}::${qualified}::${name}`;
}

function optionsOf(req: RegisterResourceRequest): RegistrationOptions {
  return {
    deleteBeforeReplace: req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined,
    protect: req.getProtect() === true,
    retainOnDelete: req.getRetainondelete() === true,
    ignoreChanges: req.getIgnorechangesList(),
    replaceOnChanges: req.getReplaceonchangesList(),
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    aliases: req.getAliasesList().length + req.getAliasurnsList().length,
    deletedWith: req.getDeletedwith(),
    importId: req.getImportid(),
    // The SDK always sends the message; only a value in it is an option the program set.
    customTimeouts: [req.getCustomtimeouts()?.getCreate(), req.getCustomtimeouts()?.getUpdate(), req.getCustomtimeouts()?.getDelete()].some(
      Boolean,
    ),
    replaceWith: req.getReplaceWithList(),
    replacementTrigger: req.getReplacementTrigger() !== undefined,
    hooks: req.getHooks() !== undefined,
  };
}

export class RecordingMonitor extends MockMonitor {
  private readonly pending = new Map<string, Details>();
  /** The stack's outputs as the engine receives them, secret envelopes kept. */
  public stackOutputs?: Record<string, unknown>;

  constructor(public readonly mocks: Mocks) {
    super(mocks);
  }

  async registerResource(req: RegisterResourceRequest, callback: Callback): Promise<void> {
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps, key) => {
      propertyDependencies[key] = deps.getUrnsList();
    });
    this.pending.set(`${req.getType()}::${req.getName()}`, {
      urn: urnOf(req.getParent(), req.getType(), req.getName()),
      parent: req.getParent(),
      custom: req.getCustom(),
      dependencies: req.getDependenciesList(),
      propertyDependencies,
      options: optionsOf(req),
    });
    return super.registerResource(req, callback);
  }

  registerResourceOutputs(req: RegisterResourceOutputsRequest, callback: Callback): void {
    if (req.getUrn().split("::")[2] === "pulumi:pulumi:Stack") this.stackOutputs = req.getOutputs()?.toJavaScript() ?? {};
    super.registerResourceOutputs(req, callback);
  }

  /** What was registered under this type and name, with the inputs the mock received. */
  registration(type: string, name: string, rawInputs: Record<string, unknown>, provider: string | undefined): Registration {
    const details = this.pending.get(`${type}::${name}`);
    if (!details) throw new Error(`no registration recorded for ${type} ${name}`);
    return { type, name, ...details, inputs: unwrapSecrets(rawInputs), secretInputs: secretPaths(rawInputs), provider };
  }
}

/** Runs the program's registrations through this monitor: Pulumi's mocks, with the recording monitor in place of theirs. */
export function installRecordingMonitor(monitor: RecordingMonitor, project: string, stack: string, preview: boolean): void {
  // setMocks also turns on the features the mock engine supports (secrets, resource references).
  runtime.setMocks(monitor.mocks, project, stack, preview);
  // The SDK keeps its monitor in an internal store that its typings do not declare.
  (state as unknown as { getStore(): { settings: { monitor: unknown } } }).getStore().settings.monitor = monitor;
}
