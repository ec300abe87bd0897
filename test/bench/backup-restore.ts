// Benchmark of the backup image (images/backup) on generated mail: how long the daily job takes
// and how much room its repository needs for a given amount of mail, and how long a full restore
// of the mailboxes takes. One run measures, on a fresh local repository (a host directory):
//  1. the first, full backup: the wall time of `run-job backup backup-run` in the backup
//     container, and the repository's size afterwards (du -sb) against the data's size;
//  2. a second, incremental backup after ~1% new messages arrived: its wall time and the bytes it
//     added (backup.prom's mailplatform_backup_added_bytes);
//  3. a full restore of the mailboxes from the newest snapshot into a scratch directory (restic
//     restore with the job's own configuration, as backup-lib.sh sets it up): its wall time; the
//     restored files must be the generated ones, path for path and size for size, or it fails.
// The job runs as deployed but without databases (BACKUP_DATABASES empty): the dumps of a small
// stack are a few hundred KiB and would measure MariaDB, not restic. Times are the job's whole
// run (opening the repository, the backup, `forget --prune`, the snapshot list), so they include
// restic's fixed start-up cost, which is what an operator waits for. The data is generated just
// before, so it is read from the page cache: the numbers are restic's (CPU, 2 cores here), not a
// cold disk's.
// The mail looks like real mail so that deduplication and compression are honest: Maildir
// (<root>/example.org/user<k>/Maildir/{cur,new}/<unique name>) of 20 users, RFC 5322 messages
// with text bodies of pseudo-random words, ~20% with a base64 attachment of random bytes. Every
// random choice comes from a seeded generator: two runs (or two machines) back up the same bytes.
//
//   flock /tmp/mp-e2e.lock npm run --silent bench:backup -- [--mib 512] [--runs 1] [--keep] [--json FILE]
//
// --mib: how much mail (MiB, default 512); --runs: repeat everything on fresh repositories and
// report the median, min and max (default 1); --keep: leave the temp directory (data, repositories,
// restores) for a look; --json: also write the results there. The table goes to stdout, progress
// to stderr. The lock keeps the benchmark from sharing the 2 cores with an e2e run.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { parseArgs } from "util";
import {
  BACKUP_CONF_FILE,
  BACKUP_DATA_ROOT,
  BACKUP_JOBS,
  BACKUP_PASSWORD_FILE,
  BACKUP_ROOT,
  RESTORE_DIR,
} from "../../components/backup/constants";
import {
  buildImage,
  createInternalNetwork,
  docker,
  dockerExec,
  dockerExecAsync,
  explain,
  mustDocker,
  removeTestContainers,
  RunResult,
  startTestContainer,
} from "../support/docker";

const PREFIX = `mp-bench-backup-${process.pid}`;
/** The benchmark's own internal network: the backup container reaches nothing, and needs nothing. */
const NETWORK = `${PREFIX}-net`;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** Container paths: the deployment's (components/backup), so the job runs as it does in a stack. */
const MAILBOXES = path.posix.join(BACKUP_DATA_ROOT, "mailboxes");
const REPOSITORY = path.posix.join(BACKUP_ROOT, "repositories", "local");
const METRICS_FILE = "/var/lib/mail-platform/metrics/backup.prom";

const DOMAIN = "example.org";
const USERS = 20;
/** The generator's seed: fixed, so every run and every machine backs up the same bytes. */
const SEED = 20240601;
const ATTACHMENT_SHARE = 0.2;
/** New mail between the two backups, as a share of the messages. */
const INCREMENT_SHARE = 0.01;
const KIB = 1024;

interface Options {
  mib: number;
  runs: number;
  keep: boolean;
  json?: string;
}

/** The generated files (path relative to the mail root -> size): what a restore must give back. */
type Manifest = Map<string, number>;

interface MailSet {
  files: Manifest;
  bytes: number;
  messages: number;
  attachments: number;
}

/** One run's raw measurements, seconds and bytes. */
interface RunMeasurement {
  newMessages: number;
  newBytes: number;
  fullBackupSeconds: number;
  fullAddedBytes: number;
  repositoryBytes: number;
  incrementalSeconds: number;
  incrementalAddedBytes: number;
  repositoryBytesAfterIncremental: number;
  restoreSeconds: number;
  restoredFiles: number;
  restoredBytes: number;
}

