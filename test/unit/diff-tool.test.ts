// `npm run diff` (tools/diff.ts) run for real on a temporary clone of this repository, with commits
// made for the purpose: a template change and a port change show up under the right container,
// an unchanged tree shows nothing, no real secret reaches the output, and a revision whose stack
// file is broken fails naming that revision. Also the shape of the pull-request workflow that
// posts the diff (.github/workflows/preview.yml).
import { strict as assert } from "assert";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { containerSettings } from "../../tools/container-settings";

const ROOT = path.resolve(__dirname, "..", "..");
const TEMPLATE = "config-templates/postfix/etc/postfix/sql/virtual-mailboxes.cf";
const TEMPLATE_IN_CONTAINER = "/etc/postfix/sql/virtual-mailboxes.cf";
const QUERY = "query = SELECT maildir FROM mailbox WHERE username = '%s' AND active = '1'";

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript tool of the clone the way its npm script does, without waiting idle: several run at once. */
function tool(cwd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

function git(cwd: string, args: string[]): string {
  const identity = ["-c", "user.name=diff-tool test", "-c", "user.email=diff-tool@example.test", "-c", "commit.gpgsign=false"];
  return execFileSync("git", [...identity, ...args], { cwd, encoding: "utf8" });
}

/**
 * A clone of the repository as this work tree has it, uncommitted changes included (committed in
 * the clone), since the tool under test may not be committed yet.
 */
function cloneWorkTree(dir: string): void {
  execFileSync("git", ["clone", "--quiet", "--local", ROOT, dir]);
  // --no-optional-locks: reading this work tree must not even refresh its index.
  const list = (args: string[]) =>
    git(ROOT, ["--no-optional-locks", ...args])
      .split("\0")
      .filter(Boolean);
  for (const f of new Set([
    ...list(["diff", "--name-only", "-z", "HEAD"]),
    ...list(["ls-files", "-z", "--others", "--exclude-standard"]),
  ])) {
    const from = path.join(ROOT, f);
    const to = path.join(dir, f);
    if (fs.existsSync(from)) {
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
    } else {
      fs.rmSync(to, { force: true });
    }
  }
  // .gitignore's `node_modules/` does not match a symlink.
  fs.appendFileSync(path.join(dir, ".git", "info", "exclude"), "/node_modules\n");
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  commit(dir, "the work tree");
}

function commit(dir: string, message: string): void {
  git(dir, ["add", "-A"]);
  git(dir, ["commit", "--quiet", "--allow-empty", "-m", message]);
}

/** Replaces `from` by `to` in a file of the clone, and fails when `from` is not there (the fixture moved on). */
function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const p = path.join(dir, file);
  const before = fs.readFileSync(p, "utf8");
  const after = before.replace(from, to);
  assert.notEqual(after, before, `${file} no longer has ${from}`);
  fs.writeFileSync(p, after);
}

/** Every file under `dir`, relative path -> content. */
function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(dir, full), fs.readFileSync(full, "utf8"));
  }
  return files;
}

