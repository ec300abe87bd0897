// The webmail as seen over HTTPS without a browser: a user changes his password in Roundcube and
// the new one is what IMAP accepts (PostfixAdmin's table changed through the password-change
// account), and Dovecot logs the user's own address, not the webmail's, so its failed-login
// penalties hit only the guilty client. The browser tests (webmail.test.ts) cover the pages.
import { strict as assert } from "assert";
import { after, before, describe, it } from "node:test";
import { inspect } from "../support/docker";
import { logs, password, platform } from "./support/platform";
import { changePassword, imapAccepts, login, tryLogin } from "./support/roundcube";

const USER = "dave@example.test";

describe("webmail over HTTPS", () => {
  let original = "";
  let current = "";

  before(() => {
    platform();
    original = password(USER);
    current = original;
  });

  after(async () => {
    // The stack never resets a password (it belongs to the user), so the test puts it back itself.
    if (current !== original) {
      const web = await login(USER, current);
      const message = await changePassword(web, current, original);
      assert.match(message, /Successfully saved/, `restoring ${USER}'s password: ${message}`);
    }
  });

  it("a password changed in Roundcube is the one IMAP accepts from then on", async () => {
    const next = `Webmail-${Date.now()}-pw`;
    const web = await login(USER, original);
    const message = await changePassword(web, original, next);
    assert.match(message, /Successfully saved/, `expected Roundcube to confirm the change, it said: ${message}\n${logs("webmail")}`);
    current = next;
    assert.equal(await imapAccepts(USER, next), true, "IMAP refuses the new password");
    assert.equal(await imapAccepts(USER, original), false, "IMAP still accepts the old password");
  });

  it("a password too short for PostfixAdmin's rule is refused and the old one still works", async () => {
    const web = await login(USER, current);
    const message = await changePassword(web, current, "short1");
    assert.doesNotMatch(message, /Successfully saved/, "a 6-character password was accepted");
    assert.equal(await imapAccepts(USER, current), true, "the password in force no longer works");
  });

  it("Dovecot sees the webmail user's own address, not the webmail container's", async () => {
    const webmailIp = inspect("mp-e2e-webmail", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}");
    assert.ok(webmailIp, "the webmail container has no address");
    await login(USER, current);
    const lines = logs("dovecot")
      .split("\n")
      .filter((l) => l.includes(`Logged in: user=<${USER}>`));
    const last = lines.at(-1) ?? "";
    const rip = /rip=([\d.]+)/.exec(last)?.[1];
    assert.ok(rip, `no IMAP login of ${USER} in Dovecot's log:\n${lines.slice(-5).join("\n")}`);
    assert.ok(!webmailIp.split(" ").includes(rip), `Dovecot logged the webmail container's address ${rip} as the client: ${last}`);
  });
});

describe("webmail login rate limit", () => {
  const ERIN = "erin@example.test";

  before(() => {
    platform();
  });

  it("locks an account out of the webmail for a minute after three wrong passwords, while IMAP still serves it", async () => {
    // Roundcube counts failures per known user: one good login first, waiting out a lock left by
    // an earlier run of this test (it lasts 60 s).
    const deadline = Date.now() + 70_000;
    for (let first = await tryLogin(ERIN, password(ERIN)); first.status !== 302; first = await tryLogin(ERIN, password(ERIN))) {
      assert.ok(
        Date.now() < deadline && /Too many failed/.test(first.message),
        `the first login failed: HTTP ${first.status} (${first.message})`,
      );
      await new Promise((r) => setTimeout(r, 5000));
    }
    for (let i = 1; i <= 3; i++) {
      const wrong = await tryLogin(ERIN, `wrong-${i}-${password(ERIN)}`);
      assert.notEqual(wrong.status, 302, `wrong password ${i} logged in`);
    }
    const locked = await tryLogin(ERIN, password(ERIN));
    assert.notEqual(locked.status, 302, "the right password still logged in right after three failures");
    assert.match(locked.message, /Too many failed login attempts/, `expected Roundcube's lock-out message, saw: ${locked.message}`);
    // The lock is the webmail's: mail clients keep working (Dovecot slows down failures itself).
    assert.equal(await imapAccepts(ERIN, password(ERIN)), true, "IMAP refused the account the webmail locked");
  });
});
