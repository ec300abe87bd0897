// An HTTPS client with a cookie jar, for web apps behind the platform's proxy: it connects to the
// published HTTPS port on 127.0.0.1, sends the app's host name as SNI and Host, and verifies the
// certificate against the stack's CA. For what a browser would do, see ./browser.ts.
import * as https from "https";
import { ca, platform } from "./platform";

export interface WebResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class WebSession {
  private readonly cookies = new Map<string, string>();

  /** `login`: an app behind the front's basic auth (the monitoring). */
  constructor(
    readonly hostname: string,
    private readonly login?: { user: string; password: string },
  ) {}

  get(path: string): Promise<WebResponse> {
    return this.request("GET", path);
  }

  /** POSTs an urlencoded form. */
  post(path: string, form: Record<string, string>): Promise<WebResponse> {
    return this.request("POST", path, new URLSearchParams(form).toString());
  }

  private request(method: string, path: string, body?: string): Promise<WebResponse> {
    const headers: Record<string, string> = { Host: `${this.hostname}:${platform().ports.https}` };
    if (this.login) headers.Authorization = `Basic ${Buffer.from(`${this.login.user}:${this.login.password}`).toString("base64")}`;
    if (this.cookies.size) headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    if (body !== undefined) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: "127.0.0.1", port: platform().ports.https, path, method, headers, servername: this.hostname, ca: ca() },
        (res) => {
          for (const c of res.headers["set-cookie"] ?? []) {
            const [pair] = c.split(";");
            const eq = pair.indexOf("=");
            const [name, value] = [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
            if (value === "" || value === "deleted") this.cookies.delete(name);
            else this.cookies.set(name, value);
          }
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        },
      );
      req.on("error", reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
}
