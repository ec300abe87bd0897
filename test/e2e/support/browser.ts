// A real browser for the e2e suite: Debian's Chromium (/usr/bin/chromium, installed by
// scripts/setup-machine.sh) driven by playwright-core, which never downloads a browser of its own.
//
// It reaches only the stack's own web names, each mapped to 127.0.0.1; every other name fails to
// resolve, and a page's request to any other host is aborted before it leaves the browser.
// It trusts exactly the certificates the proxy serves for those names once Node has verified
// them against the stack's CA (see trustedSpkis), rather than ignoring every certificate error.
// One browser per test file (launch in `before`, close in `after`); each check runs in a fresh
// context (no cookies, no HSTS state carried over) and saves full-page screenshots under
// test-output/screenshots/<test file>/<step>.png.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as tls from "tls";
import { chromium, type Browser, type BrowserContext, type Page, type Response } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
const ROOT = path.resolve(__dirname, "..", "..", "..");
export const SCREENSHOTS = path.join(ROOT, "test-output", "screenshots");

/**
 * Features switched off. Chromium honours only the LAST --disable-features switch, so this list
 * also repeats the ones playwright-core disables by default (1.65: HttpsUpgrades keeps http
 * navigations on http, PaintHolding, ...); launch() checks the browser's command line and names
 * any default a newer playwright-core adds that is missing here.
 */
const DISABLED_FEATURES = [
  // Background requests to Google services a test browser has no use for.
  "Translate",
  "OptimizationHints",
  "MediaRouter",
  "DialMediaRouteProvider",
  "AutofillServerCommunication",
  "CertificateTransparencyComponentUpdater",
  "InterestFeedContentSuggestions",
  "NetworkTimeServiceQuerying",
  "AimEnabled",
  "PreconnectToSearch",
  "LensOverlay",
  // playwright-core's own defaults.
  "AvoidUnnecessaryBeforeUnloadCheckSync",
  "DestroyProfileOnBrowserClose",
  "HttpsUpgrades",
  "HttpsFirstBalancedModeAutoEnable",
  "PaintHolding",
  "ThirdPartyStoragePartitioning",
  "AvoidCorsURLLoaderRestartOnRedirect",
  "TcpPortRandomizationWin",
  "msForceBrowserSignIn",
  "msEdgeUpdateLaunchServicesPreferredVersion",
];

/** Switches that keep Chromium off the Internet and quiet; playwright-core adds --headless and --no-sandbox. */
const QUIET_SWITCHES = [
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--no-first-run",
  "--no-default-browser-check",
  "--no-pings",
  "--no-proxy-server",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--disable-domain-reliability",
  "--disable-client-side-phishing-detection",
  "--disable-breakpad",
  "--disable-quic",
  "--metrics-recording-only",
  // Lets launch() read the command line back (CDP Browser.getBrowserCommandLine).
  "--enable-automation",
];

export interface WebBrowserOptions {
  /** The test file (pass __filename): screenshots go to test-output/screenshots/<its name without .test.ts>/. */
  testFile: string;
  /** The stack's web names the browser may reach, each resolved to 127.0.0.1. */
  hostnames: string[];
  /** The published HTTPS port (platform().ports.https). */
  httpsPort: number;
  /** PEM of the stack's CA (platform's ca()): a served certificate is trusted only if it verifies against it. */
  ca: string;
  /** The names whose served certificates the browser trusts. Defaults to `hostnames`. */
  trust?: string[];
  /** The front's basic-auth login, for pages behind it (the monitoring). */
  httpCredentials?: { username: string; password: string };
}

/** What went wrong in the page while a check ran, printed when the check fails. */
interface Diagnostics {
  console: string[];
  failedRequests: string[];
  blocked: string[];
}

/**
 * The SHA-256 of the SubjectPublicKeyInfo of the certificate the proxy serves for each name,
 * base64 (the form of --ignore-certificate-errors-spki-list). Node fetches each one over TLS
 * verified against the stack's CA with the name checked, so the browser is told to accept exactly
 * those keys. (The CA's own key would work too, but Chromium matches the list against every
 * certificate a server sends, unverified: any server could send the public CA certificate along.)
 */
