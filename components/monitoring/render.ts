// Pure renderer of the Monitoring's files: plain values in, container path -> content out. The
// component lifts it over Pulumi outputs; tests call it directly.
import YAML from "yaml";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles, renderTemplates } from "../../render/template";
import { renderSchedule } from "../host/scheduled-jobs";
import { DnsRecord } from "../pki/dns-records";
import { mailClientHostnames } from "../pki/hostnames";
import { Endpoint, SqlEndpoint, TlsEndpoint } from "../types";
import { ALERT_RULES_FILE, DNS_CHECK_FILE, DNS_CHECK_JOB, LOCAL_PORTS, PROMETHEUS_PORT, SECRET_FILES } from "./constants";
import { alertRules } from "./rules";

/** One target of the blackbox exporter. */
export interface Probe {
  /** What the alerts and the dashboard call it: the port's protocol for client ports, the daemon for internal ones. */
  service: string;
  /** `tls`: a port clients reach (its certificate is read too); `internal`: a daemon only the platform talks to. */
  kind: "tls" | "internal";
  /** A module of blackbox.yml. */
  module: string;
  target: Endpoint;
}

/** A daemon port only the platform talks to, probed with `module`. */
export interface InternalProbe {
  service: string;
  module: "smtp_banner" | "clamd" | "spamd" | "tcp_connect";
  endpoint: Endpoint;
}

export interface MonitoringRenderInput {
  platform: PlatformConfig;
  /** Every TLS listener (the daemons' tlsEndpoints). */
  tlsEndpoints: TlsEndpoint[];
  internalProbes: InternalProbe[];
  /** DovecotStore.metricsEndpoint. */
  dovecotMetrics: Endpoint;
  /** Database.monitoringSql. Secret. */
  mysql: SqlEndpoint;
  /** The scheduled jobs of the other containers, which must each report a success. */
  jobs: string[];
  /** The records the stack says to publish (the `dns` output), which the DNS check looks for. */
  dnsRecords: DnsRecord[];
  /** The relay password (secret), when monitoring.alerts.email has a passwordFile. */
  relayPassword?: string;
}

class MonitoringRenderError extends Error {}

/** The protocol each standard client port speaks, which names its probe. */
const CLIENT_PORTS: Record<number, { service: string; starttls?: TlsEndpoint["starttls"] }> = {
  25: { service: "smtp", starttls: "smtp" },
  465: { service: "submissions" },
  587: { service: "submission", starttls: "smtp" },
  143: { service: "imap", starttls: "imap" },
  993: { service: "imaps" },
  110: { service: "pop3", starttls: "pop3" },
  995: { service: "pop3s" },
  4190: { service: "managesieve", starttls: "sieve" },
  443: { service: "https" },
};

/** The blackbox probes of every TLS listener: STARTTLS in its dialect, or implicit TLS (SNI for the front). */
export function tlsProbes(endpoints: TlsEndpoint[]): Probe[] {
  return endpoints.map((e) => {
    const port = CLIENT_PORTS[e.port];
    if (!port) throw new MonitoringRenderError(`tlsEndpoints: no probe for ${e.service} port ${e.port}; name its protocol in CLIENT_PORTS`);
    if (port.starttls !== e.starttls)
      throw new MonitoringRenderError(
        `tlsEndpoints: ${e.service} port ${e.port} speaks ${e.starttls ?? "implicit TLS"}, expected ${port.starttls ?? "implicit TLS"}`,
      );
    const module = e.starttls ? `${e.starttls}_starttls` : port.service === "https" ? "tls_front" : "tls";
    return { service: port.service, kind: "tls", module, target: { host: e.host, port: e.port } };
  });
}

/** probes.json: the file_sd list Prometheus's probe job reads, one group per target. */
function probesFile(probes: Probe[]): string {
  const seen = new Set<string>();
  for (const p of probes) {
    if (seen.has(p.service)) throw new MonitoringRenderError(`probes: two probes are called ${p.service}`);
    seen.add(p.service);
  }
  const groups = probes.map((p) => ({
    targets: [`${p.target.host}:${p.target.port}`],
    labels: { service: p.service, kind: p.kind, module: p.module },
  }));
  return JSON.stringify(groups, null, 2);
}

