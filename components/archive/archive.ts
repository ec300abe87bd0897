// The archive: where a copy of every message the platform accepts goes, with all of its envelope
// recipients. Two modes behind the same `intake` output:
// - external (archive.intake set): an existing archive server, Piler on its own host as
//   companies often run it; nothing is deployed here.
// - built-in (no archive.intake): upstream's Piler image in a container of this host, with its
//   metadata in the platform's MariaDB and its full-text index in the SearchIndex (Manticore).
// Either way Amavis's archiving quarantine sends the copies (components/contentfilter/render.ts).
// The built-in configuration is rendered by ./render.ts; this file only wires it into a container.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles } from "../../render/template";
import { logToFileUpload } from "../host/component-logs";
import { containerFiles } from "../host/container-files";
import { serviceContainer } from "../host/service-container";
import { ArchiveIntake, Endpoint, PlatformNetworks, SqlEndpoint, WebApp } from "../types";
import { PILER_ALIAS, PILER_DATA_DIRS, PILER_PORTS, PILER_START_SCRIPT } from "./constants";
import { archiveIntake, PILER_FILE_MODES, PILER_KEY_LENGTH, pilerMemoryMb, renderPilerFiles } from "./render";

/**
 * The Piler UI's Content-Security-Policy: its pages use inline scripts and handlers (jQuery,
 * Bootstrap) and open messages in same-origin frames; nothing loads from elsewhere.
 */
export const PILER_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "frame-ancestors 'self'",
  "form-action 'self'",
  "object-src 'none'",
  "base-uri 'self'",
].join("; ");

const ARCHIVE_TYPE = "mail-platform:archive:Archive";

/** What the built-in Piler takes from other components; required exactly when archive.intake is not set. */
interface ArchiveBuiltinArgs {
  /** Piler joins the internal network only, where MariaDB, the SearchIndex, Amavis and the ReverseProxy are. */
  networks: PlatformNetworks;
  /** Database.pilerSql: database `piler` (utf8mb4), its own account with ALL on it. */
  sql: pulumi.Input<SqlEndpoint>;
  /** SearchIndex.sqlEndpoint: Manticore's MySQL protocol. */
  search: pulumi.Input<Endpoint>;
  /** What Piler starts after (Database.ready.server): ordering only, see ServiceContainerArgs.startAfter. */
  startAfter?: pulumi.Input<pulumi.Resource>[];
}

export interface ArchiveArgs {
  platform: PlatformConfig;
  /** The built-in Piler's wiring; leave it out with an external archive (archive.intake). */
  builtin?: ArchiveBuiltinArgs;
}

export class Archive extends pulumi.ComponentResource {
  /** The intake every archive copy is sent to. */
  public readonly intake: pulumi.Output<ArchiveIntake>;
  /** What the ReverseProxy serves: the built-in Piler's UI on web.archiveHostname, proxied to `piler:80`; undefined with an external archive. */
  public readonly webApp?: pulumi.Output<WebApp>;
  /** Password of the built-in Piler's `admin@local` (secret); undefined with an external archive. */
  public readonly adminPassword?: pulumi.Output<string>;
  /** The rendered files uploaded into the Piler container (secret); undefined with an external archive. */
  public readonly files?: pulumi.Output<RenderedFiles>;
  /** The Piler container; undefined with an external archive. */
  public readonly container?: docker.Container;

