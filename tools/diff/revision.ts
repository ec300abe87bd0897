// A git revision of the repository as a directory of its own, made without touching the work tree
// or the index (git archive), so `npm run diff` can render it with that revision's own code.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

function git(root: string, args: string[]): string {
  return execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** The commit a ref names (a branch, tag, `HEAD~2`, `origin/main`), or undefined when it names none. */
export function resolveCommit(root: string, ref: string): string | undefined {
  const r = spawnSync("git", ["-C", root, "rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Whether `file` (a path relative to the repository root) exists at `commit`. */
export function existsAt(root: string, commit: string, file: string): boolean {
  return spawnSync("git", ["-C", root, "cat-file", "-e", `${commit}:${file}`]).status === 0;
}

/**
 * Writes the commit's tree into `dir` and links the work tree's node_modules into it: the revision
 * runs its own program and tools, with the dependencies installed here (a lockfile change between
 * the two revisions is the one thing this does not show).
 */
export function materialise(root: string, commit: string, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const tar = `${dir}.tar`;
  git(root, ["archive", "--format=tar", `--output=${tar}`, commit]);
  try {
    execFileSync("tar", ["-x", "-f", tar, "-C", dir], { stdio: ["ignore", "pipe", "pipe"] });
  } finally {
    fs.rmSync(tar, { force: true });
  }
  // A node_modules link committed by mistake (.gitignore's `node_modules/` does not match a link) gives way.
  fs.rmSync(path.join(dir, "node_modules"), { recursive: true, force: true });
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
}