function usage(message: string): never {
  console.error(`${message}\nusage: npm run bench:backup -- [--mib N] [--runs N] [--keep] [--json FILE]`);
  process.exit(2);
}

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(value)) usage(`--${name} wants a positive whole number, got '${value}'`);
  return Number(value);
}

function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { mib: { type: "string" }, runs: { type: "string" }, keep: { type: "boolean" }, json: { type: "string" } },
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  // npm runs the script from the package's directory; a relative --json means the caller's.
  const json = values.json === undefined ? undefined : path.resolve(process.env.INIT_CWD ?? process.cwd(), values.json);
  return { mib: positiveInteger("mib", values.mib, 512), runs: positiveInteger("runs", values.runs, 1), keep: values.keep ?? false, json };
}

function progress(message: string): void {
  console.error(`# ${message}`);
}

// ---- the mail ---------------------------------------------------------------------------------

/** mulberry32: a small seeded generator, uniform in [0, 1). Math.random cannot be seeded. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number in [low, high]. */
function between(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** Log-uniform in [low, high]: mail sizes spread over orders of magnitude, most of them small. */
function logUniform(random: () => number, low: number, high: number): number {
  return Math.round(low * Math.pow(high / low, random()));
}

/** Incompressible bytes, reproducible: AES-CTR's keystream under a key derived from the seed and the message. */
function randomBytes(seed: number, message: number, size: number): Buffer {
  const key = crypto.createHash("sha256").update(`${seed}/${message}`).digest().subarray(0, 16);
  return crypto.createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Pseudo-words of 1-3 syllables: text that compresses like prose, without a dictionary file. */
function vocabulary(random: () => number, size: number): string[] {
  const onsets = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "st", "tr", "pl", "ch", "sh", ""];
  const vowels = ["a", "e", "i", "o", "u", "ea", "ou", "ai"];
  const codas = ["", "", "n", "r", "s", "t", "l", "nd", "ng"];
  const pick = (list: string[]) => list[Math.floor(random() * list.length)];
  return Array.from({ length: size }, () => {
    let word = "";
    // Mostly short words, as in prose: 1 syllable half the time, 2 a third, else 3.
    const r = random();
    for (let s = r < 0.5 ? 1 : r < 0.85 ? 2 : 3; s > 0; s--) word += pick(onsets) + pick(vowels) + pick(codas);
    return word;
  });
}

/**
 * About `bytes` of text: sentences of words drawn with a skew towards the first words (as real
 * prose repeats its common words), wrapped at 72 columns, in paragraphs. Never a repeated block:
 * a repeated string would deduplicate and compress far better than mail does.
 */
function textBody(random: () => number, words: string[], bytes: number): string {
  const lines: string[] = [];
  let length = 0;
  const push = (text: string) => {
    lines.push(text);
    length += text.length + 1;
  };
  let line = "";
  let sentence = 0;
  while (length + line.length < bytes) {
    let word = words[Math.floor(Math.pow(random(), 3) * words.length)];
    if (sentence++ === 0) word = word[0].toUpperCase() + word.slice(1);
    const ends = sentence >= 6 && random() < 0.15;
    if (ends) word += random() < 0.1 ? "?" : ".";
    else if (random() < 0.05) word += ",";
    if (line.length + word.length + 1 > 72) {
      push(line);
      line = "";
    }
    line = line ? `${line} ${word}` : word;
    if (!ends) continue;
    sentence = 0;
    // A paragraph ends with a sentence, now and then.
    if (random() < 0.2) {
      push(line);
      push("");
      line = "";
    }
  }
  if (line) push(line);
  return lines.join("\n") + "\n";
}

/** Base64 in 76-column lines, as MIME writes an attachment. */
function base64Lines(data: Buffer): string {
  const text = data.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return lines.join("\n") + "\n";
}

/** RFC 5322 date, e.g. "Tue, 14 Nov 2023 22:13:20 +0000". */
function mailDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString().replace("GMT", "+0000");
}

