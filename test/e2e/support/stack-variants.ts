// Variants of the e2e stack, deployed as users re-deploy with `pulumi up` after a config change:
// the same stack (name, state), with some keys edited. A test that deploys one puts the original
// back before it ends, so the files after it see the usual deployment.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import type { PropertyMap } from "../../../tools/mock-run/property-map";
import { DEFAULT_STACK, Endpoints } from "../up";
import { readEndpoints, runUp } from "./platform";

/** Deploys a stack file through the harness and returns what up.ts wrote. */
export function deploy(stackFile = DEFAULT_STACK): Endpoints {
  const r = runUp(stackFile);
  assert.equal(r.code, 0, `deploying ${stackFile} failed:\n${r.stdout}\n${r.stderr}`);
  return readEndpoints();
}

/** The e2e stack with `edit` applied, as a stack file of the same stack (same name, same state). */
export function e2eWith(edit: (config: PropertyMap) => void): string {
  const doc = parse(fs.readFileSync(DEFAULT_STACK, "utf8"));
  edit(doc.config);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mp-redeploy-")), "Pulumi.e2e.yaml");
  fs.writeFileSync(file, stringify(doc));
  return file;
}
