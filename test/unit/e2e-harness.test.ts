// The deploy harness must never deploy something other than what `pulumi up` would: an input,
// option or resource type it does not model stops it before anything reaches the engine, and
// its planner decides replace / update / record-only and the dependent-replacement cascade the
// way the engine and the provider do.
import { strict as assert } from "assert";
import { describe, it } from "node:test";
import type { Registration } from "../../tools/mock-run/recording-monitor";
import { UNKNOWN } from "../../tools/mock-run/secrets";
import { refuseUnmodelled } from "../e2e/harness/appliers";
import { refuseUnsupportedBuilder } from "../e2e/harness/build";
import { Engine } from "../e2e/harness/engine";
import { dependentReplacements, diffInputs, GraphNode, planStep } from "../e2e/harness/plan";
import { goDurationString, parseGoDuration } from "../e2e/harness/readback";
import type { PropertyMap } from "../../tools/mock-run/property-map";

const CONTAINER = "docker:index/container:Container";
const PROVIDER = "urn:pulumi:e2e::mail-platform::pulumi:providers:docker::engine::engine-id";

function registration(inputs: PropertyMap, extra: Partial<Registration> = {}): Registration {
  return {
    type: CONTAINER,
    name: "c",
    urn: "urn:c",
    parent: "",
    custom: true,
    inputs,
    secretInputs: [],
    provider: PROVIDER,
    dependencies: [],
    propertyDependencies: {},
    options: {
      protect: false,
      retainOnDelete: false,
      ignoreChanges: [],
      replaceOnChanges: [],
      additionalSecretOutputs: [],
      aliases: 0,
      deletedWith: "",
      importId: "",
      customTimeouts: false,
      replaceWith: [],
      replacementTrigger: false,
      hooks: false,
    },
    ...extra,
  };
}

describe("e2e deploy harness: refusals", () => {
  it("refuses a container input the contract does not list", () => {
    assert.throws(
      () => refuseUnmodelled(registration({ name: "c", image: "i", privileged: true })),
      /does not apply .* input\(s\) privileged/,
    );
  });
  it("refuses a nested field the contract does not list (volumes[].selinuxRelabel would be dropped)", () => {
    assert.throws(
      () => refuseUnmodelled(registration({ name: "c", volumes: [{ hostPath: "/a", containerPath: "/b", selinuxRelabel: "z" }] })),
      /volumes\[\]\.selinuxRelabel/,
    );
    assert.throws(
      () => refuseUnmodelled(registration({ name: "c", uploads: [{ file: "/x", source: "/etc/passwd" }] })),
      /uploads\[\]\.source/,
    );
  });
  it("refuses an empty upload, as the provider does", () => {
    assert.throws(
      () => refuseUnmodelled(registration({ name: "c", uploads: [{ file: "/etc/x", content: "" }] })),
      /upload \/etc\/x is empty/,
    );
  });
  it("refuses a docker resource on the default provider, which Pulumi.yaml disables", () => {
    assert.throws(() => refuseUnmodelled(registration({ name: "c" }, { provider: undefined })), /default docker provider/);
  });
  it("refuses resource options it does not model", () => {
    const r = registration({ name: "c" });
    assert.throws(() => refuseUnmodelled({ ...r, options: { ...r.options, ignoreChanges: ["envs"] } }), /option\(s\) ignoreChanges/);
    assert.throws(() => refuseUnmodelled({ ...r, options: { ...r.options, aliases: 1 } }), /option\(s\) aliases/);
  });
  it("refuses a resource type it does not know", () => {
    assert.throws(
      () => refuseUnmodelled(registration({}, { type: "docker:index/volume:Volume" })),
      /does not know how to apply docker:index\/volume:Volume/,
    );
  });
  it("only deploys to a local engine", () => {
    assert.throws(() => Engine.fromHost("ssh://deploy@host"), /only deploys to a local engine/);
  });
});

describe("e2e deploy harness: Go durations, as the provider reads them back", () => {
  it("prints Docker's nanoseconds as Go's Duration.String does", () => {
    const table: [number, string][] = [
      [0, "0s"],
      [5e9, "5s"],
      [60e9, "1m0s"],
      [90e9, "1m30s"],
      [180e9, "3m0s"],
      [3600e9, "1h0m0s"],
      [1.5e9, "1.5s"],
      [500e6, "500ms"],
    ];
    for (const [n, s] of table) assert.equal(goDurationString(n), s, `${n} ns`);
  });
  it("parses what time.ParseDuration accepts and refuses the rest", () => {
    assert.equal(parseGoDuration("90s"), 90e9);
    assert.equal(parseGoDuration("1m30s"), 90e9);
    assert.throws(() => parseGoDuration("90"), /would refuse/);
  });
});

