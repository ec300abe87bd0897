// The monitoring as an operator meets it: every port probed and up after a deploy, Prometheus
// behind the front's password, a bad login and a refusing remote MX showing in the metrics, and
// a stopped content filter reaching the operator by e-mail through the "company relay" (the
// simulated Internet's MX), not through the platform's own Postfix.
import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import { ImapFlow } from "imapflow";
import { docker, dockerExec, waitHealthy } from "../support/docker";
import { acceptMail, refuseMail } from "./internet/internet";
import { HOSTNAME, normalHeaders, submit, waitForMessage } from "./support/mail";
import { ca, execIn, internet, logs, platform, postfixEdgeIp, unique } from "./support/platform";
import { MONITOR_HOST, prometheus, query, Sample } from "./support/prometheus";
import { WebSession } from "./support/web-session";

const MONITORING = "mp-e2e-monitoring";
/** The operator's address in Pulumi.e2e.yaml's monitoring.alerts.email. */
const OPERATOR = "ops@remote.test";

/** Every service the e2e stack's monitoring must probe (its ports, and the daemons behind them). */
const EXPECTED_PROBES = [
  "smtp",
  "submission",
  "submissions",
  "imap",
  "imaps",
  "pop3",
  "pop3s",
  "managesieve",
  "https",
  "amavis-inbound",
  "amavis-originating",
  "clamd",
  "spamd",
  "reinjection",
  "lmtp",
  "dovecot-auth",
  "mariadb",
  "archive-intake",
  "webmail-app",
  "postfixadmin-app",
];
const EXPECTED_JOBS = ["prometheus", "alertmanager", "blackbox", "node", "postfix", "mysqld", "mtail", "dovecot"];

const total = (samples: Sample[]) => samples.reduce((sum, s) => sum + Number(s.value[1]), 0);

/** Polls `check` until it returns true, failing after `timeoutMs` with what it saw last. */
async function until(what: string, timeoutMs: number, check: () => Promise<{ ok: boolean; seen: unknown }>): Promise<number> {
  const started = Date.now();
  let seen: unknown;
  while (Date.now() - started < timeoutMs) {
    const r = await check();
    if (r.ok) return Date.now() - started;
    seen = r.seen;
    await new Promise((res) => setTimeout(res, 1000));
  }
  assert.fail(`${what}: not within ${timeoutMs / 1000} s; last seen: ${JSON.stringify(seen, null, 2)}\n${logs("monitoring")}`);
}

