// Unified-diff hunks of two versions of one file, made by `git diff --no-index`: git is needed by
// `npm run diff` anyway, and its diff is the one reviewers know. Headers are left to the caller,
// which names files by their path inside the container.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The hunks (`@@ ... @@` onwards) turning `before` into `after`; undefined means absent (a file added or removed). */
export function hunks(before: Buffer | undefined, after: Buffer | undefined): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-diff-file-"));
  try {
    const side = (name: string, content: Buffer | undefined): string => {
      if (content === undefined) return "/dev/null";
      fs.writeFileSync(path.join(dir, name), content);
      return path.join(dir, name);
    };
    const args = [
      // Settings a user's git config could change, fixed so the output is the same everywhere.
      "-c",
      "core.quotePath=false",
      "-c",
      "diff.noprefix=false",
      "-c",
      "diff.mnemonicPrefix=false",
      "diff",
      "--no-index",
      "--no-color",
      "--no-ext-diff",
      "--no-textconv",
      "--no-renames",
      "--diff-algorithm=myers",
      "--unified=3",
      "--",
      side("before", before),
      side("after", after),
    ];
    const r = spawnSync("git", args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    // 1 is "they differ"; anything else but 0 is trouble.
    if (r.status !== 0 && r.status !== 1) throw new Error(`git diff --no-index failed: ${r.stderr || r.error?.message}`);
    const lines = r.stdout.split("\n");
    const start = lines.findIndex((l) => l.startsWith("@@") || l.startsWith("Binary files"));
    if (start < 0) return "";
    const body = lines.slice(start);
    return body[0].startsWith("Binary files") ? "binary content differs\n" : body.join("\n");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
