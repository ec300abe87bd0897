// Pure renderer of the built-in Piler's configuration (upstream image sutoj/piler 1.4.x): plain
// values in, container path -> file content out. The component lifts it over Pulumi outputs so
// the database password and the encryption key stay secret; tests call it directly.
import { platformPeers } from "../../config/network";
import { PlatformConfig } from "../../config/platform";
import { phpString } from "../../render/literals";
import { RenderedFiles, renderTemplates, TemplateValues } from "../../render/template";
import { LOG_TO_FILE } from "../host/component-logs";
import { ArchiveIntake, Endpoint, SqlEndpoint } from "../types";
import {
  PILER_ALIAS,
  PILER_DATA_DIRS,
  PILER_IMAGE_START_SCRIPT,
  PILER_MYSQL_PORT,
  PILER_PORTS,
  PILER_SECRET_FILES,
  PILER_START_SCRIPT,
} from "./constants";

/** Length of piler.key: Piler reads up to 56 bytes (KEYLEN, Blowfish's longest key). */
export const PILER_KEY_LENGTH = 56;
/** An archive copy is larger than the message: Amavis adds X-Envelope-* and its own headers. */
const COPY_SIZE_HEADROOM = 1.1;

export class ArchiveRenderError extends Error {}

export interface PilerRenderInput {
  platform: Pick<PlatformConfig, "hostname" | "archive" | "limits" | "tuning" | "internalSubnet" | "webHostnames" | "domains">;
  /** Piler's database account (PlatformConfig has no say in it: Database.pilerSql). */
  sql: SqlEndpoint;
  /** The SearchIndex's MySQL-protocol endpoint. */
  search: Endpoint;
  /** Content of /etc/piler/piler.key. */
  pilerKey: string;
  /** crypt(3) hash of the built-in admin's password (bcrypt; PHP's crypt() verifies it). */
  adminPasswordHash: string;
}

/** Envelope recipient of every archive copy: archive.address, else `archive@<hostname>`. */
function archiveAddress(p: Pick<PlatformConfig, "archive" | "hostname">): string {
  return p.archive.address ?? `archive@${p.hostname}`;
}

/** Where archive copies go: archive.intake when set (an archive server elsewhere), else the built-in Piler's piler-smtp. */
export function archiveIntake(p: Pick<PlatformConfig, "archive" | "hostname">): ArchiveIntake {
  const endpoint = p.archive.intake
    ? { host: p.archive.intake.host, port: p.archive.intake.port }
    : { host: PILER_ALIAS, port: PILER_PORTS.smtp };
  return { endpoint, address: archiveAddress(p) };
}

/** piler-smtp's hostid, its HELO name: the domain of the address copies are sent to (Piler's rule). */
function pilerHostid(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1);
}

/** The largest archive copy piler-smtp accepts, in bytes. */
export function pilerMaxMessageSize(limits: PlatformConfig["limits"]): number {
  return Math.ceil(limits.messageSizeMb * 1024 * 1024 * COPY_SIZE_HEADROOM);
}

/** Memory piler-smtp may buffer: one full copy per Amavis child, which each send one at a time. */
function pilerSmtpMemory(p: Pick<PlatformConfig, "limits" | "tuning">): number {
  return p.tuning.amavisChildren * pilerMaxMessageSize(p.limits);
}

/** The container's memory limit in MiB: piler-smtp's buffer plus the daemons, nginx, PHP and the attachment extractors. */
export function pilerMemoryMb(p: Pick<PlatformConfig, "limits" | "tuning">): number {
  return Math.ceil(pilerSmtpMemory(p) / (1024 * 1024)) + 512;
}

/** smtp.acl lines: the internal subnet minus its gateway, as permits (anything else is denied). */
export function pilerAccessList(internalSubnet: string): string[] {
  return platformPeers(internalSubnet).map((cidr) => `${cidr} permit`);
}

