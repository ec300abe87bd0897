// Inbound content filtering, end to end: mail from an Internet host on port 25 passes Amavis
// (ClamAV and SpamAssassin) before Dovecot stores it. A clean message arrives with Amavis's
// headers; GTUBE (score 1000, above spam.rejectScore) is stopped without a notice; EICAR, plain
// and zipped, and a banned .exe attachment are rejected (spam.virusAction = reject) and never
// reach a mailbox. The verdict is read from Postfix's log for the message's queue id, so each
// "not delivered" is checked after the filter has finished with the message, not after a sleep.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as zlib from "node:zlib";
import { containerLog, dockerExec } from "../support/docker";
import { FoundMessage, findMessages, imap, normalHeaders, Outgoing, sendInbound, waitForMessage } from "./support/mail";
import { checkWithLogs, seen } from "./support/outcome";
import { execIn, logs, platform, unique } from "./support/platform";

const RECIPIENT = "alice@example.test";
// A local mailbox as the envelope sender, so what the sender is sent back can be read over IMAP.
const SENDER = "bob@example.test";
const FOLDERS = ["INBOX", "Junk"];

// The anti-virus and anti-spam test strings, assembled at run time so that no file of the
// repository is itself flagged by a scanner.
const EICAR = ["X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-", "ANTIVIRUS-TEST-FILE!$H+H*"].join("");
const GTUBE = ["XJS*C4JDBQADN1.NSBN3*2IDNEN*", "GTUBE-STANDARD-", "ANTI-UBE-TEST-EMAIL*C.34X"].join("");

const SERVICES = ["amavis", "postfix", "dovecot", "clamav"];

const check = checkWithLogs(SERVICES);

/** A service's log since an ISO time (so an old line with a reused queue id cannot match). */
function serviceLogSince(service: string, since: string): string {
  return containerLog(`mp-e2e-${service}`, ["--since", since]);
}

/** Polls `probe` until it returns a value; fails after `timeoutMs` with `what` and the logs. */
async function poll<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`${what}: not seen within ${timeoutMs / 1000} s\n${logs(...SERVICES)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface Sent {
  token: string;
  messageId: string;
  queueId: string;
  /** Postfix's log line with the content filter's answer for RECIPIENT. */
  verdict: string;
  /** Amavis's log line for the message. */
  amavis: string;
}

/**
 * Sends over port 25 as an Internet host, then waits until Postfix has logged Amavis's answer for
 * the message and Amavis its own verdict line.
 */
async function sendAndWaitForFilter(label: string, m: Omit<Outgoing, "from" | "to" | "subject" | "headers">): Promise<Sent> {
  const token = unique(label);
  const since = new Date(Date.now() - 2000).toISOString();
  const headers = normalHeaders("remote.test");
  const messageId = headers["Message-ID"];
  const info = await sendInbound({ from: SENDER, to: [RECIPIENT], subject: `${label} ${token}`, headers, ...m });
  const response = String(info.response);
  const queueId = /queued as ([0-9A-Za-z]+)/.exec(response)?.[1];
  check(
    queueId !== undefined,
    `port 25 should accept the ${label} message (the filter runs after the queue)`,
    "250 2.0.0 Ok: queued as <id>",
    response,
  );
  seen(`${label}: SMTP answer to the sender`, response);
  const filterLine = new RegExp(`${queueId}: to=<${RECIPIENT}>, relay=amavis\\[[^\\]]*\\]:10024.*status=`);
  const verdict = await poll(`Postfix's log line with Amavis's answer for queue id ${queueId}`, () =>
    serviceLogSince("postfix", since)
      .split("\n")
      .find((l) => filterLine.test(l)),
  );
  const amavis = await poll(`Amavis's log line for ${messageId}`, () =>
    serviceLogSince("amavis", since)
      .split("\n")
      .find((l) => l.includes(`Message-ID: ${messageId}`)),
  );
  seen(`${label}: Postfix`, verdict.replace(/^.*?status=/, "status="));
  seen(`${label}: Amavis`, amavis.replace(/^.*?\) /, ""));
  return { token: `${label} ${token}`, messageId, queueId: queueId!, verdict, amavis };
}