/** What Postfix and the sender write above the body: the envelope, one Received, the usual fields. */
function headers(random: () => number, words: string[], index: number, user: string, seconds: number): string[] {
  const sender = `${words[between(random, 0, 199)]}@${words[between(random, 0, 49)]}.example.net`;
  const id = crypto.createHash("sha1").update(`${SEED}/${index}`).digest("hex");
  return [
    `Return-Path: <${sender}>`,
    `Delivered-To: ${user}`,
    `Received: from mx.example.net (mx.example.net [192.0.2.${between(random, 1, 254)}])`,
    `\tby mail.${DOMAIN} (Postfix) with ESMTPS id ${id.slice(0, 11).toUpperCase()}`,
    `\tfor <${user}>; ${mailDate(seconds)}`,
    `Date: ${mailDate(seconds - between(random, 1, 30))}`,
    `From: ${sender}`,
    `To: ${user}`,
    `Subject: ${
      textBody(random, words, between(random, 10, 50))
        .trim()
        .split("\n")[0]
    }`,
    `Message-ID: <${id}@example.net>`,
    "MIME-Version: 1.0",
  ];
}

/** One message: text only (2-40 KiB in all), or ATTACHMENT_SHARE of them with 50 KiB-2 MiB of random bytes. */
function message(random: () => number, words: string[], index: number, user: string, seconds: number): { text: string; attached: boolean } {
  const head = headers(random, words, index, user, seconds);
  if (random() >= ATTACHMENT_SHARE) {
    const top = [...head, "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", ""].join("\n");
    return { text: top + textBody(random, words, Math.max(0, logUniform(random, 2 * KIB, 40 * KIB) - top.length)), attached: false };
  }
  const boundary = `=_${crypto.createHash("md5").update(`${SEED}/${index}`).digest("hex")}`;
  const attachment = randomBytes(SEED, index, logUniform(random, 50 * KIB, 2 * MIB));
  const parts = [
    ...head,
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    "",
    "This is a multi-part message in MIME format.",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    textBody(random, words, logUniform(random, 1 * KIB, 8 * KIB)),
    `--${boundary}`,
    `Content-Type: application/octet-stream; name="${words[index % words.length]}-${index}.bin"`,
    `Content-Disposition: attachment; filename="${words[index % words.length]}-${index}.bin"`,
    "Content-Transfer-Encoding: base64",
    "",
    base64Lines(attachment),
    `--${boundary}--`,
    "",
  ];
  return { text: parts.join("\n"), attached: true };
}

/** A Dovecot Maildir name: unique by time, sequence and host; size, virtual (CRLF) size; flags in cur. */
function maildirName(seconds: number, index: number, text: string, seen: boolean): string {
  const size = Buffer.byteLength(text);
  const virtualSize = size + text.split("\n").length - 1;
  return `${seconds}.M${index % 1_000_000}P${1000 + (index % 9000)}Q${index}.mail.${DOMAIN},S=${size},W=${virtualSize}${seen ? ":2,S" : ""}`;
}

/**
 * Writes messages into <root>/example.org/user<k>/Maildir/{cur,new} until `done` says enough,
 * numbering them from `first` (so names and contents never repeat between calls). `delivered`:
 * all of them new, as mail that arrived since the last backup; otherwise 90% read (in cur).
 * It yields after each message, so that a Ctrl-C is handled (and cleaned up) while it writes.
 */
