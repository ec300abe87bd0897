// Archiving, end to end: every message the platform accepts (inbound, outbound, internal) reaches
// the archive exactly once, carrying all its envelope recipients (Bcc and alias expansions
// included) in X-Envelope-To, the header Piler reads with extra_to_field; no user's copy and no
// outbound copy reveals a Bcc recipient. The archive server is an external one, here the clearly
// named test receiver that stands in for Piler (whose image cannot be pulled).
import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import { dockerExec } from "../support/docker";
import { acceptMail, ReceivedMessage, refuseMail, spoolMessages } from "./internet/internet";
import { smtpFromInternet } from "./support/internet-client";
import { findMessages, normalHeaders, submit, waitForMessage } from "./support/mail";
import { ARCHIVE_RECEIVER, internet, logs, platform, postfixEdgeIp, unique } from "./support/platform";
import type { PropertyMap } from "../../tools/mock-run/property-map";

const copiesOf = (token: string): ReceivedMessage[] => spoolMessages(ARCHIVE_RECEIVER.name).filter((m) => m.raw.includes(token));

async function waitForCopy(token: string, timeoutMs = 30_000): Promise<ReceivedMessage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [m] = copiesOf(token);
    if (m) return m;
    if (Date.now() > deadline)
      return assert.fail(`no archive copy of "${token}" within ${timeoutMs / 1000} s\n${logs("amavis", "postfix")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The envelope recipients an archive copy declares, lower-cased and sorted. */
function envelopeTo(m: ReceivedMessage): string[] {
  const header = /^X-Envelope-To: (.*(?:\r?\n[ \t].*)*)/m.exec(m.raw)?.[1] ?? "";
  return [...header.matchAll(/<([^>]+)>/g)].map((x) => x[1].toLowerCase()).sort();
}

/**
 * Exactly once: after a later marker message's copy has arrived, the first message's copies are
 * all in (Amavis archives each message before it hands it on), so counting them is final.
 */
async function assertExactlyOneCopy(token: string): Promise<ReceivedMessage> {
  const copy = await waitForCopy(token);
  const marker = unique("archive-marker");
  await submit("carol@corp.test", {
    from: "carol@corp.test",
    to: ["carol@corp.test"],
    subject: `Marker ${marker}`,
    text: "marker",
    headers: normalHeaders("corp.test"),
  });
  await waitForCopy(marker);
  const copies = copiesOf(token);
  assert.equal(
    copies.length,
    1,
    `expected exactly one archive copy of "${token}", saw ${copies.length}: ${copies.map(envelopeTo).join(" | ")}`,
  );
  assert.deepEqual(copy.rcptTo, ["archive@archive.test"], "the copy goes to the configured archive address");
  return copy;
}

/** `bcc` undefined: the copy is the Bcc recipient's own, which may name them; it still must not carry the archive's header. */
function assertNoBccIn(source: string, bcc: string | undefined, where: string): void {
  const headers = source.split(/\r?\n\r?\n/)[0];
  assert.doesNotMatch(headers, /^X-Envelope-To:/im, `${where} must not carry the archive's envelope header`);
  if (bcc) assert.ok(!headers.toLowerCase().includes(bcc), `${where} reveals the Bcc recipient ${bcc}:\n${headers}`);
}

