// The Prometheus alert rules, from the stack's monitoring.thresholds and monitoring.for. Every
// alert here stands for mail that is lost, delayed or about to be, or for the monitoring itself
// going blind; test/unit/monitoring-rules.test.ts makes each fire and stay quiet with promtool.
import { DISK_MOUNTS } from "./constants";

export interface AlertThresholds {
  deferredMessages: number;
  oldestDeferredMinutes: number;
  authFailureRatio: number;
  authFailuresPerMinute: number;
  amavisScanSeconds: number;
  clamavSignatureAgeHours: number;
  spamassassinRulesAgeDays: number;
  certificateDays: number;
  diskFreePercent: number;
  jobSuccessAgeHours: number;
}

/** Prometheus durations ("2m", "10s"): how long each kind of condition lasts before it alerts. */
export interface AlertDurations {
  down: string;
  queue: string;
  auth: string;
  filter: string;
  signatures: string;
  certificate: string;
  disk: string;
  jobs: string;
  dns: string;
}

export interface AlertRuleInputs {
  thresholds: AlertThresholds;
  for: AlertDurations;
  /** Job names expected to report (scheduled jobs), e.g. ["acme-renewal","tls-check","sa-rules","clamav-signatures","queue-report"]. */
  jobs: string[];
}

/** Every alert name the rules can raise (JobNeverRan only when there are jobs). */
export const ALERT_NAMES: readonly string[] = [
  "ContentFilterDown",
  "ServiceDown",
  "MonitoringTargetDown",
  "DeferredQueueGrowing",
  "DeferredMessageTooOld",
  "AuthFailureRatioHigh",
  "AmavisErrors",
  "AmavisSlowScans",
  "ClamavSignaturesOld",
  "SpamAssassinRulesOld",
  "SpamAssassinRulesRefused",
  "CertificateExpiring",
  "CertificateServedNotRenewed",
  "AcmeRenewalFailing",
  "DiskNearlyFull",
  "JobFailing",
  "JobNotSucceeding",
  "JobNeverRan",
  "DnsRecordMismatch",
  "AlertmanagerNotificationsFailing",
  "PrometheusRuleFailures",
];

type Severity = "critical" | "warning";

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
}

class AlertRuleError extends Error {}

function rule(
  alert: string,
  a: { expr: string; for: string; severity: Severity; summary: string; description: string; labels?: Record<string, string> },
): AlertRule {
  if (!ALERT_NAMES.includes(alert)) throw new AlertRuleError(`alert ${alert} is not in ALERT_NAMES`);
  return {
    alert,
    expr: a.expr,
    for: a.for,
    labels: { severity: a.severity, ...a.labels },
    annotations: { summary: a.summary, description: a.description },
  };
}

/** The services behind Postfix's content_filter: while one is down, Postfix defers every message it would hand it. */
const CONTENT_FILTER_SERVICES = ["amavis-inbound", "amavis-originating", "clamd", "spamd"];

/**
 * The upper bounds of postfix_showq_message_age_seconds's buckets, fixed in the exporter
 * (kumina/postfix_exporter, Debian's prometheus-postfix-exporter: `Buckets: []float64{1e1, 1e2,
 * 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}` in CollectBinaryShowqFromReader); not configurable.
 */
const POSTFIX_AGE_BUCKETS = [1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];

/**
 * A matcher for the `le` of bucket `bound`, however it was spelled: the Go client writes
 * strconv's %g ("10000", "1e+06"), Prometheus 3 normalises it to OpenMetrics ("10000.0").
 */
function leMatcher(bound: number): string {
  const exp = Math.floor(Math.log10(bound));
  const go = exp >= 6 ? `${bound / 10 ** exp}e+${String(exp).padStart(2, "0")}` : String(bound);
  const spellings = go.includes("e") ? [go] : [go, `${go}.0`];
  // PromQL string: a backslash before the regex's `+` and `.`, doubled for the string literal.
  return `le=~"${spellings.map((s) => s.replace(/[.+]/g, (c) => `\\\\${c}`)).join("|")}"`;
}

