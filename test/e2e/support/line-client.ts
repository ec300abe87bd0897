// A line-oriented TCP/TLS client for the protocol checks no library exposes cleanly: what SMTP
// offers before and after STARTTLS, POP3, ManageSieve. Every read has a deadline.
import * as net from "net";
import * as tls from "tls";

export class LineClient {
  private buffer = "";
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(private socket: net.Socket) {
    this.attach();
  }

  private attach(): void {
    this.socket.setEncoding("utf8");
    this.socket.on("data", (d: string) => {
      this.buffer += d;
      this.waiters.splice(0).forEach((w) => w());
    });
    this.socket.on("close", () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    this.socket.on("error", () => undefined);
  }

  static connect(port: number, options: { tls?: tls.ConnectionOptions } = {}): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = options.tls
        ? tls.connect({ host: "127.0.0.1", port, ...options.tls }, () => resolve(new LineClient(socket)))
        : net.connect({ host: "127.0.0.1", port }, () => resolve(new LineClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Reads until `done(text so far)` says the reply is complete. */
  async read(done: (text: string) => boolean, timeoutMs = 15000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.buffer)) {
      if (this.closed) throw new Error(`connection closed; received so far: ${JSON.stringify(this.buffer)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete reply within ${timeoutMs} ms; received: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    const text = this.buffer;
    this.buffer = "";
    return text;
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** Upgrades the connection in place (STARTTLS); resolves with the server's certificate. */
  upgrade(options: tls.ConnectionOptions): Promise<tls.PeerCertificate> {
    return new Promise((resolve, reject) => {
      this.socket.removeAllListeners("data");
      const secure = tls.connect({ socket: this.socket, ...options }, () => resolve(secure.getPeerCertificate()));
      secure.once("error", reject);
      this.socket = secure;
      this.buffer = "";
      this.attach();
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** An SMTP reply is complete at a line "NNN text" (no dash after the code). */
export const smtpReplyDone = (t: string): boolean => /(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(t);

export class SmtpSession {
  private constructor(
    public readonly client: LineClient,
    public readonly banner: string,
  ) {}

  static async open(port: number, tlsOptions?: tls.ConnectionOptions): Promise<SmtpSession> {
    const client = await LineClient.connect(port, tlsOptions ? { tls: tlsOptions } : {});
    return new SmtpSession(client, await client.read(smtpReplyDone));
  }

  async command(line: string): Promise<{ code: number; text: string }> {
    this.client.write(`${line}\r\n`);
    const text = await this.client.read(smtpReplyDone);
    const lines = text.trim().split("\r\n");
    return { code: Number(lines[lines.length - 1].slice(0, 3)), text };
  }

  async ehlo(name = "client.remote.test"): Promise<string[]> {
    const r = await this.command(`EHLO ${name}`);
    return r.text
      .trim()
      .split("\r\n")
      .slice(1)
      .map((l) => l.slice(4).toUpperCase());
  }

  async starttls(options: tls.ConnectionOptions): Promise<tls.PeerCertificate> {
    const r = await this.command("STARTTLS");
    if (r.code !== 220) throw new Error(`STARTTLS refused: ${r.text}`);
    return this.client.upgrade(options);
  }

  close(): void {
    this.client.close();
  }
}
