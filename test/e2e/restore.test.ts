// A whole stack restored from its backup, as after losing the host: mail in several mailboxes
// (folders, flags), a Sieve script, a password changed and a Roundcube setting saved by their
// users; the nightly backup, to the local repository and to an off-site one in S3 (moto_server on
// the simulated Internet, a test double for the S3 service); then the stack's containers and data,
// the local repository with them, are destroyed, the stack is deployed again from the same config
// and state (a fresh deployment), and `npm run restore` brings it back from S3: the same messages
// with the same flags in the same folders, the same database rows and Bayes counts, the changed
// password accepted by IMAP and the webmail, the setting shown again, and the Sieve script filing
// new mail. The file puts the usual e2e stack back when it ends.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { docker, dockerExec } from "../support/docker";
import { buildInternetImage, ensureTestHost, TestHostSpec, waitUntilReady } from "./internet/internet";
import { imap, normalHeaders, sendInbound, waitForMessage } from "./support/mail";
import { INTERNET, logs, password, platform, unique, e2eStack } from "./support/platform";
import { changePassword, imapAccepts, login, saveTimezone, shownTimezone } from "./support/roundcube";
import { deploy, e2eWith } from "./support/stack-variants";

const ROOT = path.resolve(__dirname, "..", "..");
const USERS = ["bob@example.test", "carol@corp.test", "erin@example.test"];
/** The user who changes their password and a setting. */
const ERIN = "erin@example.test";
const TIMEZONE = "Europe/Berlin";
const MARIADB = "mp-e2e-mariadb";
const DOVECOT = "mp-e2e-dovecot";
const S3: TestHostSpec = {
  name: "mp-e2e-internet-s3-test-double",
  image: "",
  network: INTERNET.network,
  ip: "172.31.1.45",
  hostname: "s3.test",
  ready: ["/usr/local/bin/healthcheck"],
};
/** The off-site repository the stack is restored from. */
const OFFSITE = "offsite";

/** The e2e stack backing up to the local repository and to a bucket on the S3 test double. */
function stackWithOffsite(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-restore-s3-"));
  const keyFile = (name: string, value: string) => {
    fs.writeFileSync(path.join(dir, name), `${value}\n`, { mode: 0o600 });
    return path.join(dir, name);
  };
  // moto checks no signature; the keys still travel as the stack's secrets to restic.
  const accessKeyIdFile = keyFile("s3-access-key-id", `AKIA${crypto.randomBytes(8).toString("hex").toUpperCase()}`);
  const secretAccessKeyFile = keyFile("s3-secret-access-key", crypto.randomBytes(20).toString("hex"));
  return e2eWith((c) => {
    c["mail-platform:backup"] = {
      repositories: [
        { name: "local" },
        { name: OFFSITE, url: `s3:http://${S3.ip}:5000/mp-e2e-backup`, accessKeyIdFile, secretAccessKeyFile },
      ],
    };
  });
}

/** Every folder of the mailbox -> its messages' Message-IDs with their flags, sorted. */
async function mailboxState(user: string, pass: string): Promise<Record<string, string[]>> {
  return imap(
    user,
    async (client) => {
      const state: Record<string, string[]> = {};
      for (const folder of await client.list()) {
        if (folder.flags.has("\\Noselect")) continue;
        const lock = await client.getMailboxLock(folder.path);
        try {
          const messages: string[] = [];
          for await (const m of client.fetch("1:*", { envelope: true, flags: true }))
            // \Recent is a session's, not the message's: the first session after a restore sees it.
            messages.push(
              `${m.envelope?.messageId} ${[...(m.flags ?? [])]
                .filter((f) => f !== "\\Recent")
                .sort()
                .join(" ")}`,
            );
          state[folder.path] = messages.sort();
        } finally {
          lock.release();
        }
      }
      return state;
    },
    pass,
  );
}

/** What the databases hold that users and the filter put there. */
function databaseState(): string {
  const sql = [
    "SELECT 'domains', COUNT(*) FROM postfixadmin.domain",
    "SELECT 'aliases', COUNT(*) FROM postfixadmin.alias",
    "SELECT CONCAT('mailbox ', username), password FROM postfixadmin.mailbox",
    "SELECT 'roundcube users', COUNT(*) FROM roundcube.users",
    "SELECT 'roundcube identities', COUNT(*) FROM roundcube.identities",
    "SELECT CONCAT('bayes ', username), CONCAT(spam_count, ' spam ', ham_count, ' ham ', token_count, ' tokens') FROM spamassassin.bayes_vars",
  ].join(" UNION ALL ");
  const r = dockerExec(MARIADB, ["mariadb", "--batch", "--skip-column-names", "-e", `${sql} ORDER BY 1`]);
  assert.equal(r.code, 0, `reading the databases: ${r.stderr}`);
  return r.stdout;
}

