// PostfixAdmin's one-shot provisioning run: it installs PostfixAdmin's schema and converges the
// stack's domains, mailboxes, aliases and administrators through PostfixAdmin's own code
// (images/postfixadmin/provision.php). The Database creates it, right after MariaDB, as one of its
// own children: what consumers wait for is that both exist.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { containerFiles } from "../host/container-files";
import { filesHash } from "../host/service-container";
import { PlatformNetworks, PostfixadminAccess } from "../types";
import { renderProvisioningFiles } from "./render";

/**
 * The error message for a finished provisioning run, or undefined when it succeeded. A missing
 * exit code is not a failure: the provider reports one whenever `attach` is set, and only unit-test
 * mocks report none.
 */
export function provisioningFailure(
  containerName: string,
  exitCode: number | undefined | null,
  logs: string | undefined,
): string | undefined {
  if (exitCode === undefined || exitCode === null || exitCode === 0) return undefined;
  return (
    `PostfixAdmin provisioning (container ${containerName}) exited ${exitCode}. Fix the cause and run \`pulumi up\` again ` +
    `(add \`--replace\` on this container if nothing else changed). Its output:\n${logs ?? "(no output)"}`
  );
}

export interface ProvisioningRunArgs {
  platform: PlatformConfig;
  /** Image id of images/postfixadmin. */
  image: pulumi.Input<string>;
  networks: PlatformNetworks;
  /** PostfixAdmin's database account and setup password hash. Secret. */
  access: pulumi.Input<PostfixadminAccess>;
  /** Initial password per configured mailbox. Secret. */
  mailboxPasswords: Record<string, pulumi.Input<string>>;
  /** Initial password per super-administrator. Secret. */
  adminPasswords: Record<string, pulumi.Input<string>>;
  /** GRANTs on PostfixAdmin's tables to other accounts, applied once the tables exist. */
  grants: string[];
  /** The MariaDB container it provisions: the run starts once it is healthy and runs again when it is replaced. */
  mariadb: docker.Container;
}

/**
 * Creates the run as `${name}-provision` under `parent`, and returns what a consumer of
 * PostfixAdmin's tables starts after: the run, once it has succeeded. When it failed, that fails
 * the deployment with the run's output, before any such consumer is created.
 */
export function provisioningRun(name: string, parent: pulumi.ComponentResource, args: ProvisioningRunArgs): pulumi.Output<pulumi.Resource> {
  const containerName = `${args.platform.instanceName}-postfixadmin-provision`;
  const files = containerFiles(
    parent,
    { access: args.access, mailboxPasswords: args.mailboxPasswords, adminPasswords: args.adminPasswords },
    (v) => renderProvisioningFiles({ mail: args.platform, ...v, grants: args.grants }),
  );

  // A one-shot run, not a service: the provider waits for it to exit (attach) and records the
  // exit code and output. Any change of the rendered files (the label shows it in a preview), of
  // the image or of the MariaDB container replaces it, which runs it again; the run is idempotent.
  const provision = new docker.Container(
    `${name}-provision`,
    {
      name: containerName,
      image: args.image,
      mustRun: false,
      attach: true,
      logs: true,
      restart: "no",
      networksAdvanced: [{ name: args.networks.internal.name }],
      uploads: files.apply((f) =>
        Object.keys(f)
          .sort()
          .map((file) => ({ file, content: f[file], permissions: "0600" })),
      ),
      labels: [
        { label: "mail-platform.service", value: "postfixadmin-provision" },
        // A hash reveals nothing about the secrets in the files, and makes a change reviewable.
        { label: "mail-platform.desired-state-hash", value: pulumi.unsecret(files.apply(filesHash)) },
        { label: "mail-platform.mariadb-container", value: args.mariadb.id },
      ],
      logDriver: "json-file",
    },
    { parent, dependsOn: [args.mariadb], deleteBeforeReplace: true },
  );

  // Whether or not the provider itself objects to a non-zero exit, this fails the deployment with
  // the run's output before any service that reads PostfixAdmin's tables is created.
  return pulumi.all([provision.exitCode, provision.containerLogs]).apply(([exitCode, logs]) => {
    const problem = provisioningFailure(containerName, exitCode, logs);
    if (problem) throw new pulumi.ResourceError(problem, parent);
    return provision as pulumi.Resource;
  });
}