async function writeMail(
  root: string,
  random: () => number,
  words: string[],
  first: number,
  done: (set: MailSet) => boolean,
  delivered = false,
): Promise<MailSet> {
  const set: MailSet = { files: new Map(), bytes: 0, messages: 0, attachments: 0 };
  for (let index = first; !done(set); index++) {
    const user = `user${between(random, 1, USERS)}`;
    const seconds = 1_700_000_000 + index * 900;
    const { text, attached } = message(random, words, index, `${user}@${DOMAIN}`, seconds);
    const seen = !delivered && random() < 0.9;
    const file = path.join(DOMAIN, user, "Maildir", seen ? "cur" : "new", maildirName(seconds, index, text, seen));
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
    // A message's file is as old as its delivery, as Dovecot leaves it.
    fs.utimesSync(path.join(root, file), seconds, seconds);
    set.files.set(file, Buffer.byteLength(text));
    set.bytes += Buffer.byteLength(text);
    set.messages++;
    if (attached) set.attachments++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return set;
}

/** The base data (`mib` of mail) and the increment that arrives before the second backup, written later. */
async function generateMail(root: string, mib: number): Promise<{ base: MailSet; addIncrement: () => Promise<MailSet> }> {
  const words = vocabulary(seededRandom(SEED), 4000);
  const base = await writeMail(root, seededRandom(SEED + 1), words, 0, (s) => s.bytes >= mib * MIB);
  const count = Math.max(1, Math.ceil(base.messages * INCREMENT_SHARE));
  // Its own generator: the same new messages in every run, whatever the base's length.
  const addIncrement = () => writeMail(root, seededRandom(SEED + 2), words, base.messages, (s) => s.messages >= count, true);
  return { base, addIncrement };
}

// ---- the backup container --------------------------------------------------------------------

/** backup.conf as the deployment writes it, minus the databases: one local repository, the mailboxes. */
function backupConf(): string {
  const values = {
    BACKUP_REPOSITORIES: "local",
    REPO_LOCAL: REPOSITORY,
    RESTIC_PASSWORD_FILE: BACKUP_PASSWORD_FILE,
    BACKUP_HOST: "mail-platform",
    BACKUP_DATABASES: "",
    BACKUP_PATHS: MAILBOXES,
    MAILBOXES_PATH: MAILBOXES,
    RESTORE_DIR,
  };
  return Object.entries(values).reduce((conf, [key, value]) => `${conf}${key}='${value}'\n`, "");
}

/** A backup container of its own for one run (a cold restic cache), the mail read-only, the repository and restore on the host. */
async function startBackup(image: string, name: string, mail: string, runDir: string): Promise<void> {
  for (const d of ["repository", "restore"]) fs.mkdirSync(path.join(runDir, d), { recursive: true });
  const mounts = [
    `${mail}:${MAILBOXES}:ro`,
    `${path.join(runDir, "repository")}:${REPOSITORY}`,
    `${path.join(runDir, "restore")}:${RESTORE_DIR}`,
  ];
  await startTestContainer({
    name,
    image,
    network: NETWORK,
    mounts,
    files: { [BACKUP_CONF_FILE]: backupConf(), [BACKUP_PASSWORD_FILE]: `${crypto.randomBytes(16).toString("hex")}\n` },
  });
}

/**
 * Runs `command` in the container, timed from the host; throws with its output unless it succeeds.
 * Not blocking: tsx kills a child that cannot answer a Ctrl-C at once, and the clean-up would not run.
 */
async function timedExec(container: string, what: string, command: string[]): Promise<{ seconds: number; result: RunResult }> {
  const start = performance.now();
  const result = await dockerExecAsync(container, command);
  const seconds = (performance.now() - start) / 1000;
  if (result.code !== 0) throw new Error(`${what} failed in ${container}:\n${explain(result, 3000)}`);
  return { seconds, result };
}

/** The daily job, exactly as cron runs it. */
async function backupJob(container: string, what: string): Promise<number> {
  const { seconds, result } = await timedExec(container, what, ["run-job", BACKUP_JOBS.backup, "backup-run"]);
  if (!/event=backup repository=local result=ok/.test(result.stdout))
    throw new Error(`${what}: no backup in the job's log:\n${explain(result)}`);
  return seconds;
}

/** restic with the job's own configuration (backup-lib.sh), as the restore tools run it. */
function jobRestic(args: string[]): string[] {
  return [
    "sh",
    "-c",
    '. /usr/local/lib/mail-platform/backup-lib.sh && load_config && use_repository local && exec restic "$@"',
    "restic",
    ...args,
  ];
}

/** mailplatform_backup_added_bytes of the job's last run, from its metrics file. */
function addedBytes(container: string): number {
  const prom = mustDocker(["exec", container, "cat", METRICS_FILE]);
  const found = /^mailplatform_backup_added_bytes\{repository="local"\} (\d+)$/m.exec(prom);
  if (!found) throw new Error(`no mailplatform_backup_added_bytes in ${METRICS_FILE}:\n${prom}`);
  return Number(found[1]);
}

/** The repository's apparent size (du -sb), measured inside: restic writes its files readable by root only. */
function repositoryBytes(container: string): number {
  return Number(mustDocker(["exec", container, "du", "-sb", REPOSITORY]).split(/\s/)[0]);
}

// ---- one run -----------------------------------------------------------------------------------

/** Every file below `dir`, relative path -> size. */
function sizes(dir: string): Manifest {
  const found: Manifest = new Map();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    found.set(path.relative(dir, file), fs.statSync(file).size);
  }
  return found;
}