export async function trustedSpkis(hostnames: string[], port: number, ca: string): Promise<string[]> {
  const spkis = new Set<string>();
  for (const servername of hostnames) {
    const der = await new Promise<Buffer>((resolve, reject) => {
      const socket = tls.connect({ host: "127.0.0.1", port, servername, ca }, () => {
        const leaf = socket.getPeerX509Certificate();
        socket.end();
        if (!leaf) reject(new Error(`no certificate served for ${servername}`));
        else resolve(leaf.publicKey.export({ type: "spki", format: "der" }));
      });
      socket.setTimeout(10_000, () => socket.destroy(new Error("timed out")));
      socket.on("error", (e) =>
        reject(
          new Error(
            `the proxy on 127.0.0.1:${port} serves no certificate for ${servername} that verifies against the stack's CA: ${e.message}`,
          ),
        ),
      );
    });
    spkis.add(createHash("sha256").update(der).digest("base64"));
  }
  return [...spkis];
}

/** Screenshot folders emptied by this process (a second browser of the same file keeps the first's pictures). */
const cleared = new Set<string>();

export class WebBrowser {
  private constructor(
    private readonly browser: Browser,
    private readonly options: WebBrowserOptions,
    /** This test file's screenshot folder. */
    public readonly screenshotDir: string,
  ) {}

  /** Starts Chromium for one test file; call close() in `after`. */
  static async launch(options: WebBrowserOptions): Promise<WebBrowser> {
    const spkis = await trustedSpkis(options.trust ?? options.hostnames, options.httpsPort, options.ca);
    // First match wins: our names to 127.0.0.1, every other name to "not found".
    const resolverRules = [...options.hostnames.map((h) => `MAP ${h} 127.0.0.1`), "MAP * ~NOTFOUND"].join(", ");
    const args = [
      ...QUIET_SWITCHES,
      `--host-resolver-rules=${resolverRules}`,
      `--ignore-certificate-errors-spki-list=${spkis.join(",")}`,
      `--disable-features=${DISABLED_FEATURES.join(",")}`,
    ];
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args, timeout: 60_000 });
    try {
      await checkCommandLine(browser, args);
    } catch (e) {
      await browser.close();
      throw e;
    }
    const name = path.basename(options.testFile).replace(/\.test\.[cm]?[jt]s$/, "");
    const dir = path.join(SCREENSHOTS, name);
    // Only this run's pictures: a stale one from an earlier run would mislead.
    if (!cleared.has(dir)) fs.rmSync(dir, { recursive: true, force: true });
    cleared.add(dir);
    fs.mkdirSync(dir, { recursive: true });
    return new WebBrowser(browser, options, dir);
  }

  /** Chromium's version, e.g. "156.0.8078.108". */
  version(): string {
    return this.browser.version();
  }

  /** `https://<host>:<published https port><path>`. */
  url(host: string, pathname = "/"): string {
    return `https://${host}:${this.options.httpsPort}${pathname}`;
  }

  /**
   * Navigates and returns the main document's response. Chromium aborts requests in flight with
   * net::ERR_NETWORK_CHANGED when a Docker network or container interface appears on the host
   * (another test starting a container): that navigation is tried again, a few times at most.
   */
  async goto(page: Page, url: string): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await page.goto(url);
        if (!response) throw new Error(`navigating to ${url} gave no response`);
        return response;
      } catch (e) {
        if (attempt >= 4 || !(e instanceof Error) || !e.message.includes("ERR_NETWORK_CHANGED")) throw e;
      }
    }
  }

  /**
   * Runs `check` on a new page in a fresh context. When it throws, the error gains the page's
   * URL, a screenshot of the failure, the browser console's errors and the failed requests.
   * A check broken by net::ERR_NETWORK_CHANGED (see goto) runs again from the start, in a new
   * context, at most twice more: checks make their own unique data, so a rerun is a clean one.
   */
  async withPage<T>(label: string, check: (page: Page, context: BrowserContext) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(label, check);
      if (outcome.ok) return outcome.value;
      if (attempt >= 3 || !outcome.networkChanged) throw outcome.error;
      console.log(`# ${label}: the host's network changed under the browser (a container started?); running the check again`);
    }
  }

  private async attempt<T>(
    label: string,
    check: (page: Page, context: BrowserContext) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; error: Error; networkChanged: boolean }> {
    const context = await this.browser.newContext({
      viewport: { width: 1280, height: 900 },
      locale: "en-US",
      timezoneId: "UTC",
      ...(this.options.httpCredentials ? { httpCredentials: this.options.httpCredentials } : {}),
    });
    context.setDefaultTimeout(20_000);
    context.setDefaultNavigationTimeout(30_000);
    const diagnostics: Diagnostics = { console: [], failedRequests: [], blocked: [] };
    const allowed = new Set(this.options.hostnames);
    // A page's request to anything but our names never leaves the browser (IP literals included,
    // which the resolver rules would not stop).
    await context.route(
      (url) => !(url.protocol === "data:" || url.protocol === "blob:" || url.protocol === "about:" || allowed.has(url.hostname)),
      async (route) => {
        diagnostics.blocked.push(route.request().url());
        await route.abort("blockedbyclient");
      },
    );
    context.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") diagnostics.console.push(`[${m.type()}] ${m.text()} (${m.location().url})`);
    });
    context.on("weberror", (e) => diagnostics.console.push(`[uncaught] ${e.error().message}`));
    context.on("requestfailed", (r) => diagnostics.failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText ?? "failed"}`));
    context.on("response", (r) => {
      if (r.status() >= 400) diagnostics.failedRequests.push(`${r.request().method()} ${r.url()}: HTTP ${r.status()}`);
    });
    const page = await context.newPage();
    try {
      return { ok: true, value: await check(page, context) };
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      let shot: string;
      try {
        shot = await this.screenshot(page, `FAILED-${label}`);
      } catch (s) {
        shot = `(screenshot failed: ${s instanceof Error ? s.message : s})`;
      }
      const report = `\n--- browser (${label}) ---\npage: ${page.url()}\nscreenshot: ${shot}\n${formatDiagnostics(diagnostics)}`;
      const networkChanged = [error.message, ...diagnostics.failedRequests].some((m) => m.includes("ERR_NETWORK_CHANGED"));
      // The runner prints the stack, which holds the message as it was when the error was made.
      error.message += report;
      if (error.stack) error.stack += report;
      return { ok: false, error, networkChanged };
    } finally {
      await context.close().catch(() => undefined);
    }
  }

  /** Saves a full-page screenshot as <screenshotDir>/<step>.png and returns its path. */
  async screenshot(page: Page, step: string): Promise<string> {
    const file = path.join(this.screenshotDir, `${step.replace(/[^A-Za-z0-9._-]+/g, "-")}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 15_000 });
    return file;
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

