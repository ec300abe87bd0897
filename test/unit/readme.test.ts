// The README's config reference is generated from the schema; this fails when someone changed
// the schema and forgot `npm run docs:config`.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
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
  it("says where each component lives: every type token, image folder and template folder is in the table", () => {
    const readme = fs.readFileSync(README, "utf8");
    const table = readme.slice(readme.indexOf("### Where things live"), readme.indexOf("## Web endpoints"));
    const root = path.resolve(__dirname, "..", "..");
    const tokens = execFileSync("git", ["grep", "-hoE", '_TYPE = "mail-platform:[a-z]+:[A-Za-z]+"', "--", "components"], {
      cwd: root,
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean)
      .map((l) => l.slice(l.indexOf('"') + 1, -1));
    assert.ok(tokens.length >= 12, `found only ${tokens.length} component type tokens`);
    const folders = [...fs.readdirSync(path.join(root, "images")), ...fs.readdirSync(path.join(root, "config-templates"))];
    const missing = [...tokens.map((t) => `\`${t}\``), ...folders.map((f) => `\`${f}\``)].filter((x) => !table.includes(x));
    assert.deepEqual([...new Set(missing)], [], "add these to README.md's 'Where things live' table");
  });
});
