// npm run e2e:down [-- --keep-volumes]
// Removes what e2e:up created: the test hosts beside the stack (the simulated Internet's DNS
// server and remote MX, the archive receiver; they hold no data worth keeping), then the stack's
// containers and networks, and the data under its storage roots unless kept.
import * as fs from "fs";
import * as path from "path";
import { destroy } from "./harness/deploy";
import { removeTestHosts } from "./support/platform";
import { E2E_DIR } from "./up";

async function main(): Promise<void> {
  const keep = process.argv.includes("--keep-volumes");
  const removed = removeTestHosts();
  console.log(removed.length ? `test hosts removed: ${removed.join(", ")}` : "no test hosts running");
  const stateFile = path.join(E2E_DIR, "state.json");
  if (!fs.existsSync(stateFile)) {
    console.log("nothing deployed (.e2e/state.json is absent)");
    return;
  }
  await destroy(stateFile, keep);
  if (!keep) fs.rmSync(path.join(E2E_DIR, "endpoints.json"), { force: true });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
