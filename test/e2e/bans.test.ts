// Brute-force bans on real client addresses: clients on the simulated Internet, each with its own
// address, talk to the platform's containers on the edge network as clients elsewhere would.
// One fails SMTP AUTH, one IMAP logins and one webmail logins past `bans.maxRetry`: each is then
// refused on every port of the platform while another client keeps logging in and receiving its
// mail; Postfix, Dovecot and nginx logged the attackers' own addresses; the bans are in the logs
// and the metrics, and lift after `bans.banTime`. Failures through the published ports on
// 127.0.0.1 come from a Docker gateway's address, which is never banned.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { banSeconds } from "../../components/bans/render";
import { gatewayOf } from "../../config/network";
import { docker } from "../support/docker";
import { literal } from "../support/regex";
import { normalHeaders, sendInbound } from "./support/mail";
import { banned, LoginClient, runLoginClient, startLoginClient, unbanEverywhere, waitFor } from "./support/login-clients";
import { e2eStack, edgeIpOf, INTERNET, password, platform, unique } from "./support/platform";
import { query } from "./support/prometheus";
import { tryLogin } from "./support/roundcube";

/** The stack's containers a client reaches, with their ports inside the containers. */
const TARGETS = {
  postfix: { container: "mp-e2e-postfix", ports: [25, 465, 587] },
  dovecot: { container: "mp-e2e-dovecot", ports: [143, 993, 110, 995, 4190] },
  proxy: { container: "mp-e2e-proxy", ports: [80, 443] },
};
const ALICE = "alice@example.test";
const BOB = "bob@example.test";

const webmailHost = () => new URL(platform().webUrls.webmail).hostname;
const CLIENTS: Record<"smtp" | "imap" | "webmail" | "good", LoginClient> = {
  smtp: { name: "bans-smtp-guesser", ip: "172.31.1.81" },
  imap: { name: "bans-imap-guesser", ip: "172.31.1.82" },
  webmail: { name: "bans-webmail-guesser", ip: "172.31.1.83" },
  good: { name: "bans-good-client", ip: "172.31.1.84" },
};

const edge = (target: keyof typeof TARGETS) => {
  const ip = edgeIpOf(TARGETS[target].container);
  assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/, `${TARGETS[target].container}'s address on ${INTERNET.network}`);
  return ip;
};
const run = runLoginClient;

/** Every port of the platform as `client` sees it: `<container>:<port> open|refused|timeout`. */
function portsSeenBy(client: LoginClient): string[] {
  return Object.keys(TARGETS).flatMap((t) => {
    const target = t as keyof typeof TARGETS;
    return TARGETS[target].ports.map(
      (port) => `${TARGETS[target].container}:${port} ${run(client, ["reach", edge(target), String(port)])}`,
    );
  });
}

const stack = e2eStack();
const logFile = (service: string) => fs.readFileSync(path.join(stack.volumePaths.logs, service, `${service}.log`), "utf8");
const metrics = () => fs.readFileSync(path.join(stack.volumePaths.metrics, "bans.prom"), "utf8");

