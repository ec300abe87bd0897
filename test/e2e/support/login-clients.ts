// Clients with addresses of their own (test/e2e/support/login-client.py in a container of the
// simulated Internet's image), and what the bans container says of them: for the tests of bans
// and of client addresses.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { copyInto, docker, dockerExec, mustDocker } from "../../support/docker";
import { CONTAINER_PREFIX } from "../internet/internet";
import { internet } from "./platform";

const BANS = "mp-e2e-bans";
const CLIENT_SCRIPT = "/usr/local/bin/login-client";

export interface LoginClient {
  name: string;
  ip: string;
}

/**
 * Starts (again) a client `mp-e2e-internet-<label>` at `ip` on `network`; `hosts` are its
 * /etc/hosts entries. On network `none` the address is the caller's to give (`ip` names it).
 */
export function startLoginClient(label: string, network: string, ip: string, hosts: Record<string, string> = {}): LoginClient {
  const client = { name: `${CONTAINER_PREFIX}${label}`, ip };
  docker(["rm", "-f", client.name]);
  mustDocker(
    ["run", "-d", "--name", client.name, "--network", network, ...(network === "none" ? [] : ["--ip", ip])]
      .concat(Object.entries(hosts).flatMap(([name, address]) => ["--add-host", `${name}:${address}`]))
      .concat(["--entrypoint", "sleep", internet().images.mx, "infinity"]),
  );
  copyInto(client.name, { [CLIENT_SCRIPT]: fs.readFileSync(path.join(__dirname, "login-client.py"), "utf8") }, 0o755);
  return client;
}

/** One login-client command in the client; its one line of output. */
export function runLoginClient(client: LoginClient, args: string[]): string {
  const r = dockerExec(client.name, ["python3", CLIENT_SCRIPT, ...args]);
  assert.equal(r.code, 0, `login-client ${args[0]} from ${client.ip}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

/** The addresses a jail bans now. */
export function banned(jail: string): string[] {
  const r = dockerExec(BANS, ["fail2ban-client", "status", jail]);
  assert.equal(r.code, 0, `fail2ban-client status ${jail}: ${r.stdout}${r.stderr}`);
  return (/Banned IP list:\s*(.*)$/m.exec(r.stdout)?.[1] ?? "").split(/\s+/).filter(Boolean);
}

/** Lifts every ban of `ip` (the tests leave no ban behind for the next file). */
export function unbanEverywhere(ip: string): void {
  dockerExec(BANS, ["fail2ban-client", "unban", ip]);
}

/** Polls `check` every half second; fails after `timeoutMs` with the bans container's last lines. */
export async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`not within ${timeoutMs / 1000} s: ${what}\n${docker(["logs", "--tail", "40", BANS]).stdout}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
