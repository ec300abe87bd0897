// Reads a `Pulumi.<stack>.yaml` file the way the Pulumi CLI would hand it to the program, for the
// tools that work without the CLI (validate, render) and for the tests.
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { namespaceValues } from "./load";

export interface StackFile {
  /** Stack name, from the file name `Pulumi.<stack>.yaml`. */
  stack: string;
  /** Values under the project's namespace, keys without the prefix. */
  values: Record<string, unknown>;
  /** Every `namespace:key` with its value as written. */
  raw: Record<string, unknown>;
  /** Every `namespace:key` as a string, the form `pulumi.runtime.setAllConfig` takes. */
  flat: Record<string, string>;
}

export function readStackFile(file: string): StackFile {
  const doc = parse(fs.readFileSync(file, "utf8")) ?? {};
  const config: Record<string, unknown> = doc.config ?? {};
  const flat = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  const m = /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file));
  return { stack: m ? m[1] : "dev", values: namespaceValues(config), raw: config, flat };
}
