// images/lib/log-to-file, the front of every image's entrypoint, run here with the host's perl
// (it needs nothing beyond perl-base): the container's output stays what the daemon wrote, the
// file gets every line with a timestamp, rotates by size, and nothing about the file (a missing
// directory, no room) stops the daemon or changes its exit.
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, it } from "node:test";

const SCRIPT = path.join(__dirname, "..", "..", "images", "lib", "log-to-file");
const STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z /;

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "log-to-file-"));
}

function run(script: string, env: Record<string, string>) {
  const r = spawnSync("perl", [SCRIPT, "sh", "-c", script], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    encoding: "utf8",
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const lines = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter(Boolean);

describe("log-to-file", () => {
  it("without MAIL_PLATFORM_LOG_FILE becomes the command: same streams, same exit", () => {
    const r = run("echo out; echo err >&2; exit 3", {});
    assert.deepEqual(r, { code: 3, signal: null, stdout: "out\n", stderr: "err\n" });
  });

  it("passes both streams on unchanged and apart, and writes every line, stamped, to the file", () => {
    const dir = tmp();
    const file = path.join(dir, "svc", "svc.log");
    const r = run("echo out1; echo err1 >&2; printf 'no newline'; exit 5", { MAIL_PLATFORM_LOG_FILE: file });
    assert.equal(r.code, 5, "the command's exit status");
    assert.equal(r.stdout, "out1\nno newline");
    assert.equal(r.stderr, "err1\n");
    const got = lines(file);
    assert.deepEqual(got.map((l) => l.replace(STAMP, "")).sort(), ["err1", "no newline", "out1"], `file: ${got.join("\n")}`);
    for (const l of got) assert.match(l, STAMP);
    assert.equal(fs.statSync(file).mode & 0o777, 0o640, "not readable by everyone on the host: lines hold addresses");
  });

  it("creates the file at start, before any line, and leaves the command the umask it had", () => {
    const dir = tmp();
    const file = path.join(dir, "quiet.log");
    const withFile = run("umask", { MAIL_PLATFORM_LOG_FILE: file });
    assert.equal(withFile.stdout, run("umask", {}).stdout, "the daemon's files keep their modes");
    const silent = path.join(dir, "silent.log");
    run("exit 0", { MAIL_PLATFORM_LOG_FILE: silent });
    assert.ok(fs.existsSync(silent), "a daemon that says nothing still has its file");
  });

  it("keeps what a command that dies at once said: its last words reach both the output and the file", () => {
    const dir = tmp();
    const file = path.join(dir, "svc.log");
    for (let i = 0; i < 20; i++) {
      const r = run(`echo "fatal ${i}" >&2; exit 1`, { MAIL_PLATFORM_LOG_FILE: file });
      assert.equal(r.stderr, `fatal ${i}\n`, `run ${i}`);
    }
    assert.equal(lines(file).length, 20, fs.readFileSync(file, "utf8"));
  });

  it("rotates at MAIL_PLATFORM_LOG_MAX_BYTES and keeps MAIL_PLATFORM_LOG_KEEP old files, newest first", () => {
    const dir = tmp();
    const file = path.join(dir, "svc.log");
    // One line per write: each crosses the 100-byte limit, so each ends a file.
    const r = run("for i in 1 2 3 4 5; do printf 'line %s %0100d\\n' $i 0; sleep 0.05; done", {
      MAIL_PLATFORM_LOG_FILE: file,
      MAIL_PLATFORM_LOG_MAX_BYTES: "100",
      MAIL_PLATFORM_LOG_KEEP: "2",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(dir).sort(), ["svc.log", "svc.log.1", "svc.log.2"]);
    assert.match(fs.readFileSync(`${file}.1`, "utf8"), /line 5 /, "the newest full file is .1");
    assert.match(fs.readFileSync(`${file}.2`, "utf8"), /line 4 /);
    assert.equal(fs.readFileSync(file, "utf8"), "", "a new, empty file after the last rotation");
  });

  it("keeps the daemon running and its output flowing when the file cannot be written", () => {
    const dir = tmp();
    const blocker = path.join(dir, "not-a-dir");
    fs.writeFileSync(blocker, "");
    const r = run("echo still here; exit 0", { MAIL_PLATFORM_LOG_FILE: path.join(blocker, "svc.log") });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "still here\n");
    assert.match(r.stderr, /log-to-file: cannot open .*svc\.log: .*container's output only/, r.stderr);
  });

  it("forwards docker stop's SIGTERM to the command and exits with the command's status", async () => {
    const dir = tmp();
    const file = path.join(dir, "svc.log");
    const child = spawn("perl", [SCRIPT, "sh", "-c", 'trap "echo stopping; exit 7" TERM; echo ready; while :; do sleep 0.1; done'], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", MAIL_PLATFORM_LOG_FILE: file },
    });
    let out = "";
    await new Promise<void>((resolve) =>
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("ready")) resolve();
      }),
    );
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    assert.equal(code, 7, `exit status; output: ${out}`);
    assert.match(out, /stopping/);
    assert.match(fs.readFileSync(file, "utf8"), /Z stopping\n/);
  });
});
