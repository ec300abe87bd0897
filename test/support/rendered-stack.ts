// The config files a stack's containers receive, rendered by the real program under mocks with
// working key material (tools/render.ts --working-secrets), for tests that hand them to daemons.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ManifestContainer } from "../../tools/render";

const ROOT = path.resolve(__dirname, "..", "..");

export interface RenderedContainer extends ManifestContainer {
  /** Container path -> content. */
  contents: Record<string, string>;
}

const cache = new Map<string, RenderedContainer[]>();

/** Every container of the stack (`Pulumi.dev.yaml`, `Pulumi.prod.yaml`, or a path) with its rendered files. */
export function renderedStack(stackFile: string): RenderedContainer[] {
  const file = path.resolve(ROOT, stackFile);
  const hit = cache.get(file);
  if (hit) return hit;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-render-"));
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "tools", "render.ts"), file, dir, "--working-secrets"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`rendering ${stackFile} failed:\n${r.stdout}\n${r.stderr}`);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as { containers: ManifestContainer[] };
  const containers = manifest.containers.map((c) => ({
    ...c,
    contents: Object.fromEntries(c.files.map((f) => [f, fs.readFileSync(path.join(dir, c.name, f), "utf8")])),
  }));
  fs.rmSync(dir, { recursive: true, force: true });
  cache.set(file, containers);
  return containers;
}
