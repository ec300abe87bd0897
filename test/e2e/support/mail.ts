// Real mail clients against the deployed platform: nodemailer for SMTP, imapflow for IMAP.
import { ImapFlow } from "imapflow";
import * as nodemailer from "nodemailer";
import { ca, password, platform } from "./platform";

export const HOSTNAME = "mail.example.test";

export interface Outgoing {
  from: string;
  to: string[];
  /** Envelope-only recipients: nodemailer leaves them out of the headers, as a mail client does. */
  bcc?: string[];
  subject: string;
  text?: string;
  attachments?: { filename: string; content: Buffer | string }[];
  headers?: Record<string, string>;
  messageId?: string;
}

/** Sends over port 25 as an outside server would (no AUTH). */
export async function sendInbound(m: Outgoing): Promise<nodemailer.SentMessageInfo> {
  const t = nodemailer.createTransport({
    host: "127.0.0.1",
    port: platform().ports.smtp,
    secure: false,
    name: "mx.remote.test",
    tls: { ca: ca(), servername: HOSTNAME },
  });
  try {
    return await t.sendMail({ ...m, envelope: { from: m.from, to: [...m.to, ...(m.bcc ?? [])] } });
  } finally {
    t.close();
  }
}

/** Submits as a logged-in user on 587 (STARTTLS, required) or 465 (implicit TLS). */
export async function submit(
  user: string,
  m: Outgoing,
  options: { port?: "submission" | "submissions"; password?: string; envelopeFrom?: string } = {},
): Promise<nodemailer.SentMessageInfo> {
  const which = options.port ?? "submission";
  const t = nodemailer.createTransport({
    host: "127.0.0.1",
    port: platform().ports[which],
    secure: which === "submissions",
    requireTLS: which === "submission",
    name: "laptop.example.test",
    auth: { user, pass: options.password ?? password(user) },
    tls: { ca: ca(), servername: HOSTNAME },
  });
  try {
    return await t.sendMail({ ...m, envelope: { from: options.envelopeFrom ?? m.from, to: [...m.to, ...(m.bcc ?? [])] } });
  } finally {
    t.close();
  }
}

/** An IMAPS client (not yet connected) for `user`, with the stack's password unless another is given. */
export function imapClient(user: string, pass: string = password(user)): ImapFlow {
  return new ImapFlow({
    host: "127.0.0.1",
    port: platform().ports.imaps,
    secure: true,
    auth: { user, pass },
    tls: { ca: ca(), servername: HOSTNAME },
    logger: false,
  });
}

export async function imap<T>(user: string, fn: (client: ImapFlow) => Promise<T>, pass: string = password(user)): Promise<T> {
  const client = imapClient(user, pass);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.logout().catch(() => undefined);
  }
}

export interface FoundMessage {
  folder: string;
  uid: number;
  subject: string;
  source: string;
}

/** Finds messages whose subject contains `token` in the given folders. */
export async function findMessages(user: string, token: string, folders = ["INBOX", "Junk"]): Promise<FoundMessage[]> {
  return imap(user, async (client) => {
    const found: FoundMessage[] = [];
    for (const folder of folders) {
      const lock = await client.getMailboxLock(folder);
      try {
        const uids = (await client.search({ subject: token }, { uid: true })) || [];
        for (const uid of uids) {
          const msg = await client.fetchOne(String(uid), { source: true, envelope: true }, { uid: true });
          if (msg) found.push({ folder, uid, subject: msg.envelope?.subject ?? "", source: msg.source?.toString("utf8") ?? "" });
        }
      } finally {
        lock.release();
      }
    }
    return found;
  });
}

/** Waits (bounded, polling IMAP) until a message with `token` in its subject is in one of the folders. */
export async function waitForMessage(user: string, token: string, folders = ["INBOX", "Junk"], timeoutMs = 30000): Promise<FoundMessage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A folder that does not exist yet (Sieve's fileinto :create makes it at delivery) is empty.
    const [m] = await findMessages(user, token, folders).catch((e: { mailboxMissing?: boolean }) => {
      if (e.mailboxMissing) return [];
      throw e;
    });
    if (m) return m;
    if (Date.now() > deadline)
      throw new Error(`no message with "${token}" reached ${user} (${folders.join(", ")}) within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A message carrying the headers a real client would send, so spam rules see a normal message. */
export function normalHeaders(messageIdDomain: string): Record<string, string> {
  return {
    Date: new Date().toUTCString(),
    "X-Mailer": "mail-platform e2e",
    "Message-ID": `<${Date.now()}.${Math.random().toString(36).slice(2)}@${messageIdDomain}>`,
  };
}
