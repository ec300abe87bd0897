// Pulumi's MockMonitor hands a mock only a resource's type, name and inputs. The engine is told
// much more with each registration: its URN and parent, which resources each input property
// depends on (what decides the engine's dependent replacements), and the resource options. This
// monitor records all of that, so the deploy harness can act on what the real engine acts on,
// and refuse what it does not model.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: new (mocks: Mocks) => MockMonitorInstance };
import type * as pulumi from "@pulumi/pulumi";
import { runtime } from "@pulumi/pulumi";
import { secretPaths, unwrapSecrets } from "./secrets";

type Mocks = pulumi.runtime.Mocks;

interface MockMonitorInstance {
  registerResource(req: any, callback: (err: any, resp?: any) => void): Promise<void>;
  registerResourceOutputs(req: any, callback: (err: any, resp?: any) => void): void;
  newUrn(parent: string, type: string, name: string): string;
}

/** The resource options the engine receives; the harness refuses any it does not model. */
export interface RegistrationOptions {
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
  inputs: Record<string, any>;
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

function optionsOf(req: any): RegistrationOptions {
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
    customTimeouts: ["getCreate", "getUpdate", "getDelete"].some((f) => Boolean(req.getCustomtimeouts()?.[f]())),
    replaceWith: req.getReplaceWithList?.() ?? [],
    replacementTrigger: req.getReplacementTrigger?.() !== undefined && req.getReplacementTrigger?.() !== null,
    hooks: req.getHooks?.() !== undefined && req.getHooks?.() !== null,
  };
}

export class RecordingMonitor extends MockMonitor {
  private readonly pending = new Map<string, Details>();
  /** The stack's outputs as the engine receives them, secret envelopes kept. */
  public stackOutputs?: Record<string, unknown>;

  constructor(public readonly mocks: Mocks) {
    super(mocks);
  }

  async registerResource(req: any, callback: (err: any, resp?: any) => void): Promise<void> {
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
      propertyDependencies[key] = deps.getUrnsList();
    });
    this.pending.set(`${req.getType()}::${req.getName()}`, {
      urn: this.newUrn(req.getParent(), req.getType(), req.getName()),
      parent: req.getParent(),
      custom: req.getCustom(),
      dependencies: req.getDependenciesList(),
      propertyDependencies,
      options: optionsOf(req),
    });
    return super.registerResource(req, callback);
  }

  registerResourceOutputs(req: any, callback: (err: any, resp?: any) => void): void {
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
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("@pulumi/pulumi/runtime/state").getStore().settings.monitor = monitor;
}
