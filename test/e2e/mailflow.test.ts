// Mail in and out of the deployed platform with real clients: inbound from an Internet host to a
// mailbox and an alias (read over IMAP and POP3), outbound to another company's MX with DKIM, SPF
// and DMARC checked there, relaying refused from every path, and a second apply changing nothing.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { before, describe, it } from "node:test";
import { authenticate } from "mailauth";
import { inspect } from "../support/docker";
import { resolverFor } from "./support/dns-resolver";
import { smtpFromInternet } from "./support/internet-client";
import { LineClient } from "./support/line-client";
import { findMessages, HOSTNAME, normalHeaders, sendInbound, submit, waitForMessage } from "./support/mail";
import { ca, internet, logs, password, platform, postfixEdgeIp, readEndpoints, runUp, unique } from "./support/platform";

function rawMessage(from: string, to: string, subject: string, body: string): string {
  const h = normalHeaders("remote.test");
  return [
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${subject}`,
    `Date: ${h.Date}`,
    `Message-ID: ${h["Message-ID"]}`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    body,
    "",
  ].join("\r\n");
}

/** POP3 over TLS (995): the subjects of the mailbox's messages. */
async function pop3Subjects(user: string): Promise<string[]> {
  const c = await LineClient.connect(platform().ports.pop3s, { tls: { ca: ca(), servername: HOSTNAME } });
  const ok = (t: string) => /^(\+OK|-ERR)[^\r\n]*\r\n$/.test(t) || /\r\n\.\r\n$/.test(t);
  const cmd = async (line: string, multi = false) => {
    c.write(`${line}\r\n`);
    const r = await c.read((t) => (multi ? /^-ERR/.test(t) || /\r\n\.\r\n$/.test(t) : ok(t)));
    if (!r.startsWith("+OK")) throw new Error(`POP3 ${line.split(" ")[0]} refused: ${r}`);
    return r;
  };
  try {
    await c.read(ok);
    await cmd(`USER ${user}`);
    await cmd(`PASS ${password(user)}`);
    const list = await cmd("LIST", true);
    const numbers = list
      .split("\r\n")
      .slice(1)
      .filter((l) => /^\d+ /.test(l))
      .map((l) => l.split(" ")[0]);
    const subjects: string[] = [];
    for (const n of numbers) {
      const top = await cmd(`TOP ${n} 0`, true);
      const m = /^Subject: (.*)$/m.exec(top);
      if (m) subjects.push(m[1].trim());
    }
    await cmd("QUIT");
    return subjects;
  } finally {
    c.close();
  }
}

describe("mail flow through the deployed platform", () => {
  before(() => {
    platform();
    internet();
  });

  it("delivers mail from an Internet host to a mailbox and through an alias, scanned, readable over IMAP and POP3", async () => {
    const token = unique("inbound");
    const replies = smtpFromInternet(postfixEdgeIp(), [
      { command: "ehlo" },
      { command: "starttls" },
      { command: "ehlo" },
      { command: "mail", arg: "partner@remote.test" },
      { command: "rcpt", arg: "bob@example.test" },
      { command: "rcpt", arg: "team@example.test" },
      {
        command: "data",
        arg: rawMessage(
          "Partner <partner@remote.test>",
          "bob@example.test, team@example.test",
          `Quarterly figures ${token}`,
          "Hello Bob, the figures are attached in spirit.",
        ),
      },
    ]);
    const data = replies.find((r) => r.command === "data");
    assert.equal(
      data?.code,
      250,
      `expected the message to be accepted; the server said:\n${JSON.stringify(replies, null, 1)}\n${logs("postfix")}`,
    );

    const bob = await waitForMessage("bob@example.test", token, ["INBOX"]).catch((e) =>
      assert.fail(`${e.message}\n${logs("postfix", "amavis", "dovecot")}`),
    );
    assert.match(bob.source, /^X-Virus-Scanned: .*amavis/im, "Amavis's scan header missing");
    assert.match(bob.source, /^X-Spam-Status: No, score=-?\d/im, `expected an X-Spam-Status with the score:\n${bob.source.slice(0, 2000)}`);
    // team@ expands to alice and bob: alice gets it through the alias.
    await waitForMessage("alice@example.test", token, ["INBOX"]).catch((e) => assert.fail(`${e.message}\n${logs("postfix", "dovecot")}`));
    // bob is a recipient twice (directly and through team@) and gets one copy. Both copies would
    // have been delivered in the same LMTP transaction, so alice's arrival means bob's is final.
    const bobCopies = await findMessages("bob@example.test", token, ["INBOX", "Junk"]);
    assert.equal(bobCopies.length, 1, `bob should get exactly one copy, got ${bobCopies.length}`);
    const popped = await pop3Subjects("bob@example.test");
    assert.ok(
      popped.some((s) => s.includes(token)),
      `POP3 does not list the message; subjects seen: ${popped.slice(-5).join(" | ")}`,
    );
  });

  it("refuses an unknown recipient at RCPT time", () => {
    const replies = smtpFromInternet(postfixEdgeIp(), [
      { command: "ehlo" },
      { command: "mail", arg: "partner@remote.test" },
      { command: "rcpt", arg: "nobody-here@example.test" },
    ]);
    const rcpt = replies.find((r) => r.command === "rcpt")!;
    assert.equal(rcpt.code, 550, `expected 550 for an unknown user; got ${rcpt.code} ${rcpt.text}`);
    assert.match(rcpt.text, /User unknown|Recipient address rejected/i);
  });

  it("refuses to relay for an Internet host", () => {
    const replies = smtpFromInternet(postfixEdgeIp(), [
      { command: "ehlo" },
      { command: "mail", arg: "spammer@remote.test" },
      { command: "rcpt", arg: "victim@elsewhere.example" },
    ]);
    const rcpt = replies.find((r) => r.command === "rcpt")!;
    assert.ok(rcpt.code >= 450 && rcpt.code < 600, `expected relaying to be refused; got ${rcpt.code} ${rcpt.text}`);
    assert.match(rcpt.text, /Relay access denied/i, `expected 'Relay access denied'; got ${rcpt.text}`);
  });

  it("refuses to relay for a process on the Docker host, through the published port and through the internal network", async () => {
    for (const [how, port] of [["published port 127.0.0.1", platform().ports.smtp]] as const) {
      const t = await import("./support/line-client");
      const s = await t.SmtpSession.open(port);
      await s.ehlo("host.local.test");
      await s.command("MAIL FROM:<spammer@remote.test>");
      const rcpt = await s.command("RCPT TO:<victim@elsewhere.example>");
      s.close();
      assert.match(rcpt.text, /^[45]54 .*Relay access denied/m, `${how}: expected 454 or 554 Relay access denied; got ${rcpt.text}`);
    }
    // The host reaches the container's internal address from the internal network's gateway.
    const internalIp = inspect("mp-e2e-postfix", '{{(index .NetworkSettings.Networks "mp-e2e-internal").IPAddress}}');
    const script = `exec 3<>/dev/tcp/${internalIp}/25; read -r l <&3; printf 'EHLO host.local.test\\r\\n' >&3; while read -r l <&3; do case "$l" in 250\\ *) break;; esac; done; printf 'MAIL FROM:<spammer@remote.test>\\r\\n' >&3; read -r l <&3; printf 'RCPT TO:<victim@elsewhere.example>\\r\\n' >&3; read -r l <&3; echo "$l"; printf 'QUIT\\r\\n' >&3`;
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: 30000 });
    assert.match(
      r.stdout,
      /^[45]54 .*Relay access denied/m,
      `host -> ${internalIp}:25: expected 454 or 554 Relay access denied; got ${JSON.stringify(r.stdout + r.stderr)}`,
    );
  });

  it("sends a user's mail to another company's MX through the MX look-up, DKIM-signed, and DKIM, SPF and DMARC pass there", async () => {
    const net = internet();
    const token = unique("outbound");
    await submit("alice@example.test", {
      from: "Alice <alice@example.test>",
      to: ["someone@remote.test"],
      subject: `Proposal ${token}`,
      text: "Dear partner, please find our proposal below.\n",
      headers: normalHeaders("example.test"),
    });
    const got = await net
      .waitForMessage((m) => m.raw.includes(token), 60_000)
      .catch((e) => assert.fail(`${e.message}\n${logs("postfix", "amavis")}\n${net.logs()}`));
    assert.deepEqual(got.rcptTo, ["someone@remote.test"]);
    assert.equal(got.mailFrom, "alice@example.test");
    assert.match(got.raw, /^DKIM-Signature: .*d=example\.test/ims, "no DKIM signature for example.test");
    assert.ok(got.tls, "the platform should have used STARTTLS towards the remote MX");

    const result = await authenticate(got.rawBytes, {
      ip: got.clientIp,
      helo: got.helo,
      sender: got.mailFrom,
      mta: "mx.remote.test",
      resolver: resolverFor(net),
    });
    const dkim = result.dkim?.results?.[0]?.status?.result;
    const spf = result.spf && "status" in result.spf ? result.spf.status.result : undefined;
    const dmarc = result.dmarc && "status" in result.dmarc ? result.dmarc.status.result : undefined;
    assert.deepEqual(
      { dkim, spf, dmarc },
      { dkim: "pass", spf: "pass", dmarc: "pass" },
      `authentication results at the remote MX:\n${JSON.stringify(result, null, 1).slice(0, 4000)}`,
    );
  });

  it("changes nothing when the program is applied a second time, and the mail is still there", async () => {
    const before = platform().containers;
    const token = unique("kept");
    await sendInbound({
      from: "partner@remote.test",
      to: ["carol@corp.test"],
      subject: `Before re-apply ${token}`,
      text: "keep me",
      headers: normalHeaders("remote.test"),
    });
    await waitForMessage("carol@corp.test", token, ["INBOX"]);
    const r = runUp();
    assert.equal(r.code, 0, `second apply failed:\n${r.stdout}\n${r.stderr}`);
    const after = readEndpoints();
    // The planner compared every input with the last state, and every container with what the
    // provider reads back from Docker: a real `pulumi up` would show no change either.
    assert.deepEqual(
      after.steps.filter((s) => s.kind !== "same"),
      [],
      `the second apply changed something:\n${r.stdout}`,
    );
    assert.deepEqual(after.containers, before, "container ids changed: something was recreated");
    await waitForMessage("carol@corp.test", token, ["INBOX"], 5000);
  });
});