  constructor(name: string, args: ArchiveArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(ARCHIVE_TYPE, name, {}, opts);
    const platform = args.platform;

    if (platform.archive.intake) {
      if (args.builtin) {
        throw new pulumi.ResourceError(
          "Archive: builtin args given but archive.intake is set; the built-in Piler runs only without an external intake",
          this,
        );
      }
      this.intake = pulumi.output(archiveIntake(platform));
      this.registerOutputs({ intake: this.intake });
      return;
    }
    const builtin = args.builtin;
    if (!builtin) {
      throw new pulumi.ResourceError(
        "Archive: archive.intake is not set, so the built-in Piler runs and needs builtin { networks, sql, search }",
        this,
      );
    }

    // Upstream's image, pinned by archive.image (Debian ships no Piler). Kept locally: `pulumi
    // destroy` or an image change must not delete an image the host may not be able to pull again.
    const image = new docker.RemoteImage(`${name}-image`, { name: platform.archive.image, keepLocally: true }, { parent: this });

    // The key every archived message is encrypted with. In Pulumi's state rather than generated
    // by the image on first start, so every replacement of the container gets the same key: a
    // store without its key cannot be read, and a new key does not open old mail. Never change
    // these arguments (that replaces the resource, and with it the key); back the state up with
    // the store. Printable characters: the upload API carries text, and Piler reads the file's
    // first 56 bytes as the key whatever they are.
    // Protected: `pulumi destroy` or a careless edit stops here instead of losing the archive.
    const pilerKey = new random.RandomPassword(`${name}-key`, { length: PILER_KEY_LENGTH, special: true }, { parent: this, protect: true });
    // Piler's schema creates `admin@local` with a password printed in its documentation; the
    // image's start script replaces its hash on every start when given one.
    const adminPassword = new random.RandomPassword(`${name}-admin`, { length: 24, special: false }, { parent: this });

    this.files = containerFiles(
      this,
      { sql: builtin.sql, search: builtin.search, pilerKey: pilerKey.result, adminPasswordHash: adminPassword.bcryptHash },
      (v) => ({ ...renderPilerFiles({ platform, ...v }), ...logToFileUpload() }),
    );

    // Only what the image's start script requires and is not secret; the password and the admin
    // hash come from the uploaded files (see mail-platform-piler-start).
    const sql = pulumi.output(builtin.sql);
    const search = pulumi.output(builtin.search);
    const env = (key: string, value: pulumi.Output<string>) => pulumi.unsecret(value.apply((v) => `${key}=${v}`));
    const envs = [
      `PILER_HOSTNAME=${platform.webHostnames.archive}`,
      env(
        "MYSQL_HOSTNAME",
        sql.apply((s) => s.host),
      ),
      env(
        "MYSQL_DATABASE",
        sql.apply((s) => s.database),
      ),
      env(
        "MYSQL_USER",
        sql.apply((s) => s.user),
      ),
      env(
        "MANTICORE_HOSTNAME",
        search.apply((s) => s.host),
      ),
      // Real-time index: the start script then neither runs a local indexer nor adds keys to config-site.php.
      "RT=1",
    ];

    // The data on bulk storage, on host paths: they survive every replacement of this container
    // (new image, changed config, `pulumi up` after any change), like the key in the state.
    const archiveRoot = platform.volumePaths.archive;
    const mounts = [
      { hostPath: `${archiveRoot}/store`, containerPath: PILER_DATA_DIRS.store },
      { hostPath: `${archiveRoot}/spool`, containerPath: PILER_DATA_DIRS.spool },
      { hostPath: `${archiveRoot}/error`, containerPath: PILER_DATA_DIRS.error },
    ];

    this.container = serviceContainer(
      `${name}-container`,
      {
        service: "piler",
        platform,
        image: image.imageId,
        // Internal only: Amavis sends the copies there, the ReverseProxy serves the UI from there.
        networks: builtin.networks,
        alias: PILER_ALIAS,
        files: this.files,
        fileModes: PILER_FILE_MODES,
        command: [PILER_START_SCRIPT],
        logFile: "command",
        envs,
        mounts,
        // piler-smtp answering SMTP, as upstream's compose file checks it; 127.0.0.1 is in its
        // access list (Piler adds it), and piler-smtp listens on IPv4 only.
        healthcheck: ["curl", "-s", `smtp://127.0.0.1:${PILER_PORTS.smtp}/`],
        // The start script waits for MariaDB, then creates the schema on the first start.
        startPeriodSeconds: 180,
        memoryMb: pilerMemoryMb(platform),
        startAfter: builtin.startAfter,
      },
      // Never two Pilers on one store, even for a moment.
      { parent: this, deleteBeforeReplace: true },
    );

    // Known without waiting for the container, so Amavis and the ReverseProxy are configured in
    // parallel; until Piler answers, Amavis defers and Postfix keeps the messages queued.
    this.intake = pulumi.output(archiveIntake(platform));
    this.webApp = pulumi.output<WebApp>({
      hostname: platform.webHostnames.archive,
      upstream: { host: PILER_ALIAS, port: PILER_PORTS.http },
      csp: PILER_CSP,
    });
    this.adminPassword = pulumi.secret(adminPassword.result);

    this.registerOutputs({ intake: this.intake, webApp: this.webApp, adminPassword: this.adminPassword, files: this.files });
  }
}
