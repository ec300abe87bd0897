// PostfixAdmin's UI in a real browser (Debian's Chromium), as the company's administrator uses it:
// logging in as the super-administrator of the stack config (`web.admins`), creating a mailbox,
// and the new mailbox working at once: mail delivered to it over SMTP is read over IMAP with the
// password typed into the form. Screenshots of every page checked:
// test-output/screenshots/postfixadmin/.
import { strict as assert } from "assert";
import { randomBytes } from "crypto";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { WebBrowser } from "./support/browser";
import { imapClient, normalHeaders, submit } from "./support/mail";
import { ca, logs, platform, unique } from "./support/platform";

const ADMIN_UI = "postfixadmin.example.test";
const ADMIN = "admin@example.test";
const DOMAIN = "example.test";
const BOB = "bob@example.test";
/** How the mailboxes this test creates begin (`newhire-<unique token>`). */
const NEW_MAILBOX_PREFIX = "newhire-";

function adminPassword(): string {
  const admin = platform().admins.find((a) => a.address === ADMIN);
  if (!admin)
    throw new Error(
      `no PostfixAdmin administrator ${ADMIN} in the endpoints; have ${
        platform()
          .admins.map((a) => a.address)
          .join(", ") || "none"
      }`,
    );
  return admin.password;
}

