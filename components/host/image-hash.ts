// A content hash of an image's build context and of what it is built on, used as its tag: a
// changed Dockerfile or entrypoint, or a new base image, gives a new tag, hence a rebuild and a
// preview diff on every container that runs it.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export function contextHash(dir: string, baseImageId: string): string {
  const h = crypto.createHash("sha256").update(baseImageId).update("\0");
  const walk = (d: string): string[] =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]))
      .sort();
  for (const f of walk(dir)) {
    h.update(path.relative(dir, f)).update("\0").update(fs.readFileSync(f)).update("\0");
  }
  return h.digest("hex").slice(0, 12);
}
