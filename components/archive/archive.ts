// The archive: where a copy of every message the platform accepts goes, with all of its envelope
// recipients. This release archives to an existing archive server (Piler on its own host, as
// companies often run it); the built-in Piler and its Manticore index come later and will put
// their intake behind the same output.
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { Endpoint } from "../types";

export const ARCHIVE_TYPE = "mail-platform:archive:Archive";

/** Where and to whom archive copies are sent. */
export interface ArchiveIntake {
  /** The archive's SMTP intake (piler-smtp). */
  endpoint: Endpoint;
  /** Envelope recipient of every copy (Piler's archive_address). */
  address: string;
}

export interface ArchiveArgs {
  platform: PlatformConfig;
}

/** The intake and copy address the stack config asks for, with its default applied. */
export function archiveIntake(p: Pick<PlatformConfig, "archive" | "hostname">): ArchiveIntake {
  if (!p.archive.intake) throw new Error("archive.intake is required while the built-in Piler is not shipped (the config validation says so first)");
  return { endpoint: { host: p.archive.intake.host, port: p.archive.intake.port }, address: p.archive.address ?? `archive@${p.hostname}` };
}

export class Archive extends pulumi.ComponentResource {
  /** The intake every archive copy is sent to. */
  public readonly intake: pulumi.Output<ArchiveIntake>;

  constructor(name: string, args: ArchiveArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(ARCHIVE_TYPE, name, {}, opts);
    this.intake = pulumi.output(archiveIntake(args.platform));
    this.registerOutputs({ intake: this.intake });
  }
}
