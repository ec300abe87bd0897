// The harness builds images the way the real provider does: it packs the context itself and reads
// BuildKit's protobuf progress to say why a build failed. Both are pure and checked here; the
// builds themselves are in test/daemons/harness-build.test.ts.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { after, describe, it } from "node:test";
import * as zlib from "zlib";
import { BuildLog, contextTar, decodeStatus } from "../e2e/harness/build";

const LONG_DIR = `deep/${"d".repeat(60)}/${"e".repeat(60)}`;

function writeTree(root: string, files: Record<string, string>): void {
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  }
}

/** GNU tar's verbose listing, numeric owners: an independent reader of the archive. */
function listing(tgz: Buffer): { mode: string; owner: string; name: string }[] {
  const out = execFileSync("tar", ["-tvz", "--numeric-owner", "-f", "-"], { input: tgz, encoding: "utf8" });
  return out
    .trim()
    .split("\n")
    .map((line) => {
      const [mode, owner, , , , ...name] = line.split(/\s+/);
      return { mode, owner, name: name.join(" ") };
    });
}

describe("contextTar", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "mp-context-"));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  writeTree(root, {
    Dockerfile: "FROM scratch\n",
    "entrypoint.sh": "#!/bin/sh\n",
    "build.log": "noise",
    "keep.log": "wanted",
    "secret/key.pem": "private",
    "secret/public.pem": "public",
    "conf/app/tmp/cache": "stale",
    "conf/app/app.conf": "x=1",
    [`${LONG_DIR}/file.txt`]: "long",
    ".dockerignore": "# comment\n*.log\n!keep.log\n/secret/\n!secret/public.pem\n**/tmp\nDockerfile\n.dockerignore\n",
  });
  fs.chmodSync(path.join(root, "entrypoint.sh"), 0o755);

  it("packs regular files and directories relative to the context, owned by 0:0, with their permissions", () => {
    const entries = listing(contextTar(root));
    assert.ok(entries.length > 0);
    for (const e of entries) assert.equal(e.owner, "0/0", e.name);
    const mode = (name: string) => entries.find((e) => e.name === name)?.mode;
    assert.equal(mode("entrypoint.sh"), "-rwxr-xr-x");
    assert.match(mode("conf/") ?? "", /^d/);
    assert.ok(entries.every((e) => !e.name.startsWith("/") && !e.name.startsWith("./")));
  });

  it("honours .dockerignore, exceptions and ** included, but never drops the Dockerfile or .dockerignore", () => {
    const names = listing(contextTar(root)).map((e) => e.name);
    assert.deepEqual(names, [
      ".dockerignore",
      "Dockerfile",
      "conf/",
      "conf/app/",
      "conf/app/app.conf",
      "deep/",
      `deep/${"d".repeat(60)}/`,
      `${LONG_DIR}/`,
      `${LONG_DIR}/file.txt`,
      "entrypoint.sh",
      "keep.log",
      // Brought back from an excluded directory, which itself stays out, as in docker's archive.
      "secret/public.pem",
    ]);
  });

  it("keeps a Dockerfile of another name that the patterns exclude", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-context-"));
    try {
      writeTree(dir, { "build/app.Dockerfile": "FROM scratch\n", "build/other": "x", ".dockerignore": "build\n" });
      assert.deepEqual(
        listing(contextTar(dir, "build/app.Dockerfile")).map((e) => e.name),
        [".dockerignore", "build/app.Dockerfile"],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives the same bytes for the same tree", () => {
    const first = contextTar(root);
    assert.ok(first.equals(contextTar(root)));
    // gzip over a tar that ends in the two zero blocks, as docker's own archives do.
    const tar = zlib.gunzipSync(first);
    assert.equal(tar.length % 512, 0);
    assert.ok(tar.subarray(-1024).every((b) => b === 0));
  });
});

/** A protobuf encoder for hand-made messages: each field as (number, varint | string | bytes | nested). */
function encode(fields: [number, number | string | Buffer][]): Buffer {
  const varint = (n: number): Buffer => {
    const bytes: number[] = [];
    for (; n >= 0x80; n = Math.floor(n / 128)) bytes.push((n % 128) | 0x80);
    return Buffer.from([...bytes, n]);
  };
  return Buffer.concat(
    fields.map(([no, value]) => {
      if (typeof value === "number") return Buffer.concat([varint(no * 8), varint(value)]);
      const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
      return Buffer.concat([varint(no * 8 + 2), varint(bytes.length), bytes]);
    }),
  );
}

const timestamp = encode([
  [1, 1_700_000_000],
  [2, 5],
]);
const vertex = (digest: string, name: string, more: [number, number | string | Buffer][] = []) =>
  encode([[1, digest], [2, "sha256:input"], [3, name], ...more, [5, timestamp]]);
const vertexLog = (digest: string, msg: string) =>
  encode([
    [1, digest],
    [2, timestamp],
    [3, 1],
    [4, Buffer.from(msg)],
  ]);
const vertexStatus = encode([
  [1, "extracting"],
  [2, "sha256:b"],
  [4, 2 ** 40],
  [6, timestamp],
]);

describe("BuildKit trace decoding", () => {
  it("reads vertexes and logs out of a StatusResponse, skipping what it does not need", () => {
    const message = encode([
      [1, vertex("sha256:a", "[1/2] FROM docker.io/library/debian", [[4, 1]])],
      [1, vertex("sha256:b", "[2/2] RUN make", [[7, "exit code: 2"]])],
      [2, vertexStatus],
      [3, vertexLog("sha256:b", "cc -o app\n")],
      [
        4,
        encode([
          [1, "sha256:b"],
          [2, 1],
          [3, Buffer.from("warning")],
        ]),
      ],
    ]);
    const status = decodeStatus(message);
    assert.deepEqual(status.vertexes, [
      { digest: "sha256:a", name: "[1/2] FROM docker.io/library/debian", cached: true, error: "" },
      { digest: "sha256:b", name: "[2/2] RUN make", cached: false, error: "exit code: 2" },
    ]);
    assert.deepEqual(
      status.logs.map((l) => ({ ...l, msg: l.msg.toString() })),
      [{ vertex: "sha256:b", stream: 1, msg: "cc -o app\n" }],
    );
  });

  it("refuses a truncated message rather than printing garbage", () => {
    const message = encode([[1, vertex("sha256:a", "step")]]);
    assert.throws(() => decodeStatus(message.subarray(0, message.length - 3)), /truncated/);
  });

  it("prints the steps in order with their output joined into lines and their errors", () => {
    const log = new BuildLog();
    log.add(
      decodeStatus(
        encode([
          [1, vertex("sha256:a", "[1/2] FROM base")],
          [1, vertex("sha256:b", "[2/2] RUN make")],
        ]),
      ),
    );
    log.add(
      decodeStatus(
        encode([
          [1, vertex("sha256:b", "[2/2] RUN make")],
          [3, vertexLog("sha256:b", "compil")],
        ]),
      ),
    );
    log.add(decodeStatus(encode([[3, vertexLog("sha256:b", "ing\r\nlinking\nld: ")]])));
    log.add(decodeStatus(encode([[1, vertex("sha256:b", "[2/2] RUN make", [[7, "exit code: 2"]])]])));
    assert.deepEqual(log.tail(), [
      "#1 [1/2] FROM base",
      "#2 [2/2] RUN make",
      "#2 compiling",
      "#2 linking",
      "#2 ERROR: exit code: 2",
      "#2 ld: ",
    ]);
    assert.deepEqual(log.tail(2), ["#2 ERROR: exit code: 2", "#2 ld: "]);
  });
});