/** Subjects of the INBOX messages containing `token`, logging in with `pass`; polls up to 30 s for one. */
async function imapSubjects(user: string, pass: string, token: string): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = imapClient(user, pass);
    await client.connect();
    try {
      const lock = await client.getMailboxLock("INBOX");
      try {
        const uids = (await client.search({ subject: token }, { uid: true })) || [];
        const subjects: string[] = [];
        for (const uid of uids) {
          const m = await client.fetchOne(String(uid), { envelope: true }, { uid: true });
          if (m) subjects.push(m.envelope?.subject ?? "");
        }
        if (subjects.length || Date.now() > deadline) return subjects;
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe("PostfixAdmin in a browser", () => {
  let web: WebBrowser;

  before(async () => {
    const p = platform();
    web = await WebBrowser.launch({ testFile: __filename, hostnames: [ADMIN_UI], httpsPort: p.ports.https, ca: ca() });
  });

  after(async () => {
    await web?.close();
  });

  async function login(page: Page, pass: string, step: string): Promise<void> {
    await web.goto(page, web.url(ADMIN_UI));
    assert.match(page.url(), /\/login\.php$/, `the start page is not the login page: ${page.url()}`);
    await page.locator("input[name=fUsername]").fill(ADMIN);
    await page.locator("input[name=fPassword]").fill(pass);
    await web.screenshot(page, `${step}-login`);
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Login" }).click()]);
  }

  it("refuses a wrong administrator password", () =>
    web.withPage("wrong-password", async (page) => {
      await login(page, `not-${adminPassword()}`, "wrong-password-1");
      await web.screenshot(page, "wrong-password-2-refused");
      assert.match(page.url(), /\/login\.php/, `a wrong password opened ${page.url()}`);
      assert.match(await page.locator("body").innerText(), /Your email address or password is not correct/i, "the error shown");
      await web.goto(page, web.url(ADMIN_UI, "/list-virtual.php"));
      assert.match(page.url(), /\/login\.php/, `the mailbox list opened without a login: ${page.url()}`);
    }));

  it("creates a mailbox that receives mail and opens over IMAP with the password set in the form", () =>
    web.withPage("new-mailbox", async (page) => {
      const localPart = unique(NEW_MAILBOX_PREFIX.slice(0, -1));
      const address = `${localPart}@${DOMAIN}`;
      // Letters and digits only: PostfixAdmin's rule here is 12 characters or more.
      const mailboxPassword = `Nh${randomBytes(12).toString("hex")}`;

      await login(page, adminPassword(), "new-mailbox-1");
      assert.match(page.url(), /\/main\.php$/, `after the login: ${page.url()}`);
      assert.ok((await page.locator("body").innerText()).includes(`Logged in as ${ADMIN}`), "the logged-in administrator is not shown");
      await web.screenshot(page, "new-mailbox-2-main");

      await page.getByRole("link", { name: "Add Mailbox" }).first().click();
      await page.waitForURL(/edit\.php\?table=mailbox/);
      await page.locator("input[name='value[local_part]']").fill(localPart);
      await page.locator("select[name='value[domain]']").selectOption(DOMAIN);
      await page.locator("input[name='value[password]']").fill(mailboxPassword);
      await page.locator("input[name='value[password2]']").fill(mailboxPassword);
      await page.locator("input[name='value[name]']").fill("New Hire");
      await page.locator("input[name='value[quota]']").fill("64");
      assert.ok(await page.locator("input[name='value[active]']").isChecked(), "a new mailbox is not active by default");
      await web.screenshot(page, "new-mailbox-3-form");
      await Promise.all([page.waitForNavigation(), page.locator("input[type=submit][value='Add Mailbox']").click()]);
      await web.screenshot(page, "new-mailbox-4-created");
      const shown = await page.locator("body").innerText();
      assert.ok(
        shown.includes(`The mailbox ${address} has been added to the mailbox table.`),
        `expected PostfixAdmin to confirm the new mailbox; the page says:\n${shown}\n${logs("postfixadmin")}`,
      );
      assert.equal(await page.locator(".alert-danger").count(), 0, `PostfixAdmin reports an error:\n${shown}`);

      await web.goto(page, web.url(ADMIN_UI, `/list-virtual.php?domain=${DOMAIN}`));
      const row = page.locator("tr", { hasText: address });
      await row.first().waitFor();
      await web.screenshot(page, "new-mailbox-5-list");
      assert.match(await row.first().innerText(), /New Hire/, "the mailbox list shows the name");

      let failure: unknown;
      try {
        const token = unique("first-day");
        await submit(BOB, {
          from: BOB,
          to: [address],
          subject: `Welcome aboard ${token}`,
          text: "Your desk is by the window.",
          headers: normalHeaders(DOMAIN),
        });
        const subjects = await imapSubjects(address, mailboxPassword, token).catch((e) =>
          assert.fail(
            `IMAP login of ${address} with the password set in PostfixAdmin: ${e instanceof Error ? e.message : e}\n${logs("dovecot")}`,
          ),
        );
        assert.deepEqual(subjects, [`Welcome aboard ${token}`], `INBOX of ${address}\n${logs("postfix", "dovecot")}`);
      } catch (e) {
        failure = e;
      }
      // Each run's mailbox (and any an interrupted run left) is deleted again in the UI, so the
      // list does not grow run after run. Its Maildir stays on disk: PostfixAdmin only deletes
      // database rows.
      try {
        const list = web.url(ADMIN_UI, `/list-virtual.php?domain=${DOMAIN}`);
        await web.goto(page, list);
        const leftover = page.locator("tr").filter({ has: page.locator("td", { hasText: new RegExp(`^\\s*${NEW_MAILBOX_PREFIX}`) }) });
        for (let left = await leftover.count(); left > 0; left = await leftover.count()) {
          const victim = (await leftover.first().locator("input[name=delete]").inputValue()).trim();
          // PostfixAdmin asks with the browser's own confirm(), naming the mailbox.
          page.once("dialog", (d) => void (d.message().includes(victim) ? d.accept() : d.dismiss()));
          await Promise.all([page.waitForNavigation(), leftover.first().getByRole("button", { name: "del" }).click()]);
          if (victim === address) await web.screenshot(page, "new-mailbox-6-deleted");
          await web.goto(page, list);
          assert.ok((await leftover.count()) < left, `${victim} is still listed after deleting it`);
        }
        assert.equal(await page.locator("tr", { hasText: address }).count(), 0, `${address} is still listed after deleting it`);
      } catch (e) {
        failure ??= e;
      }
      if (failure) throw failure;
    }));
});
