import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import { installMocks, ofType, settle, valueOf } from "../support/mocks";

installMocks();
import { DockerHost } from "../../components/host/docker-host";

describe("DockerHost", () => {
  let host: DockerHost;
  before(async () => {
    host = new DockerHost("host", {
      dockerHost: "ssh://deploy@mailhost.example.com",
      instanceName: "mp-unit",
      internalSubnet: "172.30.0.0/24",
      edgeSubnet: "172.30.1.0/24",
      baseImage: "mail-platform/debian:trixie",
      images: ["postfix"],
    });
    await valueOf(host.images.postfix);
    await settle();
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
    assert.equal(image.inputs.build.context, "images/postfix");
  });

  it("tags each image with its base image's id, so a refreshed base image rebuilds it", async () => {
    const { contextHash } = await import("../../components/host/image-hash");
    const [image] = ofType("docker:index/remoteImage:RemoteImage");
    const dir = require("path").resolve(__dirname, "..", "..", "images", "postfix");
    assert.equal(image.inputs.name, `mp-unit/postfix:${contextHash(dir, "sha256:mock-base-mail-platform/debian:trixie")}`);
    assert.notEqual(contextHash(dir, "sha256:one"), contextHash(dir, "sha256:two"));
  });

  it("replaces its networks delete-before-replace: their names are fixed, so a new one cannot be made beside the old", () => {
    for (const n of ofType("docker:index/network:Network")) assert.equal(n.options?.deleteBeforeReplace, true, n.name);
  });
});
