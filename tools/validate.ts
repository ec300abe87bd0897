// npm run validate -- <stack file> [--check-files]
// Checks a stack file without deploying: exit 0, or exit 1 with every problem listed.
// PEM files named by the stack live on the deploy machine, so they are only checked with
// --check-files (the program itself always checks them before creating anything).
import * as path from "path";
import { readStackFile } from "../config/stack-file";
import { formatProblems, validateStack } from "../config/validate";
import { configWarnings } from "../config/warnings";

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith("--"));
if (!file) {
  console.error("usage: npm run validate -- <Pulumi.<stack>.yaml> [--check-files]");
  process.exit(2);
}
let values: Record<string, unknown>;
try {
  values = readStackFile(path.resolve(file)).values;
} catch (e) {
  console.error(`${file}: cannot read it as a stack file: ${(e as Error).message}`);
  process.exit(1);
}
const result = validateStack(values, { checkFiles: args.includes("--check-files") });
if (result.ok) {
  for (const warning of configWarnings(result.value)) console.warn(`${file}: warning: ${warning}`);
  console.log(
    `${file}: valid (${result.value.domains.length} domains, ${result.value.mailboxes.length} mailboxes, ${result.value.aliases.length} aliases)`,
  );
} else {
  console.error(`${file}: ${formatProblems(result.problems)}`);
  process.exit(1);
}