/** A regex alternative of literal names, for a label matcher. */
const oneOf = (names: readonly string[]) => names.map((n) => n.replace(/[.+*?^$()[\]{}|\\]/g, (c) => `\\\\${c}`)).join("|");

function availability(i: AlertRuleInputs): AlertRule[] {
  const filters = oneOf(CONTENT_FILTER_SERVICES);
  return [
    // Postfix passes every message, in and out, through Amavis, which needs clamd and spamd: with
    // any of them down nothing is lost yet, but all mail sits in the deferred queue until it is back.
    rule("ContentFilterDown", {
      expr: `probe_success{job="probe",service=~"${filters}"} == 0`,
      for: i.for.filter,
      severity: "critical",
      summary: "Content filter {{ $labels.service }} does not answer: all mail is deferring",
      description:
        `The probe of {{ $labels.service }} at {{ $labels.instance }} has failed (probe_success {{ $value }}, expected 1) for ${i.for.filter}. ` +
        "Postfix defers every message it cannot hand to Amavis (and Amavis to clamd and spamd); it retries them once the filter is back. " +
        "Look at that container's state and log; Postfix's deferred queue (`postqueue -p`) shows what is waiting.",
    }),
    // A client port down means senders queue (and eventually bounce) and users cannot read or send;
    // an internal daemon down (LMTP, MariaDB, re-injection) stops delivery at that step.
    rule("ServiceDown", {
      expr: `probe_success{job="probe",service!~"${filters}"} == 0`,
      for: i.for.down,
      severity: "critical",
      summary: "{{ $labels.service }} ({{ $labels.kind }}) does not answer at {{ $labels.instance }}",
      description:
        `The blackbox probe of {{ $labels.service }} at {{ $labels.instance }} has failed (probe_success {{ $value }}, expected 1) for ${i.for.down}. ` +
        "Mail through this port or daemon is refused or waits in a queue. Look at the container behind it " +
        "(its state, health and log) and at probe_duration_seconds for timeouts.",
    }),
    // An exporter that cannot be read silences every alert built on it: the probe job is left out,
    // its failures are ServiceDown's and ContentFilterDown's.
    rule("MonitoringTargetDown", {
      expr: `up{job!="probe"} == 0`,
      for: i.for.down,
      severity: "warning",
      summary: "Prometheus cannot read {{ $labels.job }} at {{ $labels.instance }}",
      description:
        `The scrape of {{ $labels.job }} at {{ $labels.instance }} has failed (up {{ $value }}, expected 1) for ${i.for.down}; ` +
        "the alerts built on its metrics cannot fire meanwhile. Look at Prometheus's targets page and the monitoring container's log " +
        "(for dovecot: Dovecot's metrics listener).",
    }),
  ];
}