/** Fails unless the restore holds exactly the generated files with their sizes; returns its file count and bytes. */
function verifyRestore(dir: string, expected: Manifest): { files: number; bytes: number } {
  const restored = sizes(dir);
  const wrong = [...expected].filter(([file, size]) => restored.get(file) !== size).map(([file]) => `missing or wrong size: ${file}`);
  wrong.push(...[...restored.keys()].filter((file) => !expected.has(file)).map((file) => `not generated: ${file}`));
  const bytes = [...restored.values()].reduce((a, b) => a + b, 0);
  const generated = [...expected.values()].reduce((a, b) => a + b, 0);
  if (wrong.length || restored.size !== expected.size || bytes !== generated)
    throw new Error(
      `the restore is not the generated data: ${restored.size} files, ${bytes} bytes restored; ${expected.size} files, ${generated} bytes generated\n` +
        wrong.slice(0, 20).join("\n"),
    );
  return { files: restored.size, bytes };
}

/**
 * One measurement on a fresh repository: full backup, the increment, incremental backup, full
 * restore. The increment's files are removed afterwards, so the next run starts from the same data;
 * the repository and restore are emptied unless --keep.
 */
async function measureRun(
  image: string,
  root: string,
  run: number,
  base: MailSet,
  addIncrement: () => Promise<MailSet>,
  keep: boolean,
): Promise<RunMeasurement> {
  const container = `${PREFIX}-run${run}`;
  const runDir = path.join(root, `run${run}`);
  const mail = path.join(root, "mail");
  await startBackup(image, container, mail, runDir);
  let increment: MailSet | undefined;
  try {
    progress(`run ${run}: full backup`);
    const fullBackupSeconds = await backupJob(container, "the full backup");
    const [fullAddedBytes, repoBytes] = [addedBytes(container), repositoryBytes(container)];
    increment = await addIncrement();
    progress(`run ${run}: incremental backup (${increment.messages} new messages, ${(increment.bytes / MIB).toFixed(2)} MiB)`);
    const incrementalSeconds = await backupJob(container, "the incremental backup");
    const [incrementalAddedBytes, repoAfter] = [addedBytes(container), repositoryBytes(container)];
    progress(`run ${run}: full restore`);
    const restore = await timedExec(container, "the restore", jobRestic(["restore", `latest:${MAILBOXES}`, "--target", RESTORE_DIR]));
    const verified = verifyRestore(path.join(runDir, "restore"), new Map([...base.files, ...increment.files]));
    return {
      newMessages: increment.messages,
      newBytes: increment.bytes,
      fullBackupSeconds,
      fullAddedBytes,
      repositoryBytes: repoBytes,
      incrementalSeconds,
      incrementalAddedBytes,
      repositoryBytesAfterIncremental: repoAfter,
      restoreSeconds: restore.seconds,
      restoredFiles: verified.files,
      restoredBytes: verified.bytes,
    };
  } finally {
    for (const file of increment?.files.keys() ?? []) fs.rmSync(path.join(mail, file), { force: true });
    if (!keep) dockerExec(container, ["find", REPOSITORY, RESTORE_DIR, "-mindepth", "1", "-delete"]);
    docker(["rm", "-f", "-v", container]);
  }
}

// ---- the report --------------------------------------------------------------------------------

interface Row {
  label: string;
  key: string;
  decimals: number;
  value: (m: RunMeasurement) => number;
}

