// The one way a secret the stack names by file (a relay password, a backup password, S3 keys, an
// ACME account's MAC key) enters the program: read here, on the machine running Pulumi, once, and
// a Pulumi secret from then on, so it never reaches the state or a preview in clear. The stack
// schema has checked that the file is readable (stackSchemaWithFiles).
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";

/** The file's content without the line break an editor leaves at its end, as a secret. */
export function secretFromFile(file: string): pulumi.Output<string> {
  return pulumi.secret(fs.readFileSync(file, "utf8").trim());
}