function queue(i: AlertRuleInputs): AlertRule[] {
  const t = i.thresholds;
  const limit = t.oldestDeferredMinutes * 60;
  const bucket = POSTFIX_AGE_BUCKETS.find((b) => b >= limit);
  const deferred = `postfix_showq_message_age_seconds_count{queue="deferred"}`;
  return [
    // Mail that piles up deferred is mail not delivered: a remote site refusing, our IP listed, DNS
    // or the content filter broken. Users notice hours later, when it bounces.
    rule("DeferredQueueGrowing", {
      expr: `${deferred} > ${t.deferredMessages}`,
      for: i.for.queue,
      severity: "warning",
      summary: "{{ $value }} messages in Postfix's deferred queue",
      description:
        `Postfix's deferred queue holds {{ $value }} messages, more than ${t.deferredMessages}, for ${i.for.queue}. ` +
        "`qshape deferred` in the Postfix container shows which destinations they wait for, and `postqueue -p` the reasons " +
        "(a remote refusal, a blocklisting of our address, DNS, the content filter).",
    }),
    // One message stuck for hours is a delay someone waits for even when the queue is short.
    // The exporter's buckets are decades (10 s ... 1e8 s), so the histogram can only say "older
    // than the first bucket bound at or above the limit" (10000 s, 2 h 47 min, for 60 min): it
    // never fires early but may fire late. The queue report job's gauge has the exact age, as
    // fresh as its last run (about hourly), so both rules raise the same alert (told apart by
    // `source`, which promtool's lint asks for).
    ...(bucket !== undefined
      ? [
          rule("DeferredMessageTooOld", {
            expr: `(${deferred} - ignoring(le) postfix_showq_message_age_seconds_bucket{queue="deferred",${leMatcher(bucket)}}) > 0`,
            for: i.for.queue,
            severity: "warning",
            labels: { source: "showq" },
            summary: "{{ $value }} deferred messages are older than the limit",
            description:
              `{{ $value }} messages in Postfix's deferred queue are older than ${bucket} s (the exporter's first age bucket at or above ` +
              `the limit of ${t.oldestDeferredMinutes} min), for ${i.for.queue}. ` +
              "`postqueue -p` in the Postfix container shows them and why each is waiting; they bounce when maximal_queue_lifetime runs out.",
          }),
        ]
      : []),
    rule("DeferredMessageTooOld", {
      expr: `mailplatform_postfix_deferred_oldest_age_seconds > ${limit}`,
      for: i.for.queue,
      severity: "warning",
      labels: { source: "queue-report" },
      summary: "The oldest deferred message is {{ $value | humanizeDuration }} old",
      description:
        `The queue report found the oldest message in Postfix's deferred queue {{ $value | humanizeDuration }} old, more than ` +
        `${t.oldestDeferredMinutes} min, for ${i.for.queue} (as of the report's last run). ` +
        "`postqueue -p` in the Postfix container shows it and why it is waiting; it bounces when maximal_queue_lifetime runs out.",
    }),
  ];
}

function auth(i: AlertRuleInputs): AlertRule[] {
  const t = i.thresholds;
  const failures = "sum(rate(dovecot_auth_failure_total[5m]))";
  // `or vector(0)`: a brute force against a fresh Dovecot may have no success counter at all yet.
  const successes = "(sum(rate(dovecot_auth_success_total[5m])) or vector(0))";
  return [
    // Password guessing ends in a locked-out or taken-over mailbox, and a taken-over submission
    // login sends spam that gets our address blocklisted: everyone's outgoing mail then defers.
    // Both limits at once, so one user's typo at night does not page anyone.
    rule("AuthFailureRatioHigh", {
      expr: `(${failures} / (${failures} + ${successes})) > ${t.authFailureRatio} and (${failures} * 60) > ${t.authFailuresPerMinute}`,
      for: i.for.auth,
      severity: "warning",
      summary: "{{ $value | humanizePercentage }} of logins fail",
      description:
        `{{ $value | humanizePercentage }} of the logins to Dovecot (IMAP, POP3, SMTP AUTH) failed over 5 min, more than ` +
        `${t.authFailureRatio * 100} %, with more than ${t.authFailuresPerMinute} failures a minute, for ${i.for.auth}. ` +
        "Dovecot's log names the users and client addresses: a guessing attack (block the address) or a client with an old password.",
    }),
  ];
}

