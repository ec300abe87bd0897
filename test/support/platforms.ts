// The resolved platform of a stack file, as renderer and component tests need it. PEM files the
// prod stack names live on the company's deploy machine, so they are not checked here.
import * as path from "path";
import { PlatformConfig, resolvePlatform } from "../../config/platform";
import { readStackFile } from "../../config/stack-file";
import { formatProblems, validateStack } from "../../config/validate";

const ROOT = path.resolve(__dirname, "..", "..");

/** `stackFile` relative to the repository root, e.g. `Pulumi.dev.yaml`. Tuning assumes a 2-core host unless the stack says otherwise. */
export function stackPlatform(stackFile: string): PlatformConfig {
  const file = readStackFile(path.join(ROOT, stackFile));
  const result = validateStack(file.values, { checkFiles: false });
  if (!result.ok) throw new Error(`${stackFile} does not validate:\n${formatProblems(result.problems)}`);
  return resolvePlatform(result.value, file.stack, 2);
}
