// Faults a host really has: a container killed without a clean shutdown (OOM killer, dockerd or
// host crash) must come back by itself, and mail that arrived meanwhile must be delivered, not lost.
import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import { docker, dockerExec, waitHealthy } from "../support/docker";
import { findMessages, normalHeaders, submit, waitForMessage } from "./support/mail";
import { logs, platform, unique } from "./support/platform";

describe("resilience: a killed container", () => {
  before(() => {
    platform();
  });

  it("Amavis killed mid-flow: mail submitted meanwhile waits in Postfix's queue and is delivered once Amavis is back", async () => {
    const token = unique("amavis-killed");
    // SIGKILL: no shutdown handler runs, exactly what a crash leaves behind (PID file included).
    assert.equal(docker(["kill", "--signal", "KILL", "mp-e2e-amavis"]).code, 0, "could not kill Amavis");
    try {
      await submit("bob@example.test", {
        from: "bob@example.test",
        to: ["alice@example.test"],
        subject: `While Amavis is down ${token}`,
        text: "wait for me",
        headers: normalHeaders("example.test"),
      });
      assert.deepEqual(await findMessages("alice@example.test", token, ["INBOX", "Junk"]), [], "delivered without being scanned");
    } finally {
      docker(["start", "mp-e2e-amavis"]);
    }
    await waitHealthy("mp-e2e-amavis", 120_000);
    // What an admin does once the filter is back: "retry now" rather than wait for Postfix's backoff.
    dockerExec("mp-e2e-postfix", ["postqueue", "-f"]);
    const m = await waitForMessage("alice@example.test", token, ["INBOX", "Junk"], 60_000).catch((e) =>
      assert.fail(`${e.message}\n${logs("amavis", "postfix")}`),
    );
    assert.match(m.source.split(/\r?\n\r?\n/)[0], /^X-Virus-Scanned: /im, "delivered without Amavis's scan header");
  });

  it("Dovecot, Postfix, MariaDB, the webmail, PostfixAdmin and the proxy killed at once all come back healthy when started again", async () => {
    const containers = ["dovecot", "postfix", "mariadb", "webmail", "postfixadmin", "proxy"].map((s) => `mp-e2e-${s}`);
    assert.equal(docker(["kill", "--signal", "KILL", ...containers]).code, 0, "could not kill the containers");
    assert.equal(docker(["start", ...containers]).code, 0, "could not start the containers");
    await Promise.all(containers.map((c) => waitHealthy(c, 120_000)));
  });
});