function contentFilter(i: AlertRuleInputs): AlertRule[] {
  const t = i.thresholds;
  return [
    // An Amavis error tempfails the message it was scanning: it is deferred and retried, and
    // keeps failing if the cause (a broken decoder, a full temp dir) stays.
    rule("AmavisErrors", {
      expr: "increase(amavis_errors_total[10m]) > 0",
      for: i.for.filter,
      severity: "warning",
      summary: "Amavis logged {{ $value }} errors in 10 minutes",
      description:
        `Amavis logged {{ $value }} errors over the last 10 min (the limit is 0), for ${i.for.filter}; the messages it failed on are deferred. ` +
        "Amavis's log says which step failed (decoder, clamd, spamd, temp directory).",
    }),
    // Slow scans back up Postfix's active queue, then its smtpd processes: senders time out and
    // retry later, so mail arrives late.
    rule("AmavisSlowScans", {
      expr: `rate(amavis_scan_seconds_sum[10m]) / rate(amavis_scan_seconds_count[10m]) > ${t.amavisScanSeconds}`,
      for: i.for.filter,
      severity: "warning",
      summary: "Amavis takes {{ $value | humanize }} s per message",
      description:
        `Amavis's average scan took {{ $value | humanize }} s per message over 10 min, more than ${t.amavisScanSeconds} s, for ${i.for.filter}. ` +
        "Look at the host's CPU and memory, clamd's and spamd's probe durations, and network tests (DNS blocklists, Razor, Pyzor) timing out.",
    }),
  ];
}

function signatures(i: AlertRuleInputs): AlertRule[] {
  const t = i.thresholds;
  return [
    // Old signatures let today's malware campaign through to the mailboxes.
    rule("ClamavSignaturesOld", {
      expr: `time() - mailplatform_clamav_database_build_timestamp_seconds{database="daily"} > ${t.clamavSignatureAgeHours * 3600}`,
      for: i.for.signatures,
      severity: "warning",
      summary: "ClamAV's daily signatures are {{ $value | humanizeDuration }} old",
      description:
        `The daily signature database clamd has loaded was built {{ $value | humanizeDuration }} ago, more than ${t.clamavSignatureAgeHours} h, ` +
        `for ${i.for.signatures}. Look at the clamav-signatures job's log (freshclam: mirror, proxy, rate limit) and whether clamd reloaded.`,
    }),
    // Old rules let new spam through, and miss the score fixes that stop false positives.
    rule("SpamAssassinRulesOld", {
      expr: `time() - mailplatform_sarules_release_timestamp_seconds > ${t.spamassassinRulesAgeDays * 86400}`,
      for: i.for.signatures,
      severity: "warning",
      summary: "SpamAssassin's rules are {{ $value | humanizeDuration }} old",
      description:
        `The SpamAssassin rules Amavis and spamd read were released {{ $value | humanizeDuration }} ago, more than ${t.spamassassinRulesAgeDays} days, ` +
        `for ${i.for.signatures}. Look at the sa-rules job's log (sa-update's channels and keys).`,
    }),
    // A refused update keeps the previous rules (mail is still filtered), but they age from now on.
    rule("SpamAssassinRulesRefused", {
      expr: "mailplatform_sarules_lint_ok == 0",
      for: i.for.signatures,
      severity: "warning",
      summary: "The last SpamAssassin rules update failed its lint",
      description:
        `The rules the last update brought in failed spamassassin --lint (lint_ok {{ $value }}, expected 1), for ${i.for.signatures}; ` +
        "the previous rules stay in use. The sa-rules job's log has the lint's output.",
    }),
  ];
}

function certificates(i: AlertRuleInputs): AlertRule[] {
  const t = i.thresholds;
  return [
    // An expired certificate: clients refuse to log in, and senders that verify (DANE, MTA-STS)
    // defer mail to us until it is fixed.
    rule("CertificateExpiring", {
      expr: `probe_ssl_earliest_cert_expiry{job="probe",kind="tls"} - time() < ${t.certificateDays * 86400}`,
      for: i.for.certificate,
      severity: "warning",
      summary: "The certificate of {{ $labels.service }} expires in {{ $value | humanizeDuration }}",
      description:
        `The certificate served on {{ $labels.service }} at {{ $labels.instance }} expires in {{ $value | humanizeDuration }}, less than ` +
        `${t.certificateDays} days, for ${i.for.certificate}. With ACME, look at the acme-renewal job's log; otherwise install the renewed certificate.`,
    }),
    // A renewed certificate on disk that a daemon does not serve expires all the same.
    rule("CertificateServedNotRenewed", {
      expr: "mailplatform_tls_served_certificate_matches == 0",
      for: i.for.certificate,
      severity: "warning",
      summary: "{{ $labels.service }} port {{ $labels.port }} does not serve {{ $labels.domain }}'s current certificate",
      description:
        `The tls-check job found {{ $labels.service }} on port {{ $labels.port }} serving another certificate for {{ $labels.domain }} than ` +
        `the one on disk (matches {{ $value }}, expected 1), for ${i.for.certificate}. The daemon did not reload it: look at the tls-check ` +
        "job's log and the daemon's.",
    }),
    // Failed orders leave the old certificate in place until it expires.
    rule("AcmeRenewalFailing", {
      expr: "mailplatform_acme_consecutive_failures > 0",
      for: i.for.certificate,
      severity: "warning",
      summary: "ACME orders for {{ $labels.domain }} fail",
      description:
        `{{ $value }} ACME orders for {{ $labels.domain }} failed in a row since its last success (the limit is 0), for ${i.for.certificate}. ` +
        "The acme-renewal job's log has the CA's answer (challenge not reachable, rate limit, DNS).",
    }),
  ];
}