const tokens = (text: string) => text.split(/[\s"'`,;()<>]+/).filter((t) => t.length >= 20);

/** Section of the diff output per container: name -> its text. */
function containerSections(out: string): Map<string, string> {
  const parts = out.split(/^(?==== )/m);
  return new Map(
    parts.flatMap((p) => {
      const m = /^=== container (\S+)/.exec(p);
      return m ? [[m[1], p] as [string, string]] : [];
    }),
  );
}

describe("npm run diff", () => {
  let tmp: string;
  let same: Run;
  let changed: Run;
  let broken: Run;
  /** Values of 20 or more characters that only a real-mode render has: generated passwords, keys. */
  let realSecrets: Set<string>;

  before(
    async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mp-diff-test-"));
      const clone = path.join(tmp, "repo");
      cloneWorkTree(clone);
      // HEAD~3: the work tree. HEAD~2: one template and one container setting changed. HEAD~1: the
      // stack file broken. HEAD (= the work tree): the stack file mended.
      edit(clone, TEMPLATE, QUERY, `${QUERY} LIMIT 1`);
      edit(clone, "Pulumi.dev.yaml", /^(\s+smtp:) 2525$/m, "$1 2526");
      commit(clone, "postfix: one mailbox row per address; SMTP on 2526");
      edit(clone, "Pulumi.dev.yaml", /^(\s+smtp:) 2526$/m, "$1 not-a-port");
      commit(clone, "a broken stack file");
      edit(clone, "Pulumi.dev.yaml", /^(\s+smtp:) not-a-port$/m, "$1 2526");
      commit(clone, "the stack file mended");

      const working = path.join(tmp, "working");
      const masked = path.join(tmp, "masked");
      let renders: Run[];
      [same, changed, broken, ...renders] = await Promise.all([
        tool(clone, ["tools/diff.ts", "HEAD"]),
        tool(clone, ["tools/diff.ts", "HEAD~3", "Pulumi.dev.yaml"]),
        tool(clone, ["tools/diff.ts", "HEAD~1"]),
        tool(clone, ["tools/render.ts", "Pulumi.dev.yaml", working, "--working-secrets"]),
        tool(clone, ["tools/render.ts", "Pulumi.dev.yaml", masked]),
      ]);
      for (const r of renders) assert.equal(r.status, 0, r.stderr);
      const maskedTokens = new Set([...readTree(masked).values()].flatMap(tokens));
      realSecrets = new Set([...readTree(working).values()].flatMap(tokens).filter((t) => !maskedTokens.has(t)));
    },
    { timeout: 180_000 },
  );

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("shows a changed template and a changed port under the container that gets them", () => {
    assert.equal(changed.status, 1, changed.stderr);
    assert.match(changed.stdout, /^Pulumi\.dev\.yaml: HEAD~3 \([0-9a-f]{12}\) -> work tree$/m);
    const sections = containerSections(changed.stdout);
    const postfix = sections.get("mp-dev-postfix");
    assert.ok(postfix, `no section for mp-dev-postfix in:\n${changed.stdout}`);
    assert.ok(postfix.includes(`--- ${TEMPLATE_IN_CONTAINER}\t`) && postfix.includes(`+++ ${TEMPLATE_IN_CONTAINER}\t`), postfix);
    assert.ok(postfix.includes(`\n-${QUERY}\n+${QUERY} LIMIT 1\n`), postfix);
    assert.match(postfix, /^--- \[container settings\]/m);
    assert.match(postfix, /^-\s+"external": 2525,$/m);
    assert.match(postfix, /^\+\s+"external": 2526,$/m);
    // The database password a few lines above the change is context, and masked.
    assert.match(postfix, /^ password = <masked:/m);
    const others = [...sections].filter(([name, text]) => name !== "mp-dev-postfix" && text.includes(TEMPLATE_IN_CONTAINER));
    assert.deepEqual(
      others.map(([name]) => name),
      [],
    );
  });

  it("shows nothing and exits 0 for a tree that renders the same", () => {
    assert.equal(same.status, 0, same.stderr);
    assert.match(same.stdout, /no differences/);
    assert.doesNotMatch(same.stdout, /^(---|\+\+\+|@@|=== )/m);
  });

  it("fails naming the revision whose stack file does not load", () => {
    assert.equal(broken.status, 2, broken.stdout);
    assert.match(broken.stderr, /failed at HEAD~1 \([0-9a-f]{12}\)/);
    assert.match(broken.stderr, /ports\.smtp/);
    assert.doesNotMatch(broken.stderr, /failed at the work tree/);
  });

  it("prints no real secret", () => {
    assert.ok(realSecrets.size >= 5, `too few real-mode secrets found to check: ${realSecrets.size}`);
    for (const run of [same, changed, broken]) {
      const leaked = [...realSecrets].filter((s) => run.stdout.includes(s) || run.stderr.includes(s));
      assert.deepEqual(leaked, []);
    }
  });
});

describe("container settings (what .settings.json holds)", () => {
  const image = { inputs: { name: "mp-dev/postfix:0123456789ab", build: { labels: { "mail-platform.service": "postfix" } } } };
  const settings = containerSettings(
    {
      inputs: {
        name: "mp-dev-postfix",
        image: "sha256:feed",
        envs: ["A=1", "TOKEN=hunter2-hunter2-hunter2"],
        uploads: [{ file: "/etc/postfix/main.cf", content: "myhostname = mail\n", permissions: "0644" }],
        healthcheck: { tests: ["CMD", "true"], interval: "10s" },
      },
      secretInputs: ["envs[1]", "uploads"],
    },
    new Map([["sha256:feed", image]]),
  );
  const json = JSON.stringify(settings, null, 2);

  it("has every input but the uploads' contents, keys sorted, the image by its service", () => {
    assert.deepEqual(settings, {
      envs: ["A=1", "<masked:secret_input_envs[1]>"],
      healthcheck: { interval: "10s", tests: ["CMD", "true"] },
      image: { name: "mp-dev/postfix:0123456789ab", service: "postfix" },
      name: "mp-dev-postfix",
      uploads: [{ file: "/etc/postfix/main.cf", permissions: "0644" }],
    });
    assert.deepEqual(Object.keys(JSON.parse(json)), ["envs", "healthcheck", "image", "name", "uploads"]);
  });

  it("masks every secret input", () => {
    assert.doesNotMatch(json, /hunter2/);
  });
});

describe(".github/workflows/preview.yml", () => {
  const file = path.join(ROOT, ".github", "workflows", "preview.yml");
  const workflow = parse(fs.readFileSync(file, "utf8")) as {
    on: Record<string, unknown>;
    jobs: Record<string, { needs?: string | string[]; steps: { uses?: string; run?: string; with?: Record<string, unknown> }[] }>;
  };
  const jobs = Object.entries(workflow.jobs);
  const jobRunning = (command: RegExp) => jobs.find(([, job]) => job.steps.some((s) => s.run && command.test(s.run)));

  it("runs on pull requests", () => {
    assert.ok("pull_request" in workflow.on);
  });

  it("has a job without credentials that diffs the dev and prod stacks and comments", () => {
    const found = jobRunning(/npm run (--silent )?diff -- "?origin\//);
    assert.ok(found, "no job runs npm run diff -- origin/<base>");
    const text = JSON.stringify(found[1]);
    assert.doesNotMatch(text, /secrets\./);
    assert.match(text, /Pulumi\.dev\.yaml/);
    assert.match(text, /Pulumi\.prod\.yaml/);
    assert.ok(found[1].steps.some((s) => s.run && /npm ci/.test(s.run)));
    assert.ok(
      found[1].steps.some((s) => s.uses?.startsWith("actions/github-script@")),
      "does not post the comment",
    );
  });

  it("has a job that runs pulumi preview with the deployment secrets, after the diff job", () => {
    const diffJob = jobRunning(/npm run (--silent )?diff --/);
    const found = jobRunning(/pulumi preview --diff --stack/);
    assert.ok(diffJob && found, "no job runs pulumi preview --diff --stack");
    const text = JSON.stringify(found[1]);
    for (const secret of ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"]) assert.match(text, new RegExp(`secrets\\.${secret}\\b`));
    assert.match(text, /SSH/);
    assert.ok([found[1].needs].flat().includes(diffJob[0]), "runs before the comment exists");
  });

  it("pins every action by commit or exact version, and sets up Node 22", () => {
    const steps = jobs.flatMap(([, job]) => job.steps);
    for (const s of steps.filter((x) => x.uses)) assert.match(s.uses!, /^[\w.-]+\/[\w./-]+@([0-9a-f]{40}|v\d+\.\d+\.\d+)$/);
    const nodes = steps.filter((s) => s.uses?.startsWith("actions/setup-node@"));
    assert.ok(nodes.length > 0);
    for (const s of nodes) assert.equal(String(s.with?.["node-version"]), "22");
  });
});