/** The recipient's messages with the token, in INBOX and Junk (the filter has already answered). */
async function assertNotDelivered(s: Sent): Promise<void> {
  const found: FoundMessage[] = await findMessages(RECIPIENT, s.token, FOLDERS);
  check(
    found.length === 0,
    `"${s.token}" must not be in ${RECIPIENT}'s ${FOLDERS.join(" or ")}`,
    "no message",
    found.map((f) => `${f.folder} uid ${f.uid}: ${f.subject}`),
  );
  seen(`${RECIPIENT} ${FOLDERS.join("+")} holds "${s.token}"`, "no message");
}

/** The quarantine file named in Amavis's log line exists in the Amavis container. */
function assertQuarantined(s: Sent): void {
  const where = /quarantine: ([^,\s]+)/.exec(s.amavis)?.[1];
  check(where !== undefined, "Amavis should log where it quarantined the message", "quarantine: <dir>/<file>", s.amavis);
  const file = `/var/lib/amavis/virusmails/${where}`;
  const r = execIn("amavis", ["test", "-s", file]);
  check(r.code === 0, "the quarantined copy should exist", file, r.out || `missing (exit ${r.code})`);
  seen("quarantined copy", file);
}

/** A single-file zip archive (deflated, so the file's bytes appear only after unpacking). */
function zipOf(name: string, data: Buffer): Buffer {
  const packed = zlib.deflateRawSync(data);
  const crc = zlib.crc32(data) >>> 0;
  const fileName = Buffer.from(name, "ascii");
  const DOS_DATE_1980_01_01 = 0x21;
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt16LE(0, 6); // flags
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt16LE(0, 10); // time
  local.writeUInt16LE(DOS_DATE_1980_01_01, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(packed.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(fileName.length, 26);
  local.writeUInt16LE(0, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4); // version made by
  central.writeUInt16LE(20, 6); // version needed
  central.writeUInt16LE(0, 8);
  central.writeUInt16LE(8, 10);
  central.writeUInt16LE(0, 12);
  central.writeUInt16LE(DOS_DATE_1980_01_01, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(packed.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fileName.length, 28);
  // extra, comment, disk number, internal and external attributes, offset of the local header: 0
  const centralOffset = local.length + fileName.length + packed.length;
  const centralSize = central.length + fileName.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, fileName, packed, central, fileName, end]);
}

/** Scans a message with the platform's own clamd: undefined when clean, else clamd's finding. */
function virusIn(source: string): string | undefined {
  const r = dockerExec("mp-e2e-clamav", ["clamdscan", "--no-summary", "-"], source);
  if (r.code === 0) return undefined;
  if (r.code === 1) return r.stdout.trim();
  return assert.fail(`clamdscan failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
}

/**
 * Amavis answers Postfix "250 ... BOUNCE" for a message it keeps from delivery and notifies about
 * itself. Never Postfix's own bounce: after the queue that would return the whole message,
 * virus or attachment included.
 */
const BOUNCED_BY_AMAVIS = /status=sent \(250 2\.5\.0 Ok, id=\S+, BOUNCE\)/;

/** Every non-delivery notice in the sender's INBOX that names the message's token. */
async function noticesFor(s: Sent): Promise<string[]> {
  return imap(SENDER, async (client) => {
    const lock = await client.getMailboxLock("INBOX");
    try {
      const uids = (await client.search({ text: s.token }, { uid: true })) || [];
      const found: string[] = [];
      for (const uid of uids) {
        const msg = await client.fetchOne(String(uid), { source: true }, { uid: true });
        const source = msg ? (msg.source?.toString("utf8") ?? "") : "";
        if (/^Content-Type: multipart\/report/im.test(source)) found.push(source);
      }
      return found;
    } finally {
      lock.release();
    }
  });
}

/** Waits for the first notice about a message. */
async function noticeFor(s: Sent): Promise<string> {
  return poll(`a notice to ${SENDER} about "${s.token}"`, async () => (await noticesFor(s))[0]);
}

describe("inbound content filter (Amavis with ClamAV and SpamAssassin)", () => {
  let eicarPlain: Sent | undefined;
  let eicarZip: Sent | undefined;
  let banned: Sent | undefined;

  before(() => {
    platform();
  });

  test("a normal message reaches INBOX with Amavis's virus-scan and spam-score headers", async () => {
    const token = unique("filter-clean");
    await sendInbound({
      from: "partner@remote.test",
      to: [RECIPIENT],
      subject: `Quarterly planning notes ${token}`,
      text: "Hello Alice,\n\nhere are the notes from yesterday's planning meeting. Let me know what you think.\n\nRegards,\nPat\n",
      headers: normalHeaders("remote.test"),
    });
    let m: FoundMessage;
    try {
      m = await waitForMessage(RECIPIENT, token, FOLDERS, 60_000);
    } catch (e) {
      return assert.fail(`${(e as Error).message}\n${logs(...SERVICES)}`);
    }
    const headerBlock = m.source.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, " ");
    const header = (name: string) => new RegExp(`^${name}: (.*)$`, "mi").exec(headerBlock)?.[1];
    check(m.folder === "INBOX", "folder of the clean message", "INBOX", m.folder);
    const scanned = header("X-Virus-Scanned");
    check(scanned === "amavis at mail.example.test", "X-Virus-Scanned", "amavis at mail.example.test", scanned ?? "(missing)");
    const status = header("X-Spam-Status");
    check(/^No, score=-?\d+(\.\d+)? /.test(status ?? ""), "X-Spam-Status", "No, score=<n> ... required=5", status ?? "(missing)");
    check(
      /required=5(\.0)?\b/.test(status ?? ""),
      "X-Spam-Status names spam.tagScore as the threshold",
      "required=5",
      status ?? "(missing)",
    );
    const score = Number(header("X-Spam-Score"));
    check(
      Number.isFinite(score) && score < 5,
      "X-Spam-Score (a number below spam.tagScore 5)",
      "< 5",
      header("X-Spam-Score") ?? "(missing)",
    );
    check(header("X-Spam-Flag") === "NO", "X-Spam-Flag", "NO", header("X-Spam-Flag") ?? "(missing)");
    seen("folder", m.folder);
    seen("X-Virus-Scanned", scanned!);
    seen("X-Spam-Status", status!);
    seen("X-Spam-Score", score);
  });

  test("GTUBE (score 1000, above spam.rejectScore 12) is stopped: not delivered, quarantined, no notice to the sender", async () => {
    const s = await sendAndWaitForFilter("gtube", {
      text: `Hello,\n\nthis message carries the spam test string.\n\n${GTUBE}\n`,
    });
    check(/Blocked SPAM\b/.test(s.amavis), "Amavis's verdict", "Blocked SPAM ...", s.amavis);
    const hits = Number(/Hits: (-?[\d.]+)/.exec(s.amavis)?.[1]);
    check(hits >= 12, "the score Amavis logged is at or above spam.rejectScore", ">= 12", hits);
    // Far above the reject score the sender is taken to be forged: Amavis sends no notice and tells
    // Postfix the message is done with (250, so Postfix does not bounce either).
    check(/NoBounceInbound/.test(s.amavis), "Amavis sends the sender no notice", "{NoBounceInbound,...}", s.amavis);
    check(
      /status=sent \(250 .*DISCARD\(bounce\.suppressed\)/.test(s.verdict),
      "Amavis's answer to Postfix",
      "status=sent (250 ... DISCARD(bounce.suppressed))",
      s.verdict,
    );
    assertQuarantined(s);
    await assertNotDelivered(s);
  });

  test("EICAR as a plain attachment is never delivered; Amavis logs the virus and quarantines it", async () => {
    eicarPlain = await sendAndWaitForFilter("eicar-plain", {
      text: "Hello,\n\nthe file you asked for is attached.\n",
      attachments: [{ filename: "notes.txt", content: Buffer.from(EICAR, "ascii") }],
    });
    check(
      /Blocked INFECTED \([^)]*EICAR[^)]*\)/i.test(eicarPlain.amavis),
      "Amavis's verdict",
      "Blocked INFECTED (...EICAR...)",
      eicarPlain.amavis,
    );
    check(
      BOUNCED_BY_AMAVIS.test(eicarPlain.verdict),
      "Amavis keeps it from delivery itself (spam.virusAction = reject: D_BOUNCE)",
      "status=sent (250 2.5.0 Ok, id=..., BOUNCE)",
      eicarPlain.verdict,
    );
    assertQuarantined(eicarPlain);
    await assertNotDelivered(eicarPlain);
  });

  test("EICAR inside a zip archive is never delivered; Amavis logs the virus and quarantines it", async () => {
    const zip = zipOf("readme.txt", Buffer.from(EICAR, "ascii"));
    assert.ok(!zip.includes(Buffer.from(EICAR, "ascii")), "the zip must hold the file compressed, so only unpacking finds it");
    eicarZip = await sendAndWaitForFilter("eicar-zip", {
      text: "Hello,\n\nthe archive you asked for is attached.\n",
      attachments: [{ filename: "documents.zip", content: zip }],
    });
    check(
      /Blocked INFECTED \([^)]*EICAR[^)]*\)/i.test(eicarZip.amavis),
      "Amavis's verdict",
      "Blocked INFECTED (...EICAR...)",
      eicarZip.amavis,
    );
    check(
      BOUNCED_BY_AMAVIS.test(eicarZip.verdict),
      "Amavis keeps it from delivery itself (spam.virusAction = reject: D_BOUNCE)",
      "status=sent (250 2.5.0 Ok, id=..., BOUNCE)",
      eicarZip.verdict,
    );
    assertQuarantined(eicarZip);
    await assertNotDelivered(eicarZip);
  });

  test("a message with a banned attachment type (.exe) is not delivered", async () => {
    // A few bytes with the DOS/PE magic; Amavis bans by name (spam.bannedExtensions), even this one.
    const exe = Buffer.concat([Buffer.from("MZ", "ascii"), Buffer.alloc(126, 0x90)]);
    banned = await sendAndWaitForFilter("banned-exe", {
      text: "Hello,\n\nplease run the attached installer.\n",
      attachments: [{ filename: "invoice.exe", content: exe }],
    });
    check(/Blocked BANNED \([^)]*\.exe/.test(banned.amavis), "Amavis's verdict", "Blocked BANNED (... .exe ...)", banned.amavis);
    check(
      BOUNCED_BY_AMAVIS.test(banned.verdict),
      "Amavis keeps it from delivery itself (final_banned_destiny D_BOUNCE)",
      "status=sent (250 2.5.0 Ok, id=..., BOUNCE)",
      banned.verdict,
    );
    await assertNotDelivered(banned);
  });

  test("the sender of a banned attachment is told why, and no notice carries a virus or the attachment back", async () => {
    assert.ok(eicarPlain && eicarZip && banned, "the earlier tests did not send their messages");
    const notice = await noticeFor(banned);
    seen(`notice to ${SENDER} for "${banned.token}"`, notice.split(/\r?\n\r?\n/)[0].slice(0, 300));
    check(/BANNED/i.test(notice), "the notice says the attachment was banned", "... BANNED ...", notice.slice(0, 2000));
    check(
      !/invoice\.exe"?\r?\nContent-Transfer-Encoding: base64/i.test(notice) && !notice.includes("TVqQ"),
      "the notice does not return the attachment",
      "headers only",
      notice.slice(0, 2000),
    );
    check(virusIn(notice) === undefined, "clamd scan of the notice", "OK", virusIn(notice) ?? "OK");
    // The virus messages went through Amavis before the banned one, so any notice about them is in
    // the mailbox by now. Amavis sends none for viruses known to forge their sender; whatever it
    // does send must not carry the virus.
    for (const s of [eicarPlain, eicarZip]) {
      const notices = await noticesFor(s);
      seen(`notices to ${SENDER} for "${s.token}"`, notices.length);
      for (const n of notices) check(virusIn(n) === undefined, `clamd scan of the notice about "${s.token}"`, "OK", virusIn(n) ?? "OK");
    }
  });
});