function formatDiagnostics(d: Diagnostics): string {
  const section = (title: string, lines: string[]) => `${title}: ${lines.length ? `\n  ${lines.join("\n  ")}` : "none"}`;
  return [
    section("console errors", d.console),
    section("failed requests", d.failedRequests),
    section("blocked off-stack requests", d.blocked),
  ].join("\n");
}

/**
 * Reads the command line Chromium actually got and checks what the suite relies on: headless,
 * our resolver rules and trust list, and a last --disable-features that keeps every feature an
 * earlier one (playwright-core's defaults) disabled.
 */
async function checkCommandLine(browser: Browser, ours: string[]): Promise<void> {
  const session = await browser.newBrowserCDPSession();
  const { arguments: argv } = (await session.send("Browser.getBrowserCommandLine")) as { arguments: string[] };
  await session.detach();
  const problems: string[] = [];
  for (const required of ["--headless", "--no-sandbox", ...ours]) {
    if (!argv.includes(required)) problems.push(`missing ${required}`);
  }
  const featureSwitches = argv.filter((a) => a.startsWith("--disable-features="));
  const effective = new Set(featureSwitches[featureSwitches.length - 1]?.slice("--disable-features=".length).split(",") ?? []);
  const lost = featureSwitches
    .slice(0, -1)
    .flatMap((s) => s.slice("--disable-features=".length).split(","))
    .filter((f) => f && !effective.has(f));
  if (lost.length)
    problems.push(
      `playwright-core's default --disable-features has ${lost.join(", ")}, which DISABLED_FEATURES in test/e2e/support/browser.ts lacks (Chromium keeps only the last list)`,
    );
  const last = argv.filter((a) => a.startsWith("--host-resolver-rules=") || a.startsWith("--ignore-certificate-errors-spki-list="));
  if (last.length !== 2)
    problems.push(`expected one --host-resolver-rules and one --ignore-certificate-errors-spki-list, got: ${last.join(" ")}`);
  if (problems.length)
    throw new Error(`Chromium's command line is not what the suite needs:\n  ${problems.join("\n  ")}\nargv: ${argv.join(" ")}`);
}
