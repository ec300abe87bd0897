// The monitoring dashboard in a real browser (Debian's Chromium), as an operator opens it: behind
// the front's password, every service tile filled from Prometheus, no error in the page.
// Screenshot: test-output/screenshots/monitoring-dashboard/.
import { strict as assert } from "assert";
import { after, before, describe, it } from "node:test";
import { WebBrowser } from "./support/browser";
import { ca, logs, platform } from "./support/platform";
import { MONITOR_HOST } from "./support/prometheus";

describe("monitoring dashboard in a browser", () => {
  let web: WebBrowser;

  before(async () => {
    const p = platform();
    assert.ok(p.monitoring, "the e2e stack has features.monitoring on, and its endpoints have no monitoring login");
    web = await WebBrowser.launch({
      testFile: __filename,
      hostnames: [MONITOR_HOST],
      httpsPort: p.ports.https,
      ca: ca(),
      httpCredentials: { username: p.monitoring.user, password: p.monitoring.password },
    });
  });

  after(async () => {
    await web?.close();
  });

  it("shows every probed service up, no firing alert it cannot explain, and the jobs' table", () =>
    web.withPage("dashboard", async (page) => {
      const url = web.url(MONITOR_HOST, "/user/");
      const response = await web.goto(page, url);
      assert.equal(response.status(), 200, `GET ${url}: HTTP ${response.status()}\n${logs("proxy", "monitoring")}`);
      await page.locator('#dashboard[data-loaded="true"]').waitFor({ timeout: 30_000 });
      // The first refresh may come before the first probe round: wait for the client ports' tiles.
      for (const service of ["smtp", "submission", "imaps", "https"]) {
        await page.locator(`[data-service="${service}"][data-state="up"]`).waitFor({ timeout: 60_000 });
      }
      await web.screenshot(page, "dashboard");
      const down = await page
        .locator('[data-service][data-state="down"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-service")));
      assert.deepEqual(down, [], `services the dashboard shows down\n${logs("monitoring")}`);
      assert.equal(await page.locator("#error-banner").isVisible(), false, "the dashboard shows its API error banner");
    }));
});