describe("e2e deploy harness: planning against the last state", () => {
  const base = {
    name: "c",
    image: "sha256:1",
    restart: "unless-stopped",
    memory: 512,
    tmpfs: { "/tmp": "size=1m" },
    healthcheck: { tests: ["CMD", "true"], startPeriod: "1m0s" },
  };
  it("replaces on a replace-forcing input, updates in place on memory, records tmpfs without applying it", () => {
    assert.equal(planStep(CONTAINER, base, { ...base, image: "sha256:2" }, {}).kind, "replace");
    assert.equal(planStep(CONTAINER, base, { ...base, memory: 768 }, {}).kind, "update");
    assert.equal(planStep(CONTAINER, base, { ...base, tmpfs: { "/tmp": "size=2m" } }, {}).kind, "record");
    assert.equal(planStep(CONTAINER, base, base, {}).kind, "same");
  });
  it("marks a health-check change as ambiguous between provider releases", () => {
    const [change] = diffInputs(CONTAINER, base, { ...base, healthcheck: { ...base.healthcheck, startPeriod: "2m0s" } });
    assert.equal(change.ambiguous, true);
    assert.equal(planStep(CONTAINER, base, { ...base, healthcheck: { tests: ["CMD", "false"] } }, { assumeReplace: true }).kind, "replace");
  });
  it("treats an unknown value (a preview's not-yet-known output) as a change", () => {
    assert.equal(planStep(CONTAINER, base, { ...base, image: UNKNOWN }, {}).kind, "replace");
  });
  it("ignores the order of set-typed inputs", () => {
    assert.equal(planStep(CONTAINER, { ...base, dns: ["1.1.1.1", "9.9.9.9"] }, { ...base, dns: ["9.9.9.9", "1.1.1.1"] }, {}).kind, "same");
  });
  it("deletes containers before replacing them, and create-before-delete elsewhere unless asked", () => {
    assert.equal(planStep(CONTAINER, base, { ...base, image: "x" }, {}).deleteBeforeReplace, true);
    assert.equal(planStep("docker:index/network:Network", { name: "n" }, { name: "m" }, {}).deleteBeforeReplace, false);
    assert.equal(
      planStep("docker:index/network:Network", { name: "n" }, { name: "m" }, { deleteBeforeReplace: true }).deleteBeforeReplace,
      true,
    );
  });
  it("refuses an input the contract does not list, rather than guess its effect", () => {
    assert.throws(() => diffInputs(CONTAINER, {}, { gpus: "all" }), /does not list docker:index\/container:Container input gpus/);
  });
});

describe("e2e deploy harness: the engine's dependent-replacement cascade", () => {
  const node = (urn: string, propertyDependencies: Record<string, string[]> = {}, dependencies: string[] = []): GraphNode => ({
    urn,
    type: CONTAINER,
    custom: true,
    provider: PROVIDER,
    dependencies: [...dependencies, ...Object.values(propertyDependencies).flat()],
    propertyDependencies,
  });
  const graph = [
    node("db"),
    node("provision", { labels: ["db"] }, ["db"]),
    node("postfix", { uploads: ["provision"] }),
    node("dovecot", {}, ["provision"]),
    node("webmail", { restart: ["provision"] }),
    node("mail-ui", { uploads: ["postfix"] }),
  ];
  it("re-creates every transitive dependent whose replace-forcing inputs take a replaced resource's outputs", () => {
    assert.deepEqual(
      dependentReplacements("db", graph, new Set()).map((n) => n.urn),
      ["provision", "postfix", "mail-ui"],
    );
  });
  it("leaves dependsOn-only dependents and updatable inputs alone", () => {
    const urns = dependentReplacements("provision", graph, new Set()).map((n) => n.urn);
    assert.ok(!urns.includes("dovecot"), "a dependsOn edge never cascades");
    assert.ok(!urns.includes("webmail"), "an updatable input (restart) becomes an update, not a replacement");
  });
  it("skips resources already registered in this update, as the engine does", () => {
    assert.deepEqual(
      dependentReplacements("db", graph, new Set(["postfix"])).map((n) => n.urn),
      ["provision"],
    );
  });
});

describe("e2e deploy harness: engines the provider cannot build on", () => {
  const engineAnswering = (info: Record<string, unknown>) => ({ call: async () => info }) as unknown as Engine;
  it("refuses an engine with the containerd image store, where the provider's BuildKit build fails (kreuzwerker#534)", async () => {
    await assert.rejects(
      refuseUnsupportedBuilder(engineAnswering({ Driver: "overlayfs", DriverStatus: [["driver-type", "io.containerd.snapshotter.v1"]] })),
      /containerd-snapshotter": false[\s\S]*issues\/534|issues\/534[\s\S]*containerd-snapshotter": false/,
    );
  });
  it("accepts the graph-driver image store", async () => {
    await refuseUnsupportedBuilder(engineAnswering({ Driver: "overlay2", DriverStatus: [["Backing Filesystem", "extfs"]] }));
  });
});
