// The Bans: the pure renderer (the jails a stack gets, their times, the addresses never banned,
// the DOCKER-USER action with a chain per stack), the stack rules for `bans`, and the container
// the prod stack gets under mocks (the host's network with NET_ADMIN and nothing more, the log
// files it reads read-only).
import { strict as assert } from "assert";
import * as path from "path";
import { before, describe, it } from "node:test";
import { BAN_JAILS } from "../../components/bans/constants";
import { banChainId, banJails, neverBanned, renderBansFiles } from "../../components/bans/render";
import { readStackFile } from "../../config/stack-file";
import { validateStack } from "../../config/validate";
import { ProgramRun, runProgram } from "../../tools/mock-run/run-program";
import { stackPlatform } from "../support/platforms";
import { containerNamed, dataVolumes, ownEnvs } from "../support/registrations";

const ROOT = path.resolve(__dirname, "..", "..");

/** One section of an INI file fail2ban reads: key -> value (continuation lines joined). */
function section(ini: string, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  let inside = false;
  let key = "";
  for (const line of ini.split("\n")) {
    if (/^\s*#/.test(line) || line.trim() === "") continue;
    const header = /^\[(.+)\]$/.exec(line.trim());
    if (header) {
      inside = header[1] === name;
      continue;
    }
    if (!inside) continue;
    const kv = /^(\S[^=]*?)\s*=\s*(.*)$/.exec(line);
    if (kv) [key, out[kv[1]]] = [kv[1], kv[2]];
    else if (key) out[key] += ` ${line.trim()}`;
  }
  return out;
}

describe("renderBansFiles", () => {
  const prod = stackPlatform("Pulumi.prod.yaml");
  const files = renderBansFiles(prod);
  const defaults = section(files["/etc/fail2ban/jail.local"], "DEFAULT");

  it("has a jail for every login that faces clients, and the recidive jail, each reading its component's log file", () => {
    const jails = Object.keys(files)
      .filter((f) => f.startsWith("/etc/fail2ban/jail.d/"))
      .map((f) => path.basename(f, ".local"))
      .sort();
    assert.deepEqual(jails, ["admin", "imap", "recidive", "smtp", "webmail"]);
    const logOf = (jail: string) => section(files[`/etc/fail2ban/jail.d/${jail}.local`], jail).logpath;
    assert.equal(logOf("smtp"), "/var/log/mail-platform/postfix/postfix.log");
    assert.equal(logOf("imap"), "/var/log/mail-platform/dovecot/dovecot.log");
    assert.equal(logOf("webmail"), "/var/log/mail-platform/webmail/webmail.log");
    assert.equal(logOf("admin"), "/var/log/mail-platform/postfixadmin/postfixadmin.log");
    assert.equal(logOf("recidive"), "/var/log/mail-platform/bans/bans.log", "fail2ban's own output, as log-to-file writes it");
    for (const jail of jails)
      assert.ok(files[`/etc/fail2ban/filter.d/mail-platform-${jail}.conf`], `the ${jail} jail's filter is among the files`);
  });

  it("leaves out the web apps' jails when the stack has no web apps", () => {
    const dev = stackPlatform("Pulumi.dev.yaml");
    const bare = { ...dev, features: { ...dev.features, webmail: false, admin: false } };
    assert.deepEqual(
      banJails(bare).map((j) => j.jail),
      [BAN_JAILS.smtp, BAN_JAILS.imap, BAN_JAILS.recidive],
    );
  });

  it("bans with the stack's times, the recidive jail with its own", () => {
    const smtp = section(files["/etc/fail2ban/jail.d/smtp.local"], "smtp");
    assert.deepEqual([smtp.bantime, smtp.findtime, smtp.maxretry], ["1h", "10m", "5"]);
    const recidive = section(files["/etc/fail2ban/jail.d/recidive.local"], "recidive");
    assert.deepEqual([recidive.bantime, recidive.findtime, recidive.maxretry], ["1w", "1d", "3"]);
    // The database keeps a ban at least as long as the longest one lasts, and a day more.
    assert.equal(section(files["/etc/fail2ban/fail2ban.local"], "Definition").dbpurgeage, String(7 * 86400 + 86400));
  });

  it("never bans loopback, the internal network, the edge gateway, the trusted networks or the stack's list, nor the host itself", () => {
    const ignored = defaults.ignoreip.split(" ");
    for (const a of ["127.0.0.0/8", "::1", prod.internalSubnet, "172.30.1.1", ...prod.trustedNetworks, "203.0.113.0/28"])
      assert.ok(ignored.includes(a), `${a} in ignoreip: ${defaults.ignoreip}`);
    assert.ok(!ignored.includes(prod.edgeSubnet), "not the whole edge network: the Internet's clients reach the containers there");
    assert.deepEqual(neverBanned(prod), ignored);
    assert.equal(defaults.ignoreself, "true", "every address of the host: its Docker gateways are docker-proxy's source");
  });

  it("bans in DOCKER-USER, in a chain per jail and stack that fits iptables' 28 characters", () => {
    assert.match(defaults.action, /^iptables-allports\[name=%\(__name__\)s-[0-9a-f]{6}, chain=DOCKER-USER, protocol=tcp\]/);
    assert.match(defaults.action, /mail-platform-metrics\[jail=%\(__name__\)s\]/);
    const id = banChainId("a-long-instance-name-of-31-char");
    assert.ok(`f2b-${BAN_JAILS.recidive}-${id}`.length <= 28);
    assert.notEqual(banChainId("mp-prod"), banChainId("mp-dev"), "two stacks on one host keep their chains apart");
  });

  it("reads times from the log lines' UTC stamps, and never resolves names", () => {
    assert.equal(defaults.datepattern, "{^LN-BEG}%%Y-%%m-%%dT%%H:%%M:%%SZ");
    assert.equal(defaults.logtimezone, "UTC");
    assert.equal(defaults.usedns, "no");
  });
});

describe("bans rules", () => {
  const prod = readStackFile(path.join(ROOT, "Pulumi.prod.yaml")).values as Record<string, unknown>;
  const problems = (bans: unknown) => {
    const r = validateStack({ ...prod, bans }, { checkFiles: false });
    return r.ok ? [] : r.problems.map((p) => `${p.key}: ${p.expected}`);
  };

  it("takes fail2ban's times, a positive count and addresses or networks to ignore", () => {
    assert.deepEqual(problems({ banTime: "30s", findTime: "2h", recidive: { banTime: "4w" }, ignore: ["198.51.100.7", "10.0.0.0/8"] }), []);
    const seen = problems({ banTime: "1 hour", findTime: "0m", maxRetry: 0, ignore: ["10.0.0.1/8"] });
    for (const key of ["bans.banTime", "bans.findTime", "bans.maxRetry", "bans.ignore[0]"])
      assert.ok(
        seen.some((p) => p.startsWith(`mail-platform:${key}:`)),
        `a problem for ${key} in:\n${seen.join("\n")}`,
      );
  });
});

describe("the Bans container (prod stack, mocks)", () => {
  let run: ProgramRun;
  const bans = () => containerNamed(run.resources, "bans");
  before(async () => {
    run = await runProgram(path.join(ROOT, "Pulumi.prod.yaml"), "masked");
  });

  it("runs in the host's network namespace with NET_ADMIN only, no hostname, no Docker socket", () => {
    const i = bans().inputs;
    assert.equal(i.networkMode, "host");
    assert.deepEqual(i.capabilities, { adds: ["NET_ADMIN"] });
    assert.equal(i.hostname, undefined, "Docker refuses a hostname in the host's network namespace");
    assert.equal(i.networksAdvanced, undefined);
    assert.equal(i.dns, undefined);
    assert.ok(!JSON.stringify(i.volumes).includes("docker.sock"), "no Docker socket");
    assert.ok(ownEnvs(i).includes(`MAIL_PLATFORM_BAN_CHAIN_ID=${banChainId("acme")}`), JSON.stringify(ownEnvs(i)));
  });

  it("reads the login components' log files read-only, and keeps its database on the bans volume", () => {
    const volumes = dataVolumes(bans().inputs).map((v) => `${v.hostPath} -> ${v.containerPath}${v.readOnly ? " (ro)" : ""}`);
    const p = stackPlatform("Pulumi.prod.yaml");
    for (const service of ["postfix", "dovecot", "webmail", "postfixadmin"])
      assert.ok(
        volumes.includes(`${p.volumePaths.logs}/${service} -> /var/log/mail-platform/${service} (ro)`),
        `${service}'s log read-only in:\n${volumes.join("\n")}`,
      );
    assert.ok(volumes.includes(`${p.volumePaths.bans} -> /var/lib/fail2ban`), volumes.join("\n"));
  });
});
