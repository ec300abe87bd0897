// The harness is only worth what it shares with the real engine and provider. These tests keep
// its written contract current, make sure the program uses nothing the contract does not
// describe, and check that every container of every stack survives the provider's read-back
// unchanged: otherwise a second `pulumi up` would never be empty.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { before, describe, it } from "node:test";
import { ProgramRun, runProgram } from "../../tools/mock-run/run-program";
import { CONTRACT, DATA_SOURCES, inputPaths, MAP_INPUTS, ruleFor } from "../e2e/harness/contract";
import { README, renderContract } from "../e2e/harness/contract-doc";
import { createBody, dockerStores, providerRead, readBackDiff } from "../e2e/harness/readback";
import { refuseUnmodelled } from "../e2e/harness/appliers";

const ROOT = path.resolve(__dirname, "..", "..");
const STACKS = ["Pulumi.dev.yaml", "Pulumi.prod.yaml", "test/e2e/Pulumi.e2e.yaml", "test/unit/stacks/Pulumi.builtin-archive.yaml"];
const CONTAINER = "docker:index/container:Container";

describe("the harness's contract", () => {
  it("is written down in test/e2e/harness/README.md, current (npm run docs:harness)", () => {
    assert.equal(fs.readFileSync(README, "utf8"), renderContract(), "test/e2e/harness/README.md is stale: run npm run docs:harness");
  });
});

for (const stack of STACKS) {
  describe(`${stack} under the harness's contract`, () => {
    let run: ProgramRun;
    before(async () => {
      run = await runProgram(path.join(ROOT, stack), "masked");
    });

    it("uses only resource types, inputs, options and data sources the contract lists", () => {
      const unlisted = run.resources
        .filter((r) => r.custom)
        .flatMap((r) =>
          CONTRACT[r.type]
            ? inputPaths(r.type, r.inputs)
                .filter((p) => !ruleFor(r.type, p) && !(MAP_INPUTS[r.type] ?? []).includes(p.replace(/\[\]/g, "")))
                .map((p) => `${r.type} ${p}`)
            : [`resource type ${r.type}`],
        );
      assert.deepEqual(
        [...new Set(unlisted)],
        [],
        "describe these in test/e2e/harness/contract.ts (what the real provider does with them) first",
      );
      for (const r of run.resources) assert.doesNotThrow(() => refuseUnmodelled(r), `${r.name}`);
      assert.deepEqual(
        run.invokes.filter((t) => !DATA_SOURCES[t]),
        [],
        "data sources missing from contract.ts",
      );
    });

    it("has every container read back by the provider exactly as the program wrote it (a second `up` is empty)", () => {
      const problems = run.resources
        .filter((r) => r.type === CONTAINER)
        .flatMap((r) =>
          readBackDiff(r.inputs, providerRead(dockerStores(createBody(r.inputs)), r.inputs)).map((p) => `${r.inputs.name} ${p}`),
        );
      assert.deepEqual(problems, []);
    });
  });
}

describe("the read-back check", () => {
  it("catches what the code before this change wrote: 60s start periods and memory without swap", () => {
    const inputs = {
      name: "c",
      image: "sha256:1",
      memory: 768,
      healthcheck: { tests: ["CMD", "true"], interval: "10s", timeout: "5s", retries: 3, startPeriod: "60s" },
    };
    assert.deepEqual(readBackDiff(inputs, providerRead(dockerStores(createBody(inputs)), inputs)), [
      "memorySwap: Docker reads back 1536, the program says null",
      'healthcheck.startPeriod: Docker reads back "1m0s", the program says "60s"',
    ]);
  });
});
