// A small client for the Docker Engine API on the local socket: the same API the Pulumi Docker
// provider drives, so the harness creates containers with the same fields (exec-form health
// checks, binds, tmpfs, uploads as tar archives, BuildKit builds) rather than a CLI approximation.
import * as http from "http";

export class EngineError extends Error {
  constructor(public readonly status: number, message: string) {
    super(message);
  }
}

export class Engine {
  constructor(private readonly socketPath = "/var/run/docker.sock") {}

  /** Parses `unix:///path` (the provider's `host`); any other engine is out of the harness's reach. */
  static fromHost(host: string): Engine {
    const m = /^unix:\/\/(\/.+)$/.exec(host);
    if (!m) throw new Error(`the e2e harness only deploys to a local engine (unix://...), not ${host}`);
    return new Engine(m[1]);
  }

  request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      const req = http.request(
        { socketPath: this.socketPath, method, path, headers: payload ? { "Content-Type": contentType, "Content-Length": payload.length } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        },
      );
      req.on("error", reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  /**
   * Sends a raw body and hands each line of a successful answer to `onLine` as it arrives: the
   * build endpoint streams JSON lines for as long as the build runs, too long to wait for whole.
   * A failed status (or a throwing `onLine`) rejects with the answer's text.
   */
  streamLines(method: string, path: string, body: Buffer, contentType: string, onLine: (line: string) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.socketPath, method, path, headers: { "Content-Type": contentType, "Content-Length": body.length } },
        (res) => {
          const status = res.statusCode ?? 0;
          res.setEncoding("utf8");
          let text = "";
          let pending = "";
          res.on("data", (chunk: string) => {
            if (status >= 300) {
              text += chunk;
              return;
            }
            const lines = (pending + chunk).split("\n");
            pending = lines.pop() ?? "";
            try {
              for (const line of lines) onLine(line);
            } catch (e) {
              req.destroy();
              reject(e);
            }
          });
          res.on("end", () => {
            if (status >= 300) return reject(new EngineError(status, `${method} ${path}: ${status} ${text.trim()}`));
            try {
              if (pending) onLine(pending);
              resolve();
            } catch (e) {
              reject(e);
            }
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  /** A request that must succeed; returns the parsed JSON body (or null for an empty one). */
  async call(method: string, path: string, body?: unknown, contentType?: string): Promise<any> {
    const r = await this.request(method, path, body, contentType);
    if (r.status >= 300) throw new EngineError(r.status, `${method} ${path}: ${r.status} ${r.body.trim()}`);
    return r.body ? JSON.parse(r.body) : null;
  }

  /** GET that answers null on 404. */
  async find(path: string): Promise<any> {
    const r = await this.request("GET", path);
    if (r.status === 404) return null;
    if (r.status >= 300) throw new EngineError(r.status, `GET ${path}: ${r.status} ${r.body.trim()}`);
    return JSON.parse(r.body);
  }

  /** Runs a command in a running container; returns its exit code and output. */
  async exec(container: string, cmd: string[]): Promise<{ code: number; output: string }> {
    const { Id } = await this.call("POST", `/containers/${container}/exec`, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const started = await this.request("POST", `/exec/${Id}/start`, { Detach: false, Tty: false });
    const info = await this.call("GET", `/exec/${Id}/json`);
    return { code: info.ExitCode ?? -1, output: demux(started.body) };
  }
}

/** The engine's multiplexed stream framing (8-byte headers) read as plain text, good enough for logs. */
export function demux(raw: string): string {
  return raw.replace(/[\x00-\x02]\x00\x00\x00[\s\S]{4}/g, "");
}
