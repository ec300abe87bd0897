// The Monitoring: Prometheus, Alertmanager and the exporters in one container of their own
// (images/monitoring), probing every port the components report, reading Dovecot's and the
// scheduled jobs' metrics, and alerting through the company's relay or webhook. It publishes no
// port: its dashboard and Prometheus are served by the HTTPS front behind a password.
import * as crypto from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { containerFiles } from "../host/container-files";
import { secretFromFile } from "../host/secret-file";
import { jobMetricsMount } from "../host/scheduled-jobs";
import { componentLogMount } from "../host/component-logs";
import { serviceContainer } from "../host/service-container";
import { DnsRecord } from "../pki/dns-records";
import { Endpoint, PlatformNetworks, SqlEndpoint, TlsEndpoint, WebApp } from "../types";
import { DISK_MARKER_DIR, DISK_MOUNTS, MONITORING_ALIAS, MONITORING_DATA_DIR, POSTFIX_PUBLIC_DIR, PROMETHEUS_PORT } from "./constants";
import { InternalProbe, MONITORING_FILE_MODES, renderMonitoringFiles } from "./render";

const MONITORING_TYPE = "mail-platform:monitoring:Monitoring";

/** Prometheus's UI and the dashboard load only from the front's own origin. */
const MONITORING_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; connect-src 'self'; frame-ancestors 'none'";

export interface MonitoringArgs {
  platform: PlatformConfig;
  /** Image id built from images/monitoring. */
  image: pulumi.Input<string>;
  /** The internal network for every probe and scrape; the edge for the alert relay or webhook. */
  networks: PlatformNetworks;
  /** Every TLS listener of the platform (the daemons' tlsEndpoints). */
  tlsEndpoints: pulumi.Input<TlsEndpoint[]>;
  /** The daemons only the platform talks to, each with the dialect it is probed in. */
  internalProbes: pulumi.Input<InternalProbe[]>;
  /** DovecotStore.metricsEndpoint. */
  dovecotMetrics: pulumi.Input<Endpoint>;
  /** Database.monitoringSql. */
  mysql: pulumi.Input<SqlEndpoint>;
  /** The other containers' scheduled jobs, each expected to report a success. */
  jobs: string[];
  /** The `dns` output: the records its DNS check looks for. */
  dnsRecords: pulumi.Input<DnsRecord[]>;
  /** Ordering only: the daemons it probes, so the first scrape finds them up. */
  startAfter?: pulumi.Input<pulumi.Resource>[];
}

/** nginx's `{SSHA}` form: salted SHA-1, with a salt derived from the password so the file stays the same on every `up`. */
export function sshaHash(password: string): string {
  const salt = crypto.createHmac("sha256", password).update("mail-platform monitoring").digest().subarray(0, 8);
  const digest = crypto.createHash("sha1").update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString("base64")}`;
}

export class Monitoring extends pulumi.ComponentResource {
  /** The dashboard and Prometheus, for the HTTPS front, behind basic auth. */
  public readonly webApp: pulumi.Output<WebApp>;
  /** The password of the front's `monitoring` user (secret). */
  public readonly password: pulumi.Output<string>;
  /** Every file the container receives (secret: the relay's and the exporter's passwords). */
  public readonly files: pulumi.Output<RenderedFiles>;

  constructor(name: string, args: MonitoringArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(MONITORING_TYPE, name, {}, opts);
    const p = args.platform;
    const passwordFile = p.monitoring.alerts.email?.passwordFile;
    const relayPassword = passwordFile ? secretFromFile(passwordFile) : undefined;

    this.files = containerFiles(
      this,
      {
        tlsEndpoints: args.tlsEndpoints,
        internalProbes: args.internalProbes,
        dovecotMetrics: args.dovecotMetrics,
        mysql: args.mysql,
        dnsRecords: args.dnsRecords,
        relayPassword,
      },
      (v) => renderMonitoringFiles({ platform: p, jobs: args.jobs, ...v }),
    );

    serviceContainer(
      `${name}-container`,
      {
        service: "monitoring",
        platform: p,
        image: args.image,
        networks: args.networks,
        alias: MONITORING_ALIAS,
        // The way out to the company's relay or webhook; no port is published.
        edge: true,
        files: this.files,
        fileModes: MONITORING_FILE_MODES,
        envs: [`RETENTION_DAYS=${p.monitoring.retentionDays}`],
        mounts: [
          { hostPath: p.volumePaths.monitoring, containerPath: MONITORING_DATA_DIR },
          // Read for every job's metrics, written for its own (the DNS check).
          jobMetricsMount(p),
          // Only the showq socket's directory: the queue's messages stay out of reach.
          { hostPath: path.posix.join(p.volumePaths.queue, "public"), containerPath: POSTFIX_PUBLIC_DIR, readOnly: true },
          // Empty directories standing for each root's file system: free space, no data.
          { hostPath: path.posix.join(p.storage.ssdRoot, DISK_MARKER_DIR), containerPath: DISK_MOUNTS.ssd, readOnly: true },
          { hostPath: path.posix.join(p.storage.bulkRoot, DISK_MARKER_DIR), containerPath: DISK_MOUNTS.bulk, readOnly: true },
          // The logs the Postfix exporter (deliveries, rejects, SASL failures) and mtail (Amavis's
          // verdicts and scan times) read.
          componentLogMount(p, "postfix", true),
          componentLogMount(p, "amavis", true),
        ],
        memoryMb: 512,
        startPeriodSeconds: 30,
        startAfter: args.startAfter,
      },
      { parent: this },
    );

    const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this });
    this.password = pulumi.secret(password.result);
    this.webApp = pulumi.secret(
      password.result.apply((pw): WebApp => ({
        hostname: p.webHostnames.monitoring,
        upstream: { host: MONITORING_ALIAS, port: PROMETHEUS_PORT },
        csp: MONITORING_CSP,
        basicAuth: { realm: "mail-platform monitoring", user: "monitoring", passwordHash: sshaHash(pw) },
      })),
    );
    this.registerOutputs({ webApp: this.webApp, password: this.password, files: this.files });
  }
}