describe("monitoring", () => {
  before(() => {
    platform();
  });

  it("probes every port and daemon of the platform, and finds them all up after the deploy", async () => {
    await until("every probe and scrape target up", 120_000, async () => {
      const probes = await query("probe_success");
      const up = await query("up");
      const byService = Object.fromEntries(probes.map((s) => [s.metric.service, s.value[1]]));
      const byJob = Object.fromEntries(up.filter((s) => s.metric.job !== "probe").map((s) => [s.metric.job, s.value[1]]));
      const missing = EXPECTED_PROBES.filter((s) => byService[s] !== "1");
      const down = EXPECTED_JOBS.filter((j) => byJob[j] !== "1");
      return { ok: missing.length === 0 && down.length === 0, seen: { notUp: missing, jobsNotUp: down, byService, byJob } };
    });
    // The client ports' certificates are read too: their expiry is what CertificateExpiring watches.
    const expiry = await query('probe_ssl_earliest_cert_expiry{kind="tls"}');
    assert.ok(
      expiry.length >= 9 && expiry.every((s) => Number(s.value[1]) > Date.now() / 1000),
      `a future expiry for each TLS port; seen ${JSON.stringify(expiry)}`,
    );
  });

  it("asks for the password at the front, and serves the dashboard and Prometheus with it", async () => {
    const anonymous = await new WebSession(MONITOR_HOST).get("/api/v1/query?query=up");
    assert.equal(anonymous.status, 401, `without the password: expected 401, got ${anonymous.status}`);
    const wrong = await new WebSession(MONITOR_HOST, { user: "monitoring", password: "not-the-password" }).get("/user/");
    assert.equal(wrong.status, 401, `with a wrong password: expected 401, got ${wrong.status}`);
    const page = await prometheus().get("/user/");
    assert.equal(page.status, 200, `the dashboard with the password: HTTP ${page.status}\n${logs("proxy")}`);
    assert.match(page.body, /id="dashboard"/, "the dashboard page");
    assert.ok(platform().webUrls.monitoring?.endsWith("/user/"), `webUrls.monitoring: ${JSON.stringify(platform().webUrls)}`);
  });

  it("counts a failed IMAP login in Dovecot's auth-failure metric", async () => {
    const before = total(await query("dovecot_auth_failure_total"));
    const client = new ImapFlow({
      host: "127.0.0.1",
      port: platform().ports.imaps,
      secure: true,
      auth: { user: "alice@example.test", pass: "wrong-password" },
      tls: { ca: ca(), servername: HOSTNAME },
      logger: false,
    });
    await assert.rejects(client.connect(), "a wrong password must be refused");
    const ms = await until("dovecot_auth_failure_total to grow", 60_000, async () => {
      const now = total(await query("dovecot_auth_failure_total"));
      return { ok: now > before, seen: { before, now } };
    });
    console.log(`# a failed login showed in the metric after ${(ms / 1000).toFixed(1)} s`);
  });

  it("reads Amavis's verdicts and scan times, and Postfix's messages, from their log files", async () => {
    const clean = 'amavis_messages_total{result="clean"}';
    const cleanup = "postfix_cleanup_messages_processed_total";
    const before = { clean: total(await query(clean)), cleanup: total(await query(cleanup)) };
    const token = unique("log-metrics");
    await submit("alice@example.test", {
      from: "alice@example.test",
      to: ["bob@example.test"],
      subject: token,
      text: "Counted from the logs.",
      headers: normalHeaders("example.test"),
    });
    await waitForMessage("bob@example.test", token);
    await until("Amavis's clean verdict (mtail) and Postfix's cleanup (the exporter) to grow", 60_000, async () => {
      const now = { clean: total(await query(clean)), cleanup: total(await query(cleanup)) };
      const scans = total(await query("amavis_scan_seconds_count"));
      return { ok: now.clean > before.clean && now.cleanup > before.cleanup && scans > 0, seen: { before, now, scans } };
    });
  });

  it("shows mail the remote MX refuses in the deferred-queue metric", async () => {
    const net = internet();
    const token = unique("deferred-metric");
    refuseMail(net.mx.container);
    try {
      await submit("alice@example.test", {
        from: "alice@example.test",
        to: ["someone@remote.test"],
        subject: `Deferred on purpose ${token}`,
        text: "the remote MX answers 451",
        headers: normalHeaders("example.test"),
      });
      const ms = await until("a deferred message in postfix_showq_message_age_seconds_count", 90_000, async () => {
        const deferred = total(await query('postfix_showq_message_age_seconds_count{queue="deferred"}'));
        return { ok: deferred >= 1, seen: { deferred } };
      });
      console.log(`# the deferred message showed in the metric after ${(ms / 1000).toFixed(1)} s`);
    } finally {
      acceptMail(net.mx.container);
      dockerExec("mp-e2e-postfix", ["postqueue", "-f"]);
    }
    await net.waitForMessage((m) => m.raw.includes(token), 60_000);
  });

  it("finds every record of the dns output published, and names the one that differs", () => {
    const run = dockerExec(MONITORING, ["run-job", "dns-check", "dns-check"]);
    assert.equal(run.code, 0, `the DNS check failed:\n${run.stdout}${run.stderr}`);
    const metrics = dockerExec(MONITORING, ["cat", "/var/lib/mail-platform/metrics/dns-check.prom"]).stdout;
    const records = platform().outputs.dns as { name: string; type: string }[];
    const pairs = new Set(records.map((r) => `${r.name} ${r.type}`));
    const matching = [...metrics.matchAll(/^mailplatform_dns_record_matches\{name="([^"]+)",type="([^"]+)"\} 1$/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    assert.deepEqual(matching.sort(), [...pairs].sort(), `every name and type published as the stack says:\n${metrics}\n${run.stdout}`);

    // The same check, on a list where one value is not what the DNS has (its own metrics file, so no alert follows).
    const spf = records.find((r) => r.type === "TXT" && r.name === "example.test.")!;
    const wrong = `${spf.name}\tTXT\tv=spf1 a:mx.elsewhere.test -all\nmail.example.test.\tCNAME\tnot-the-host.example.test.\n`;
    dockerExec(MONITORING, ["sh", "-c", "cat > /tmp/wrong-dns.conf"], wrong);
    const check = dockerExec(MONITORING, ["env", "DNS_CHECK_METRICS=dns-check-e2e", "dns-check", "/tmp/wrong-dns.conf"]);
    const out = dockerExec(MONITORING, ["cat", "/var/lib/mail-platform/metrics/dns-check-e2e.prom"]).stdout;
    dockerExec(MONITORING, ["rm", "-f", "/var/lib/mail-platform/metrics/dns-check-e2e.prom", "/tmp/wrong-dns.conf"]);
    assert.match(
      out,
      /^mailplatform_dns_record_matches\{name="example\.test\.",type="TXT"\} 0$/m,
      `the changed SPF record:\n${out}\n${check.stdout}${check.stderr}`,
    );
    assert.match(
      check.stdout,
      /example\.test\. TXT: expected "v=spf1 a:mx\.elsewhere\.test -all", published "v=spf1 mx -all"/,
      check.stdout + check.stderr,
    );
  });

  it("reports what SpamAssassin's Bayes store has learned, as the store counts it", () => {
    const run = execIn("spamd", ["run-job", "bayes-report", "bayes-report"]);
    assert.equal(run.code, 0, `the Bayes report failed:\n${run.out}`);
    const metrics = execIn("spamd", ["cat", "/var/lib/mail-platform/metrics/bayes.prom"]).out;
    const store = execIn("mariadb", [
      "mariadb",
      "-N",
      "-B",
      "spamassassin",
      "-e",
      "SELECT COALESCE(SUM(spam_count), 0), COALESCE(SUM(ham_count), 0) FROM bayes_vars",
    ]).out.trim();
    const [spam, ham] = store.split("\t");
    assert.match(
      metrics,
      new RegExp(`^mailplatform_bayes_learned_messages\\{class="spam"\\} ${spam}$`, "m"),
      `store: ${store}\n${metrics}`,
    );
    assert.match(metrics, new RegExp(`^mailplatform_bayes_learned_messages\\{class="ham"\\} ${ham}$`, "m"), `store: ${store}\n${metrics}`);
  });

  it("stopping Amavis fires ContentFilterDown, and its e-mail reaches the operator through the relay", async () => {
    const net = internet();
    const started = Date.now();
    assert.equal(docker(["stop", "mp-e2e-amavis"]).code, 0, "could not stop Amavis");
    try {
      const alert = await net
        .waitForMessage(
          (m) => m.rcptTo.includes(OPERATOR) && /ContentFilterDown/.test(m.raw) && !/RESOLVED/i.test(subjectOf(m.raw)),
          120_000,
        )
        .catch((e: Error) => assert.fail(`${e.message}\n${logs("monitoring")}`));
      console.log(`# the alert e-mail arrived ${((Date.now() - started) / 1000).toFixed(1)} s after Amavis stopped`);
      assert.match(alert.raw, /amavis/i, "the alert names the stopped service");
      assert.notEqual(alert.clientIp, postfixEdgeIp(), "the alert came through the platform's own Postfix, which may be what is broken");
    } finally {
      docker(["start", "mp-e2e-amavis"]);
      await waitHealthy("mp-e2e-amavis", 120_000);
    }
  });
});

function subjectOf(raw: string): string {
  return /^Subject: (.*)$/im.exec(raw)?.[1] ?? "";
}
