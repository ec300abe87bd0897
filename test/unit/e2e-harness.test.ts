// The deploy harness must never deploy something other than what `pulumi up` would: an input or
// resource type it does not understand stops it before anything reaches the engine.
import { strict as assert } from "assert";
import * as os from "os";
import * as path from "path";
import { describe, it } from "node:test";
import { ApplyContext, applyContainer, applyImage, applyMaterial, applyNetwork, specHash } from "../e2e/harness/appliers";
import { Engine } from "../e2e/harness/engine";
import { HarnessState } from "../e2e/harness/state";

function context(): ApplyContext {
  const state = new HarnessState(path.join(os.tmpdir(), `mp-harness-${process.pid}.json`));
  return {
    // Any call to the engine in these tests is a bug: refusal must come first.
    engine: () => {
      throw new Error("the engine was contacted");
    },
    dockerHost: () => "unix:///nonexistent.sock",
    state,
    log: () => undefined,
  };
}

describe("e2e deploy harness", () => {
  it("refuses a container input it does not apply, before contacting the engine", async () => {
    await assert.rejects(
      applyContainer({ type: "docker:index/container:Container", name: "c", inputs: { name: "c", image: "i", privileged: true } }, context()),
      /does not apply docker:index\/container:Container input\(s\) privileged/,
    );
  });
  it("refuses unknown network and image inputs", async () => {
    await assert.rejects(applyNetwork({ type: "docker:index/network:Network", name: "n", inputs: { name: "n", attachable: true } }, context()), /attachable/);
    await assert.rejects(
      applyImage({ type: "docker:index/remoteImage:RemoteImage", name: "i", inputs: { name: "i", build: { context: ".", secrets: [{ id: "x" }] } } }, context()),
      /build option\(s\) secrets/,
    );
  });
  it("only deploys to a local engine", () => {
    assert.throws(() => Engine.fromHost("ssh://deploy@host"), /only deploys to a local engine/);
  });
  it("keeps generated keys and passwords while their inputs stay the same, like Pulumi's state", () => {
    const ctx = context();
    const r = { type: "random:index/randomPassword:RandomPassword", name: "p", inputs: { length: 32 } };
    const first = applyMaterial(r, { result: "one" }, ctx);
    assert.deepEqual(applyMaterial(r, { result: "two" }, ctx), first, "a second run must reuse the first password");
    assert.deepEqual(applyMaterial({ ...r, inputs: { length: 40 } }, { result: "three" }, ctx), { result: "three" }, "changed inputs make a new one");
  });
  it("hashes specs independently of key order", () => {
    assert.equal(specHash({ a: 1, b: { c: 2, d: 3 } }), specHash({ b: { d: 3, c: 2 }, a: 1 }));
  });
});
