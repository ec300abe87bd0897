// What every service container gets the same way (components/host/service-container.ts) and how
// every component's files are made (components/host/container-files.ts), under mocks.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { before, describe, it } from "node:test";
import { installMocks, ofType, RecordedResource, registered, valueOf } from "../support/mocks";

installMocks();
import { containerFiles, renderingFor } from "../../components/host/container-files";
import { serviceContainer } from "../../components/host/service-container";

const networks = { internal: { name: "unit-internal" }, edge: { name: "unit-edge" } };
const platform = { instanceName: "unit", bindAddress: "127.0.0.1", dnsResolvers: ["192.0.2.53"] };

class Owner extends pulumi.ComponentResource {
  constructor(name: string) {
    super("unit:test:Owner", name, {}, {});
  }
}

describe("serviceContainer", () => {
  let byName: Record<string, RecordedResource>;
  before(async () => {
    const owner = new Owner("owner");
    serviceContainer("inside", { service: "inside", platform, image: "sha256:i", networks, alias: "inside", files: {} }, { parent: owner });
    serviceContainer(
      "outside",
      {
        service: "outside",
        platform,
        image: "sha256:o",
        networks,
        alias: "out",
        edge: true,
        files: {},
        ports: [{ internal: 25, external: 2525 }],
        healthcheck: ["/bin/true"],
      },
      { parent: owner },
    );
    await registered();
    byName = Object.fromEntries(ofType("docker:index/container:Container").map((c) => [c.name, c]));
  });

  it("names the container <instanceName>-<service>, also as its host name and label", () => {
    for (const [resource, service] of [
      ["inside", "inside"],
      ["outside", "outside"],
    ]) {
      const c = byName[resource].inputs;
      assert.equal(c.name, `unit-${service}`);
      assert.equal(c.hostname, `unit-${service}`);
      assert.equal(c.labels.find((l: { label: string }) => l.label === "mail-platform.service")?.value, service);
    }
  });

  it("joins the internal network under its alias, and the edge network only when asked, without one", () => {
    assert.deepEqual(byName.inside.inputs.networksAdvanced, [{ name: "unit-internal", aliases: ["inside"] }]);
    assert.deepEqual(byName.outside.inputs.networksAdvanced, [
      { name: "unit-internal", aliases: ["out"] },
      { name: "unit-edge", aliases: [] },
    ]);
  });

  it("gives the stack's resolvers to a container on the edge network only, the one with a route to them", () => {
    assert.deepEqual(byName.outside.inputs.dns, ["192.0.2.53"]);
    assert.equal(byName.inside.inputs.dns, undefined);
  });

  it("publishes ports on the stack's bind address", () => {
    assert.deepEqual(byName.outside.inputs.ports, [{ internal: 25, external: 2525, ip: "127.0.0.1", protocol: "tcp" }]);
  });

  it("runs the image's /usr/local/bin/healthcheck unless told another command", () => {
    assert.deepEqual(byName.inside.inputs.healthcheck.tests, ["CMD", "/usr/local/bin/healthcheck"]);
    assert.deepEqual(byName.outside.inputs.healthcheck.tests, ["CMD", "/bin/true"]);
  });
});

describe("containerFiles", () => {
  it("renders once the inputs are known, and keeps the files secret even from plain inputs", async () => {
    const owner = new Owner("files");
    const files = containerFiles(owner, { name: pulumi.output("x"), plain: 2 }, ({ name, plain }) => ({ "/f": `${name}${plain}` }));
    assert.deepEqual(await valueOf(files), { "/f": "x2" });
    assert.equal(await pulumi.isSecret(files), true);
  });

  it("turns a render error into a ResourceError on the component, so the CLI names it", () => {
    const owner = new Owner("failing");
    const render = renderingFor(owner, () => {
      throw new Error("no certificate for example.test");
    });
    assert.throws(
      () => render({}),
      (e: Error) => e instanceof pulumi.ResourceError && e.message === "no certificate for example.test",
    );
  });
});