describe("brute-force bans on the clients' own addresses", () => {
  /** When the SMTP guesser was seen banned: the lift is timed from it. */
  let smtpBannedAt = 0;
  before(() => {
    platform();
    for (const [key, c] of Object.entries(CLIENTS) as [keyof typeof CLIENTS, LoginClient][])
      CLIENTS[key] = startLoginClient(c.name, INTERNET.network, c.ip, { [webmailHost()]: edge("proxy") });
    for (const c of Object.values(CLIENTS))
      assert.deepEqual(
        portsSeenBy(c).filter((p) => !p.endsWith(" open")),
        [],
        `${c.ip} reaches every port before any ban`,
      );
  });

  after(() => {
    for (const c of Object.values(CLIENTS)) {
      unbanEverywhere(c.ip);
      docker(["rm", "-f", c.name]);
    }
  });

  it("bans the clients that fail SMTP AUTH, IMAP or webmail logins from every port, while another client logs in and gets its mail", async () => {
    // The slowest guesser first (Roundcube and Dovecot delay each failure), so every ban is still
    // in force when the ports are tried.
    for (let i = 0; i < stack.bans.maxRetry; i++)
      assert.equal(run(CLIENTS.webmail, ["webmail", webmailHost(), BOB, `wrong-${i}`]), "401", "Roundcube refuses the guess");
    for (let i = 0; i < stack.bans.maxRetry; i++)
      assert.equal(run(CLIENTS.imap, ["imap", edge("dovecot"), BOB, `wrong-${i}`]), "NO", "Dovecot refuses the guess");
    for (let i = 0; i < stack.bans.maxRetry; i++)
      // 535, or 454 once Dovecot holds this address back longer than Postfix waits: both count.
      assert.match(run(CLIENTS.smtp, ["smtp", edge("postfix"), BOB, `wrong-${i}`]), /^(535|454)$/, "Postfix refuses the guess");
    for (const [jail, client] of [
      ["smtp", CLIENTS.smtp],
      ["imap", CLIENTS.imap],
      ["webmail", CLIENTS.webmail],
    ] as const)
      await waitFor(`${client.ip} banned by the ${jail} jail`, () => banned(jail).includes(client.ip), 30_000);
    smtpBannedAt = Date.now();
    for (const c of [CLIENTS.smtp, CLIENTS.imap, CLIENTS.webmail])
      assert.deepEqual(
        portsSeenBy(c).filter((p) => !p.endsWith(" refused")),
        [],
        `${c.ip} is refused on every port`,
      );

    // Each daemon logged the client's own address, and the bans are in the logs and the metrics.
    assert.match(logFile("postfix"), new RegExp(`\\[${literal(CLIENTS.smtp.ip)}\\]: SASL PLAIN authentication failed`));
    assert.match(logFile("dovecot"), new RegExp(`\\(auth_failed\\).*rip=${literal(CLIENTS.imap.ip)},`));
    assert.match(logFile("proxy"), new RegExp(`^\\S+ ${literal(CLIENTS.webmail.ip)} ${literal(webmailHost())} "POST /\\?_task=login`, "m"));
    assert.match(logFile("webmail"), new RegExp(`Failed login for ${BOB} from ${literal(CLIENTS.webmail.ip)} `));
    for (const [jail, client] of [
      ["smtp", CLIENTS.smtp],
      ["imap", CLIENTS.imap],
      ["webmail", CLIENTS.webmail],
    ] as const)
      assert.match(logFile("bans"), new RegExp(`NOTICE\\s+\\[${jail}\\] Ban ${literal(client.ip)}$`, "m"));
    for (const jail of ["smtp", "imap", "webmail"])
      assert.match(metrics(), new RegExp(`^mailplatform_bans_current\\{jail="${jail}"\\} [1-9]`, "m"));
    // And the monitoring has them (it scrapes the metrics directory every few seconds).
    const jailsBanning = async () => (await query("mailplatform_bans_current > 0")).map((x) => x.metric.jail);
    const all = (jails: string[]) => ["imap", "smtp", "webmail"].every((j) => jails.includes(j));
    const deadline = Date.now() + 30_000;
    let jails = await jailsBanning();
    while (!all(jails) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      jails = await jailsBanning();
    }
    assert.ok(all(jails), `Prometheus's jails with bans in force: ${jails.join(", ") || "none"}`);

    // The other client: its logins work, and mail delivered meanwhile reaches it.
    assert.equal(run(CLIENTS.good, ["smtp", edge("postfix"), ALICE, password(ALICE)]), "235");
    assert.equal(run(CLIENTS.good, ["imap", edge("dovecot"), ALICE, password(ALICE)]), "OK");
    const token = unique("bans");
    await sendInbound({
      from: "partner@remote.test",
      to: [ALICE],
      subject: token,
      text: "delivered while others are banned",
      headers: normalHeaders("remote.test"),
    });
    await waitFor(
      `${token} in ${ALICE}'s INBOX, read from ${CLIENTS.good.ip}`,
      () => run(CLIENTS.good, ["subject", edge("dovecot"), ALICE, password(ALICE), token]) === "found",
      60_000,
    );
  });

  it("lifts a ban after bans.banTime", async () => {
    assert.ok(smtpBannedAt > 0, "the SMTP guesser was banned first");
    await waitFor(
      `${CLIENTS.smtp.ip} reaches port 465 again`,
      () => run(CLIENTS.smtp, ["reach", edge("postfix"), "465"]) === "open",
      (banSeconds(stack.bans.banTime) + 30) * 1000,
    );
    assert.match(logFile("bans"), new RegExp(`NOTICE\\s+\\[smtp\\] Unban ${literal(CLIENTS.smtp.ip)}$`, "m"));
    const lasted = (Date.now() - smtpBannedAt) / 1000;
    assert.ok(lasted >= banSeconds(stack.bans.banTime) - 15, `the ban lasted about bans.banTime, seen ${lasted.toFixed(0)} s`);
    assert.equal(run(CLIENTS.smtp, ["smtp", edge("postfix"), BOB, password(BOB)]), "235", "with the right password it logs in");
  });

  it("never bans the Docker gateway that clients through the published ports on 127.0.0.1 come from", async () => {
    const gateway = gatewayOf(stack.edgeSubnet);
    const ignored = () => logFile("bans").match(new RegExp(`\\[webmail\\] Ignore ${literal(gateway)} by`, "g"))?.length ?? 0;
    const before = ignored();
    // As many as ban any other client; slow, as Dovecot holds back every failing address.
    for (let i = 0; i < stack.bans.maxRetry; i++) assert.equal((await tryLogin(BOB, `wrong-${i}`)).status, 401);
    await waitFor(
      `fail2ban ignoring ${stack.bans.maxRetry} failures of ${gateway}`,
      () => ignored() >= before + stack.bans.maxRetry,
      30_000,
    );
    for (const jail of ["smtp", "imap", "webmail", "admin", "recidive"])
      assert.ok(!banned(jail).includes(gateway), `${jail} has not banned ${gateway}`);
    assert.equal((await tryLogin(ALICE, password(ALICE))).status, 302, "a login through 127.0.0.1 still works");
  });
});