/** Alertmanager's receiver: the relay and/or the webhook; none (the dashboard only) when neither is set. */
function receivers(platform: PlatformConfig, relayPassword: string | undefined): string {
  const { email, webhookUrl } = platform.monitoring.alerts;
  if (email?.passwordFile && relayPassword === undefined)
    throw new MonitoringRenderError("relayPassword: monitoring.alerts.email.passwordFile is set, and its content was not given");
  const receiver = {
    ...(email
      ? {
          email_configs: [
            {
              to: email.to.join(", "),
              from: email.from,
              smarthost: email.smarthost,
              hello: platform.webHostnames.monitoring,
              require_tls: email.requireTls,
              send_resolved: true,
              ...(email.username ? { auth_username: email.username } : {}),
              ...(relayPassword !== undefined ? { auth_password: relayPassword } : {}),
            },
          ],
        }
      : {}),
    ...(webhookUrl ? { webhook_configs: [{ url: webhookUrl, send_resolved: true }] } : {}),
  };
  if (Object.keys(receiver).length === 0)
    return "    # monitoring.alerts sets neither email nor webhookUrl: alerts show on the dashboard only.";
  return YAML.stringify(receiver)
    .trimEnd()
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
}

export function renderMonitoringFiles(input: MonitoringRenderInput): RenderedFiles {
  const p = input.platform;
  const probes = [
    ...tlsProbes(input.tlsEndpoints),
    ...input.internalProbes.map((i): Probe => ({ service: i.service, kind: "internal", module: i.module, target: i.endpoint })),
  ];
  const files = renderTemplates("prometheus", {
    "/etc/prometheus/prometheus.yml": {
      scrapeInterval: p.monitoring.scrapeInterval,
      instanceName: p.instanceName,
      rulesFile: ALERT_RULES_FILE,
      prometheusPort: PROMETHEUS_PORT,
      alertmanagerPort: LOCAL_PORTS.alertmanager,
      blackboxPort: LOCAL_PORTS.blackbox,
      nodePort: LOCAL_PORTS.node,
      postfixPort: LOCAL_PORTS.postfix,
      mysqldPort: LOCAL_PORTS.mysqld,
      mtailPort: LOCAL_PORTS.mtail,
      dovecotTargets: JSON.stringify([`${input.dovecotMetrics.host}:${input.dovecotMetrics.port}`]),
    },
    "/etc/prometheus/probes.json": { probes: probesFile(probes) },
    [ALERT_RULES_FILE]: {
      rules: YAML.stringify(
        alertRules({ thresholds: p.monitoring.thresholds, for: p.monitoring.for, jobs: [...input.jobs, DNS_CHECK_JOB] }),
      ),
    },
    "/etc/prometheus/alertmanager.yml": { receivers: receivers(p, input.relayPassword) },
    "/etc/mtail/amavis.mtail": {},
    "/etc/prometheus/blackbox.yml": { heloName: p.webHostnames.monitoring, frontServerName: mailClientHostnames(p.domains[0].name)[0] },
    "/etc/prometheus/mysqld.cnf": {
      host: input.mysql.host,
      port: input.mysql.port,
      user: input.mysql.user,
      password: input.mysql.password,
    },
  });
  files[DNS_CHECK_FILE] = dnsCheckList(input.dnsRecords);
  Object.assign(files, renderSchedule([{ name: DNS_CHECK_JOB, schedule: p.schedules.dnsCheck, command: "dns-check" }]));
  return files;
}

/** images/monitoring/dns-check's input: `name<TAB>type<TAB>value`, one record per line. */
function dnsCheckList(records: DnsRecord[]): string {
  const lines = records.map((r) => {
    if (/[\t\n]/.test(r.name + r.value)) throw new MonitoringRenderError(`dnsRecords: ${r.name} ${r.type} holds a tab or a line break`);
    return `${r.name}\t${r.type}\t${r.value}`;
  });
  return ["# The records the stack's `dns` output says to publish; images/monitoring/dns-check looks each up.", ...lines, ""].join("\n");
}

/** Upload modes: the files with the relay's and the exporter's passwords. */
export const MONITORING_FILE_MODES: Record<string, string> = Object.fromEntries(SECRET_FILES.map((f) => [f, "0600"]));
