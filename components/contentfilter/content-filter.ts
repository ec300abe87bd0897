// The ContentFilter: Amavis (SpamAssassin in-process, DKIM signing) between Postfix's queue and
// its re-injection listener, clamd for viruses (with the scheduled freshclam job), spamd for Bayes
// training, and the rule updater, whose scheduled sa-update job publishes new SpamAssassin rules
// (compiled and linted) on a host path that Amavis and spamd read and reload from.
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { containerFiles } from "../host/container-files";
import { jobMetricsMount } from "../host/scheduled-jobs";
import { serviceContainer } from "../host/service-container";
import { ArchiveIntake, DkimKey, Endpoint, PlatformNetworks, SqlEndpoint } from "../types";
import {
  AMAVIS_ALIAS,
  AMAVIS_PORTS,
  AMAVIS_QUARANTINE_DIR,
  AMAVIS_TEMP_DIR,
  CLAMAV_ALIAS,
  CLAMAV_DATABASE_DIR,
  CLAMAV_PORTS,
  SA_RULES_DIR,
  SA_RULES_PUBLISH_DIR,
  SA_UPDATE_ALIAS,
  SPAMD_ALIAS,
  SPAMD_PORTS,
} from "./constants";
import {
  amavisFileModes,
  networkChecksEnabled,
  renderAmavisFiles,
  renderClamavFiles,
  renderSaUpdateFiles,
  renderSpamdFiles,
  SPAMD_FILE_MODES,
} from "./render";

const CONTENT_FILTER_TYPE = "mail-platform:filter:ContentFilter";

export interface ContentFilterArgs {
  platform: PlatformConfig;
  /** Image ids of images/amavis, images/spamd, images/clamav and images/sa-update. */
  images: { amavis: pulumi.Input<string>; spamd: pulumi.Input<string>; clamav: pulumi.Input<string>; saUpdate: pulumi.Input<string> };
  /** All serve the platform on the internal network; the edge is freshclam's and sa-update's way to their mirrors, and Amavis's for network tests. */
  networks: PlatformNetworks;
  /** SpamAssassin's Bayes database (read-write). */
  bayesSql: pulumi.Input<SqlEndpoint>;
  /** One DKIM key per configured domain. */
  dkimKeys: pulumi.Input<DkimKey[]>;
  /** Postfix's re-injection listener, where Amavis hands back every scanned message. */
  reinjection: pulumi.Input<Endpoint>;
  /** The archive's intake (Archive.intake); absent when archiving is off. */
  archive?: pulumi.Input<ArchiveIntake>;
  /** What this service starts after (Database.ready): ordering only, see ServiceContainerArgs.startAfter. */
  startAfter?: pulumi.Input<pulumi.Resource>[];
}

export class ContentFilter extends pulumi.ComponentResource {
  /** Amavis's inbound listener (10024): Postfix's content_filter for mail from the Internet. */
  public readonly inboundFilter: pulumi.Output<Endpoint>;
  /** Amavis's ORIGINATING listener (10026): for submitted mail, which it DKIM-signs. */
  public readonly originatingFilter: pulumi.Output<Endpoint>;
  /** spamd (783), which learns spam and ham (spamc -L). */
  public readonly spamdEndpoint: pulumi.Output<Endpoint>;
  /** clamd (3310). */
  public readonly clamdEndpoint: pulumi.Output<Endpoint>;