/** What the table shows, per run; throughput and seconds per GiB are of the bytes each step handled. */
function rows(base: MailSet): Row[] {
  const dataMiB = base.bytes / MIB;
  return [
    { label: "full backup (s)", key: "fullBackupSeconds", decimals: 2, value: (m) => m.fullBackupSeconds },
    { label: "full backup (MiB/s)", key: "fullBackupMiBPerSecond", decimals: 1, value: (m) => dataMiB / m.fullBackupSeconds },
    { label: "full backup (s/GiB)", key: "fullBackupSecondsPerGiB", decimals: 1, value: (m) => m.fullBackupSeconds / (base.bytes / GIB) },
    { label: "repository (MiB)", key: "repositoryMiB", decimals: 1, value: (m) => m.repositoryBytes / MIB },
    { label: "repository / data", key: "repositoryRatio", decimals: 3, value: (m) => m.repositoryBytes / base.bytes },
    { label: "incremental backup (s)", key: "incrementalSeconds", decimals: 2, value: (m) => m.incrementalSeconds },
    { label: "incremental added (MiB)", key: "incrementalAddedMiB", decimals: 2, value: (m) => m.incrementalAddedBytes / MIB },
    { label: "full restore (s)", key: "restoreSeconds", decimals: 2, value: (m) => m.restoreSeconds },
    { label: "full restore (MiB/s)", key: "restoreMiBPerSecond", decimals: 1, value: (m) => m.restoredBytes / MIB / m.restoreSeconds },
    { label: "full restore (s/GiB)", key: "restoreSecondsPerGiB", decimals: 1, value: (m) => m.restoreSeconds / (m.restoredBytes / GIB) },
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The table: one value per row for one run, median, min and max for more. */
function table(rowList: Row[], runs: RunMeasurement[]): string {
  const heads = runs.length === 1 ? ["value"] : ["median", "min", "max"];
  const cells = rowList.map((row) => {
    const values = runs.map(row.value);
    const shown = runs.length === 1 ? values : [median(values), Math.min(...values), Math.max(...values)];
    return [row.label, ...shown.map((v) => v.toFixed(row.decimals))];
  });
  const width = Math.max(...cells.map((c) => c[0].length));
  const line = (c: string[]) => [c[0].padEnd(width), ...c.slice(1).map((v) => v.padStart(9))].join("  ");
  return [line(["", ...heads]), ...cells.map(line)].join("\n");
}

/** The table's first line: what was backed up (every run backs up the same data and increment). */
function describeData(base: MailSet, runs: RunMeasurement[], restic: string): string {
  return (
    `backup benchmark: ${(base.bytes / MIB).toFixed(1)} MiB in ${base.messages} messages (${USERS} users, ` +
    `${base.attachments} with attachments); increment ${runs[0].newMessages} messages, ${(runs[0].newBytes / MIB).toFixed(2)} MiB; ` +
    `no databases; ${runs.length} run${runs.length === 1 ? "" : "s"}; ${restic}`
  );
}

/** The results for --json: the data, every run's raw numbers, and the table's statistics. */
function jsonReport(options: Options, base: MailSet, runs: RunMeasurement[], restic: string): object {
  const summary = Object.fromEntries(
    rows(base).map((row) => {
      const values = runs.map(row.value);
      return [row.key, { median: median(values), min: Math.min(...values), max: Math.max(...values) }];
    }),
  );
  const data = { bytes: base.bytes, mib: base.bytes / MIB, messages: base.messages, attachments: base.attachments };
  const increment = { bytes: runs[0].newBytes, mib: runs[0].newBytes / MIB, messages: runs[0].newMessages };
  return { restic, seed: SEED, users: USERS, databases: [], options, data, increment, runs, summary };
}

// ---- main --------------------------------------------------------------------------------------

/** What to clean up, also when a run fails or the benchmark is interrupted. */
const state = { root: "", image: "", keep: false, cleaned: false };

/** Removes the containers, the network and (unless --keep) the temp dir; the containers' root-owned files through a container. */
function cleanUp(): void {
  if (state.cleaned) return;
  state.cleaned = true;
  removeTestContainers(PREFIX, NETWORK);
  if (!state.root) return;
  if (state.keep) return progress(`kept ${state.root}`);
  const wipe = ["--entrypoint", "find", state.image, "/bench", "-mindepth", "1", "-delete"];
  if (state.image) docker(["run", "--rm", "--network", "none", "-v", `${state.root}:/bench`, ...wipe]);
  fs.rmSync(state.root, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  state.keep = options.keep;
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => {
      progress(`${signal}: cleaning up`);
      cleanUp();
      process.exit(128 + os.constants.signals[signal]);
    });
  state.root = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}-`));
  const t0 = performance.now();
  const { base, addIncrement } = await generateMail(path.join(state.root, "mail"), options.mib);
  progress(
    `generated ${base.messages} messages, ${(base.bytes / MIB).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  state.image = await buildImage("backup");
  const restic = mustDocker(["run", "--rm", "--network", "none", "--entrypoint", "restic", state.image, "version"]);
  createInternalNetwork(NETWORK, "bench-backup");
  const runs: RunMeasurement[] = [];
  for (let run = 1; run <= options.runs; run++) runs.push(await measureRun(state.image, state.root, run, base, addIncrement, options.keep));
  console.log(`${describeData(base, runs, restic)}\n${table(rows(base), runs)}`);
  if (options.json) fs.writeFileSync(options.json, JSON.stringify(jsonReport(options, base, runs, restic), null, 2) + "\n");
}

main()
  .catch((e: unknown) => {
    console.error(`backup benchmark failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  })
  .finally(cleanUp);
