// The scheduled jobs of the ContentFilter in the real images, with the rendered config: the rule
// updater (images/sa-update) seeds the published rules from its own, its lint gate passes them
// and refuses a broken rule, and an update that cannot reach its channel changes nothing; Amavis
// reads the published rules read-only (compiled rules included) and reloads, without a restart,
// when the stamp changes; the freshclam job in the ClamAV image fetches a custom database and
// clamd reloads it without a restart. Channels and mirrors are offline here; test/e2e/maintenance
// runs the jobs against a channel and a mirror on the simulated Internet.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { renderAmavisFiles, renderClamavFiles, renderSaUpdateFiles } from "../../components/contentfilter/render";
import { PlatformConfig } from "../../config/platform";
import {
  buildImage,
  containerLog,
  copyInto,
  docker,
  dockerExec,
  explain,
  inspect,
  mustDocker,
  quickHealthcheck,
  RunResult,
  waitHealthy,
} from "../support/docker";
import { loopbackFilterInput } from "../support/contentfilter-input";
import { stackPlatform } from "../support/platforms";

const PREFIX = "mp-daemons-jobs";
const STACK = "Pulumi.dev.yaml";

const inputOf = loopbackFilterInput;

interface Started {
  name: string;
  run(command: string[], input?: string): RunResult;
}

/**
 * Starts a container of `image` (its entrypoint and command) with `files` uploaded before start,
 * host directories mounted as `mounts` (host:container[:ro]) and its image's health check run
 * every second; waits until it is healthy.
 */
async function startContainer(
  name: string,
  image: string,
  files: Record<string, string>,
  mounts: string[],
  env: string[] = [],
): Promise<Started> {
  docker(["rm", "-f", name]);
  mustDocker([
    "create",
    "--name",
    name,
    "--network",
    "none",
    ...quickHealthcheck(120),
    ...mounts.flatMap((m) => ["-v", m]),
    ...env.flatMap((e) => ["-e", e]),
    image,
  ]);
  copyInto(name, files, 0o644);
  mustDocker(["start", name]);
  await waitHealthy(name, 180_000);
  return { name, run: (command, input) => dockerExec(name, command, input) };
}

/** Runs `command` once in a fresh container of `image` with `files` uploaded and `mounts`; removes it. */
function runOnce(image: string, files: Record<string, string>, mounts: string[], command: string[]): RunResult {
  const id = mustDocker(["create", "--network", "none", ...mounts.flatMap((m) => ["-v", m]), image, ...command]);
  try {
    copyInto(id, files, 0o644);
    return docker(["start", "--attach", id]);
  } finally {
    docker(["rm", "-f", id]);
  }
}