  constructor(name: string, args: ContentFilterArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(CONTENT_FILTER_TYPE, name, {}, opts);
    const p = args.platform;

    // Plain values, not tied to the containers: Postfix and Amavis point at each other, and a
    // dependency both ways would never resolve. Mail waits in Postfix's queue until Amavis answers.
    const clamd: Endpoint = { host: CLAMAV_ALIAS, port: CLAMAV_PORTS.clamd };
    this.clamdEndpoint = pulumi.output(clamd);
    this.spamdEndpoint = pulumi.output<Endpoint>({ host: SPAMD_ALIAS, port: SPAMD_PORTS.spamd });
    this.inboundFilter = pulumi.output<Endpoint>({ host: AMAVIS_ALIAS, port: AMAVIS_PORTS.inbound });
    this.originatingFilter = pulumi.output<Endpoint>({ host: AMAVIS_ALIAS, port: AMAVIS_PORTS.originating });

    const clamav = serviceContainer(
      `${name}-clamav`,
      {
        service: "clamav",
        platform: p,
        image: args.images.clamav,
        networks: args.networks,
        alias: CLAMAV_ALIAS,
        // freshclam's way to its mirror.
        edge: true,
        files: containerFiles(this, {}, () => renderClamavFiles({ platform: p })),
        mounts: [{ hostPath: p.volumePaths.virusdb, containerPath: CLAMAV_DATABASE_DIR }, jobMetricsMount(p)],
        // Loading the full official databases (after freshclam's first run) takes a while.
        startPeriodSeconds: 180,
      },
      { parent: this },
    );

    // Publishes the rules Amavis and spamd read; they start after its health check, which passes
    // once rules are published (the image's own on a new host path), so they never start without.
    const rules = { hostPath: p.volumePaths.sarules, containerPath: SA_RULES_DIR, readOnly: true };
    const saUpdate = serviceContainer(
      `${name}-sa-update`,
      {
        service: "sa-update",
        platform: p,
        image: args.images.saUpdate,
        networks: args.networks,
        alias: SA_UPDATE_ALIAS,
        // sa-update's way to the channels' DNS records and mirrors.
        edge: true,
        files: containerFiles(this, { bayesSql: args.bayesSql }, ({ bayesSql }) => renderSaUpdateFiles({ platform: p, bayesSql })),
        mounts: [{ hostPath: p.volumePaths.sarules, containerPath: SA_RULES_PUBLISH_DIR }, jobMetricsMount(p)],
      },
      { parent: this },
    );

    const spamd = serviceContainer(
      `${name}-spamd`,
      {
        service: "spamd",
        platform: p,
        image: args.images.spamd,
        networks: args.networks,
        alias: SPAMD_ALIAS,
        files: containerFiles(this, { bayesSql: args.bayesSql }, ({ bayesSql }) => renderSpamdFiles({ platform: p, bayesSql })),
        fileModes: SPAMD_FILE_MODES,
        mounts: [rules, jobMetricsMount(p)],
        // The entrypoint waits for MariaDB and creates the Bayes tables first.
        startPeriodSeconds: 120,
        startAfter: args.startAfter,
      },
      { parent: this, dependsOn: [saUpdate] },
    );

    const amavis = serviceContainer(
      `${name}-amavis`,
      {
        service: "amavis",
        platform: p,
        image: args.images.amavis,
        networks: args.networks,
        alias: AMAVIS_ALIAS,
        // Network tests need DNS answers from the Internet, and an archive server elsewhere is
        // reached from outside; otherwise Amavis stays internal only.
        edge: networkChecksEnabled(p) || Boolean(args.archive && p.archive.intake),
        files: containerFiles(
          this,
          { reinjection: args.reinjection, bayesSql: args.bayesSql, dkimKeys: args.dkimKeys, archive: args.archive },
          (v) => renderAmavisFiles({ platform: p, clamd, ...v }),
        ),
        fileModes: amavisFileModes(p),
        tmpfs: { [AMAVIS_TEMP_DIR]: `size=${p.tuning.amavisTmpMb}m,mode=0750,noexec,nosuid,nodev` },
        mounts: [{ hostPath: p.volumePaths.quarantine, containerPath: AMAVIS_QUARANTINE_DIR }, rules],
        // Amavis finishes the message in hand before it exits.
        stopTimeoutSeconds: 60,
        startAfter: args.startAfter,
      },
      // Started after its scanner, after spamd has created the Bayes tables, and once rules are published.
      { parent: this, dependsOn: [clamav, spamd, saUpdate] },
    );

    this.registerOutputs({
      inboundFilter: this.inboundFilter,
      originatingFilter: this.originatingFilter,
      spamdEndpoint: this.spamdEndpoint,
      clamdEndpoint: this.clamdEndpoint,
      containers: { amavis: amavis.name, spamd: spamd.name, clamav: clamav.name, saUpdate: saUpdate.name },
    });
  }
}
