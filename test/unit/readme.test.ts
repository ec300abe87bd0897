// The README's config reference is generated from the schema; this fails when someone changed
// the schema and forgot `npm run docs:config`.
import { strict as assert } from "assert";
import * as fs from "fs";
import { describe, it } from "node:test";
import { README, readmeWithReference } from "../../tools/config-reference";

describe("README.md", () => {
  it("has the config reference of the current schema (run `npm run docs:config` to refresh)", () => {
    const readme = fs.readFileSync(README, "utf8");
    assert.equal(readme, readmeWithReference(readme));
  });
  it("shows the two commands: deploy the dev stack and run the tests", () => {
    const readme = fs.readFileSync(README, "utf8");
    assert.match(readme, /npm run deploy:dev/);
    assert.match(readme, /`npm test`/);
  });
});
