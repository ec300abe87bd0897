// Pulumi.yaml declares the scalar config keys for the CLI; config/schema.ts is what the program
// enforces. This keeps the two from drifting apart.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { z } from "zod";
import { scalarKeys } from "../../config/schema";

const project = parse(fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8"));

describe("Pulumi.yaml", () => {
  it("is a TypeScript Node.js project named mail-platform", () => {
    assert.equal(project.name, "mail-platform");
    assert.equal(project.runtime.name, "nodejs");
  });

  for (const [key, schema] of Object.entries(scalarKeys)) {
    it(`declares ${key} with the schema's default`, () => {
      const declared = project.config[key];
      assert.ok(declared, `Pulumi.yaml config has no '${key}'`);
      assert.ok(declared.description, `'${key}' has no description`);
      const parsed = (schema as z.ZodType).safeParse(undefined);
      const schemaDefault = parsed.success ? parsed.data : undefined;
      assert.deepEqual(declared.default, schemaDefault, `default of '${key}': Pulumi.yaml says ${declared.default}, schema says ${schemaDefault}`);
    });
  }

  it("declares no key the schema does not know", () => {
    const unknown = Object.keys(project.config).filter((k) => !(k in scalarKeys));
    assert.deepEqual(unknown, []);
  });
});
