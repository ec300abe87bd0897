// Each component's log file as an operator (and fail2ban, mtail, the Postfix exporter) meets it
// on the Docker host: one file per service under the bulk root, every line stamped, growing as
// mail flows, while `docker logs` keeps showing the same lines.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { before, describe, it } from "node:test";
import { readStackFile } from "../../config/stack-file";
import { containerLog, docker, inspect } from "../support/docker";
import { normalHeaders, submit, waitForMessage } from "./support/mail";
import { platform, unique } from "./support/platform";
import { DEFAULT_STACK } from "./up";

/** The design document's components (Piler and Manticore are not in the e2e stack) and the rest of ours. */
const MUST_LOG = [
  "postfix",
  "dovecot",
  "amavis",
  "clamav",
  "webmail",
  "spamd",
  "sa-update",
  "mariadb",
  "postfixadmin",
  "proxy",
  "monitoring",
];
const STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z /;

function logsRoot(): string {
  return path.join((readStackFile(DEFAULT_STACK).values as { storage: { bulkRoot: string } }).storage.bulkRoot, "logs");
}
const logFile = (service: string) => path.join(logsRoot(), service, `${service}.log`);
const size = (service: string) => fs.statSync(logFile(service)).size;

/** Waits (bounded) until the service's file holds `needle` past byte `from`; fails with what it holds. */
async function grows(service: string, from: number, needle: string, timeoutMs = 30000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const added = fs.readFileSync(logFile(service)).subarray(from).toString("utf8");
    const line = added.split("\n").find((l) => l.includes(needle));
    if (line) return line;
    if (Date.now() > deadline)
      assert.fail(`${logFile(service)}: no line with "${needle}" added within ${timeoutMs / 1000} s; added:\n${added.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe("per-component log files", () => {
  before(() => {
    platform();
  });

  it("gives every service its own file under the bulk root, every line stamped, readable by root only", () => {
    const running = docker(["ps", "--filter", "label=mail-platform.service", "--filter", "name=^mp-e2e-", "--format", "{{.Names}}"])
      .stdout.split("\n")
      .filter(Boolean);
    const withFile = running.filter((c) => inspect(c, "{{range .Config.Env}}{{println .}}{{end}}").includes("MAIL_PLATFORM_LOG_FILE="));
    const services = withFile.map((c) => c.replace(/^mp-e2e-/, ""));
    for (const s of MUST_LOG) assert.ok(services.includes(s), `${s} logs to a file; containers that do: ${services.join(", ")}`);
    for (const s of services) {
      const file = logFile(s);
      assert.ok(fs.existsSync(file), `${file} exists (container mp-e2e-${s})`);
      const lines = fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
      // A daemon that has said nothing yet (cron in the backup container) has an empty file.
      if (MUST_LOG.includes(s)) assert.ok(lines.length > 0, `${file} has lines`);
      const unstamped = lines.filter((l) => !STAMP.test(l));
      assert.deepEqual(unstamped.slice(0, 3), [], `${file}: every line starts with its UTC time`);
      assert.equal(fs.statSync(file).mode & 0o007, 0, `${file} is not readable by everyone on the host`);
    }
  });

  it("grows with a message's way through Postfix, Amavis and Dovecot, and docker logs shows the same lines", async () => {
    const before = { postfix: size("postfix"), amavis: size("amavis"), dovecot: size("dovecot") };
    const token = unique("logfile");
    const headers = normalHeaders("example.test");
    const messageId = headers["Message-ID"];
    await submit("alice@example.test", {
      from: "alice@example.test",
      to: ["bob@example.test"],
      subject: token,
      text: "A line for the logs.",
      headers,
    });
    await waitForMessage("bob@example.test", token);

    const postfix = await grows("postfix", before.postfix, `message-id=${messageId}`);
    const amavis = await grows("amavis", before.amavis, messageId);
    assert.match(amavis, /\) Passed CLEAN /, "Amavis's verdict line, which the monitoring's mtail reads");
    const dovecot = await grows("dovecot", before.dovecot, messageId.replace(/^<|>$/g, ""));
    assert.match(dovecot, /(saved mail to|stored mail into mailbox) '?INBOX'?/, "Dovecot's delivery line (Sieve's when a script ran)");

    // The file holds the container's output as it was, plus the stamp in front.
    for (const [service, line] of [
      ["postfix", postfix],
      ["amavis", amavis],
      ["dovecot", dovecot],
    ]) {
      const unstamped = line.replace(STAMP, "");
      assert.ok(
        containerLog(`mp-e2e-${service}`, ["--since", "10m"]).includes(unstamped),
        `docker logs mp-e2e-${service} shows: ${unstamped}`,
      );
    }
  });
});
