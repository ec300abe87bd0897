// MariaDB for the daemon tests that need a real database server: the project's image with the
// rendered files, on a test file's own network under the alias other containers use.
import { strict as assert } from "assert";
import { MARIADB_ALIAS } from "../../components/database/constants";
import { copyInto, docker, dockerExec, mustDocker } from "./docker";

/** Creates the MariaDB container `name` on `network` under its alias, with `files` in place; it is started by startMariadb. */
export function createMariadb(name: string, network: string, image: string, files: Record<string, string>): void {
  mustDocker(["create", "--name", name, "--network", network, "--network-alias", MARIADB_ALIAS, image]);
  copyInto(name, files);
}

/** Starts the container and waits for the real server (the entrypoint's provisioning server uses another socket). */
export function startMariadb(name: string): void {
  mustDocker(["start", name]);
  const r = dockerExec(name, ["mariadb-admin", "--wait=90", "--connect-timeout=2", "ping"]);
  assert.equal(r.code, 0, `MariaDB did not come up:\n${r.stdout}${r.stderr}\n${docker(["logs", name]).stderr.slice(-3000)}`);
}

/** A query as root through the server's socket, on `database`: tab-separated rows. */
export function rootQuery(name: string, database: string, sql: string): string[][] {
  return mustDocker(["exec", name, "mariadb", "--user=root", "--batch", "--skip-column-names", database, "-e", sql])
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t"));
}
