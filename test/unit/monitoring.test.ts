// The Monitoring under mocks, for the prod stack (monitoring on) and the dev stack (off): what it
// probes, where its alerts go, what it may read, and that its secrets stay secret.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as path from "path";
import { before, describe, it } from "node:test";
import YAML from "yaml";
import { sshaHash } from "../../components/monitoring/monitoring";
import { tlsProbes } from "../../components/monitoring/render";
import { ProgramRun, runProgram } from "../../tools/mock-run/run-program";
import { containerNamed, dataVolumes, uploadModes, uploadOf } from "../support/registrations";

const ROOT = path.resolve(__dirname, "..", "..");

describe("Monitoring in the prod stack", () => {
  let run: ProgramRun;
  const monitoring = () => containerNamed(run.resources, "monitoring");

  before(async () => {
    run = await runProgram(path.join(ROOT, "Pulumi.prod.yaml"), "masked");
  });

  it("probes every client port in its own dialect and every daemon behind them", () => {
    const groups = JSON.parse(uploadOf(monitoring(), "/etc/prometheus/probes.json")) as {
      targets: string[];
      labels: { service: string; kind: string; module: string };
    }[];
    const byService = Object.fromEntries(groups.map((g) => [g.labels.service, `${g.labels.kind} ${g.labels.module} ${g.targets[0]}`]));
    assert.deepEqual(
      {
        smtp: byService.smtp,
        submission: byService.submission,
        submissions: byService.submissions,
        imap: byService.imap,
        imaps: byService.imaps,
        pop3: byService.pop3,
        managesieve: byService.managesieve,
        https: byService.https,
        "amavis-inbound": byService["amavis-inbound"],
        clamd: byService.clamd,
        spamd: byService.spamd,
      },
      {
        smtp: "tls smtp_starttls postfix:25",
        submission: "tls smtp_starttls postfix:587",
        submissions: "tls tls postfix:465",
        imap: "tls imap_starttls dovecot:143",
        imaps: "tls tls dovecot:993",
        pop3: "tls pop3_starttls dovecot:110",
        managesieve: "tls sieve_starttls dovecot:4190",
        https: "tls tls_front proxy:443",
        "amavis-inbound": "internal smtp_banner amavis:10024",
        clamd: "internal clamd clamav:3310",
        spamd: "internal spamd spamd:783",
      },
    );
    for (const s of ["reinjection", "lmtp", "dovecot-auth", "mariadb", "archive-intake", "webmail-app", "postfixadmin-app"])
      assert.ok(byService[s], `no probe of ${s}; have ${Object.keys(byService).join(", ")}`);
    const blackbox = YAML.parse(uploadOf(monitoring(), "/etc/prometheus/blackbox.yml")) as { modules: Record<string, unknown> };
    for (const g of groups) assert.ok(blackbox.modules[g.labels.module], `blackbox.yml has no module ${g.labels.module}`);
  });

  it("sends alerts through the company's relay with the password from its file, and to the webhook", () => {
    const am = YAML.parse(uploadOf(monitoring(), "/etc/prometheus/alertmanager.yml")) as {
      receivers: { name: string; email_configs: Record<string, unknown>[]; webhook_configs: Record<string, unknown>[] }[];
    };
    const [receiver] = am.receivers;
    assert.deepEqual(receiver.email_configs[0], {
      to: "it-oncall@acme-corp.com",
      from: "mail-platform-alerts@acme-corp.com",
      smarthost: "smtp.office365.com:587",
      hello: "monitor.acme-corp.com",
      require_tls: true,
      send_resolved: true,
      auth_username: "mail-platform-alerts@acme-corp.com",
      auth_password: "stand-in relay password",
    });
    assert.deepEqual(receiver.webhook_configs, [{ url: "https://chat.acme-corp.com/hooks/mail-platform-alerts", send_resolved: true }]);
    const modes = uploadModes(monitoring());
    assert.equal(modes["/etc/prometheus/alertmanager.yml"], "0600");
    assert.equal(modes["/etc/prometheus/mysqld.cnf"], "0600");
  });

  it("publishes no port, reads the queue's showq directory, the job metrics and two logs read-only, and writes only its own volume", () => {
    const c = monitoring().inputs;
    assert.deepEqual(c.ports, []);
    const volumes = dataVolumes(c).map((v) => `${v.hostPath} -> ${v.containerPath}${v.readOnly ? " (ro)" : ""}`);
    assert.deepEqual(volumes, [
      "/srv/nvme/mail/monitoring -> /var/lib/prometheus",
      "/srv/nvme/mail/metrics -> /var/lib/mail-platform/metrics",
      "/srv/nvme/mail/queue/public -> /var/spool/postfix/public (ro)",
      "/srv/nvme/mail/.monitoring-disk -> /srv/ssd (ro)",
      "/srv/raid/mail/.monitoring-disk -> /srv/bulk (ro)",
      "/srv/raid/mail/logs/postfix -> /var/log/mail-platform/postfix (ro)",
      "/srv/raid/mail/logs/amavis -> /var/log/mail-platform/amavis (ro)",
    ]);
  });

  it("checks every record of the dns output, hourly by default, as a scheduled job that must report", () => {
    const list = uploadOf(monitoring(), "/etc/mail-platform/dns-check.conf");
    const lines = list.split("\n").filter((l) => l && !l.startsWith("#"));
    assert.equal(lines.length, (run.outputs.dns as unknown[]).length, "one line per record of the dns output");
    assert.ok(lines.includes("acme-corp.com.\tMX\t10 mail.acme-corp.com."), list);
    assert.ok(
      lines.some((l) => /^_25\._tcp\.mail\.acme-corp\.com\.\tTLSA\t3 1 1 [0-9a-f]{64}$/.test(l)),
      list,
    );
    assert.match(uploadOf(monitoring(), "/etc/cron.d/mail-platform"), /^41 \* \* \* \* root run-job dns-check dns-check /m);
    assert.match(uploadOf(monitoring(), "/etc/prometheus/rules/alerts.yml"), /job="dns-check"/);
  });

  it("puts the dashboard on the front behind a password, and keeps the password secret", () => {
    const proxy = containerNamed(run.resources, "proxy");
    const site = uploadOf(proxy, "/etc/nginx/sites/web-app.monitor.acme-corp.com.conf");
    assert.match(site, /proxy_pass \$upstream_app;/);
    assert.match(site, /set \$upstream_app http:\/\/monitoring:9090;/);
    assert.match(site, /auth_basic_user_file \/etc\/nginx\/users\/monitor\.acme-corp\.com\.htpasswd;/);
    assert.match(uploadOf(proxy, "/etc/nginx/users/monitor.acme-corp.com.htpasswd"), /^monitoring:\{SSHA\}[A-Za-z0-9+/=]+\n$/);
    assert.ok(run.secretOutputs.includes("monitoringPassword"), `secret outputs: ${run.secretOutputs.join(", ")}`);
    assert.equal((run.outputs.webUrls as Record<string, string>).monitoring, "https://monitor.acme-corp.com/user/");
  });
});

