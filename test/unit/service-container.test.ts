// What every service container gets the same way (components/host/service-container.ts) and how
// every component's files are made (components/host/container-files.ts), under mocks.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { before, describe, it } from "node:test";
import { installMocks, ofType, RecordedResource, registered, valueOf } from "../support/mocks";

installMocks();
import { containerFiles, renderingFor } from "../../components/host/container-files";
import { serviceContainer } from "../../components/host/service-container";
import { PlatformConfig } from "../../config/platform";

const networks = { internal: { name: "unit-internal" }, edge: { name: "unit-edge" } };
const platform = {
  instanceName: "unit",
  bindAddress: "127.0.0.1",
  dnsResolvers: ["192.0.2.53"],
  volumePaths: { logs: "/srv/bulk/logs" } as PlatformConfig["volumePaths"],
  logs: { maxFileMb: 5, keepFiles: 3 },
};

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
        envs: ["A=1"],
        entrypoint: ["/usr/local/bin/serve"],
      },
      { parent: owner },
    );
    serviceContainer(
      "upstream",
      { service: "upstream", platform, image: "sha256:u", networks, alias: "up", files: {}, command: ["/start.sh"], logFile: "command" },
      { parent: owner },
    );
    serviceContainer(
      "silent",
      { service: "silent", platform, image: "sha256:s", networks, alias: "silent", files: {}, command: ["searchd"], logFile: "none" },
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

describe("serviceContainer's log file", () => {
  let byName: Record<string, RecordedResource>;
  before(async () => {
    await registered();
    byName = Object.fromEntries(ofType("docker:index/container:Container").map((c) => [c.name, c]));
  });

  it("mounts <volumePaths.logs>/<service> where log-to-file writes <service>.log, rotated as the stack says", () => {
    const c = byName.inside.inputs;
    assert.deepEqual(c.volumes, [{ hostPath: "/srv/bulk/logs/inside", containerPath: "/var/log/mail-platform/inside" }]);
    assert.deepEqual(c.envs, [
      "MAIL_PLATFORM_LOG_FILE=/var/log/mail-platform/inside/inside.log",
      `MAIL_PLATFORM_LOG_MAX_BYTES=${5 * 1024 * 1024}`,
      "MAIL_PLATFORM_LOG_KEEP=3",
    ]);
  });

  it("keeps the component's own variables, and log-to-file in front of a replaced entrypoint", () => {
    const c = byName.outside.inputs;
    assert.equal(c.envs[0], "A=1");
    assert.ok(c.envs.includes("MAIL_PLATFORM_LOG_FILE=/var/log/mail-platform/outside/outside.log"), `envs: ${c.envs}`);
    assert.deepEqual(c.entrypoints, ["/usr/local/bin/log-to-file", "/usr/local/bin/serve"]);
  });

  it("puts log-to-file in front of an upstream image's command, and leaves one that cannot take it alone", () => {
    assert.deepEqual(byName.upstream.inputs.command, ["/usr/local/bin/log-to-file", "/start.sh"]);
    assert.equal(byName.upstream.inputs.entrypoints, undefined);
    assert.deepEqual(byName.silent.inputs.command, ["searchd"]);
    assert.equal(byName.silent.inputs.envs, undefined);
    assert.deepEqual(byName.silent.inputs.volumes, []);
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