function disk(i: AlertRuleInputs): AlertRule[] {
  const t = i.thresholds;
  const mounts = `mountpoint=~"${oneOf(Object.values(DISK_MOUNTS))}"`;
  return [
    // A full SSD root stops Postfix's queue (it rejects mail with 452) and Dovecot's indexes; a
    // full bulk root stops delivery into the mailboxes.
    rule("DiskNearlyFull", {
      expr: `node_filesystem_avail_bytes{${mounts}} / node_filesystem_size_bytes{${mounts}} * 100 < ${t.diskFreePercent}`,
      for: i.for.disk,
      severity: "critical",
      summary: "{{ $labels.mountpoint }} has {{ $value | humanize }} % free",
      description:
        `The file system of {{ $labels.mountpoint }} has {{ $value | humanize }} % free, less than ${t.diskFreePercent} %, for ${i.for.disk}. ` +
        "When it is full Postfix rejects incoming mail and delivery stops. Look for large mailboxes, the archive spool and the deferred queue.",
    }),
  ];
}

function jobs(i: AlertRuleInputs): AlertRule[] {
  const t = i.thresholds;
  const limit = t.jobSuccessAgeHours * 3600;
  return [
    // The jobs keep signatures, rules and certificates current and report the queue: each one's
    // failure ages something the other alerts only see much later.
    rule("JobFailing", {
      expr: "mailplatform_job_exit_code != 0",
      for: i.for.jobs,
      severity: "warning",
      summary: "Scheduled job {{ $labels.job }} failed",
      description:
        `The last run of {{ $labels.job }} exited with {{ $value }} (expected 0), for ${i.for.jobs}. ` +
        "Its output is in the log of the container that runs it (cron's lines start with the job's name).",
    }),
    rule("JobNotSucceeding", {
      expr: `time() - mailplatform_job_last_success_timestamp_seconds > ${limit}`,
      for: i.for.jobs,
      severity: "warning",
      labels: { reason: "overdue" },
      summary: "Scheduled job {{ $labels.job }} last succeeded {{ $value | humanizeDuration }} ago",
      description:
        `{{ $labels.job }} last succeeded {{ $value | humanizeDuration }} ago, more than ${t.jobSuccessAgeHours} h, for ${i.for.jobs}. ` +
        "Look at its runs in its container's log, and at the container's cron.",
    }),
    // Ran, and has never once succeeded.
    rule("JobNotSucceeding", {
      expr: "mailplatform_job_last_run_timestamp_seconds unless on(job) mailplatform_job_last_success_timestamp_seconds",
      for: i.for.jobs,
      severity: "warning",
      labels: { reason: "never" },
      summary: "Scheduled job {{ $labels.job }} has never succeeded",
      description:
        `{{ $labels.job }} has run (last at {{ $value | humanizeTimestamp }}) but never succeeded, for ${i.for.jobs}. ` +
        "Look at its runs in its container's log.",
    }),
    // A job that never ran reports nothing, so none of the alerts above can fire for it. absent()
    // has no labels of its own to tell the jobs apart: one rule per job, with the job's name set.
    ...i.jobs.map((job) =>
      rule("JobNeverRan", {
        expr: `absent(mailplatform_job_last_run_timestamp_seconds{job="${job}"})`,
        // A daily job first runs up to a day after a fresh install: it gets as long as a job
        // may go without a success, not for.jobs.
        for: `${Math.ceil(i.thresholds.jobSuccessAgeHours * 60)}m`,
        severity: "warning",
        labels: { job },
        summary: `Scheduled job ${job} has never reported a run`,
        description:
          `No run of ${job} has been reported (absent {{ $value }}) for ${i.thresholds.jobSuccessAgeHours} h. ` +
          "Look at its container's schedule (/etc/cron.d/mail-platform) and cron, and at the metrics mount it writes to.",
      }),
    ),
  ];
}

