// The bans image (images/bans, Debian's fail2ban) with the files the renderer makes, on this
// machine's Docker engine: it runs in the host's network namespace with NET_ADMIN, reads log
// files in the formats Postfix, Dovecot, Roundcube and PostfixAdmin write (through log-to-file),
// and bans in DOCKER-USER. The outcome checked is the user's: a banned client's connections to a
// container are refused while another client's get through, the ban lifts after its time, a
// client banned twice is banned by the recidive jail, a Docker gateway is never banned, and a
// killed container's successor restores the bans without doubling them. Every address is on a
// network this file creates; the server is a container of it too.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { BAN_CHAIN_ID_ENV } from "../../components/bans/constants";
import { banChainId, renderBansFiles } from "../../components/bans/render";
import {
  buildImage,
  createInternalNetwork,
  docker,
  dockerExec,
  explain,
  mustDocker,
  removeTestContainers,
  startTestContainer,
} from "../support/docker";
import { stackPlatform } from "../support/platforms";
import { literal } from "../support/regex";

const PREFIX = `mp-bans-daemons-${process.pid}`;
const NETWORK = `${PREFIX}-net`;
const BANS = `${PREFIX}-bans`;
const SERVER = `${PREFIX}-server`;
const SERVER_PORT = 8080;
const LOG_ROOT = "/var/log/mail-platform";
const SERVICES = ["postfix", "dovecot", "webmail", "postfixadmin"];
const BAN_SECONDS = 8;

const e2e = stackPlatform("test/e2e/Pulumi.e2e.yaml");
const platform = {
  ...e2e,
  instanceName: PREFIX,
  bans: { ...e2e.bans, banTime: `${BAN_SECONDS}s`, findTime: "10m", maxRetry: 3, recidive: { banTime: "1m", findTime: "1h", maxRetry: 2 } },
};
const CHAIN_ID = banChainId(PREFIX);

const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
/** One failed login of `ip`, as each component's log file has it (log-to-file's time first). */
const FAILURE: Record<string, (ip: string, user?: string) => string> = {
  postfix: (ip) =>
    `${stamp()} Dec 03 06:38:18 mail postfix/submissions/smtpd[592]: warning: unknown[${ip}]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=bob@example.test`,
  dovecot: (ip, user = "bob@example.test") =>
    `${stamp()} 2026-12-03T06:38:36 imap-login: Info: Login aborted: Connection closed (auth failed, 1 attempts in 2 secs) (auth_failed): user=<${user}>, method=PLAIN, rip=${ip}, lip=172.31.1.6, TLS: Connection closed, session=<iyCeAbVh5s6sHwEB>`,
  webmail: (ip) => `${stamp()} userlogins: <1b011d42> Failed login for bob@example.test from ${ip} in session 1b011d42be38d50c (error: 0)`,
  postfixadmin: (ip) =>
    `${stamp()} [Thu Dec 03 06:40:26.583843 2026] [php:notice] [pid 16:tid 16] [client ${ip}:0] PostfixAdmin admin login failed (username: admin@example.test, ip_address: ${ip}), referer: https://postfixadmin.example.test/login.php`,
};

