// What users do with their filters and their Junk folder, end to end: a Sieve script uploaded over
// ManageSieve (STARTTLS, AUTHENTICATE PLAIN, PUTSCRIPT, SETACTIVE) files matching inbound mail into
// a folder at delivery; moving or copying a message into Junk over IMAP teaches spamd's Bayes
// store spam, moving one out of Junk teaches ham, and moving one from Junk to Trash teaches
// nothing. Bayes is read from its SQL store (one global Bayes user) and per message through
// SpamAssassin's own message id, so the checks hold while other test files deliver mail.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { ImapFlow } from "imapflow";
import { BAYES_GLOBAL_USER } from "../../components/contentfilter/render";
import { dockerExec } from "../support/docker";
import { LineClient } from "./support/line-client";
import { findMessages, HOSTNAME, imap, normalHeaders, sendInbound, waitForMessage } from "./support/mail";
import { ca, execIn, logs, password, platform, unique } from "./support/platform";

const SERVICES = ["dovecot", "spamd", "postfix", "amavis"];

function show(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

/** Fails with what was expected, what was seen, and the mail store's and filter's logs. */
function check(ok: boolean, what: string, expected: unknown, seen: unknown): void {
  if (ok) return;
  assert.fail(`${what}\nexpected: ${show(expected)}\nseen:     ${show(seen)}\n${logs(...SERVICES)}`);
}

function seen(what: string, value: unknown): void {
  console.log(`  ${what}: ${show(value)}`);
}

/** Polls `probe` until it returns a value; fails after `timeoutMs` with `what` and the logs. */
async function poll<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      assert.fail(
        `${what}: not seen within ${timeoutMs / 1000} s${last ? ` (last error: ${(last as Error).message})` : ""}\n${logs(...SERVICES)}`,
      );
    await new Promise((r) => setTimeout(r, 300));
  }
}

// --- ManageSieve (RFC 5804) ------------------------------------------------------------------

/**
 * A ManageSieve response is complete at a line starting with OK, NO or BYE. Literals
 * (`{N}` / `{N+}` at a line's end) are skipped, so a script or message inside one cannot end it.
 */
function manageSieveDone(text: string): boolean {
  let pos = 0;
  for (;;) {
    const start = pos;
    let end: number;
    for (;;) {
      const crlf = text.indexOf("\r\n", pos);
      if (crlf < 0) return false;
      const literal = /\{(\d+)\+?\}$/.exec(text.slice(pos, crlf));
      if (!literal) {
        end = crlf;
        break;
      }
      pos = crlf + 2 + Number(literal[1]);
      if (pos > text.length) return false;
    }
    if (/^(OK|NO|BYE)\b/i.test(text.slice(start, end))) return true;
    pos = end + 2;
  }
}