function dns(i: AlertRuleInputs): AlertRule[] {
  return [
    // A wrong MX, SPF, DKIM or DMARC record: other sites send to the wrong place, or mark our mail
    // as spam or refuse it.
    rule("DnsRecordMismatch", {
      expr: "mailplatform_dns_record_matches == 0",
      for: i.for.dns,
      severity: "warning",
      summary: "DNS record {{ $labels.name }} {{ $labels.type }} differs from the stack's",
      description:
        `The published {{ $labels.type }} record of {{ $labels.name }} does not match the stack's dns output (matches {{ $value }}, expected 1), ` +
        `for ${i.for.dns}; checked at {{ with query "max(mailplatform_dns_check_last_run_timestamp_seconds)" }}{{ . | first | value | humanizeTimestamp }}{{ end }}. ` +
        "Compare `pulumi stack output dns` with the zone at the DNS provider.",
    }),
  ];
}

function monitoring(i: AlertRuleInputs): AlertRule[] {
  return [
    // Alerts that cannot be sent: every other alert is lost with them, and only the dashboard shows it.
    rule("AlertmanagerNotificationsFailing", {
      expr: "rate(alertmanager_notifications_failed_total[10m]) > 0",
      for: i.for.down,
      severity: "critical",
      summary: "Alertmanager cannot send alerts through {{ $labels.integration }}",
      description:
        `Alertmanager's {{ $labels.integration }} notifications failed at {{ $value | humanize }} a second over 10 min (the limit is 0), for ${i.for.down}; ` +
        "alerts do not reach the operator. Alertmanager's log has the relay's or webhook's answer (credentials, TLS, address).",
    }),
    // A rule that cannot be evaluated is an alert that can never fire.
    rule("PrometheusRuleFailures", {
      expr: "rate(prometheus_rule_evaluation_failures_total[5m]) > 0",
      for: i.for.down,
      severity: "warning",
      summary: "Prometheus fails to evaluate rules of {{ $labels.rule_group }}",
      description:
        `Rules of {{ $labels.rule_group }} failed to evaluate at {{ $value | humanize }} a second over 5 min (the limit is 0), for ${i.for.down}; ` +
        "their alerts cannot fire. Prometheus's log and its rules page name the rule and the error.",
    }),
  ];
}

/** The rule file as a JS object ({ groups }), to be YAML-stringified. */
/** A Prometheus rule file. */
export interface AlertRuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}

export function alertRules(i: AlertRuleInputs): AlertRuleFile {
  const groups: [string, AlertRule[]][] = [
    ["availability", availability(i)],
    ["queue", queue(i)],
    ["auth", auth(i)],
    ["content-filter", contentFilter(i)],
    ["signatures", signatures(i)],
    ["certificates", certificates(i)],
    ["disk", disk(i)],
    ["jobs", jobs(i)],
    ["dns", dns(i)],
    ["monitoring", monitoring(i)],
  ];
  return { groups: groups.map(([name, rules]) => ({ name: `mail-platform-${name}`, rules })) };
}