describe("Monitoring in the dev stack", () => {
  it("is off: no container, no web app, no output", async () => {
    const run = await runProgram(path.join(ROOT, "Pulumi.dev.yaml"), "masked");
    assert.ok(!run.resources.some((r) => r.type === "mail-platform:monitoring:Monitoring"));
    assert.equal((run.outputs.webUrls as Record<string, string>).monitoring, undefined);
  });
});

describe("Monitoring's pieces", () => {
  it("hashes the front's password as nginx's {SSHA}: sha1(password + salt), salt appended, the same on every run", () => {
    const hash = sshaHash("correct horse");
    const raw = Buffer.from(hash.replace(/^\{SSHA\}/, ""), "base64");
    const [digest, salt] = [raw.subarray(0, 20), raw.subarray(20)];
    assert.deepEqual(digest, crypto.createHash("sha1").update("correct horse").update(salt).digest());
    assert.equal(sshaHash("correct horse"), hash);
    assert.notEqual(sshaHash("other"), hash);
  });

  it("refuses a TLS port it has no probe for, or one that speaks another dialect than its number says", () => {
    assert.throws(
      () => tlsProbes([{ service: "postfix", host: "postfix", port: 2525, starttls: "smtp" }]),
      /no probe for postfix port 2525/,
    );
    assert.throws(
      () => tlsProbes([{ service: "dovecot", host: "dovecot", port: 993, starttls: "imap" }]),
      /speaks imap, expected implicit TLS/,
    );
  });
});
