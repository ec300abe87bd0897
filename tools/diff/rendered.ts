// One side of `npm run diff`: a tree (the work tree or a materialised revision) rendered by its own
// tools/render.ts, read back as data. Older revisions' render.ts may write less (no container
// settings), so only manifest.json and outputs.json are relied upon.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface RenderedContainer {
  /** Container path -> content, as uploaded. */
  files: Map<string, Buffer>;
  /** The container's .settings.json, if that revision's render.ts writes one. */
  settings?: string;
}

export interface Rendered {
  /** By container name. */
  containers: Map<string, RenderedContainer>;
  outputs: Record<string, unknown>;
}

/** Nothing: the stack file does not exist on this side. */
export const NOTHING: Rendered = { containers: new Map(), outputs: {} };

export class RenderFailed extends Error {}

/** Runs `tree`'s tools/render.ts (masked secrets) for `stackFile` (relative to `tree`) into `outDir`. */
export function render(tree: string, stackFile: string, outDir: string): Promise<Rendered> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join("tools", "render.ts"), stackFile, outDir], {
      cwd: tree,
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Both streams in one buffer, in the order written: the failure message reads as it would on a terminal.
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) {
        try {
          resolve(readRendered(outDir));
        } catch (e) {
          reject(new RenderFailed(`its render output could not be read: ${(e as Error).message}`));
        }
      } else {
        reject(new RenderFailed(Buffer.concat(chunks).toString("utf8").trim() || `render.ts ended with ${signal ?? `exit code ${code}`}`));
      }
    });
  });
}

function readRendered(outDir: string): Rendered {
  const manifest = JSON.parse(fs.readFileSync(path.join(outDir, "manifest.json"), "utf8")) as {
    containers: { name: string; files: string[] }[];
  };
  const containers = new Map<string, RenderedContainer>();
  for (const c of manifest.containers) {
    const dir = path.join(outDir, c.name);
    const settingsFile = path.join(dir, ".settings.json");
    containers.set(c.name, {
      files: new Map(c.files.map((f) => [f, fs.readFileSync(path.join(dir, f))])),
      settings: fs.existsSync(settingsFile) ? fs.readFileSync(settingsFile, "utf8") : undefined,
    });
  }
  const outputsFile = path.join(outDir, "outputs.json");
  const outputs = fs.existsSync(outputsFile) ? (JSON.parse(fs.readFileSync(outputsFile, "utf8")) as Record<string, unknown>) : {};
  return { containers, outputs };
}