/** Polls `probe` every 250 ms until it returns true; fails with `what` and `detail()` after `timeoutMs`. */
async function until(what: string, probe: () => boolean, detail: () => string, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  while (!probe()) {
    if (Date.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs / 1000} s\n${detail()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return Date.now() - started;
}

describe("scheduled jobs in the ContentFilter's images", () => {
  const images: Record<string, string> = {};
  let platform: PlatformConfig;
  let root: string;
  before(async () => {
    for (const service of ["sa-update", "amavis", "clamav"]) images[service] = await buildImage(service);
    platform = stackPlatform(STACK);
    root = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}-`));
  });
  after(() => {
    const names = docker(["ps", "-aq", "--filter", `name=^${PREFIX}-`])
      .stdout.split("\n")
      .filter(Boolean);
    if (names.length) docker(["rm", "-f", ...names]);
    // The containers wrote as root: remove their files from inside one.
    if (root)
      docker([
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        `${root}:/x`,
        images["sa-update"],
        "rm",
        "-rf",
        "/x/sarules",
        "/x/metrics",
        "/x/virusdb",
      ]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  describe("SpamAssassin rules (images/sa-update, images/amavis)", () => {
    let updater: Started;
    const sarules = () => path.join(root, "sarules");
    const stamp = () => fs.readFileSync(path.join(sarules(), "stamp"), "utf8").trim();
    before(async () => {
      fs.mkdirSync(sarules(), { recursive: true });
      fs.mkdirSync(path.join(root, "metrics"), { recursive: true });
      updater = await startContainer(`${PREFIX}-sa-update`, images["sa-update"], renderSaUpdateFiles(inputOf(platform)), [
        `${sarules()}:/var/lib/mail-platform/sa-rules`,
        `${path.join(root, "metrics")}:/var/lib/mail-platform/metrics`,
      ]);
    });

    it("seeds the published rules from the image on first start, before it reports healthy, with cron as PID 1", () => {
      const version = updater.run(["perl", "-MMail::SpamAssassin", "-e", "print $Mail::SpamAssassin::VERSION"]).stdout.trim();
      const current = fs.readlinkSync(path.join(sarules(), "current"));
      assert.match(current, /^releases\/\d{8}T\d{6}Z-seed$/, `current -> ${current}`);
      assert.equal(stamp(), path.basename(current), "the stamp names the current release");
      assert.equal(fs.readlinkSync(path.join(sarules(), version)), `current/${version}`);
      assert.equal(fs.readlinkSync(path.join(sarules(), "compiled")), "current/compiled");
      assert.ok(fs.existsSync(path.join(sarules(), version, "updates_spamassassin_org.cf")), "the base rules are published");
      assert.equal(updater.run(["cat", "/proc/1/comm"]).stdout.trim(), "cron");
      const metrics = fs.readFileSync(path.join(root, "metrics", "sa-rules.prom"), "utf8");
      assert.match(metrics, /^mailplatform_sarules_channel_version\{channel="updates_spamassassin_org"\} \d+$/m, metrics);
      assert.match(metrics, /^mailplatform_sarules_release_timestamp_seconds \d+$/m, metrics);
    });

    it("its lint gate (the platform's site config, the staged compiled rules) passes the published rules and refuses a broken rule", () => {
      const ok = updater.run(["sh", "-c", "perl /usr/local/lib/mail-platform/sa-lint.pl /var/lib/mail-platform/sa-rules 2>&1"]);
      assert.equal(ok.code, 0, `the lint must pass the published rules:\n${explain(ok, 3000)}`);
      assert.match(
        ok.stdout,
        /zoom: able to use \d+\/\d+ 'body_0' compiled rules/,
        `the staged compiled rules must load:\n${explain(ok, 3000)}`,
      );
      const broken = updater.run([
        "sh",
        "-c",
        'v=$(perl -MMail::SpamAssassin -e "print \\$Mail::SpamAssassin::VERSION"); rm -rf /tmp/stage; mkdir /tmp/stage; cp -a /var/lib/mail-platform/sa-rules/current/. /tmp/stage/; echo "body MP_BROKEN /(unclosed/" >> /tmp/stage/$v/updates_spamassassin_org/20_body_tests.cf; perl /usr/local/lib/mail-platform/sa-lint.pl /tmp/stage 2>&1 | grep -v " dbg: "',
      ]);
      assert.match(broken.stdout, /invalid regexp for MP_BROKEN/, `the lint must name the broken rule:\n${explain(broken)}`);
      assert.match(broken.stdout, /sa-lint: [1-9]\d* error\(s\)/, explain(broken));
    });

    it("an update that cannot reach its channel fails, and the published rules and the stamp stay as they were", () => {
      const before = { stamp: stamp(), current: fs.readlinkSync(path.join(sarules(), "current")) };
      const r = updater.run(["run-job", "sa-update", "sa-rules", "update"]);
      assert.notEqual(r.code, 0, `the job must fail without its channel:\n${explain(r)}`);
      assert.match(r.stdout, /event=end result=failed/, explain(r));
      assert.deepEqual({ stamp: stamp(), current: fs.readlinkSync(path.join(sarules(), "current")) }, before);
      assert.deepEqual(
        fs.readdirSync(path.join(sarules(), "releases")),
        [path.basename(before.current)],
        "no staging directory left behind",
      );
      const job = fs.readFileSync(path.join(root, "metrics", "job-sa-update.prom"), "utf8");
      assert.match(job, /^mailplatform_job_exit_code\{job="sa-update"\} [1-9]\d*$/m, job);
    });

    it("Amavis reads the published rules read-only, with their compiled rules, and reloads when the stamp changes, without a restart", async () => {
      const mount = `${sarules()}:/var/lib/spamassassin:ro`;
      const files = renderAmavisFiles(inputOf(platform));
      const lint = runOnce(
        images.amavis,
        files,
        [mount],
        [
          "sh",
          "-c",
          "touch /var/lib/spamassassin/x 2>&1; spamassassin --lint -D zoom 2>&1 | grep -E 'loading compiled|able to use'; echo LINT_EXIT=$?",
        ],
      ).stdout;
      assert.match(lint, /Read-only file system/, `the rules must be mounted read-only:\n${lint}`);
      assert.match(lint, /loading compiled ruleset from \/var\/lib\/spamassassin\/compiled/, lint);
      assert.match(lint, /able to use \d+\/\d+ 'body_0' compiled rules/, lint);

      const amavis = await startContainer(`${PREFIX}-amavis`, images.amavis, files, [mount], ["MAIL_PLATFORM_RELOAD_CHECK_SECONDS=1"]);
      const startedAt = inspect(amavis.name, "{{.State.StartedAt}}");
      const pid = inspect(amavis.name, "{{.State.Pid}}");
      // What a publish ends with: the stamp names another release (the rules themselves stay).
      updater.run(["sh", "-c", "echo daemon-test-$(date +%s) > /var/lib/mail-platform/sa-rules/stamp"]);
      const next = stamp();
      const waited = await until(
        `Amavis's watcher reloading for stamp ${next}`,
        () => containerLog(amavis.name).includes(`event=reload result=ok stamp="${next}"`),
        () => containerLog(amavis.name, ["--tail", "40"]),
      );
      console.log(`  Amavis reload requested ${waited} ms after the stamp changed`);
      await waitHealthy(amavis.name, 60_000);
      assert.equal(inspect(amavis.name, "{{.State.StartedAt}}"), startedAt, "Amavis's container must not restart");
      assert.equal(inspect(amavis.name, "{{.State.Pid}}"), pid, "amavisd stays PID 1 (it re-executes itself)");
    });
  });

  describe("the schedules, as cron runs them", () => {
    // Every minute, so a run is seen within one; the stack's schedules are validated elsewhere.
    const everyMinute = (p: PlatformConfig): PlatformConfig => ({
      ...p,
      schedules: { ...p.schedules, spamassassinRules: "* * * * *", clamavSignatures: "* * * * *" },
    });
    const started: Record<string, Started> = {};
    before(async () => {
      const dirs = ["cron-sarules", "cron-metrics-sa", "cron-metrics-clamav", "cron-virusdb"].map((d) => path.join(root, d));
      for (const d of dirs) fs.mkdirSync(d, { recursive: true });
      const p = everyMinute(platform);
      [started.saUpdate, started.clamav] = await Promise.all([
        startContainer(`${PREFIX}-cron-sa-update`, images["sa-update"], renderSaUpdateFiles(inputOf(p)), [
          `${dirs[0]}:/var/lib/mail-platform/sa-rules`,
          `${dirs[1]}:/var/lib/mail-platform/metrics`,
        ]),
        startContainer(`${PREFIX}-cron-clamav`, images.clamav, renderClamavFiles(inputOf(p)), [
          `${dirs[3]}:/var/lib/clamav`,
          `${dirs[2]}:/var/lib/mail-platform/metrics`,
        ]),
      ]);
    });

    const ranFromCron = async (c: Started, job: string) => {
      const waited = await until(
        `cron starting the ${job} job (its start line in the container's log)`,
        () => containerLog(c.name).includes(`job=${job} event=start`),
        () => `${containerLog(c.name, ["--tail", "20"])}
${c.run(["cat", "/etc/cron.d/mail-platform"]).stdout}`,
        75_000,
      );
      console.log(`  cron started ${job} ${waited} ms after the check began`);
    };

    it("cron runs the sa-update job in the rule updater (cron is PID 1)", async () => {
      await ranFromCron(started.saUpdate, "sa-update");
    });

    it("cron runs the freshclam job beside clamd (PID 1 dropped root: the output goes to cron's, not to PID 1's)", async () => {
      await ranFromCron(started.clamav, "freshclam");
    });
  });

  describe("ClamAV signatures (images/clamav)", () => {
    const SIGNATURE = "MailPlatform.Daemons.JobProbe";
    const TOKEN = "mail-platform-daemons-freshclam-probe";
    let clamav: Started;
    before(async () => {
      for (const d of ["virusdb", "metrics", "mirror"]) fs.mkdirSync(path.join(root, d), { recursive: true });
      const p: PlatformConfig = {
        ...platform,
        spam: {
          ...platform.spam,
          virusSignatures: {
            mirrors: ["database.clamav.net"],
            privateMirrors: [],
            officialDatabases: false,
            customUrls: ["file:///srv/mirror/probe.ndb"],
          },
        },
      };
      clamav = await startContainer(`${PREFIX}-clamav`, images.clamav, renderClamavFiles(inputOf(p)), [
        `${path.join(root, "virusdb")}:/var/lib/clamav`,
        `${path.join(root, "metrics")}:/var/lib/mail-platform/metrics`,
        `${path.join(root, "mirror")}:/srv/mirror:ro`,
      ]);
    });

    it("the freshclam job fetches a new database and clamd detects its signature without a restart", async () => {
      const scan = () => clamav.run(["clamdscan", "--no-summary", "--stream", "-"], `a message body with ${TOKEN} in it\n`);
      assert.match(scan().stdout, /stream: OK/, "the probe is clean before the update");
      const hex = Buffer.from(TOKEN, "ascii").toString("hex");
      const probe = path.join(root, "mirror", "probe.ndb");
      fs.writeFileSync(probe, `${SIGNATURE}:0:*:${hex}\n`);
      // freshclam fetches a file:// database again unless it is older than its copy, by mtime in
      // whole seconds: a mirror file written in the same second as the first run would look new twice.
      const past = new Date(Date.now() - 60_000);
      fs.utimesSync(probe, past, past);
      const startedAt = inspect(clamav.name, "{{.State.StartedAt}}");
      const t0 = Date.now();
      const r = clamav.run(["run-job", "freshclam", "update-signatures"]);
      const jobMs = Date.now() - t0;
      assert.equal(r.code, 0, `the freshclam job must succeed:\n${explain(r)}`);
      assert.match(r.stdout, /databases changed; asking clamd to reload them/, explain(r));
      const waited = await until(
        `clamd detecting ${SIGNATURE}`,
        // clamd names a signature from outside ClamAV's own databases <name>.UNOFFICIAL.
        () => scan().stdout.includes(`${SIGNATURE}.UNOFFICIAL FOUND`),
        () => `${scan().stdout}\n${containerLog(clamav.name, ["--tail", "30"])}`,
      );
      console.log(`  freshclam job ${jobMs} ms; signature detected ${waited} ms after it ended`);
      assert.equal(inspect(clamav.name, "{{.State.StartedAt}}"), startedAt, "clamd's container must not restart");
      const metrics = fs.readFileSync(path.join(root, "metrics", "clamav-signatures.prom"), "utf8");
      assert.match(metrics, /^mailplatform_clamav_signatures\{database="probe\.ndb"\} 1$/m, metrics);
      assert.match(metrics, /^mailplatform_clamav_signatures_changed_timestamp_seconds \d+$/m, metrics);

      const again = clamav.run(["run-job", "freshclam", "update-signatures"]);
      assert.equal(again.code, 0, explain(again));
      assert.match(again.stdout, /databases unchanged/, `a second run finds nothing new:\n${explain(again)}`);
    });
  });
});
