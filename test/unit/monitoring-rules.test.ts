// The alert rules (components/monitoring/rules.ts) under promtool: every alert fires on the
// condition it stands for and stays quiet just inside its limit, and the stack's thresholds and
// durations are the ones the rules use. Each case below is one promtool test group.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import {
  ALERT_NAMES,
  AlertDurations,
  AlertRule as Rule,
  AlertRuleFile as RuleFile,
  AlertRuleInputs,
  AlertThresholds,
  alertRules,
} from "../../components/monitoring/rules";

const THRESHOLDS: AlertThresholds = {
  deferredMessages: 50,
  oldestDeferredMinutes: 60,
  authFailureRatio: 0.5,
  authFailuresPerMinute: 5,
  amavisScanSeconds: 10,
  clamavSignatureAgeHours: 48,
  spamassassinRulesAgeDays: 3,
  certificateDays: 14,
  diskFreePercent: 10,
  jobSuccessAgeHours: 26,
};
const DURATIONS: AlertDurations = {
  down: "2m",
  queue: "15m",
  auth: "5m",
  filter: "5m",
  signatures: "1h",
  certificate: "1h",
  disk: "10m",
  jobs: "1h",
  dns: "1h",
};
const DEFAULTS: AlertRuleInputs = {
  thresholds: THRESHOLDS,
  for: DURATIONS,
  jobs: ["acme-renewal", "tls-check", "sa-rules", "clamav-signatures", "queue-report"],
};

/** One input series in promtool's notation: `'0+1x20'` is 0, 1, ... 20 at the case's interval. */
interface Series {
  series: string;
  values: string;
}

interface Case {
  alert: string;
  /** What the case shows; promtool prints it when the case fails. */
  name: string;
  series: Series[];
  /** When the alert is evaluated, a promtool duration from 0 (the series' first sample). */
  at: string;
  /** The labels (besides alertname) of each alert firing then; [] for a case where it stays quiet. */
  fires: Record<string, string>[];
  /**
   * What the annotations' templates render to, by template ("$value | humanizeDuration"): the
   * case then checks summary and description too. Without it the case runs on rules whose
   * annotations are dropped (promtool compares them whole or not at all).
   */
  renders?: Record<string, string>;
}