/** A piler.conf value: one line, and Piler's parser keeps everything after the first '='. */
function pilerConfValue(key: string, value: string | number): string {
  const s = String(value);
  if (/[\r\n\0]/.test(s)) throw new ArchiveRenderError(`piler.conf ${key}: a value cannot contain a line break`);
  if (s.length > 255) throw new ArchiveRenderError(`piler.conf ${key}: Piler keeps at most 255 characters of a value, got ${s.length}`);
  return s;
}

export function renderPilerFiles(input: PilerRenderInput): RenderedFiles {
  const { platform: p, sql, search, pilerKey, adminPasswordHash } = input;
  if (sql.port !== PILER_MYSQL_PORT) {
    throw new ArchiveRenderError(
      `sql.port ${sql.port}: the Piler image's start script (.my.cnf) and its web UI (DB_HOSTNAME) connect to MariaDB on ${PILER_MYSQL_PORT} only`,
    );
  }
  // Piler refuses a key file of 5 bytes or less (read_key()); the component makes 56.
  if (pilerKey.length <= 5) throw new ArchiveRenderError(`pilerKey: Piler needs more than 5 bytes of key, got ${pilerKey.length}`);
  // The start script puts the hash between single quotes in an UPDATE statement.
  if (!/^[!-~]+$/.test(adminPasswordHash) || /['\\]/.test(adminPasswordHash)) {
    throw new ArchiveRenderError(
      "adminPasswordHash: one word of printable ASCII without quotes or backslashes (a crypt(3) hash), as the start script writes it into an SQL string",
    );
  }
  const address = archiveAddress(p);
  const conf = (values: Record<string, string | number>): TemplateValues =>
    Object.fromEntries(Object.entries(values).map(([k, v]) => [k, pilerConfValue(k, v)]));
  const siteName = p.webHostnames.archive;
  const primaryDomain = p.domains[0].name;

  return renderTemplates("piler", {
    "/etc/piler/piler.conf": conf({
      hostid: pilerHostid(address),
      default_retention_days: p.archive.retentionDays,
      number_of_worker_processes: p.tuning.hostCpus + 1,
      archive_address: address,
      max_message_size: pilerMaxMessageSize(p.limits),
      max_smtp_memory: pilerSmtpMemory(p),
      mysqlhost: sql.host,
      mysqlport: sql.port,
      mysqluser: sql.user,
      mysqlpwd: sql.password,
      mysqldb: sql.database,
      sphxhost: search.host,
      sphxport: search.port,
    }),
    "/etc/piler/smtp.acl": { permitLines: pilerAccessList(p.internalSubnet).join("\n") },
    "/etc/piler/config-site.php": {
      siteName: phpString(siteName),
      siteUrl: phpString(`https://${siteName}/`),
      smtpDomain: phpString(siteName),
      smtpFromAddress: phpString(`no-reply@${siteName}`),
      adminEmail: phpString(`postmaster@${primaryDomain}`),
      dbHostname: phpString(sql.host),
      dbDatabase: phpString(sql.database),
      dbUsername: phpString(sql.user),
      dbPassword: phpString(sql.password),
      sphinxHostname: phpString(`${search.host}:${search.port}`),
    },
    "/etc/piler/piler.key": { pilerKey },
    "/etc/piler/admin-password.hash": { adminPasswordHash },
    [PILER_START_SCRIPT]: {
      dataDirs: Object.values(PILER_DATA_DIRS).join(" "),
      imageStartScript: PILER_IMAGE_START_SCRIPT,
    },
    "/etc/rsyslog.d/10-mail-platform.conf": {},
  });
}

/** Upload modes: secrets 0600 (the start script hands them to piler), the start script executable. */
export const PILER_FILE_MODES: Record<string, string> = {
  ...Object.fromEntries(PILER_SECRET_FILES.map((f) => [f, "0600"])),
  [PILER_START_SCRIPT]: "0755",
  [LOG_TO_FILE]: "0755",
};
