// A content hash of what an image is built from, used as its tag: a changed Dockerfile, entrypoint
// or shared script, or a new base image, gives a new tag, hence a rebuild and a preview diff on
// every container that runs it.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

/** Hashes the files under `dirs` (each named relative to `root`, so two checkouts agree) and the base image's id. */
export function contextHash(root: string, dirs: string[], baseImageId: string): string {
  const h = crypto.createHash("sha256").update(baseImageId).update("\0");
  const walk = (d: string): string[] =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]))
      .sort();
  for (const f of dirs.flatMap((d) => walk(path.join(root, d)))) {
    h.update(path.relative(root, f)).update("\0").update(fs.readFileSync(f)).update("\0");
  }
  return h.digest("hex").slice(0, 12);
}
