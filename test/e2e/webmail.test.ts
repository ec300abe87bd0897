// Roundcube in a real browser (Debian's Chromium), as a person uses it: logging in (and being
// refused with a wrong password), reading a delivered message, sending one that arrives in
// another mailbox, and a Sieve filter made in Settings that files matching mail into a folder.
// What the browser shows is checked against what IMAP sees. Screenshots of every page checked:
// test-output/screenshots/webmail/.
import { strict as assert } from "assert";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { WebBrowser } from "./support/browser";
import { findMessages, imap, normalHeaders, submit, waitForMessage } from "./support/mail";
import { ca, logs, password, platform, unique } from "./support/platform";

const WEBMAIL = "webmail.example.test";
const ALICE = "alice@example.test";
const BOB = "bob@example.test";
/** The folder the filter files into; it stays in Alice's mailbox between runs. */
const INVOICES = "Invoices";
/** How the names of the filters this test makes begin (`Invoices <unique token>`). */
const FILTER_PREFIX = "Invoices webmail-filter-";

describe("webmail in a browser", () => {
  let web: WebBrowser;

  before(async () => {
    const p = platform();
    web = await WebBrowser.launch({ testFile: __filename, hostnames: [WEBMAIL], httpsPort: p.ports.https, ca: ca() });
  });

  after(async () => {
    await web?.close();
  });

  /** Logs in on Roundcube's login page and waits for the mailbox view. */
  async function login(page: Page, user: string, step: string): Promise<void> {
    await web.goto(page, web.url(WEBMAIL));
    await page.locator("#rcmloginuser").fill(user);
    await page.locator("#rcmloginpwd").fill(password(user));
    await web.screenshot(page, `${step}-login`);
    await Promise.all([page.waitForURL(/_task=mail/), page.locator("#rcmloginsubmit").click()]);
    await page.locator("#messagelist").waitFor();
    assert.equal(await page.locator(".header-title.username").innerText(), user, "the logged-in user shown");
  }

  /** Opens a mail folder's list and waits for the row whose subject contains `token`. */
  async function showRow(page: Page, folder: string, token: string): Promise<void> {
    await web.goto(page, web.url(WEBMAIL, `/?_task=mail&_mbox=${encodeURIComponent(folder)}`));
    await page.locator("#messagelist tr.message", { hasText: token }).waitFor();
  }

  /**
   * Selects a filter in Settings -> Filters and waits for its form. A click before Roundcube's
   * list is ready does nothing, so it clicks again until the form shows the filter.
   */
  async function openFilter(page: Page, name: string): Promise<void> {
    const shown = page.frameLocator("#filter-box").locator("input[name=_name]");
    for (let attempt = 1; ; attempt++) {
      await page.locator("#filterslist tr", { hasText: name }).click();
      const ok = await until(async () => (await shown.inputValue({ timeout: 1000 }).catch(() => "")) === name, "", 5000).then(
        () => true,
        () => false,
      );
      if (ok) return;
      if (attempt >= 3) throw new Error(`clicking the filter ${name} does not open it`);
    }
  }

  /** Roundcube's confirmation after an action (e.g. "Folder created successfully."). */
  async function confirmation(page: Page, text: RegExp): Promise<void> {
    await page.locator("#messagestack", { hasText: text }).waitFor();
  }

  it("refuses a wrong password with an error and stays on the login page", () =>
    web.withPage("wrong-password", async (page) => {
      await web.goto(page, web.url(WEBMAIL));
      await page.locator("#rcmloginuser").fill(ALICE);
      await page.locator("#rcmloginpwd").fill(`not-${password(ALICE)}`);
      await page.locator("#rcmloginsubmit").click();
      await page.locator("#messagestack", { hasText: /Login failed/i }).waitFor();
      await web.screenshot(page, "wrong-password");
      assert.doesNotMatch(page.url(), /_task=mail/, `a wrong password opened ${page.url()}`);
      assert.ok(await page.locator("#rcmloginsubmit").isVisible(), "the login form is gone");
      // The session cookie of a failed login opens nothing.
      await web.goto(page, web.url(WEBMAIL, "/?_task=mail&_mbox=INBOX"));
      assert.ok(await page.locator("#rcmloginsubmit").isVisible(), `the mailbox opened after a failed login: ${page.url()}`);
    }));

  it("shows a delivered message in the inbox and opens it", () =>
    web.withPage("read", async (page) => {
      const token = unique("webmail-read");
      const subject = `Quarterly figures ${token}`;
      const body = `Hello Alice,\nthe figures for ${token} are final.\nBob`;
      await submit(BOB, { from: BOB, to: [ALICE], subject, text: body, headers: normalHeaders("example.test") });
      await waitForMessage(ALICE, token, ["INBOX"]);

      await login(page, ALICE, "read-1");
      await page.locator("#messagelist tr.message", { hasText: token }).waitFor();
      await web.screenshot(page, "read-2-inbox");
      const row = page.locator("#messagelist tr.message", { hasText: token });
      assert.equal(await row.locator("span.subject a").innerText(), subject, "subject in the inbox list");
      assert.match(await row.locator(".fromto").innerText(), /bob@example\.test|Bob Example/, "sender in the inbox list");

      await row.click();
      const preview = page.frameLocator("#messagecontframe");
      await preview.locator("#messagebody", { hasText: token }).waitFor();
      await web.screenshot(page, "read-3-message");
      const heading = (await preview.locator("h2.subject").innerText()).trim();
      assert.ok(heading.includes(subject), `subject of the open message: expected ${subject}, shown ${heading}`);
      const shown = (await preview.locator("#messagebody").innerText()).replace(/\s+/g, " ").trim();
      assert.match(shown, new RegExp(`Hello Alice, the figures for ${token} are final\\. Bob`), `body as shown: ${shown}`);
    }));

  it("sends a message composed in the browser, which reaches Bob's mailbox", () =>
    web.withPage("send", async (page) => {
      const token = unique("webmail-send");
      const subject = `Lunch on Friday ${token}`;
      await login(page, ALICE, "send-1");
      await page.locator("a.compose").first().click();
      await page.waitForURL(/_action=compose/);
      const to = page.locator("#compose_to .recipient-input input, .recipient-input input").first();
      await to.fill(BOB);
      await page.locator("#compose-subject").fill(subject);
      await page.locator("#composebody").fill(`Hi Bob,\nlunch at 12:30 (${token})?\nAlice`);
      // The recipient widget turns the typed address into a recipient box once the field is left.
      await expectRecipient(page, BOB);
      await web.screenshot(page, "send-2-compose");
      await page.getByRole("button", { name: "Send" }).click();
      await confirmation(page, /Message sent successfully/i);
      await web.screenshot(page, "send-3-sent");

      const received = await waitForMessage(BOB, token, ["INBOX"]).catch((e) => assert.fail(`${e.message}\n${logs("webmail", "postfix")}`));
      assert.equal(received.subject, subject);
      assert.match(received.source, /^From: .*alice@example\.test/im, "From of the message Bob received");
      assert.match(received.source.replace(/=\r?\n/g, ""), new RegExp(`lunch at 12:30 \\(${token}\\)\\?`), "body Bob received");
      // Roundcube keeps a copy in Alice's Sent folder.
      const sent = await findMessages(ALICE, token, ["Sent"]);
      assert.equal(sent.length, 1, `copies in Alice's Sent folder: ${sent.length}`);
    }));

  it("files mail into a folder with a filter made in Settings -> Filters", () =>
    web.withPage("filter", async (page) => {
      const token = unique("webmail-filter");
      const filterName = `Invoices ${token}`;
      await login(page, ALICE, "filter-1");

      // Settings -> Folders: create the folder unless an earlier run did.
      await web.goto(page, web.url(WEBMAIL, "/?_task=settings&_action=folders"));
      const subscribed = page.locator(`#subscription-table input[name="_subscribed[]"][value="${INVOICES}"]`);
      await page.locator("#subscription-table li.inbox").waitFor();
      if ((await subscribed.count()) === 0) {
        await page.locator("#toolbar-menu a.create").click();
        const form = page.frameLocator("#preferences-frame");
        await form.locator("input[name=_name]").fill(INVOICES);
        await web.screenshot(page, "filter-2-new-folder");
        await form.getByRole("button", { name: "Save" }).click();
        await confirmation(page, /Folder created successfully/i);
        await subscribed.waitFor({ state: "attached" });
      }
      assert.ok(await subscribed.isChecked(), `${INVOICES} is not subscribed, so the mail view would not list it`);
      await web.screenshot(page, "filter-3-folders");
      const folders = await imap(ALICE, async (c) => (await c.list()).map((m) => m.path));
      assert.ok(folders.includes(INVOICES), `IMAP folders of ${ALICE}: ${folders.join(", ")}`);

      // Settings -> Filters: subject contains "[invoice]" -> move to Invoices.
      await web.goto(page, web.url(WEBMAIL, "/?_task=settings&_action=plugin.managesieve"));
      await page.locator("#toolbar-menu a.create").click();
      const form = page.frameLocator("#filter-box");
      await form.locator("input[name=_name]").fill(filterName);
      await form.locator("select[name='_header[0]']").selectOption("subject");
      await form.locator("select[name='_rule_op[0]']").selectOption("contains");
      await form.locator("input[name='_rule_target[0][]']").fill("[invoice]");
      await form.locator("select[name='_action_type[0]']").selectOption("fileinto");
      await form.locator("select[name='_action_mailbox[0]']").selectOption(INVOICES);
      await web.screenshot(page, "filter-4-new-filter");
      await form.getByRole("button", { name: "Save" }).click();
      await confirmation(page, /Filter saved successfully/i);
      await page.locator("#filterslist tr", { hasText: filterName }).waitFor();
      await web.screenshot(page, "filter-5-filters");

      let failure: unknown;
      try {
        // A matching message goes to the folder, another one stays in the inbox.
        await submit(BOB, {
          from: BOB,
          to: [ALICE],
          subject: `[invoice] No. 4711 ${token}`,
          text: "Amount due: 100 EUR",
          headers: normalHeaders("example.test"),
        });
        await submit(BOB, { from: BOB, to: [ALICE], subject: `Receipt ${token}`, text: "Thanks", headers: normalHeaders("example.test") });
        const filed = await waitForMessage(ALICE, `[invoice] No. 4711 ${token}`, ["INBOX", INVOICES]).catch((e) =>
          assert.fail(`${e.message}\n${logs("dovecot")}`),
        );
        assert.equal(filed.folder, INVOICES, `the invoice was delivered to ${filed.folder}\n${logs("dovecot")}`);
        const other = await waitForMessage(ALICE, `Receipt ${token}`, ["INBOX", INVOICES]);
        assert.equal(other.folder, "INBOX", "a message the filter does not match stays in the inbox");

        await showRow(page, INVOICES, token);
        await web.screenshot(page, "filter-6-invoices-folder");
      } catch (e) {
        failure = e;
      }
      // Each run adds its own filter and takes it away again (with any an interrupted run left).
      try {
        await web.goto(page, web.url(WEBMAIL, "/?_task=settings&_action=plugin.managesieve"));
        const ours = page.locator("#filterslist tr", { hasText: FILTER_PREFIX });
        await page.locator("#filterslist tr", { hasText: filterName }).waitFor();
        for (let left = await ours.count(); left > 0; left = await ours.count()) {
          const name = (await ours.first().innerText()).trim();
          await openFilter(page, name);
          await page.locator("#toolbar-menu a.delete:not(.disabled)").click();
          const dialog = page.locator(".ui-dialog", { hasText: "Do you really want to delete selected filter?" });
          await dialog.locator("button.mainaction.delete").click();
          await confirmation(page, /Filter deleted successfully/i);
          await until(
            async () => (await ours.count()) < left,
            `the filter list still has ${left} of this test's filters after deleting one`,
          );
        }
        assert.equal(
          await page.locator("#filterslist tr", { hasText: filterName }).count(),
          0,
          `the filter ${filterName} is still listed after deleting it`,
        );
        await web.screenshot(page, "filter-7-filter-deleted");
      } catch (e) {
        failure ??= e;
      }
      if (failure) throw failure;
    }));
});

/** Waits until the compose form lists `address` as a recipient (the widget's box, or the field). */
async function expectRecipient(page: Page, address: string): Promise<void> {
  await page.locator("#compose-subject").focus();
  await page.locator(".recipient-input .recipient, #compose_to", { hasText: address }).first().waitFor();
}

/** Polls `condition` for up to `timeoutMs`. */
async function until(condition: () => Promise<boolean>, failure: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((r) => setTimeout(r, 200));
  }
}