describe("a whole stack restored onto a fresh deployment", () => {
  let erinPassword = "";
  let stackFile = "";

  before(() => {
    platform();
    erinPassword = password(ERIN);
    ensureTestHost({ ...S3, image: buildInternetImage("s3") }, true);
    waitUntilReady([S3]);
    stackFile = stackWithOffsite();
    deploy(stackFile);
  });

  after(async () => {
    // The stack never resets a password (it belongs to the user): the test puts Erin's back.
    if (erinPassword !== password(ERIN) && (await imapAccepts(ERIN, erinPassword))) {
      const message = await changePassword(await login(ERIN, erinPassword), erinPassword, password(ERIN));
      assert.match(message, /Successfully saved/, `putting ${ERIN}'s password back: ${message}`);
    }
    deploy();
    docker(["rm", "-f", "-v", S3.name]);
  });

  it("brings back the messages with their folders and flags, the databases, a changed password, a Roundcube setting and a Sieve script", async () => {
    const token = unique("restore");
    // Mail in several mailboxes, one in a folder of its own, flagged and read in different ways.
    for (const user of USERS)
      for (let i = 0; i < 3; i++)
        await sendInbound({
          from: "partner@remote.test",
          to: [user],
          subject: `${token} ${i}`,
          text: `message ${i} for ${user}, to survive the loss of its host`,
          headers: normalHeaders("remote.test"),
        });
    for (const user of USERS) {
      await waitForMessage(user, `${token} 2`, ["INBOX"], 60_000);
      await imap(user, async (client) => {
        await client.mailboxCreate(`Projects-${token}`).catch(() => undefined);
        const lock = await client.getMailboxLock("INBOX");
        try {
          const uids = (await client.search({ subject: token }, { uid: true })) || [];
          assert.equal(uids.length, 3, `${user}: the test's three messages in INBOX`);
          await client.messageFlagsAdd(String(uids[0]), ["\\Flagged"], { uid: true });
          await client.messageFlagsAdd(String(uids[1]), ["\\Seen", "\\Answered"], { uid: true });
          await client.messageMove(String(uids[2]), `Projects-${token}`, { uid: true });
        } finally {
          lock.release();
        }
      });
    }
    // Bob's Sieve script, active: it must file new mail after the restore.
    const script = `require ["fileinto", "mailbox"];\nif header :contains "subject" "${token}-sieve" { fileinto :create "Sieved"; }\n`;
    const put = spawnSync("docker", ["exec", "-i", DOVECOT, "doveadm", "sieve", "put", "-a", "-u", USERS[0], "restore-test"], {
      input: script,
      encoding: "utf8",
    });
    assert.equal(put.status, 0, `doveadm sieve put: ${put.stderr}`);
    // Erin changes her password and her time zone in Roundcube.
    const changed = `Restored-${Date.now()}-pw`;
    const web = await login(ERIN, erinPassword);
    assert.match(await changePassword(web, erinPassword, changed), /Successfully saved/, "the password change");
    erinPassword = changed;
    assert.match(await saveTimezone(web, TIMEZONE), /Successfully saved/, "saving the time zone");
    assert.equal(await shownTimezone(web), TIMEZONE, "the time zone shown after saving it");

    const passwords = (user: string) => (user === ERIN ? erinPassword : password(user));
    const mailboxesBefore = Object.fromEntries(await Promise.all(USERS.map(async (u) => [u, await mailboxState(u, passwords(u))])));
    const databasesBefore = databaseState();
    const backup = dockerExec("mp-e2e-backup", ["run-job", "backup", "backup-run"]);
    assert.equal(backup.code, 0, `the backup job: ${backup.stdout}${backup.stderr}`);
    for (const name of ["local", OFFSITE])
      assert.match(backup.stdout, new RegExp(`event=backup repository=${name} result=ok`), `the backup to ${name}:\n${backup.stdout}`);

    // The host is lost: every container of the stack, the data the backup covers and the local repository.
    const containers = docker(["ps", "-aq", "--filter", "name=^mp-e2e-", "--filter", "label=mail-platform.service"])
      .stdout.split("\n")
      .filter(Boolean);
    assert.equal(docker(["rm", "-f", ...containers]).code, 0, "removing the stack's containers");
    const volumes = e2eStack().volumePaths;
    for (const v of ["mailboxes", "database", "quarantine", "acme", "backups"] as const)
      for (const entry of fs.existsSync(volumes[v]) ? fs.readdirSync(volumes[v]) : [])
        fs.rmSync(path.join(volumes[v], entry), { recursive: true, force: true });
    const started = Date.now();
    deploy(stackFile);
    const deployed = Date.now();
    const fresh = await mailboxState(USERS[0], password(USERS[0]));
    assert.ok(
      Object.values(fresh).every((messages) => messages.length === 0),
      `the fresh deployment starts with empty mailboxes, ${USERS[0]} has: ${JSON.stringify(fresh)}`,
    );
    assert.equal(await imapAccepts(ERIN, erinPassword), false, "the fresh deployment has Erin's first password");

    const restore = spawnSync(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "tools", "restore.ts"), stackFile, "--yes", "--repository", OFFSITE],
      {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 900_000,
      },
    );
    assert.equal(
      restore.status,
      0,
      `npm run restore: exit ${restore.status}\n${restore.stdout}${restore.stderr}\n${logs("backup", "dovecot")}`,
    );
    assert.match(restore.stdout, new RegExp(`in repository ${OFFSITE}, `), `restored from S3:\n${restore.stdout}`);
    console.log(
      `# fresh deploy ${((deployed - started) / 1000).toFixed(1)} s, restore ${((Date.now() - deployed) / 1000).toFixed(1)} s\n` +
        restore.stdout.replace(/^/gm, "#   "),
    );

    for (const user of USERS)
      assert.deepEqual(
        await mailboxState(user, passwords(user)),
        mailboxesBefore[user],
        `${user}: every folder with the same messages and flags`,
      );
    assert.equal(databaseState(), databasesBefore, "the databases' rows, password hashes and Bayes counts");
    assert.equal(await imapAccepts(ERIN, erinPassword), true, "IMAP accepts Erin's changed password");
    assert.equal(await shownTimezone(await login(ERIN, erinPassword)), TIMEZONE, "Roundcube shows Erin's time zone again");
    await sendInbound({
      from: "partner@remote.test",
      to: [USERS[0]],
      subject: `${token}-sieve`,
      text: "filed by the restored Sieve script",
      headers: normalHeaders("remote.test"),
    });
    await waitForMessage(USERS[0], `${token}-sieve`, ["Sieved"], 60_000);
  });
});
