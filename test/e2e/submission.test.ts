// Submission as a user's mail client does it: 587 with STARTTLS and 465 with implicit TLS, SASL
// through Dovecot, and the login-to-sender rule (a user sends as their own address and the aliases
// that deliver to them, never as anyone else). Raw SMTP sessions check what is offered before TLS.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { FoundMessage, findMessages, HOSTNAME, normalHeaders, submit, waitForMessage } from "./support/mail";
import { SmtpSession } from "./support/line-client";
import { ca, logs, password, platform, unique } from "./support/platform";

const ALICE = "alice@example.test";
const BOB = "bob@example.test";
const DELIVERY_TIMEOUT_MS = 60000;

/** Fails with what was expected, what was seen, and the logs of the daemons involved. */
function expectThat(ok: boolean, what: string, expected: string, seen: string): void {
  if (!ok) assert.fail(`${what}\nexpected: ${expected}\nseen:     ${seen}\n${logs("postfix", "dovecot", "amavis")}`);
}

interface SmtpError {
  responseCode?: number;
  response?: string;
  command?: string;
  message: string;
}

/** Runs a submission that must be refused and returns the server's reply, or fails if it was accepted. */
async function refused(attempt: () => Promise<{ response?: string }>, what: string): Promise<SmtpError> {
  let accepted: { response?: string } | undefined;
  try {
    accepted = await attempt();
  } catch (e) {
    return e as SmtpError;
  }
  expectThat(false, what, "a 5xx refusal", `accepted: ${accepted?.response}`);
  throw new Error("unreachable");
}

/** Whether an EHLO reply advertises AUTH (any mechanism). */
const offersAuth = (caps: string[]): boolean => caps.some((c) => c === "AUTH" || c.startsWith("AUTH ") || c.startsWith("AUTH="));

/** The header block of a delivered message. */
const headersOf = (m: FoundMessage): string => m.source.split(/\r?\n\r?\n/)[0];

