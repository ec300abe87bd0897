// npm run e2e:down [-- --keep-volumes]
// Removes what e2e:up created; the data under the stack's storage roots goes too unless kept.
import * as fs from "fs";
import * as path from "path";
import { destroy } from "./harness/deploy";
import { E2E_DIR } from "./up";

const keep = process.argv.includes("--keep-volumes");
const stateFile = path.join(E2E_DIR, "state.json");
if (!fs.existsSync(stateFile)) {
  console.log("nothing deployed (.e2e/state.json is absent)");
} else {
  destroy(stateFile, keep)
    .then(() => {
      if (!keep) fs.rmSync(path.join(E2E_DIR, "endpoints.json"), { force: true });
    })
    .catch((e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    });
}