describe("fail2ban in images/bans, banning in DOCKER-USER", () => {
  let root = "";
  let image = "";
  let subnet = "";
  const clients: Record<string, string> = {};
  const logFile = (service: string) => path.join(root, "logs", service, `${service}.log`);
  const fail = (service: string, ip: string, times = 1, user?: string) => {
    for (let i = 0; i < times; i++) fs.appendFileSync(logFile(service), `${FAILURE[service](ip, user)}\n`);
  };
  const ipOf = (name: string) => mustDocker(["inspect", "-f", `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`, name]).trim();
  /** Whether `client` reaches the server container: connected, or refused by a ban. */
  const reaches = (client: string): boolean =>
    dockerExec(client, ["python3", "-c", `import socket; socket.create_connection(("${ipOf(SERVER)}", ${SERVER_PORT}), timeout=3).close()`])
      .code === 0;
  const banned = (jail: string): string[] => {
    const r = dockerExec(BANS, ["fail2ban-client", "status", jail]);
    assert.equal(r.code, 0, explain(r));
    return (/Banned IP list:\s*(.*)$/m.exec(r.stdout)?.[1] ?? "").split(/\s+/).filter(Boolean);
  };
  const waitFor = async (what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline)
        throw new Error(`not within ${timeoutMs / 1000} s: ${what}\n${docker(["logs", "--tail", "40", BANS]).stdout}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const chainRules = (): string[] =>
    dockerExec(BANS, ["iptables", "-w", "-S"])
      .stdout.split("\n")
      .filter((l) => l.includes(`-${CHAIN_ID}`));
  const metrics = () => fs.readFileSync(path.join(root, "metrics", "bans.prom"), "utf8");

  const startBans = () =>
    startTestContainer({
      name: BANS,
      image,
      network: "host",
      flags: ["--cap-add", "NET_ADMIN", "-e", `${BAN_CHAIN_ID_ENV}=${CHAIN_ID}`, "-e", `MAIL_PLATFORM_LOG_FILE=${LOG_ROOT}/bans/bans.log`],
      mounts: [
        `${path.join(root, "db")}:/var/lib/fail2ban`,
        `${path.join(root, "metrics")}:/var/lib/mail-platform/metrics`,
        `${path.join(root, "logs", "bans")}:${LOG_ROOT}/bans`,
        ...SERVICES.map((s) => `${path.join(root, "logs", s)}:${LOG_ROOT}/${s}:ro`),
      ],
      files: renderBansFiles(platform),
    });

  before(async () => {
    image = await buildImage("bans");
    root = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}-`));
    for (const d of ["db", "metrics", ...SERVICES.map((s) => `logs/${s}`), "logs/bans"])
      fs.mkdirSync(path.join(root, d), { recursive: true });
    for (const s of SERVICES) fs.writeFileSync(logFile(s), "");
    subnet = createInternalNetwork(NETWORK, "bans");
    mustDocker([
      "run",
      "-d",
      "--name",
      SERVER,
      "--network",
      NETWORK,
      "--entrypoint",
      "python3",
      image,
      "-m",
      "http.server",
      String(SERVER_PORT),
    ]);
    for (const c of ["a", "b", "c", "d", "e"]) {
      clients[c] = `${PREFIX}-client-${c}`;
      mustDocker(["run", "-d", "--name", clients[c], "--network", NETWORK, "--entrypoint", "sleep", image, "infinity"]);
    }
    await startBans();
    await waitFor("client a reaches the server before any ban", () => reaches(clients.a));
  });

  after(() => {
    // Stopped, not killed: fail2ban removes its chains as it stops.
    docker(["stop", "-t", "20", BANS]);
    removeTestContainers(PREFIX, NETWORK);
    const left = docker([
      "run",
      "--rm",
      "--network",
      "host",
      "--cap-add",
      "NET_ADMIN",
      "--entrypoint",
      "iptables",
      image,
      "-w",
      "-S",
    ]).stdout;
    assert.ok(!left.includes(`-${CHAIN_ID}`), `chains left behind:\n${left}`);
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it("bans a client that fails SMTP AUTH too often from the server, and not another client", async () => {
    const a = ipOf(clients.a);
    fail("postfix", a, 3);
    await waitFor(`${a} banned by the smtp jail`, () => banned("smtp").includes(a));
    assert.equal(reaches(clients.a), false, "the banned client's connection is refused");
    assert.equal(reaches(clients.b), true, "another client still connects");
    assert.ok(
      chainRules().some((r) => r === `-A f2b-smtp-${CHAIN_ID} -s ${a}/32 -j REJECT --reject-with icmp-port-unreachable`),
      chainRules().join("\n"),
    );
    assert.ok(
      chainRules().includes(`-A DOCKER-USER -p tcp -j f2b-smtp-${CHAIN_ID}`),
      `the jail's chain is jumped to from DOCKER-USER:\n${chainRules().join("\n")}`,
    );
    assert.match(metrics(), /^mailplatform_bans_current\{jail="smtp"\} 1$/m);
    assert.equal(
      fs.statSync(path.join(root, "metrics", "bans.prom")).mode & 0o044,
      0o044,
      "bans.prom is readable by the monitoring's exporter",
    );
    assert.match(fs.readFileSync(logFile("bans"), "utf8"), new RegExp(`NOTICE\\s+\\[smtp\\] Ban ${literal(a)}`));
  });

  it("lifts the ban after its time", async () => {
    const a = ipOf(clients.a);
    await waitFor(`${a} unbanned after ${BAN_SECONDS} s`, () => reaches(clients.a), (BAN_SECONDS + 20) * 1000);
    assert.deepEqual(banned("smtp"), []);
    assert.match(metrics(), /^mailplatform_bans_current\{jail="smtp"\} 0$/m);
    assert.match(metrics(), /^mailplatform_bans_total\{jail="smtp"\} 1$/m);
  });

  it("bans a guesser whose later attempts Dovecot held back past Postfix's patience", async () => {
    const b = ipOf(clients.b);
    fail("postfix", b, 1);
    // What Postfix logs once Dovecot's growing delay for the address outlasts its 10 s wait.
    const lost = FAILURE.postfix(b).replace("(reason unavailable)", "Connection lost to authentication server");
    fs.appendFileSync(logFile("postfix"), `${lost}\n${lost}\n`);
    await waitFor(`${b} banned by the smtp jail`, () => banned("smtp").includes(b));
    dockerExec(BANS, ["fail2ban-client", "set", "smtp", "unbanip", b]);
  });

  it("bans on Dovecot's, Roundcube's and PostfixAdmin's failures too, each in its jail", async () => {
    const [c, d, e] = [ipOf(clients.c), ipOf(clients.d), ipOf(clients.e)];
    fail("dovecot", c, 3);
    fail("webmail", d, 3);
    fail("postfixadmin", e, 3);
    for (const [jail, ip] of [
      ["imap", c],
      ["webmail", d],
      ["admin", e],
    ])
      await waitFor(`${ip} banned by the ${jail} jail`, () => banned(jail).includes(ip));
    for (const client of [clients.c, clients.d, clients.e]) assert.equal(reaches(client), false, `${client} is refused`);
    assert.equal(reaches(clients.b), true);
  });

  it("bans the address Dovecot saw, not one a client put in its user name", async () => {
    const [b, framed] = [ipOf(clients.b), "10.99.0.9"];
    fail("dovecot", b, 3, `x>, method=PLAIN, rip=${framed}, lip=10.0.0.1, TLS, session=<a>`);
    await waitFor(`${b} banned by the imap jail`, () => banned("imap").includes(b));
    assert.ok(!banned("imap").includes(framed), `the framed ${framed} is not banned: ${banned("imap").join(" ")}`);
    dockerExec(BANS, ["fail2ban-client", "set", "imap", "unbanip", b]);
  });

  it("never bans a Docker gateway or loopback", async () => {
    const gateway =
      mustDocker(["network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", NETWORK]).trim() || subnet.replace(/\.0\/\d+$/, ".1");
    fail("postfix", gateway, 5);
    fail("postfix", "127.0.0.1", 5);
    const sentinel = ipOf(clients.e);
    // A later failure banned proves fail2ban read past the gateway's lines.
    fail("postfix", sentinel, 3);
    await waitFor(`${sentinel} banned by the smtp jail`, () => banned("smtp").includes(sentinel));
    assert.deepEqual(
      banned("smtp").filter((ip) => ip === gateway || ip === "127.0.0.1"),
      [],
    );
    assert.match(fs.readFileSync(logFile("bans"), "utf8"), new RegExp(`\\[smtp\\] Ignore ${literal(gateway)} by`));
  });

  it("bans a client banned again and again in the recidive jail", async () => {
    const a = ipOf(clients.a);
    fail("postfix", a, 3);
    await waitFor(`${a} banned by the recidive jail`, () => banned("recidive").includes(a));
    assert.equal(reaches(clients.a), false);
  });

  it("a killed container's successor restores the bans once, and its unban lifts them", async () => {
    const a = ipOf(clients.a);
    const recidiveRules = () => chainRules().filter((r) => r.startsWith(`-A f2b-recidive-${CHAIN_ID} -s ${a}/32 `));
    assert.equal(recidiveRules().length, 1, chainRules().join("\n"));
    docker(["rm", "-f", BANS]);
    await startBans();
    await waitFor(`${a} banned again by the recidive jail`, () => banned("recidive").includes(a));
    assert.equal(recidiveRules().length, 1, `the restored ban once, not twice:\n${chainRules().join("\n")}`);
    assert.equal(reaches(clients.a), false);
    for (const jail of ["smtp", "recidive"]) dockerExec(BANS, ["fail2ban-client", "set", jail, "unbanip", a]);
    await waitFor(`${a} reaches the server once unbanned`, () => reaches(clients.a));
  });
});
