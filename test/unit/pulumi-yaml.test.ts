// Pulumi.yaml declares the scalar config keys for the CLI; config/schema.ts is what the program
// enforces. This keeps the two from drifting apart, and checks every stack file in the repository
// against the rules the CLI applies before it runs the program at all.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as path from "path";
import { describe, it } from "node:test";
import { z } from "zod";
import { scalarKeys } from "../../config/schema";
import { readStackFile } from "../../config/stack-file";
import { cliStackConfig, readProject, StackConfigError } from "../../tools/mock-run/project-config";

const ROOT = path.join(__dirname, "..", "..");
const project = readProject();
const projectKeys = Object.keys(project.config).filter((k) => !k.includes(":"));

/** Every stack file in the repository, as git knows them. */
const stackFiles = execFileSync("git", ["ls-files", "*Pulumi.*.yaml", "Pulumi.*.yaml"], { cwd: ROOT, encoding: "utf8" })
  .split("\n")
  .filter(Boolean);

describe("Pulumi.yaml", () => {
  it("is a TypeScript Node.js project named mail-platform that refreshes before every update", () => {
    assert.equal(project.name, "mail-platform");
    assert.equal(project.options.refresh, "always", "without refresh, a container stopped by hand stays stopped after `pulumi up`");
  });

  it("disables the default docker provider, so no Docker object can miss the stack's engine", () => {
    assert.deepEqual(project.config["pulumi:disable-default-providers"]?.value, ["docker"]);
  });

  for (const [key, schema] of Object.entries(scalarKeys)) {
    const parsed = (schema as z.ZodType).safeParse(undefined);
    const required = !parsed.success;
    const staticDefault = parsed.success ? parsed.data : undefined;
    if (required || staticDefault !== undefined) {
      it(`declares ${key} ${required ? "without a default (it is required)" : "with the schema's default"}`, () => {
        const declared = project.config[key];
        assert.ok(declared, `Pulumi.yaml config has no '${key}'`);
        assert.ok(declared.description, `'${key}' has no description`);
        assert.deepEqual(
          declared.default,
          staticDefault,
          `default of '${key}': Pulumi.yaml says ${declared.default}, schema says ${staticDefault}`,
        );
      });
    } else {
      it(`does not declare ${key}: its default is computed by the program, and the CLI requires a declared key without a default`, () => {
        assert.equal(
          project.config[key],
          undefined,
          `'${key}' is optional with a computed default; declaring it without a default makes the CLI refuse every stack that leaves it unset`,
        );
      });
    }
  }

  it("declares no key the schema does not know", () => {
    assert.deepEqual(
      projectKeys.filter((k) => !(k in scalarKeys)),
      [],
    );
  });
});

describe("every stack file passes the CLI's config validation", () => {
  assert.ok(stackFiles.length >= 4, `expected the dev, prod, e2e and unit-test stacks, found ${stackFiles.join(", ")}`);
  for (const file of stackFiles) {
    it(file, () => {
      assert.doesNotThrow(() => cliStackConfig(readStackFile(path.join(ROOT, file)), project));
    });
  }

  it("and the check is the CLI's: a declared key without a default that a stack leaves unset is refused by name", () => {
    const stack = { stack: "dev", values: {}, raw: { "mail-platform:dockerHost": "unix:///var/run/docker.sock" }, flat: {} };
    assert.throws(
      () => cliStackConfig(stack, project),
      (e: Error) => e instanceof StackConfigError && e.message === "Stack 'dev' is missing configuration value 'hostname'",
    );
    const withInstanceName = { ...project, config: { ...project.config, instanceName: { type: "string" as const, description: "x" } } };
    assert.throws(
      () => cliStackConfig(readStackFile(path.join(ROOT, "Pulumi.dev.yaml")), withInstanceName),
      /Stack 'dev' is missing configuration value 'instanceName'/,
    );
  });

  it("applies Pulumi.yaml's defaults and values the way the CLI does", () => {
    const config = cliStackConfig(readStackFile(path.join(ROOT, "Pulumi.dev.yaml")), project);
    assert.equal(config["mail-platform:baseImage"], "mail-platform/debian:trixie");
    assert.equal(config["pulumi:disable-default-providers"], JSON.stringify(["docker"]));
  });

  it("refuses a stack value of the wrong declared type", () => {
    const stack = { stack: "x", values: {}, raw: { "mail-platform:hostname": { not: "a string" } }, flat: {} };
    assert.throws(() => cliStackConfig(stack, project), /configuration key 'hostname' must be of type 'string'/);
  });
});
