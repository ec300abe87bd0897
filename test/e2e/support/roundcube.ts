// Roundcube as a user meets it over HTTPS without a browser: its login form, its password page and
// its preferences, through WebSession. The browser tests (webmail.test.ts) cover the pages.
import { strict as assert } from "assert";
import { imapClient } from "./mail";
import { logs } from "./platform";
import { WebSession } from "./web-session";

export const WEBMAIL = "webmail.example.test";

/** Whether IMAP accepts this password for the user. */
export async function imapAccepts(user: string, pass: string): Promise<boolean> {
  const client = imapClient(user, pass);
  try {
    await client.connect();
    await client.logout();
    return true;
  } catch {
    return false;
  }
}

/** Submits Roundcube's login form; returns the session and the answer (302 into the mailbox on success). */
export async function tryLogin(user: string, pass: string): Promise<{ web: WebSession; status: number; message: string }> {
  const web = new WebSession(WEBMAIL);
  const page = await web.get("/");
  const token = /name="_token" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(token, `no login form token on the webmail's start page (HTTP ${page.status}):\n${page.body.slice(0, 2000)}`);
  const r = await web.post("/?_task=login", {
    _token: token,
    _task: "login",
    _action: "login",
    _timezone: "UTC",
    _url: "",
    _user: user,
    _pass: pass,
  });
  return { web, status: r.status, message: /display_message\("([^"]*)"/.exec(r.body)?.[1] ?? "" };
}

export async function login(user: string, pass: string): Promise<WebSession> {
  const r = await tryLogin(user, pass);
  assert.equal(r.status, 302, `expected the login to redirect into the mailbox, got HTTP ${r.status} (${r.message})\n${logs("webmail")}`);
  return r.web;
}

/** The request token of a logged-in page (Roundcube's CSRF protection). */
async function requestToken(web: WebSession, page: string): Promise<string> {
  const form = await web.get(page);
  const token = /"request_token":"([^"]+)"/.exec(form.body)?.[1];
  assert.ok(token, `no request token on ${page} (HTTP ${form.status}):\n${form.body.slice(0, 2000)}`);
  return token;
}

/** Changes the password on Roundcube's password page; returns the page's message. */
export async function changePassword(web: WebSession, current: string, next: string): Promise<string> {
  const token = await requestToken(web, "/?_task=settings&_action=plugin.password");
  const r = await web.post("/?_task=settings&_action=plugin.password-save", {
    _token: token,
    _curpasswd: current,
    _newpasswd: next,
    _confpasswd: next,
  });
  return /display_message\("([^"]*)"/.exec(r.body)?.[1] ?? `(no message; HTTP ${r.status})`;
}

const GENERAL_PREFS = "/?_task=settings&_action=edit-prefs&_section=general&_framed=1";

/** Saves the user's time zone on Roundcube's Preferences > User Interface page; returns the page's message. */
export async function saveTimezone(web: WebSession, timezone: string): Promise<string> {
  const token = await requestToken(web, GENERAL_PREFS);
  const r = await web.post("/?_task=settings&_action=save-prefs", {
    _token: token,
    _section: "general",
    _framed: "1",
    _timezone: timezone,
  });
  return /display_message\("([^"]*)"/.exec(r.body)?.[1] ?? `(no message; HTTP ${r.status})`;
}

/** The time zone selected on the user's Preferences > User Interface page. */
export async function shownTimezone(web: WebSession): Promise<string | undefined> {
  const page = await web.get(GENERAL_PREFS);
  const select = /<select[^>]*name="_timezone"[^>]*>([\s\S]*?)<\/select>/.exec(page.body)?.[1] ?? "";
  return /<option value="([^"]*)" selected/.exec(select)?.[1];
}