describe("archive: one copy of every message with all its envelope recipients", () => {
  before(() => {
    platform();
    internet();
  });

  it("inbound from the Internet: the alias expanded and the Bcc recipient listed, no user copy revealing it", async () => {
    const token = unique("archive-inbound");
    const body = [
      `From: Partner <partner@remote.test>`,
      `To: team@example.test`,
      `Subject: Offer ${token}`,
      `Date: ${new Date().toUTCString()}`,
      `Message-ID: <${token}@remote.test>`,
      "",
      "Our offer.",
      "",
    ].join("\r\n");
    const replies = smtpFromInternet(postfixEdgeIp(), [
      { command: "ehlo" },
      { command: "mail", arg: "partner@remote.test" },
      { command: "rcpt", arg: "team@example.test" },
      { command: "rcpt", arg: "carol@corp.test" }, // Bcc: in the envelope only
      { command: "data", arg: body },
    ]);
    assert.equal(replies.find((r) => r.command === "data")?.code, 250, JSON.stringify(replies));
    const copy = await assertExactlyOneCopy(token);
    assert.deepEqual(
      envelopeTo(copy),
      ["alice@example.test", "bob@example.test", "carol@corp.test"],
      "X-Envelope-To lists the alias's mailboxes and the Bcc recipient",
    );
    assert.match(copy.raw, /^X-Envelope-From: <partner@remote\.test>/m);
    for (const user of ["alice@example.test", "bob@example.test", "carol@corp.test"]) {
      const m = await waitForMessage(user, token, ["INBOX", "Junk"]);
      assertNoBccIn(m.source, user === "carol@corp.test" ? undefined : "carol@corp.test", `${user}'s copy`);
    }
  });

  it("outbound with a Bcc: the archive lists both recipients, the remote copy does not reveal the Bcc", async () => {
    const net = internet();
    const token = unique("archive-outbound");
    await submit("alice@example.test", {
      from: "alice@example.test",
      to: ["someone@remote.test"],
      bcc: ["bob@example.test"],
      subject: `Contract ${token}`,
      text: "Signed.",
      headers: normalHeaders("example.test"),
    });
    const copy = await assertExactlyOneCopy(token);
    assert.deepEqual(envelopeTo(copy), ["bob@example.test", "someone@remote.test"]);
    const remote = await net.waitForMessage((m) => m.raw.includes(token), 30_000);
    assertNoBccIn(remote.raw, "bob@example.test", "the copy that left for remote.test");
    const bob = await waitForMessage("bob@example.test", token, ["INBOX", "Junk"]);
    assertNoBccIn(bob.source, undefined, "bob's own copy (Bcc'd)");
  });

  it("internal mail between two users is archived once too", async () => {
    const token = unique("archive-internal");
    await submit("bob@example.test", {
      from: "bob@example.test",
      to: ["alice@example.test"],
      subject: `Lunch ${token}`,
      text: "12:30?",
      headers: normalHeaders("example.test"),
    });
    const copy = await assertExactlyOneCopy(token);
    assert.deepEqual(envelopeTo(copy), ["alice@example.test"]);
    const delivered = await findMessages("alice@example.test", token, ["INBOX", "Junk"]);
    assert.equal(delivered.length, 1, "alice gets her copy");
  });
});

describe("archive: an unreachable archive defers mail, never loses or skips it", () => {
  before(() => {
    platform();
  });

  it("holds a message in the queue while the archive refuses copies, and delivers and archives it once the archive takes them again", async () => {
    const token = unique("archive-down");
    const refuse = (on: boolean) => (on ? refuseMail : acceptMail)(ARCHIVE_RECEIVER.name);
    refuse(true);
    try {
      await submit("bob@example.test", {
        from: "bob@example.test",
        to: ["alice@example.test"],
        subject: `While the archive refuses ${token}`,
        text: "hold me",
        headers: normalHeaders("example.test"),
      });
      // Amavis answers Postfix with a temporary failure: the message is deferred in the queue.
      const deadline = Date.now() + 60_000;
      let queue = "";
      for (;;) {
        queue = dockerExec("mp-e2e-postfix", ["postqueue", "-j"]).stdout;
        const deferred = queue
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l))
          .find(
            (q: PropertyMap) =>
              q.queue_name === "deferred" && q.recipients?.some((r: PropertyMap) => /quarantine|archive/i.test(r.delay_reason ?? "")),
          );
        if (deferred) break;
        if (Date.now() > deadline)
          assert.fail(`expected the message deferred in Postfix's queue; queue:\n${queue}\n${logs("amavis", "postfix")}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.deepEqual(
        await findMessages("alice@example.test", token, ["INBOX", "Junk"]),
        [],
        "delivered although it could not be archived",
      );
    } finally {
      refuse(false);
    }
    // What an admin does once the archive is back: "retry now" rather than wait for Postfix's backoff.
    dockerExec("mp-e2e-postfix", ["postqueue", "-f"]);
    await waitForMessage("alice@example.test", token, ["INBOX", "Junk"], 30_000).catch((e) =>
      assert.fail(`${e.message}\n${logs("amavis", "postfix")}`),
    );
    await waitForCopy(token, 30_000);
    assert.equal(copiesOf(token).length, 1, "archived exactly once after the retry");
  });
});
