// The harness's stand-in for Pulumi's state, kept in .e2e/state.json between runs: per resource
// (by URN, in registration order) its id, the inputs and outputs of the last update, its
// dependencies and options. A second apply plans against it exactly as the engine plans against
// its checkpoint, and `e2e:down` knows what to remove. It holds test secrets: mode 0600, ignored
// by git.
import * as fs from "fs";
import * as path from "path";
import { GraphNode } from "./plan";
import type { PropertyMap } from "../../../tools/mock-run/property-map";

export interface ResourceRecord extends GraphNode {
  name: string;
  id?: string;
  inputs: PropertyMap;
  outputs: PropertyMap;
  protect: boolean;
  deleteBeforeReplace?: boolean;
  /** The create failed after the object existed (unhealthy, failed start): the next update replaces it. */
  failed?: string;
}

export class HarnessState {
  dockerHost = "unix:///var/run/docker.sock";
  /** Ties this state to the data it made (test/e2e/up.ts writes the same id under the storage root). */
  owner?: string;
  resources: ResourceRecord[] = [];
  storageRoots: string[] = [];

  constructor(private readonly file: string) {
    if (fs.existsSync(file)) {
      const data = JSON.parse(fs.readFileSync(file, "utf8"));
      // A state written before the harness kept resources cannot be planned against: without its
      // owner, e2e:up starts over instead of deploying new passwords onto the old data.
      if (Array.isArray(data.resources) || !data.material) Object.assign(this, data);
    }
  }

  find(urn: string): ResourceRecord | undefined {
    return this.resources.find((r) => r.urn === urn);
  }

  /** Records a resource after a step; a new one goes after everything it depends on, as in the engine's checkpoint. */
  put(record: ResourceRecord): void {
    const i = this.resources.findIndex((r) => r.urn === record.urn);
    if (i >= 0) this.resources[i] = record;
    else this.resources.push(record);
  }

  drop(urn: string): void {
    this.resources = this.resources.filter((r) => r.urn !== urn);
  }

  rememberStorageRoot(root: string): void {
    if (!this.storageRoots.includes(root)) this.storageRoots.push(root);
  }

  save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const { file: _file, ...data } = this as unknown as Record<string, unknown>;
    void _file;
    fs.writeFileSync(this.file, JSON.stringify(data, null, 2), { mode: 0o600 });
  }
}
