// Backups as an operator meets them on the deployed stack: the nightly job (run now, the way cron
// runs it) dumps the databases and saves the mailboxes to the local repository; a message lost
// from a mailbox afterwards comes back with restore-mailbox and the doveadm import it prints,
// while mail flows to another mailbox;
// the restore drill and the integrity check pass, and each job leaves its result for the
// monitoring.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { before, describe, it } from "node:test";
import { readStackFile } from "../../config/stack-file";
import { dockerExec } from "../support/docker";
import { findMessages, imap, normalHeaders, sendInbound, submit, waitForMessage } from "./support/mail";
import { logs, platform, unique } from "./support/platform";
import { DEFAULT_STACK } from "./up";

const BACKUP = "mp-e2e-backup";
const DOVECOT = "mp-e2e-dovecot";

function metrics(file: string): string {
  const ssd = (readStackFile(DEFAULT_STACK).values as { storage: { ssdRoot: string } }).storage.ssdRoot;
  return fs.readFileSync(path.join(ssd, "metrics", `${file}.prom`), "utf8");
}

/** Runs a command in the backup container against one repository, as the jobs do (backup-lib.sh). */
function restic(repository: string, args: string): { code: number; out: string } {
  const r = dockerExec(BACKUP, [
    "sh",
    "-c",
    `. /usr/local/lib/mail-platform/backup-lib.sh && load_config && use_repository ${repository} && restic ${args}`,
  ]);
  return { code: r.code, out: r.stdout + r.stderr };
}

/** Runs a job the way cron does (run-job NAME COMMAND) and fails with its output unless it succeeds. */
function job(name: string, command: string): string {
  const r = dockerExec(BACKUP, ["run-job", name, command]);
  assert.equal(r.code, 0, `run-job ${name} ${command}: exit ${r.code}\n${r.stdout}${r.stderr}\n${logs("backup")}`);
  assert.match(r.stdout, new RegExp(`job=${name} event=end result=ok`), r.stdout);
  return r.stdout;
}

describe("backups", () => {
  before(() => {
    platform();
  });

  it("backs up, and a message deleted afterwards comes back into its mailbox with restore-mailbox and doveadm import", async () => {
    const token = unique("backed-up");
    await submit("alice@example.test", {
      from: "alice@example.test",
      to: ["bob@example.test"],
      subject: token,
      text: "This message must survive its deletion.",
      headers: normalHeaders("example.test"),
    });
    const original = await waitForMessage("bob@example.test", token, ["INBOX"]);

    const started = Date.now();
    job("backup", "backup-run");
    console.log(`# backup job: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const m = metrics("backup");
    assert.match(m, /^mailplatform_backup_repository_ok\{repository="local"\} 1$/m, m);
    for (const db of ["postfixadmin", "roundcube", "spamassassin", "piler"])
      assert.match(m, new RegExp(`^mailplatform_backup_database_dump_ok\\{database="${db}"\\} 1$`, "m"), m);

    // The user loses the message: deleted and expunged.
    await imap("bob@example.test", async (client) => {
      const lock = await client.getMailboxLock("INBOX");
      try {
        await client.messageDelete(String(original.uid), { uid: true });
      } finally {
        lock.release();
      }
    });
    assert.deepEqual(await findMessages("bob@example.test", token, ["INBOX"]), [], "the message is gone before the restore");

    // Mail keeps flowing to another mailbox while Bob's is restored and imported.
    const flowing = unique("during-restore");
    const sends = Array.from({ length: 5 }, (_, i) =>
      sendInbound({
        from: "partner@remote.test",
        to: ["carol@corp.test"],
        subject: `${flowing} ${i}`,
        text: "sent while another mailbox is restored",
        headers: normalHeaders("remote.test"),
      }),
    );
    const restore = dockerExec(BACKUP, ["restore-mailbox", "bob@example.test", "INBOX"]);
    assert.equal(restore.code, 0, `restore-mailbox: ${restore.stdout}${restore.stderr}`);
    const command = /^\s+(doveadm import .*)$/m.exec(restore.stdout)?.[1];
    assert.ok(command, `restore-mailbox prints the import command: ${restore.stdout}`);
    const folder = /'(Restored-[0-9a-f]+)' all$/.exec(command)?.[1];
    assert.ok(folder, `the import names its folder: ${command}`);
    const imported = dockerExec(DOVECOT, ["sh", "-c", command]);
    assert.equal(imported.code, 0, `${command}: ${imported.stdout}${imported.stderr}\n${logs("dovecot")}`);

    // doveadm import keeps the source's folder names under the one it was given.
    const [back] = await findMessages("bob@example.test", token, [`${folder}/INBOX`]);
    assert.ok(back, `the message is back in ${folder}/INBOX`);
    assert.equal(back.source.replace(/\r\n/g, "\n"), original.source.replace(/\r\n/g, "\n"), "the same message, byte for byte");
    await Promise.all(sends);
    for (let i = 0; i < sends.length; i++) await waitForMessage("carol@corp.test", `${flowing} ${i}`, ["INBOX", "Junk"], 60_000);
  });

  it("keeps the databases in the snapshot: the mailboxes' rows in PostfixAdmin's dump", () => {
    const dump = restic("local", 'dump --host "$BACKUP_HOST" latest "$BACKUP_STAGING/databases/postfixadmin.sql"');
    assert.equal(dump.code, 0, dump.out);
    const rows = /INSERT INTO `mailbox` VALUES\n([\s\S]*?);\n/.exec(dump.out)?.[1] ?? "";
    assert.match(rows, /^\('bob@example\.test',/m, `bob's mailbox row; the mailbox rows: ${rows.slice(0, 2000)}`);
    assert.match(dump.out, /-- Dump completed/, "a complete dump");
  });

  it("passes the restore drill and the integrity check, and says so in its metrics", () => {
    const drill = job("restore-drill", "restore-drill");
    for (const db of ["postfixadmin", "roundcube", "spamassassin", "piler"])
      assert.match(drill, new RegExp(`event=drill-load repository=local database=${db} result=ok tables=\\d+`), drill);
    assert.match(metrics("restore-drill"), /^mailplatform_backup_restore_drill_ok\{[^}]*\} 1$/m, metrics("restore-drill"));
    job("backup-check", "backup-check");
    assert.match(metrics("backup-check"), /^mailplatform_backup_check_ok\{repository="local"\} 1$/m, metrics("backup-check"));
    for (const name of ["backup", "restore-drill", "backup-check"])
      assert.match(metrics(`job-${name}`), new RegExp(`mailplatform_job_last_success_timestamp_seconds\\{job="${name}"\\} \\d+`), name);
  });
});