/** A quoted string (RFC 5804 section 4). */
function quoted(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

class ManageSieve {
  private constructor(private client: LineClient) {}
  /** The server's capabilities, keyed by upper-case name (e.g. SIEVE -> "fileinto mailbox ..."). */
  capabilities = new Map<string, string>();

  static async open(port: number): Promise<ManageSieve> {
    const c = new ManageSieve(await LineClient.connect(port));
    c.capabilities = ManageSieve.parseCapabilities(await c.client.read(manageSieveDone));
    return c;
  }

  private static parseCapabilities(text: string): Map<string, string> {
    const caps = new Map<string, string>();
    for (const line of text.split("\r\n")) {
      const m = /^"([^"]+)"(?: "([^"]*)")?$/.exec(line);
      if (m) caps.set(m[1].toUpperCase(), m[2] ?? "");
    }
    return caps;
  }

  /** Sends a command; resolves with the whole response and its status word. */
  async command(line: string): Promise<{ status: string; text: string }> {
    this.client.write(`${line}\r\n`);
    const text = await this.client.read(manageSieveDone);
    const last = text.split("\r\n").filter((l) => /^(OK|NO|BYE)\b/i.test(l));
    return { status: (last[last.length - 1] ?? "").split(/[ (]/)[0].toUpperCase(), text };
  }

  async starttls(): Promise<void> {
    const r = await this.command("STARTTLS");
    if (r.status !== "OK") throw new Error(`STARTTLS refused: ${r.text}`);
    await this.client.upgrade({ ca: ca(), servername: HOSTNAME });
    // RFC 5804 2.2: after TLS the server sends its capabilities again (SASL may now list PLAIN).
    this.capabilities = ManageSieve.parseCapabilities(await this.client.read(manageSieveDone));
  }

  async authenticatePlain(user: string, pass: string): Promise<{ status: string; text: string }> {
    const initial = Buffer.from(`\0${user}\0${pass}`, "utf8").toString("base64");
    return this.command(`AUTHENTICATE "PLAIN" ${quoted(initial)}`);
  }

  /** PUTSCRIPT with a non-synchronising literal. */
  async putScript(name: string, script: string): Promise<{ status: string; text: string }> {
    return this.command(`PUTSCRIPT ${quoted(name)} {${Buffer.byteLength(script, "utf8")}+}\r\n${script}`);
  }

  async logout(): Promise<void> {
    await this.command("LOGOUT").catch(() => undefined);
    this.client.close();
  }
}

// --- Bayes, as spamd's SpamAssassin stores it in MariaDB ----------------------------------------

interface BayesCounts {
  spam: number;
  ham: number;
}

function sql(query: string): string {
  const r = execIn("mariadb", ["mariadb", "-N", "-B", "spamassassin", "-e", query]);
  if (r.code !== 0) assert.fail(`querying the Bayes store failed (exit ${r.code}): ${r.out}\n${logs("mariadb", "spamd")}`);
  return r.out.trim();
}

/** The global Bayes user's learned-message counts (nspam / nham of `sa-learn --dump magic`). */
function bayesCounts(): BayesCounts {
  const row = sql(`SELECT spam_count, ham_count FROM bayes_vars WHERE username = '${BAYES_GLOBAL_USER}'`);
  if (row === "") return { spam: 0, ham: 0 }; // nothing learned yet on a fresh store
  const [spam, ham] = row.split("\t").map(Number);
  return { spam, ham };
}

/** `sa-learn --dump magic` in spamd, for the record (it fails on a store that never learned). */
function magicDump(): string {
  const r = execIn("spamd", ["sa-learn", "--dump", "magic"]);
  return (
    r.out
      .split("\n")
      .filter((l) => /non-token data: (nspam|nham)/.test(l))
      .map((l) => l.trim().replace(/\s+/g, " "))
      .join("; ") || r.out.trim()
  );
}

/**
 * SpamAssassin's own id of a message (what Bayes records in bayes_seen): a hash of To, Date and
 * the body, computed by SpamAssassin in the spamd container from the source read over IMAP.
 */
function saMessageId(source: string): string {
  const perl =
    'use Mail::SpamAssassin; my $sa = Mail::SpamAssassin->new({ local_tests_only => 1 }); local $/; my $m = $sa->parse(<STDIN>); print scalar($m->generate_msgid()), "\\n";';
  const r = dockerExec("mp-e2e-spamd", ["perl", "-e", perl], source);
  const id = r.stdout.trim();
  if (r.code !== 0 || !/^[0-9a-f]{40}@sa_generated$/.test(id))
    assert.fail(`computing SpamAssassin's message id failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
  return id;
}

/** What Bayes has learned a message as: "s", "h", or undefined when never learned. */
function learnedAs(saId: string): string | undefined {
  const row = sql(
    `SELECT s.flag FROM bayes_seen s JOIN bayes_vars v ON v.id = s.id WHERE v.username = '${BAYES_GLOBAL_USER}' AND s.msgid = '${saId}'`,
  );
  return row === "" ? undefined : row;
}

// --- Messages -----------------------------------------------------------------------------------

const USER = "alice@example.test";
const SIEVE_USER = "carol@corp.test";

interface Delivered {
  token: string;
  saId: string;
}

/** Delivers a distinct ordinary message to USER's INBOX and returns its token and SpamAssassin id. */
async function deliver(label: string): Promise<Delivered> {
  const token = unique(label);
  await sendInbound({
    from: "partner@remote.test",
    to: [USER],
    subject: `Status update ${token}`,
    text: `Hi Alice,\n\nthe ${label} report is attached to the ticket now (reference ${token}).\nTalk tomorrow,\nPat\n`,
    headers: normalHeaders("remote.test"),
  });
  let m;
  try {
    m = await waitForMessage(USER, token, ["INBOX", "Junk"], 60_000);
  } catch (e) {
    return assert.fail(`${(e as Error).message}\n${logs(...SERVICES)}`);
  }
  check(m.folder === "INBOX", `"${token}" should arrive in INBOX (an ordinary message)`, "INBOX", m.folder);
  return { token, saId: saMessageId(m.source) };
}

/** Runs `fn` with `folder` selected, the UID of the message with `token` in it as argument. */
async function inFolder<T>(client: ImapFlow, folder: string, token: string, fn: (uid: number) => Promise<T>): Promise<T> {
  const lock = await client.getMailboxLock(folder);
  try {
    const uids = (await client.search({ subject: token }, { uid: true })) || [];
    check(uids.length === 1, `exactly one message with "${token}" in ${folder}`, 1, uids);
    return await fn(uids[0]);
  } finally {
    lock.release();
  }
}

async function move(token: string, from: string, to: string): Promise<void> {
  await imap(USER, (client) =>
    inFolder(client, from, token, async (uid) => {
      const r = await client.messageMove(String(uid), to, { uid: true });
      check(r !== false, `MOVE "${token}" ${from} -> ${to}`, "OK", r);
    }),
  );
}

async function copy(token: string, from: string, to: string): Promise<void> {
  await imap(USER, (client) =>
    inFolder(client, from, token, async (uid) => {
      const r = await client.messageCopy(String(uid), to, { uid: true });
      check(r !== false, `COPY "${token}" ${from} -> ${to}`, "OK", r);
    }),
  );
}

async function foldersOf(user: string, token: string, folders: string[]): Promise<string[]> {
  return (await findMessages(user, token, folders)).map((m) => m.folder);
}

/** Waits until Bayes records the message as `flag` and returns the counts seen then. */
async function waitLearned(m: Delivered, flag: "s" | "h", what: string): Promise<BayesCounts> {
  await poll(`${what}: Bayes records "${m.token}" (${m.saId}) as ${flag === "s" ? "spam" : "ham"}`, () =>
    learnedAs(m.saId) === flag ? true : undefined,
  );
  return bayesCounts();
}

describe("Sieve filters over ManageSieve, and spam/ham learning from the Junk folder", () => {
  before(() => {
    platform();
  });

  test("a Sieve script uploaded over ManageSieve files matching mail into its folder, not INBOX", async () => {
    const token = unique("sieve");
    const folder = "Projects";
    const sieve = await ManageSieve.open(platform().ports.managesieve);
    try {
      check(sieve.capabilities.has("STARTTLS"), "ManageSieve offers STARTTLS before login", "STARTTLS", [...sieve.capabilities.keys()]);
      check(
        !/\bPLAIN\b/i.test(sieve.capabilities.get("SASL") ?? ""),
        "no PLAIN login before TLS",
        "SASL without PLAIN",
        sieve.capabilities.get("SASL") ?? "(no SASL line)",
      );
      await sieve.starttls();
      const sasl = sieve.capabilities.get("SASL") ?? "";
      check(/\bPLAIN\b/i.test(sasl), "SASL mechanisms after STARTTLS", "PLAIN", sasl);
      const extensions = (sieve.capabilities.get("SIEVE") ?? "").split(/\s+/);
      seen("SIEVE extensions advertised", extensions.join(" "));
      check(
        extensions.includes("fileinto") && extensions.includes("mailbox"),
        "Sieve extensions for filing into a folder (created when missing)",
        ["fileinto", "mailbox"],
        extensions,
      );

      const auth = await sieve.authenticatePlain(SIEVE_USER, password(SIEVE_USER));
      check(auth.status === "OK", `AUTHENTICATE PLAIN as ${SIEVE_USER}`, "OK", auth.text);

      const broken = await sieve.putScript("e2e-broken", 'require ["fileinto"];\nif header :contains "Subject" "x" { fileinto }\n');
      check(broken.status === "NO", "PUTSCRIPT of a script that does not compile is refused", "NO ...", broken.text);

      const script = [
        'require ["fileinto", "mailbox"];',
        "# mail-platform e2e: mail whose subject carries this run's token goes to its project folder.",
        `if header :contains "Subject" ${quoted(token)} {`,
        `  fileinto :create ${quoted(folder)};`,
        "  stop;",
        "}",
        "",
      ].join("\r\n");
      const put = await sieve.putScript("e2e-projects", script);
      check(put.status === "OK", "PUTSCRIPT e2e-projects", "OK", put.text);
      const active = await sieve.command('SETACTIVE "e2e-projects"');
      check(active.status === "OK", "SETACTIVE e2e-projects", "OK", active.text);
      const list = await sieve.command("LISTSCRIPTS");
      check(/^"e2e-projects" ACTIVE$/m.test(list.text), "LISTSCRIPTS shows the script active", '"e2e-projects" ACTIVE', list.text);
      seen("LISTSCRIPTS", list.text.trim().split("\r\n").join(" | "));
    } finally {
      await sieve.logout();
    }

    const other = unique("sieve-other");
    await sendInbound({
      from: "partner@remote.test",
      to: [SIEVE_USER],
      subject: `Kick-off for ${token}`,
      text: "Hello Carol,\n\nthe kick-off is on Monday.\n",
      headers: normalHeaders("remote.test"),
    });
    await sendInbound({
      from: "partner@remote.test",
      to: [SIEVE_USER],
      subject: `Lunch ${other}`,
      text: "Hello Carol,\n\nlunch on Friday?\n",
      headers: normalHeaders("remote.test"),
    });
    // The folder may not exist until the script creates it, so a search there can fail until then.
    const arrived = (t: string) =>
      poll(`"${t}" delivered to ${SIEVE_USER}`, async () => (await findMessages(SIEVE_USER, t, ["INBOX", "Junk", folder]))[0], 60_000);
    const unfiled = await arrived(other);
    const filed = await arrived(token);
    const where = await foldersOf(SIEVE_USER, token, [folder, "INBOX", "Junk"]);
    check(where.length === 1 && where[0] === folder, `folders holding the matching message "${token}"`, [folder], where);
    check(filed.folder === folder, "the matching message's folder", folder, filed.folder);
    check(unfiled.folder === "INBOX", `a message the script does not match ("${other}") stays in INBOX`, "INBOX", unfiled.folder);
    seen(`"${token}" filed into`, where);
    seen(`"${other}" delivered to`, unfiled.folder);
  });

  test("MOVE into Junk teaches spam, MOVE out of Junk to INBOX teaches ham (the Bayes counts change)", async () => {
    const m = await deliver("learn-move");
    const before = bayesCounts();
    seen("Bayes counts before (spam/ham)", before);
    seen(`"${m.token}" learned as, before`, learnedAs(m.saId) ?? "never learned");

    await move(m.token, "INBOX", "Junk");
    const afterSpam = await waitLearned(m, "s", "MOVE INBOX -> Junk");
    seen("Bayes counts after MOVE INBOX -> Junk", afterSpam);
    check(afterSpam.spam > before.spam, "spam count after MOVE into Junk", `> ${before.spam}`, afterSpam.spam);

    await move(m.token, "Junk", "INBOX");
    const afterHam = await waitLearned(m, "h", "MOVE Junk -> INBOX");
    seen("Bayes counts after MOVE Junk -> INBOX", afterHam);
    check(afterHam.ham > afterSpam.ham, "ham count after MOVE out of Junk", `> ${afterSpam.ham}`, afterHam.ham);
    // Re-learning as ham first forgets the spam lesson, so the spam count goes back down.
    check(afterHam.spam < afterSpam.spam, "spam count after the same message is re-learned as ham", `< ${afterSpam.spam}`, afterHam.spam);
    const where = await foldersOf(USER, m.token, ["INBOX", "Junk"]);
    check(where.join() === "INBOX", "the message is back in INBOX only", ["INBOX"], where);
    seen("sa-learn --dump magic", magicDump());
  });

  test("COPY into Junk teaches spam as well", async () => {
    const m = await deliver("learn-copy");
    const before = bayesCounts();
    seen("Bayes counts before (spam/ham)", before);
    await copy(m.token, "INBOX", "Junk");
    const after = await waitLearned(m, "s", "COPY INBOX -> Junk");
    seen("Bayes counts after COPY INBOX -> Junk", after);
    check(after.spam > before.spam, "spam count after COPY into Junk", `> ${before.spam}`, after.spam);
    const where = (await foldersOf(USER, m.token, ["INBOX", "Junk"])).sort();
    check(where.join() === "INBOX,Junk", "after COPY the message is in both folders", ["INBOX", "Junk"], where);
  });

  test("MOVE from Junk to Trash teaches nothing", async () => {
    const trashed = await deliver("learn-trash");
    const marker = await deliver("learn-marker");
    await move(trashed.token, "INBOX", "Junk");
    await move(marker.token, "INBOX", "Junk");
    await waitLearned(trashed, "s", "MOVE INBOX -> Junk");
    const before = await waitLearned(marker, "s", "MOVE INBOX -> Junk");
    seen("Bayes counts with both messages learned as spam", before);

    await move(trashed.token, "Junk", "Trash");
    // The marker leaves Junk for INBOX after the Trash move; once it is learned as ham, a lesson
    // from the Trash move would have been recorded too (the learning runs during the IMAP command).
    await move(marker.token, "Junk", "INBOX");
    const after = await waitLearned(marker, "h", "MOVE Junk -> INBOX (the marker)");
    seen("Bayes counts after MOVE Junk -> Trash and the marker's MOVE Junk -> INBOX", after);
    const flag = learnedAs(trashed.saId);
    check(
      flag === "s",
      `"${trashed.token}" after MOVE Junk -> Trash is still recorded as spam (nothing learned)`,
      "s",
      flag ?? "never learned",
    );
    // Only the marker was re-learned (spam -> ham); a ham lesson from Trash would take one more.
    check(after.spam >= before.spam - 1, "spam count: only the marker was re-learned (as ham)", `>= ${before.spam - 1}`, after.spam);
    const where = await foldersOf(USER, trashed.token, ["INBOX", "Junk", "Trash"]);
    check(where.join() === "Trash", "the trashed message is in Trash only", ["Trash"], where);
    seen(`"${trashed.token}" learned as`, flag);
  });
});
