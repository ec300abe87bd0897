import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { before, describe, it } from "node:test";
import { installMocks, ofType, registered, valueOf } from "../support/mocks";
import { imageId } from "../../tools/mock-run/material";

installMocks();
import { DockerHost, IMAGES_DIR, PROJECT_IMAGES, SHARED_IMAGE_DIR } from "../../components/host/docker-host";

describe("DockerHost", () => {
  let host: DockerHost;
  before(async () => {
    host = new DockerHost("host", {
      dockerHost: "ssh://deploy@mailhost.example.com",
      instanceName: "mp-unit",
      internalSubnet: "172.30.0.0/24",
      edgeSubnet: "172.30.1.0/24",
      baseImage: "mail-platform/debian:trixie",
    });
    // Asked for twice, as the Database and the PostfixAdmin UI ask for theirs: built once.
    await valueOf(host.image("postfix"));
    await valueOf(host.image("postfix"));
    await registered();
  });

  it("builds only the images components ask for, each once", () => {
    assert.deepEqual(
      ofType("docker:index/remoteImage:RemoteImage").map((i) => i.name),
      ["host-image-postfix"],
    );
  });

  it("names an image only by a folder under images/", () => {
    // @ts-expect-error: no such folder, so a typo in index.ts does not compile.
    const typo = () => host.image("webmial");
    assert.equal(typeof typo, "function");
    const folders = fs
      .readdirSync(IMAGES_DIR, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== SHARED_IMAGE_DIR)
      .map((e) => e.name)
      .sort();
    assert.deepEqual([...PROJECT_IMAGES].sort(), folders);
  });

  it("every image ships its health check as /usr/local/bin/healthcheck", () => {
    for (const service of PROJECT_IMAGES) {
      assert.ok(fs.existsSync(path.join(IMAGES_DIR, service, "healthcheck")), `images/${service}/healthcheck`);
      const dockerfile = fs.readFileSync(path.join(IMAGES_DIR, service, "Dockerfile"), "utf8");
      assert.match(
        dockerfile,
        /^COPY (\S+ )*[\w-]+\/healthcheck( \S+)* \/usr\/local\/bin\/(healthcheck)?$/m,
        `images/${service}/Dockerfile copies healthcheck into /usr/local/bin/`,
      );
      assert.match(dockerfile, /chmod 0755 [^\n]*\/usr\/local\/bin\/healthcheck\b/, `images/${service}/Dockerfile makes it executable`);
    }
  });

  it("connects to the configured engine", () => {
    const [provider] = ofType("pulumi:providers:docker");
    assert.equal(provider.inputs.host, "ssh://deploy@mailhost.example.com");
  });

  it("keeps the internal network internal and the edge network routable", () => {
    const nets = Object.fromEntries(ofType("docker:index/network:Network").map((n) => [n.inputs.name, n.inputs]));
    assert.equal(nets["mp-unit-internal"].internal, true, "the internal network must have no route out");
    assert.deepEqual(nets["mp-unit-internal"].ipamConfigs, [{ subnet: "172.30.0.0/24", gateway: "172.30.0.1" }]);
    assert.deepEqual(nets["mp-unit-edge"].ipamConfigs, [{ subnet: "172.30.1.0/24", gateway: "172.30.1.1" }]);
    assert.notEqual(nets["mp-unit-edge"].internal, true);
  });

  it("builds each image on the engine from images/ with the base image as a build argument", () => {
    const [image] = ofType("docker:index/remoteImage:RemoteImage");
    assert.match(image.inputs.name, /^mp-unit\/postfix:[0-9a-f]{12}$/);
    assert.equal(image.inputs.build.buildArgs.BASE_IMAGE, "mail-platform/debian:trixie");
    assert.equal(image.inputs.keepLocally, true);
    // `labels` is what the provider's build reads; `label` only reaches buildx builds.
    assert.deepEqual(image.inputs.build.labels, { "mail-platform.service": "postfix" });
    assert.equal(image.inputs.build.label, undefined);
  });

  it("names the build context relative to the project, so another checkout of the same stack rebuilds nothing", () => {
    const [image] = ofType("docker:index/remoteImage:RemoteImage");
    assert.equal(image.inputs.build.context, "images");
    assert.equal(image.inputs.build.dockerfile, "postfix/Dockerfile");
  });

  it("tags each image with its base image's id, so a refreshed base image rebuilds it", async () => {
    const { contextHash } = await import("../../components/host/image-hash");
    const [image] = ofType("docker:index/remoteImage:RemoteImage");
    const dirs = ["postfix", SHARED_IMAGE_DIR];
    assert.equal(image.inputs.name, `mp-unit/postfix:${contextHash(IMAGES_DIR, dirs, imageId("image mail-platform/debian:trixie"))}`);
    assert.notEqual(contextHash(IMAGES_DIR, dirs, "sha256:one"), contextHash(IMAGES_DIR, dirs, "sha256:two"));
  });

  it("replaces its networks delete-before-replace: their names are fixed, so a new one cannot be made beside the old", () => {
    for (const n of ofType("docker:index/network:Network")) assert.equal(n.options?.deleteBeforeReplace, true, n.name);
  });
});
