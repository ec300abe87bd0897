// What the harness created and generated, kept in .e2e/state.json between runs the way Pulumi's
// state is kept between `pulumi up`s: a second apply reuses keys and passwords, so it changes
// nothing, and `e2e:down` knows what to remove. The file holds test secrets: mode 0600, ignored by git.
import * as fs from "fs";
import * as path from "path";

export class HarnessState {
  dockerHost = "unix:///var/run/docker.sock";
  /** Ties this state to the data it made (test/e2e/up.ts writes the same id under the storage root). */
  owner?: string;
  material: Record<string, { hash: string; outputs: Record<string, any> }> = {};
  created: { containers: string[]; networks: string[]; storageRoots: string[] } = { containers: [], networks: [], storageRoots: [] };

  constructor(private readonly file: string) {
    if (fs.existsSync(file)) Object.assign(this, JSON.parse(fs.readFileSync(file, "utf8")));
  }

  remember(kind: "containers" | "networks" | "storageRoots", name: string): void {
    if (!this.created[kind].includes(name)) this.created[kind].push(name);
  }

  save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const { file: _file, ...data } = this as unknown as Record<string, unknown>;
    void _file;
    fs.writeFileSync(this.file, JSON.stringify(data, null, 2), { mode: 0o600 });
  }
}
