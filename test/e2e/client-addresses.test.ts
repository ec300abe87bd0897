// A client's own address through the host's NAT, the path a client on another host takes: a
// network namespace of this file's own (a client container without Docker's networks, joined to
// the host by a veth pair, as another machine is by its cable), and the e2e stack published on
// the host's end of it (bindAddress). Docker's DNAT carries the client's connections to the
// containers: not its userland proxy (which carries loopback and, because Docker skips the DNAT
// for traffic from its own bridges, every container's), not the shared edge network. Postfix
// logs the client's address; Postfix's per-client connection limit trips for it and not for
// another client; its failed logins ban it, and the ban refuses it on the published ports. The
// file puts the usual e2e stack back.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import { after, before, describe, it } from "node:test";
import * as path from "path";
import { docker, mustDocker } from "../support/docker";
import { banned, LoginClient, runLoginClient, startLoginClient, unbanEverywhere, waitFor } from "./support/login-clients";
import { e2eStack, edgeIpOf, INTERNET, password, platform } from "./support/platform";
import { deploy, e2eWith } from "./support/stack-variants";

/** The veth pair: the host's end (where the stack publishes) and the client's. */
const LINK = { host: "mp-e2e-nat-h", client: "mp-e2e-nat-c", hostIp: "10.231.5.1", clientIp: "10.231.5.2", bits: 30 };

/** Runs `ip` in the client container's network namespace (nsenter: the host's own iproute2). */
function inClientNetns(pid: string, args: string[]): void {
  mustRun("nsenter", ["-t", pid, "-n", "ip", ...args]);
}

function mustRun(command: string, args: string[]): void {
  const r = spawnSync(command, args, { encoding: "utf8" });
  assert.equal(r.status, 0, `${command} ${args.join(" ")}: exit ${r.status}\n${r.stdout}${r.stderr}`);
}

/** A client with no network but the veth pair to the host, its default route the host's end. */
function startNatClient(): LoginClient {
  const client = startLoginClient("nat-client", "none", LINK.clientIp);
  const pid = mustDocker(["inspect", "-f", "{{.State.Pid}}", client.name]).trim();
  spawnSync("ip", ["link", "del", LINK.host]);
  mustRun("ip", ["link", "add", LINK.host, "type", "veth", "peer", "name", LINK.client]);
  mustRun("ip", ["link", "set", LINK.client, "netns", pid]);
  mustRun("ip", ["addr", "add", `${LINK.hostIp}/${LINK.bits}`, "dev", LINK.host]);
  mustRun("ip", ["link", "set", LINK.host, "up"]);
  inClientNetns(pid, ["addr", "add", `${LINK.clientIp}/${LINK.bits}`, "dev", LINK.client]);
  inClientNetns(pid, ["link", "set", LINK.client, "up"]);
  inClientNetns(pid, ["route", "add", "default", "via", LINK.hostIp]);
  return client;
}
const CONNECTIONS_PER_MINUTE = 5;
const BOB = "bob@example.test";
const stack = e2eStack();
const logFile = (service: string) => fs.readFileSync(path.join(stack.volumePaths.logs, service, `${service}.log`), "utf8");

describe("client addresses through the host's NAT", () => {
  let natClient: LoginClient;
  let edgeClient: LoginClient;

  before(() => {
    platform();
    // The client first: the host's end of its link must exist before anything binds to it.
    natClient = startNatClient();
    deploy(
      e2eWith((c) => {
        c["mail-platform:bindAddress"] = LINK.hostIp;
        c["mail-platform:limits"] = { ...(c["mail-platform:limits"] as object), connectionsPerMinute: CONNECTIONS_PER_MINUTE };
      }),
    );
    edgeClient = startLoginClient("nat-test-edge-client", INTERNET.network, "172.31.1.85");
  });

  after(() => {
    for (const c of [natClient, edgeClient]) if (c) unbanEverywhere(c.ip);
    // The usual stack first: nothing may be bound to the link's address when it goes.
    deploy();
    for (const c of [natClient, edgeClient]) if (c) docker(["rm", "-f", c.name]);
    spawnSync("ip", ["link", "del", LINK.host]);
  });

  it("keeps the client's address: Postfix logs it, and its connection limit trips for it and not for another client", () => {
    const ports = platform().ports;
    const greetings = Array.from({ length: CONNECTIONS_PER_MINUTE + 1 }, () =>
      runLoginClient(natClient, ["banner", LINK.hostIp, String(ports.smtp)]),
    );
    assert.deepEqual(
      greetings.slice(0, CONNECTIONS_PER_MINUTE),
      Array(CONNECTIONS_PER_MINUTE).fill("220"),
      `the first ${CONNECTIONS_PER_MINUTE} within the limit`,
    );
    assert.equal(
      greetings[CONNECTIONS_PER_MINUTE],
      "421",
      `connection ${CONNECTIONS_PER_MINUTE + 1} in a minute is refused: ${greetings.join(" ")}`,
    );
    assert.equal(runLoginClient(edgeClient, ["banner", edgeIpOf("mp-e2e-postfix"), "25"]), "220", "another client is not counted with it");
    // Only the client's lines: the whole log would drown a failure message.
    const lines = logFile("postfix")
      .split("\n")
      .filter((l) => l.includes(`[${natClient.ip}]`));
    assert.ok(
      lines.some((l) => /connect from \S*\[/.test(l)),
      `Postfix logs the client's own address ${natClient.ip}`,
    );
    assert.ok(
      lines.some((l) => l.includes(`Connection rate limit exceeded: ${CONNECTIONS_PER_MINUTE + 1} from`) && l.endsWith("for service 25")),
      `Postfix names the client in its rate-limit warning:\n${lines.slice(-10).join("\n")}`,
    );
  });

  it("bans the client on its failed logins, and the ban refuses it on the published ports", async () => {
    const ports = platform().ports;
    for (let i = 0; i < stack.bans.maxRetry; i++)
      assert.match(runLoginClient(natClient, ["smtp", LINK.hostIp, BOB, `wrong-${i}`, String(ports.submissions)]), /^(535|454)$/);
    await waitFor(`${natClient.ip} banned by the smtp jail`, () => banned("smtp").includes(natClient.ip), 30_000);
    for (const port of [ports.submissions, ports.imaps, ports.https])
      assert.equal(runLoginClient(natClient, ["reach", LINK.hostIp, String(port)]), "refused", `port ${port} refuses the banned client`);
    assert.equal(runLoginClient(edgeClient, ["smtp", edgeIpOf("mp-e2e-postfix"), BOB, password(BOB)]), "235", "another client logs in");
  });
});
