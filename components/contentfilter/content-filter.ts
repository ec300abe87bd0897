// The ContentFilter: Amavis (SpamAssassin in-process, DKIM signing) between Postfix's queue and
// its re-injection listener, clamd for viruses (with freshclam), and spamd for Bayes training.
import * as pulumi from "@pulumi/pulumi";
import { ArchiveIntake } from "../archive/archive";
import { PlatformConfig } from "../../config/platform";
import { serviceContainer } from "../host/service-container";
import { DkimKey, Endpoint, NetworkRef, SqlEndpoint } from "../types";
import {
  AMAVIS_INBOUND_PORT,
  AMAVIS_ORIGINATING_PORT,
  AMAVIS_QUARANTINE_DIR,
  AMAVIS_TEMP_DIR,
  amavisFileModes,
  CLAMD_PORT,
  networkChecksEnabled,
  renderAmavisFiles,
  renderClamavFiles,
  renderSpamdFiles,
  SPAMD_FILE_MODES,
  SPAMD_PORT,
} from "./render";

export const CONTENT_FILTER_TYPE = "mail-platform:filter:ContentFilter";

/** Network aliases on the internal network; the outputs below are the only place others get them. */
export const AMAVIS_ALIAS = "amavis";
export const SPAMD_ALIAS = "spamd";
export const CLAMAV_ALIAS = "clamav";

/** Host directory of Amavis's quarantine: beside the other SSD volumes, so it survives replacement. */
export function quarantineHostPath(platform: Pick<PlatformConfig, "volumePaths">): string {
  return platform.volumePaths.quarantine;
}

export interface ContentFilterArgs {
  platform: PlatformConfig;
  /** Image ids of images/amavis, images/spamd and images/clamav. */
  images: { amavis: pulumi.Input<string>; spamd: pulumi.Input<string>; clamav: pulumi.Input<string> };
  /** Where all three serve the platform. */
  internalNetwork: NetworkRef;
  /** Outbound access: freshclam's mirror, and DNS for Amavis's network tests when they are on. */
  edgeNetwork: NetworkRef;
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
    const internal = (alias: string) => ({ network: args.internalNetwork, aliases: [alias] });
    const edge = { network: args.edgeNetwork, aliases: [] };

    // Plain values, not tied to the containers: Postfix and Amavis point at each other, and a
    // dependency both ways would never resolve. Mail waits in Postfix's queue until Amavis answers.
    const clamd: Endpoint = { host: CLAMAV_ALIAS, port: CLAMD_PORT };
    this.clamdEndpoint = pulumi.output(clamd);
    this.spamdEndpoint = pulumi.output({ host: SPAMD_ALIAS, port: SPAMD_PORT });
    this.inboundFilter = pulumi.output({ host: AMAVIS_ALIAS, port: AMAVIS_INBOUND_PORT });
    this.originatingFilter = pulumi.output({ host: AMAVIS_ALIAS, port: AMAVIS_ORIGINATING_PORT });

    const clamav = serviceContainer(
      `${name}-clamav`,
      {
        dnsResolvers: p.dnsResolvers,
        service: "clamav",
        containerName: `${p.instanceName}-clamav`,
        image: args.images.clamav,
        // The edge network is freshclam's way to its mirror.
        networks: [internal(CLAMAV_ALIAS), edge],
        files: renderClamavFiles({ platform: p }),
        mounts: [{ hostPath: p.volumePaths.virusdb, containerPath: "/var/lib/clamav" }],
        healthcheck: ["clamdscan", "--no-summary", "--ping", "1"],
        // Loading the full official databases (after freshclam's first run) takes a while.
        startPeriodSeconds: 180,
      },
      { parent: this },
    );

    const spamd = serviceContainer(
      `${name}-spamd`,
      {
        startAfter: args.startAfter,
        dnsResolvers: p.dnsResolvers,
        service: "spamd",
        containerName: `${p.instanceName}-spamd`,
        image: args.images.spamd,
        networks: [internal(SPAMD_ALIAS)],
        files: pulumi.output(args.bayesSql).apply((bayesSql) => renderSpamdFiles({ platform: p, bayesSql })),
        fileModes: SPAMD_FILE_MODES,
        healthcheck: ["spamc", "-K"],
        // The entrypoint waits for MariaDB and creates the Bayes tables first.
        startPeriodSeconds: 120,
      },
      { parent: this },
    );

    const amavis = serviceContainer(
      `${name}-amavis`,
      {
        startAfter: args.startAfter,
        dnsResolvers: p.dnsResolvers,
        service: "amavis",
        containerName: `${p.instanceName}-amavis`,
        image: args.images.amavis,
        // Network tests need DNS answers from the Internet, and an archive server elsewhere is
        // reached from outside, hence the edge network; otherwise Amavis stays internal only.
        networks: networkChecksEnabled(p) || (args.archive && p.archive.intake) ? [internal(AMAVIS_ALIAS), edge] : [internal(AMAVIS_ALIAS)],
        files: pulumi
          .all([args.reinjection, args.bayesSql, args.dkimKeys, args.archive])
          .apply(([reinjection, bayesSql, dkimKeys, archive]) => renderAmavisFiles({ platform: p, reinjection, clamd, bayesSql, dkimKeys, archive })),
        fileModes: amavisFileModes(p),
        tmpfs: { [AMAVIS_TEMP_DIR]: `size=${p.tuning.amavisTmpMb}m,mode=0750,noexec,nosuid,nodev` },
        mounts: [{ hostPath: quarantineHostPath(p), containerPath: AMAVIS_QUARANTINE_DIR }],
        healthcheck: ["/usr/local/bin/healthcheck"],
        // Amavis finishes the message in hand before it exits.
        stopTimeoutSeconds: 60,
      },
      // Started after its scanner and after spamd has created the Bayes tables.
      { parent: this, dependsOn: [clamav, spamd] },
    );

    this.registerOutputs({
      inboundFilter: this.inboundFilter,
      originatingFilter: this.originatingFilter,
      spamdEndpoint: this.spamdEndpoint,
      clamdEndpoint: this.clamdEndpoint,
      containers: { amavis: amavis.name, spamd: spamd.name, clamav: clamav.name },
    });
  }
}
