// The harness's image builds against the real engine: BuildKit through the engine API, as the
// Pulumi Docker provider builds `docker.RemoteImage`s. What the image holds, the id it reports and
// what a failed build shows are checked against the engine's own view of the result.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { buildImage, refuseUnsupportedBuilder } from "../e2e/harness/build";
import { Engine } from "../e2e/harness/engine";
import { BASE_IMAGE, docker, mustDocker } from "../support/docker";

const TAG = `mail-platform-test/harness-build-${process.pid}`;

function context(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-build-"));
  for (const [file, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), content);
  return dir;
}

const GREETING_DOCKERFILE = `ARG BASE_IMAGE
FROM \${BASE_IMAGE}
ARG GREETING
COPY message.txt /message.txt
RUN echo "$GREETING" > /greeting
`;

describe("harness image builds (BuildKit through the engine API)", () => {
  const engine = process.env.DOCKER_HOST ? Engine.fromHost(process.env.DOCKER_HOST) : new Engine();
  const dirs: string[] = [];
  const make = (files: Record<string, string>) => {
    const dir = context(files);
    dirs.push(dir);
    return dir;
  };

  before(async () => {
    await refuseUnsupportedBuilder(engine);
  });
  after(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    const tags = mustDocker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", TAG]).split("\n").filter(Boolean);
    if (tags.length) docker(["image", "rm", "-f", ...tags]);
  });

  it("builds with the build args and labels given, and returns the id the engine has for the tag", async () => {
    const dir = make({ Dockerfile: GREETING_DOCKERFILE, "message.txt": "from the context\n" });
    const built = await buildImage(engine, {
      context: dir,
      tag: `${TAG}:ok`,
      buildArgs: { BASE_IMAGE, GREETING: `hello ${process.pid}` },
      labels: { "mail-platform.test": "harness-build" },
    });
    assert.equal(built.imageId, mustDocker(["image", "inspect", "-f", "{{.Id}}", `${TAG}:ok`]));
    assert.equal(mustDocker(["image", "inspect", "-f", '{{index .Config.Labels "mail-platform.test"}}', `${TAG}:ok`]), "harness-build");
    const out = mustDocker(["run", "--rm", "--network", "none", "--entrypoint", "/bin/cat", `${TAG}:ok`, "/greeting", "/message.txt"]);
    assert.equal(out, `hello ${process.pid}\nfrom the context`);
    assert.ok(built.seconds > 0);
  });

  it("rebuilds an unchanged context from the cache, to the same image", async () => {
    const dir = make({ Dockerfile: GREETING_DOCKERFILE, "message.txt": "cached\n" });
    const req = { context: dir, tag: `${TAG}:cached`, buildArgs: { BASE_IMAGE, GREETING: "again" } };
    const first = await buildImage(engine, req);
    const second = await buildImage(engine, req);
    assert.equal(second.imageId, first.imageId);
  });

  it("runs builds concurrently, each to its own image", async () => {
    const builds = ["one", "two", "three"].map((name) =>
      buildImage(engine, {
        context: make({ Dockerfile: GREETING_DOCKERFILE, "message.txt": `${name}\n` }),
        tag: `${TAG}:${name}`,
        buildArgs: { BASE_IMAGE, GREETING: name },
      }),
    );
    const ids = (await Promise.all(builds)).map((b) => b.imageId);
    assert.equal(new Set(ids).size, 3);
    for (const [i, name] of ["one", "two", "three"].entries()) {
      assert.equal(mustDocker(["image", "inspect", "-f", "{{.Id}}", `${TAG}:${name}`]), ids[i]);
    }
  });

  it("fails with what the failing step printed", async () => {
    // The marker is computed by the shell, so only the command's output can contain it (the step's
    // name holds the unexpanded text).
    const dir = make({
      Dockerfile: `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nRUN echo "marker-$((6 * 7))" && echo "to stderr" >&2 && exit 3\n`,
    });
    await assert.rejects(buildImage(engine, { context: dir, tag: `${TAG}:broken`, buildArgs: { BASE_IMAGE } }), (e: Error) => {
      assert.match(e.message, new RegExp(`building ${TAG}:broken from .* failed: .*exit code: 3`));
      assert.match(e.message, /^#\d+ marker-42$/m);
      assert.match(e.message, /^#\d+ to stderr$/m);
      assert.match(e.message, /^#\d+ \[2\/2\] RUN echo/m);
      return true;
    });
  });
});