describe("submission (587 STARTTLS, 465 implicit TLS) with SASL", () => {
  before(() => {
    platform();
  });

  for (const port of ["submission", "submissions"] as const) {
    it(`accepts alice's message on ${port} (${port === "submission" ? "587, STARTTLS" : "465, implicit TLS"}) and delivers it to bob`, async () => {
      const token = unique(`submit-${port}`);
      const sent = await submit(
        ALICE,
        {
          from: ALICE,
          to: [BOB],
          subject: `${token} hello bob`,
          text: "Submitted by a logged-in user.\n",
          headers: normalHeaders("example.test"),
        },
        { port },
      );
      expectThat(/^250 /.test(String(sent.response)), `the ${port} server accepts the message`, "250 ...", String(sent.response));
      const m = await waitForMessage(BOB, token, ["INBOX", "Junk"], DELIVERY_TIMEOUT_MS);
      const headers = headersOf(m);
      expectThat(m.folder === "INBOX", "the message is filed in bob's INBOX", "INBOX", m.folder);
      expectThat(
        /^Return-Path: <alice@example\.test>$/im.test(headers),
        "the envelope sender is alice",
        "Return-Path: <alice@example.test>",
        headers,
      );
      // Postfix writes "with ESMTPSA" in its Received line for a SASL-authenticated client over TLS.
      expectThat(
        /by mail\.example\.test \(Postfix\) with ESMTPSA/.test(headers),
        "the message was received authenticated over TLS",
        "a Received line 'with ESMTPSA'",
        headers,
      );
    });
  }

  it("does not offer AUTH on 587 before STARTTLS, and does after it", async () => {
    const s = await SmtpSession.open(platform().ports.submission);
    try {
      const before = await s.ehlo("laptop.example.test");
      expectThat(before.includes("STARTTLS"), "587 offers STARTTLS in clear", "STARTTLS among the capabilities", before.join(", "));
      expectThat(!offersAuth(before), "587 does not offer AUTH before STARTTLS", "no AUTH capability", before.join(", "));
      await s.starttls({ ca: ca(), servername: HOSTNAME });
      const after = await s.ehlo("laptop.example.test");
      const auth = after.find((c) => c.startsWith("AUTH "));
      expectThat(
        !!auth && auth.split(" ").includes("PLAIN"),
        "587 offers AUTH PLAIN after STARTTLS",
        "AUTH ... PLAIN ...",
        after.join(", "),
      );
      expectThat(!after.includes("STARTTLS"), "STARTTLS is not offered twice", "no STARTTLS after the upgrade", after.join(", "));
    } finally {
      s.close();
    }
  });

  it("offers AUTH on 465 inside its implicit TLS", async () => {
    const s = await SmtpSession.open(platform().ports.submissions, { ca: ca(), servername: HOSTNAME });
    try {
      const caps = await s.ehlo("laptop.example.test");
      expectThat(offersAuth(caps), "465 offers AUTH", "an AUTH capability", caps.join(", "));
    } finally {
      s.close();
    }
  });

  it("never offers AUTH on port 25, neither in clear nor after STARTTLS", async () => {
    const s = await SmtpSession.open(platform().ports.smtp);
    try {
      const clear = await s.ehlo("mx.remote.test");
      expectThat(!offersAuth(clear), "port 25 does not offer AUTH in clear", "no AUTH capability", clear.join(", "));
      expectThat(clear.includes("STARTTLS"), "port 25 offers opportunistic STARTTLS", "STARTTLS among the capabilities", clear.join(", "));
      await s.starttls({ ca: ca(), servername: HOSTNAME });
      const secured = await s.ehlo("mx.remote.test");
      expectThat(!offersAuth(secured), "port 25 does not offer AUTH after STARTTLS", "no AUTH capability", secured.join(", "));
      const auth = await s.command(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0${password(ALICE)}`).toString("base64")}`);
      expectThat(auth.code >= 500 && auth.code < 600, "port 25 refuses AUTH even with a valid password", "a 5xx reply", auth.text.trim());
    } finally {
      s.close();
    }
  });

  it("refuses MAIL FROM and AUTH on 587 before STARTTLS", async () => {
    const s = await SmtpSession.open(platform().ports.submission);
    try {
      await s.ehlo("laptop.example.test");
      const mail = await s.command(`MAIL FROM:<${ALICE}>`);
      // Postfix: "530 5.7.0 Must issue a STARTTLS command first".
      expectThat(
        mail.code === 530,
        "MAIL FROM before STARTTLS on 587 is refused",
        "530 (Must issue a STARTTLS command first)",
        mail.text.trim(),
      );
      const auth = await s.command(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0wrong-password`).toString("base64")}`);
      expectThat(auth.code >= 500 && auth.code < 600, "AUTH before STARTTLS on 587 is refused", "a 5xx reply", auth.text.trim());
    } finally {
      s.close();
    }
  });

  for (const port of ["submission", "submissions"] as const) {
    it(`refuses a wrong password on ${port} with 535`, async () => {
      const token = unique("wrong-password");
      const e = await refused(
        () =>
          submit(
            ALICE,
            { from: ALICE, to: [BOB], subject: token, text: "must not arrive\n", headers: normalHeaders("example.test") },
            { port, password: "not-alice's-password" },
          ),
        `a wrong password on ${port}`,
      );
      expectThat(
        e.responseCode === 535,
        `a wrong password on ${port} is refused at AUTH`,
        "535 (authentication failed)",
        `${e.command ?? "?"}: ${e.responseCode ?? "no code"} ${e.response ?? e.message}`,
      );
    });
  }

  it("refuses alice sending as someone else's address with 553 'not owned by user', and delivers none of it", async () => {
    // bob's and carol's mailboxes, carol's alias, and an outside address: none is alice's.
    const others = ["bob@example.test", "carol@corp.test", "postmaster@corp.test", "ceo@remote.test"];
    const tokens: string[] = [];
    for (const [i, sender] of others.entries()) {
      const token = unique(`forged-${sender.replace(/[@.]/g, "-")}`);
      tokens.push(token);
      const port = i % 2 === 0 ? "submission" : "submissions";
      const e = await refused(
        () =>
          submit(
            ALICE,
            {
              from: sender,
              to: [BOB],
              subject: token,
              text: "alice pretending to be someone else\n",
              headers: normalHeaders("example.test"),
            },
            { port },
          ),
        `alice sending as ${sender} on ${port}`,
      );
      const seen = `${e.command ?? "?"}: ${e.response ?? e.message}`;
      expectThat(
        e.responseCode === 553 && /Sender address rejected: not owned by user alice@example\.test/.test(String(e.response)),
        `alice sending as ${sender} on ${port} is refused`,
        `553 5.7.1 <${sender}>: Sender address rejected: not owned by user alice@example.test`,
        seen,
      );
    }
    // A legitimate message sent after the refused ones; once it is in, anything queued before it
    // would be too (the refusals happened at RCPT, so nothing should have been queued at all).
    const control = unique("after-forgeries");
    await submit(ALICE, { from: ALICE, to: [BOB], subject: control, text: "control\n", headers: normalHeaders("example.test") });
    await waitForMessage(BOB, control, ["INBOX", "Junk"], DELIVERY_TIMEOUT_MS);
    for (const token of tokens) {
      const found = await findMessages(BOB, token);
      expectThat(
        found.length === 0,
        `the refused message ${token} was not delivered`,
        "no message",
        found.map((m) => `${m.folder}: ${m.subject}`).join("; "),
      );
    }
  });

  // Designed behaviour (config-templates/postfix/etc/postfix/sql/sender-login.cf): a login owns
  // its mailbox address and every alias whose goto includes it. postmaster@example.test goes to
  // alice, team@example.test to alice and bob, so alice may send as either.
  for (const alias of ["postmaster@example.test", "team@example.test"]) {
    it(`lets alice send as her alias ${alias}`, async () => {
      const token = unique(`as-alias-${alias.split("@")[0]}`);
      const sent = await submit(ALICE, {
        from: alias,
        to: [BOB],
        subject: token,
        text: `alice writing as ${alias}\n`,
        headers: normalHeaders("example.test"),
      });
      expectThat(/^250 /.test(String(sent.response)), `alice sending as ${alias} is accepted`, "250 ...", String(sent.response));
      const m = await waitForMessage(BOB, token, ["INBOX", "Junk"], DELIVERY_TIMEOUT_MS);
      const headers = headersOf(m);
      expectThat(
        new RegExp(`^Return-Path: <${alias.replace(/\./g, "\\.")}>$`, "im").test(headers) &&
          new RegExp(`^From: ${alias.replace(/\./g, "\\.")}$`, "im").test(headers),
        `the message arrives with ${alias} as envelope sender and From`,
        `Return-Path: <${alias}> and From: ${alias}`,
        headers,
      );
    });
  }
});