/** The labels of a series selector `name{a="b",...}`, as the alert on it carries them. */
function labelsOf(selector: string): Record<string, string> {
  const body = /\{(.*)\}$/.exec(selector)?.[1] ?? "";
  return Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

const series = (s: string, values: string): Series => ({ series: s, values });
const constant = (s: string, value: number, samples = 200): Series => series(s, `${value}x${samples}`);

const H = 3600;
const DAY = 86400;

// The fixtures: series as the exporters and the jobs' textfiles expose them.
const AMAVIS_PROBE = 'probe_success{job="probe",service="amavis-inbound",kind="internal",instance="amavis:10024"}';
const CLAMD_PROBE = 'probe_success{job="probe",service="clamd",kind="internal",instance="clamav:3310"}';
const SMTP_PROBE = 'probe_success{job="probe",service="smtp",kind="tls",instance="postfix:25"}';
const IMAPS_EXPIRY = 'probe_ssl_earliest_cert_expiry{job="probe",service="imaps",kind="tls",instance="dovecot:993"}';
const NODE = 'job="node",instance="127.0.0.1:9100"';
const POSTFIX = 'job="postfix",instance="127.0.0.1:9154"';
const DOVECOT = 'job="dovecot",instance="dovecot:9900"';
const MTAIL = 'job="mtail",instance="127.0.0.1:3903"';
const OLDEST_DEFERRED = `mailplatform_postfix_deferred_oldest_age_seconds{${NODE}}`;
const CLAMAV_DAILY = `mailplatform_clamav_database_build_timestamp_seconds{${NODE},database="daily"}`;
const CLAMAV_MAIN = `mailplatform_clamav_database_build_timestamp_seconds{${NODE},database="main"}`;
const SA_RELEASE = `mailplatform_sarules_release_timestamp_seconds{${NODE}}`;
const SA_LINT = `mailplatform_sarules_lint_ok{${NODE}}`;
const SERVED = `mailplatform_tls_served_certificate_matches{${NODE},domain="example.com",service="dovecot",port="993"}`;
const ACME = `mailplatform_acme_consecutive_failures{${NODE},domain="example.com"}`;
const jobMetric = (metric: string, job: string) => `mailplatform_job_${metric}{job="${job}",instance="127.0.0.1:9100"}`;
const DNS = `mailplatform_dns_record_matches{${NODE},name="example.com",type="MX"}`;
const DNS_LAST_RUN = `mailplatform_dns_check_last_run_timestamp_seconds{${NODE}}`;
const AM_FAILED = 'alertmanager_notifications_failed_total{job="alertmanager",instance="127.0.0.1:9093",integration="email"}';
const RULE_FAILURES =
  'prometheus_rule_evaluation_failures_total{job="prometheus",instance="127.0.0.1:9090",rule_group="/etc/prometheus/rules/alerts.yml;mail-platform-queue"}';

/** The exporter's buckets, as the Go client spells their bounds. */
const AGE_BUCKETS = ["10", "100", "1000", "10000", "100000", "1e+06", "1e+07", "1e+08", "+Inf"];

/** postfix_showq_message_age_seconds for a deferred queue of messages of these ages (s). */
function deferredQueue(ages: number[], samples = 60): Series[] {
  const buckets = AGE_BUCKETS.map((le) =>
    constant(
      `postfix_showq_message_age_seconds_bucket{${POSTFIX},queue="deferred",le="${le}"}`,
      ages.filter((a) => a <= Number(le)).length,
      samples,
    ),
  );
  return [
    ...buckets,
    constant(`postfix_showq_message_age_seconds_count{${POSTFIX},queue="deferred"}`, ages.length, samples),
    constant(
      `postfix_showq_message_age_seconds_sum{${POSTFIX},queue="deferred"}`,
      ages.reduce((a, b) => a + b, 0),
      samples,
    ),
  ];
}

/** A timestamp gauge whose value is `age` seconds before `at` (seconds from 0), one sample a minute until then. */
const agedAt = (s: string, age: number, at: number) => constant(s, at - age, at / 60 + 1);

const everyJobRan = DEFAULTS.jobs.map((j) => constant(jobMetric("last_run_timestamp_seconds", j), 0, 1700));

const CASES: Case[] = [
  // --- availability
  {
    alert: "ContentFilterDown",
    name: "Amavis down for 5m",
    series: [series(AMAVIS_PROBE, "0x10")],
    at: "5m",
    fires: [{ ...labelsOf(AMAVIS_PROBE), severity: "critical" }],
    renders: { "$labels.service": "amavis-inbound", "$labels.instance": "amavis:10024", $value: "0" },
  },
  { alert: "ContentFilterDown", name: "Amavis down for 4m", series: [series(AMAVIS_PROBE, "1 0x10")], at: "5m", fires: [] },
  {
    alert: "ContentFilterDown",
    name: "clamd down for 5m",
    series: [series(CLAMD_PROBE, "0x10")],
    at: "5m",
    fires: [{ ...labelsOf(CLAMD_PROBE), severity: "critical" }],
  },
  {
    alert: "ServiceDown",
    name: "SMTP down for 2m",
    series: [series(SMTP_PROBE, "0x10")],
    at: "2m",
    fires: [{ ...labelsOf(SMTP_PROBE), severity: "critical" }],
  },
  { alert: "ServiceDown", name: "SMTP down for 1m", series: [series(SMTP_PROBE, "1 0x10")], at: "2m", fires: [] },
  { alert: "ServiceDown", name: "a content filter down is not ServiceDown", series: [series(CLAMD_PROBE, "0x20")], at: "10m", fires: [] },
  {
    alert: "MonitoringTargetDown",
    name: "Dovecot's metrics unreadable for 2m",
    series: [series(`up{${DOVECOT}}`, "0x10")],
    at: "2m",
    fires: [{ job: "dovecot", instance: "dovecot:9900", severity: "warning" }],
  },
  { alert: "MonitoringTargetDown", name: "unreadable for 1m", series: [series(`up{${DOVECOT}}`, "1 0x10")], at: "2m", fires: [] },
  {
    alert: "MonitoringTargetDown",
    name: "a failed probe is not a target down",
    series: [series('up{job="probe",instance="postfix:25"}', "0x20")],
    at: "10m",
    fires: [],
  },

  // --- the queue
  {
    alert: "DeferredQueueGrowing",
    name: "51 deferred for 15m",
    series: deferredQueue(Array(51).fill(300)),
    at: "15m",
    fires: [{ job: "postfix", instance: "127.0.0.1:9154", queue: "deferred", severity: "warning" }],
  },
  { alert: "DeferredQueueGrowing", name: "50 deferred", series: deferredQueue(Array(50).fill(300)), at: "15m", fires: [] },
  {
    alert: "DeferredMessageTooOld",
    name: "showq: one of three deferred messages older than 10000 s",
    series: deferredQueue([30, 3000, 20000]),
    at: "15m",
    fires: [{ job: "postfix", instance: "127.0.0.1:9154", queue: "deferred", source: "showq", severity: "warning" }],
  },
  { alert: "DeferredMessageTooOld", name: "showq: the oldest is 59 min", series: deferredQueue([30, 59 * 60]), at: "15m", fires: [] },
  // The buckets' limitation: 83 min is over the limit but under the next bucket bound (10000 s).
  { alert: "DeferredMessageTooOld", name: "showq: 83 min is not seen", series: deferredQueue([5000]), at: "15m", fires: [] },
  {
    alert: "DeferredMessageTooOld",
    name: "queue report: the oldest is 3601 s",
    series: [constant(OLDEST_DEFERRED, 3601, 30)],
    at: "15m",
    fires: [{ ...labelsOf(OLDEST_DEFERRED), source: "queue-report", severity: "warning" }],
    renders: { "$value | humanizeDuration": "1h 0m 1s" },
  },
  {
    alert: "DeferredMessageTooOld",
    name: "queue report: the oldest is 3600 s",
    series: [constant(OLDEST_DEFERRED, 3600, 30)],
    at: "15m",
    fires: [],
  },

  // --- logins
  {
    alert: "AuthFailureRatioHigh",
    name: "10 failures and 5 successes a minute",
    series: [series(`dovecot_auth_failure_total{${DOVECOT}}`, "0+10x20"), series(`dovecot_auth_success_total{${DOVECOT}}`, "0+5x20")],
    at: "10m",
    fires: [{ severity: "warning" }],
    renders: { "$value | humanizePercentage": "66.67%" },
  },
  {
    alert: "AuthFailureRatioHigh",
    name: "a guessing attack on a Dovecot that never had a successful login",
    series: [series(`dovecot_auth_failure_total{${DOVECOT}}`, "0+10x20")],
    at: "10m",
    fires: [{ severity: "warning" }],
  },
  {
    alert: "AuthFailureRatioHigh",
    name: "half the logins fail",
    series: [series(`dovecot_auth_failure_total{${DOVECOT}}`, "0+10x20"), series(`dovecot_auth_success_total{${DOVECOT}}`, "0+10x20")],
    at: "10m",
    fires: [],
  },
  {
    alert: "AuthFailureRatioHigh",
    // 4, not 5: rate() * 60 of exactly 5 a minute comes out a hair above 5 in floating point.
    name: "every login fails, 4 a minute",
    series: [series(`dovecot_auth_failure_total{${DOVECOT}}`, "0+4x20")],
    at: "10m",
    fires: [],
  },

  // --- Amavis
  {
    alert: "AmavisErrors",
    name: "an error a minute",
    series: [series(`amavis_errors_total{${MTAIL}}`, "0+1x20")],
    at: "10m",
    fires: [{ job: "mtail", instance: "127.0.0.1:3903", severity: "warning" }],
  },
  {
    alert: "AmavisErrors",
    name: "one error 19 minutes ago",
    series: [series(`amavis_errors_total{${MTAIL}}`, "0 1x30")],
    at: "20m",
    fires: [],
  },
  {
    alert: "AmavisSlowScans",
    name: "11 s per message",
    series: [series(`amavis_scan_seconds_sum{${MTAIL}}`, "0+110x20"), series(`amavis_scan_seconds_count{${MTAIL}}`, "0+10x20")],
    at: "10m",
    fires: [{ job: "mtail", instance: "127.0.0.1:3903", severity: "warning" }],
  },
  {
    alert: "AmavisSlowScans",
    name: "10 s per message",
    series: [series(`amavis_scan_seconds_sum{${MTAIL}}`, "0+100x20"), series(`amavis_scan_seconds_count{${MTAIL}}`, "0+10x20")],
    at: "10m",
    fires: [],
  },

  // --- signatures and rules
  {
    alert: "ClamavSignaturesOld",
    name: "daily built 49h10m ago",
    series: [agedAt(CLAMAV_DAILY, 49 * H + 600, 2 * H)],
    at: "2h",
    fires: [{ ...labelsOf(CLAMAV_DAILY), severity: "warning" }],
  },
  {
    alert: "ClamavSignaturesOld",
    name: "daily built 47h59m ago, main a month ago",
    series: [agedAt(CLAMAV_DAILY, 48 * H - 60, 2 * H), agedAt(CLAMAV_MAIN, 30 * DAY, 2 * H)],
    at: "2h",
    fires: [],
  },
  {
    alert: "SpamAssassinRulesOld",
    name: "released 3 days 1h10m ago",
    series: [agedAt(SA_RELEASE, 3 * DAY + H + 600, 2 * H)],
    at: "2h",
    fires: [{ ...labelsOf(SA_RELEASE), severity: "warning" }],
  },
  { alert: "SpamAssassinRulesOld", name: "released 2d23h59m ago", series: [agedAt(SA_RELEASE, 3 * DAY - 60, 2 * H)], at: "2h", fires: [] },
  {
    alert: "SpamAssassinRulesRefused",
    name: "the last update failed its lint",
    series: [constant(SA_LINT, 0, 90)],
    at: "1h",
    fires: [{ ...labelsOf(SA_LINT), severity: "warning" }],
  },
  { alert: "SpamAssassinRulesRefused", name: "the last update passed", series: [constant(SA_LINT, 1, 90)], at: "1h", fires: [] },

  // --- certificates
  {
    alert: "CertificateExpiring",
    name: "IMAPS expires in 13 days",
    series: [constant(IMAPS_EXPIRY, 13 * DAY, 90)],
    at: "1h",
    fires: [{ ...labelsOf(IMAPS_EXPIRY), severity: "warning" }],
  },
  {
    alert: "CertificateExpiring",
    name: "IMAPS expires in 14 days and a minute",
    series: [constant(IMAPS_EXPIRY, 14 * DAY + H + 60, 90)],
    at: "1h",
    fires: [],
  },
  {
    alert: "CertificateServedNotRenewed",
    name: "993 serves another certificate",
    series: [constant(SERVED, 0, 90)],
    at: "1h",
    fires: [{ ...labelsOf(SERVED), severity: "warning" }],
  },
  { alert: "CertificateServedNotRenewed", name: "993 serves the one on disk", series: [constant(SERVED, 1, 90)], at: "1h", fires: [] },
  {
    alert: "AcmeRenewalFailing",
    name: "one failed order",
    series: [constant(ACME, 1, 90)],
    at: "1h",
    fires: [{ ...labelsOf(ACME), severity: "warning" }],
  },
  { alert: "AcmeRenewalFailing", name: "no failed order", series: [constant(ACME, 0, 90)], at: "1h", fires: [] },

  // --- disks
  {
    alert: "DiskNearlyFull",
    name: "the SSD root 9 % free",
    series: [
      constant(`node_filesystem_avail_bytes{${NODE},device="/dev/sda1",fstype="ext4",mountpoint="/srv/ssd"}`, 9e9),
      constant(`node_filesystem_size_bytes{${NODE},device="/dev/sda1",fstype="ext4",mountpoint="/srv/ssd"}`, 100e9),
    ],
    at: "10m",
    fires: [{ ...labelsOf(`x{${NODE},device="/dev/sda1",fstype="ext4",mountpoint="/srv/ssd"}`), severity: "critical" }],
    renders: { "$labels.mountpoint": "/srv/ssd", "$value | humanize": "9" },
  },
  {
    alert: "DiskNearlyFull",
    name: "the bulk root 10 % free, the container's / 1 %",
    series: [
      constant(`node_filesystem_avail_bytes{${NODE},device="/dev/sdb1",fstype="xfs",mountpoint="/srv/bulk"}`, 10e9),
      constant(`node_filesystem_size_bytes{${NODE},device="/dev/sdb1",fstype="xfs",mountpoint="/srv/bulk"}`, 100e9),
      constant(`node_filesystem_avail_bytes{${NODE},device="overlay",fstype="overlay",mountpoint="/"}`, 1e9),
      constant(`node_filesystem_size_bytes{${NODE},device="overlay",fstype="overlay",mountpoint="/"}`, 100e9),
    ],
    at: "10m",
    fires: [],
  },

  // --- scheduled jobs
  {
    alert: "JobFailing",
    name: "sa-rules exited 1",
    series: [constant(jobMetric("exit_code", "sa-rules"), 1, 90)],
    at: "1h",
    fires: [{ job: "sa-rules", instance: "127.0.0.1:9100", severity: "warning" }],
  },
  { alert: "JobFailing", name: "sa-rules exited 0", series: [constant(jobMetric("exit_code", "sa-rules"), 0, 90)], at: "1h", fires: [] },
  {
    alert: "JobNotSucceeding",
    name: "tls-check last succeeded 27h10m ago",
    series: [agedAt(jobMetric("last_success_timestamp_seconds", "tls-check"), 27 * H + 600, 2 * H)],
    at: "2h",
    fires: [{ job: "tls-check", instance: "127.0.0.1:9100", reason: "overdue", severity: "warning" }],
  },
  {
    alert: "JobNotSucceeding",
    name: "tls-check last succeeded 25h59m ago",
    series: [agedAt(jobMetric("last_success_timestamp_seconds", "tls-check"), 26 * H - 60, 2 * H)],
    at: "2h",
    fires: [],
  },
  {
    alert: "JobNotSucceeding",
    name: "acme-renewal ran and never succeeded",
    series: [constant(jobMetric("last_run_timestamp_seconds", "acme-renewal"), 0, 90)],
    at: "1h",
    fires: [{ job: "acme-renewal", instance: "127.0.0.1:9100", reason: "never", severity: "warning" }],
  },
  {
    alert: "JobNotSucceeding",
    name: "acme-renewal ran and succeeded",
    series: [
      constant(jobMetric("last_run_timestamp_seconds", "acme-renewal"), 0, 90),
      constant(jobMetric("last_success_timestamp_seconds", "acme-renewal"), 0, 90),
    ],
    at: "1h",
    fires: [],
  },
  {
    alert: "JobNeverRan",
    name: "every job but queue-report reported a run",
    series: everyJobRan.filter((s) => !s.series.includes('"queue-report"')),
    at: "27h",
    fires: [{ job: "queue-report", severity: "warning" }],
    renders: { $value: "1" },
  },
  { alert: "JobNeverRan", name: "every job reported a run", series: everyJobRan, at: "27h", fires: [] },
  {
    alert: "JobNeverRan",
    name: "a day after a fresh install, a daily job may not have run yet",
    series: everyJobRan.filter((s) => !s.series.includes('"queue-report"')),
    at: "25h",
    fires: [],
  },

  // --- DNS
  {
    alert: "DnsRecordMismatch",
    name: "the MX differs",
    series: [constant(DNS, 0, 90), constant(DNS_LAST_RUN, 1800, 90)],
    at: "1h",
    fires: [{ ...labelsOf(DNS), severity: "warning" }],
    renders: {
      "$labels.name": "example.com",
      "$labels.type": "MX",
      $value: "0",
      'with query "max(mailplatform_dns_check_last_run_timestamp_seconds)" }}{{ . | first | value | humanizeTimestamp }}{{ end':
        "1970-01-01 00:30:00 +0000 UTC",
    },
  },
  {
    alert: "DnsRecordMismatch",
    name: "the MX matches",
    series: [constant(DNS, 1, 90), constant(DNS_LAST_RUN, 1800, 90)],
    at: "1h",
    fires: [],
  },

  // --- the monitoring itself
  {
    alert: "AlertmanagerNotificationsFailing",
    name: "an e-mail fails every minute",
    series: [series(AM_FAILED, "0+1x20")],
    at: "5m",
    fires: [{ ...labelsOf(AM_FAILED), severity: "critical" }],
  },
  {
    alert: "AlertmanagerNotificationsFailing",
    name: "one failure 19 minutes ago",
    series: [series(AM_FAILED, "0 1x30")],
    at: "20m",
    fires: [],
  },
  {
    alert: "PrometheusRuleFailures",
    name: "a rule fails every minute",
    series: [series(RULE_FAILURES, "0+1x20")],
    at: "5m",
    fires: [{ ...labelsOf(RULE_FAILURES), severity: "warning" }],
  },
  { alert: "PrometheusRuleFailures", name: "one failure 19 minutes ago", series: [series(RULE_FAILURES, "0 1x30")], at: "20m", fires: [] },
];

/** With deferredMessages 5, oldestDeferredMinutes 5 and for.queue 1m, the limits the stack gives. */
const TIGHT: AlertRuleInputs = {
  ...DEFAULTS,
  thresholds: { ...DEFAULTS.thresholds, deferredMessages: 5, oldestDeferredMinutes: 5 },
  for: { ...DEFAULTS.for, queue: "1m" },
  jobs: ["only-job"],
};
const DEFERRED_LABELS = { job: "postfix", instance: "127.0.0.1:9154", queue: "deferred", severity: "warning" };
const TIGHT_CASES: Case[] = [
  {
    alert: "DeferredQueueGrowing",
    name: "6 deferred for 1m",
    series: deferredQueue(Array(6).fill(30)),
    at: "1m",
    fires: [DEFERRED_LABELS],
  },
  { alert: "DeferredQueueGrowing", name: "5 deferred", series: deferredQueue(Array(5).fill(30)), at: "10m", fires: [] },
  {
    alert: "DeferredMessageTooOld",
    // 5 min: the first bucket bound at or above it is 1000 s.
    name: "showq: a deferred message of 1001 s",
    series: deferredQueue([1001]),
    at: "1m",
    fires: [{ ...DEFERRED_LABELS, source: "showq" }],
  },
  { alert: "DeferredMessageTooOld", name: "showq: a deferred message of 999 s", series: deferredQueue([999]), at: "10m", fires: [] },
  {
    alert: "DeferredMessageTooOld",
    name: "queue report: the oldest is 301 s",
    series: [constant(OLDEST_DEFERRED, 301, 30)],
    at: "1m",
    fires: [{ ...labelsOf(OLDEST_DEFERRED), source: "queue-report", severity: "warning" }],
  },
  { alert: "JobNeverRan", name: "the stack's one job never ran", series: [], at: "27h", fires: [{ job: "only-job", severity: "warning" }] },
];

function promtool(args: string[]): string {
  try {
    return execFileSync("promtool", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    assert.fail(`promtool ${args.join(" ")} failed:\n${err.stdout ?? ""}${err.stderr ?? err.message}`);
  }
}

/** The rule file of `inputs`. */
const ruleFile = (inputs: AlertRuleInputs) => alertRules(inputs);

/** The same rules without their annotations, for the cases that check labels only. */
function withoutAnnotations(file: RuleFile): object {
  return {
    groups: file.groups.map((g) => ({ ...g, rules: g.rules.map((r) => ({ alert: r.alert, expr: r.expr, for: r.for, labels: r.labels })) })),
  };
}

/** What a template renders to in `c`: each {{ ... }} (or {{ with ... }}...{{ end }}) from c.renders. */
function rendered(template: string, c: Case): string {
  return template.replace(/\{\{ (with .*? \}\}.*?\{\{ end|[^}]*?) \}\}/g, (_, inner: string) => {
    const out = c.renders?.[inner];
    if (out === undefined) assert.fail(`case "${c.name}": no rendering of {{ ${inner} }} given`);
    return out;
  });
}

/** promtool's test file for `cases` against the rules in `rulesPath`. */
function promtoolTests(rulesPath: string, cases: Case[], rules: Rule[]): object {
  return {
    rule_files: [rulesPath],
    evaluation_interval: "1m",
    tests: cases.map((c) => ({
      name: `${c.alert}: ${c.name}`,
      interval: "1m",
      input_series: c.series,
      alert_rule_test: [
        {
          eval_time: c.at,
          alertname: c.alert,
          exp_alerts: c.fires.map((labels) => {
            if (!c.renders) return { exp_labels: labels };
            // The rule whose labels the alert carries (the alerts with two rules tell them by a label).
            const r = rules.find((r) => r.alert === c.alert && Object.entries(r.labels).every(([k, v]) => labels[k] === v));
            assert.ok(r, `case "${c.name}": no rule of ${c.alert} has the labels ${JSON.stringify(labels)}`);
            return {
              exp_labels: labels,
              exp_annotations: { summary: rendered(r.annotations.summary, c), description: rendered(r.annotations.description, c) },
            };
          }),
        },
      ],
    })),
  };
}

/** Writes the rules and the cases to a temporary directory and runs `promtool check rules` and `promtool test rules`. */
function runPromtool(inputs: AlertRuleInputs, cases: Case[]): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-rules-"));
  try {
    const full = ruleFile(inputs);
    const rules = full.groups.flatMap((g) => g.rules);
    fs.writeFileSync(path.join(dir, "alerts.yml"), YAML.stringify(full));
    fs.writeFileSync(path.join(dir, "alerts-labels-only.yml"), YAML.stringify(withoutAnnotations(full)));
    promtool(["check", "rules", path.join(dir, "alerts.yml")]);
    const files = [
      [
        "labels-only.test.yml",
        promtoolTests(
          "alerts-labels-only.yml",
          cases.filter((c) => !c.renders),
          rules,
        ),
      ],
      [
        "annotations.test.yml",
        promtoolTests(
          "alerts.yml",
          cases.filter((c) => c.renders),
          rules,
        ),
      ],
    ] as const;
    for (const [name, content] of files) fs.writeFileSync(path.join(dir, name), YAML.stringify(content));
    promtool(["test", "rules", ...files.map(([name]) => path.join(dir, name))]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("promtool is installed (Debian's prometheus package; scripts/setup-machine.sh)", () => {
  promtool(["--version"]);
});

test("every alert has a case where it fires and one where it stays quiet", () => {
  for (const name of ALERT_NAMES) {
    assert.ok(
      CASES.some((c) => c.alert === name && c.fires.length > 0),
      `${name}: no case where it fires`,
    );
    assert.ok(
      CASES.some((c) => c.alert === name && c.fires.length === 0),
      `${name}: no case where it stays quiet`,
    );
  }
  for (const c of CASES) assert.ok(ALERT_NAMES.includes(c.alert), `case "${c.name}": ${c.alert} is not in ALERT_NAMES`);
  for (const c of CASES) for (const f of c.fires) assert.match(f.severity ?? "", /^(critical|warning)$/, `case "${c.name}": no severity`);
});

test("every rule is one of ALERT_NAMES, with a severity, a summary and a description naming its value", () => {
  const rules = ruleFile(DEFAULTS).groups.flatMap((g) => g.rules);
  assert.deepEqual([...new Set(rules.map((r) => r.alert))].sort(), [...ALERT_NAMES].sort());
  for (const r of rules) {
    assert.match(r.labels.severity, /^(critical|warning)$/, `${r.alert}: severity`);
    assert.ok(r.annotations.summary.length > 0, `${r.alert}: summary`);
    assert.match(r.annotations.description, /\{\{ \$value/, `${r.alert}: the description names the value`);
  }
  const neverRan = rules.filter((r) => r.alert === "JobNeverRan");
  assert.deepEqual(
    neverRan.map((r) => r.labels.job),
    DEFAULTS.jobs,
    "one JobNeverRan rule per job, each with its job label",
  );
});

test("promtool: every alert fires on its condition and stays quiet just inside its limit (the default limits)", () => {
  runPromtool(DEFAULTS, CASES);
});

test("promtool: the stack's thresholds and durations reach the rules", () => {
  runPromtool(TIGHT, TIGHT_CASES);
  const rules = ruleFile(TIGHT).groups.flatMap((g) => g.rules);
  assert.deepEqual(
    rules.filter((r) => r.alert === "JobNeverRan").map((r) => r.labels.job),
    ["only-job"],
    "JobNeverRan follows the stack's jobs",
  );
});

test("no JobNeverRan rule when the stack has no scheduled jobs", () => {
  const rules = ruleFile({ ...DEFAULTS, jobs: [] }).groups.flatMap((g) => g.rules);
  assert.equal(rules.filter((r) => r.alert === "JobNeverRan").length, 0);
});
