// A small client for the Docker Engine API on the local socket: the same API the Pulumi Docker
// provider drives, so the harness creates containers with the same fields (exec-form health
// checks, binds, tmpfs, uploads as tar archives, BuildKit builds) rather than a CLI approximation.
import * as http from "http";
import type { PropertyMap } from "../../../tools/mock-run/property-map";

export class EngineError extends Error {
  constructor(
    public readonly status: number,
    message: string,
  ) {
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
    return this.requestRaw(method, path, body, contentType).then((r) => ({ status: r.status, body: r.body.toString("utf8") }));
  }

  /** The same request, its answer's bytes untouched (logs and exec output are framed binary streams). */
  requestRaw(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      const req = http.request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: payload ? { "Content-Type": contentType, "Content-Length": payload.length } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
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
  async call(method: string, path: string, body?: unknown, contentType?: string): Promise<PropertyMap> {
    const r = await this.request(method, path, body, contentType);
    if (r.status >= 300) throw new EngineError(r.status, `${method} ${path}: ${r.status} ${r.body.trim()}`);
    return r.body ? JSON.parse(r.body) : {};
  }

  /** GET that answers null on 404. */
  async find(path: string): Promise<PropertyMap | null> {
    const r = await this.request("GET", path);
    if (r.status === 404) return null;
    if (r.status >= 300) throw new EngineError(r.status, `GET ${path}: ${r.status} ${r.body.trim()}`);
    return JSON.parse(r.body);
  }

  /** Runs a command in a running container; returns its exit code and output. */
  async exec(container: string, cmd: string[]): Promise<{ code: number; output: string }> {
    const { Id } = await this.call("POST", `/containers/${container}/exec`, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const started = await this.requestRaw("POST", `/exec/${Id}/start`, { Detach: false, Tty: false });
    const info = await this.call("GET", `/exec/${Id}/json`);
    return { code: info.ExitCode ?? -1, output: demux(started.body) };
  }
}

/**
 * The text of a multiplexed stream (a container without a TTY: each frame is a stream byte, three
 * zero bytes, a 4-byte big-endian length, then that many bytes), stdout and stderr in order.
 */
export function demux(raw: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length && raw[at] <= 2 && raw[at + 1] === 0 && raw[at + 2] === 0 && raw[at + 3] === 0) {
    const size = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  // Whatever is not framed (a TTY's stream, a truncated tail) is kept as it is.
  parts.push(raw.subarray(at));
  return Buffer.concat(parts).toString("utf8");
}
