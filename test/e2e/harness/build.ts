// Image builds the way `docker.RemoteImage` with `build.useLegacyBuilder: true` runs them in the
// real provider (kreuzwerker/terraform-provider-docker, legacyBuildDockerImage): the provider tars
// the context itself and POSTs it to the engine's /build with version=2, so BuildKit builds it.
// Building any other way (the CLI's classic builder) would test a different builder, with its own
// layer cache, than the one `pulumi up` uses.
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { Engine } from "./engine";
import { tarArchive, tarEntry } from "./tar";
import { literal } from "../../support/regex";

// ---------------------------------------------------------------------------------------------
// The build context: docker's archive.TarWithOptions with ChownOpts 0:0, after .dockerignore.

/** filepath.Clean for slash paths, which .dockerignore patterns go through before matching. */
function cleanPath(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 ? n.replace(/\/$/, "") : n;
}

/** moby/patternmatcher's translation of a pattern into a regexp (`*`, `?`, `**`, classes, `\` escapes). */
function patternRegex(pattern: string): RegExp {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "*" && pattern[i + 1] === "*") {
      i += pattern[i + 2] === "/" ? 2 : 1;
      re += i === pattern.length - 1 ? ".*" : "(.*/)?";
    } else if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "\\") re += literal(pattern[++i] ?? "\\");
    else if (ch === "[" || ch === "]") re += ch;
    else re += literal(ch);
  }
  return new RegExp(`${re}$`);
}

/** The patterns of `.dockerignore`, read as docker/cli's build.ReadDockerignore reads them. */
function readDockerignore(contextDir: string): string[] {
  const file = path.join(contextDir, ".dockerignore");
  if (!fs.existsSync(file)) return [];
  const out: string[] = [];
  for (const raw of fs
    .readFileSync(file, "utf8")
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)) {
    if (raw.startsWith("#")) continue;
    let p = raw.trim();
    const invert = p.startsWith("!");
    if (invert) p = p.slice(1).trim();
    if (!p) continue;
    p = cleanPath(p);
    if (p.length > 1 && p.startsWith("/")) p = p.slice(1);
    out.push(invert ? `!${p}` : p);
  }
  return out;
}

class Ignore {
  private readonly patterns: { exclusion: boolean; text: string; regex: RegExp }[];

  constructor(private readonly lines: string[]) {
    this.patterns = lines.map((line) => {
      const exclusion = line.startsWith("!");
      const text = cleanPath(exclusion ? line.slice(1) : line);
      return { exclusion, text, regex: patternRegex(text) };
    });
  }

  /** MatchesOrParentMatches: the last pattern that matches the path or one of its parents decides. */
  excludes(rel: string): boolean {
    const parents = rel
      .split("/")
      .slice(0, -1)
      .map((_, i, parts) => parts.slice(0, i + 1).join("/"));
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      if (p.regex.test(rel) || parents.some((d) => p.regex.test(d))) matched = !p.exclusion;
    }
    return matched;
  }

  /** An excluded directory is still walked when an exception (`!dir/file`) may bring back something in it. */
  mayReinclude(dir: string): boolean {
    return this.patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(`${dir}/`));
  }

  /** TrimBuildFilesFromExcludes: the engine needs these two files whatever the patterns say. */
  keep(file: string): Ignore {
    return this.excludes(file) ? new Ignore([...this.lines, `!${file}`]) : this;
  }
}

/** The context's paths, relative, in the order Go's WalkDir visits them (each directory sorted by name). */
function contextPaths(root: string, ignore: Ignore, dir = ""): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(path.join(root, dir)).sort()) {
    const rel = dir ? `${dir}/${name}` : name;
    const excluded = ignore.excludes(rel);
    if (!excluded) out.push(rel);
    if (fs.lstatSync(path.join(root, rel)).isDirectory() && (!excluded || ignore.mayReinclude(rel)))
      out.push(...contextPaths(root, ignore, rel));
  }
  return out;
}

/** One context entry as docker's archive writes it: times truncated to seconds, permission bits only. */
function contextEntry(name: string, st: fs.Stats, data: Buffer): Buffer[] {
  return tarEntry({ name, directory: st.isDirectory(), mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000), data });
}

/**
 * The build context as the provider sends it: a gzip tar of `contextDir` with the `.dockerignore`
 * patterns applied (never to the Dockerfile or .dockerignore), entries owned by 0:0 and named
 * relative to the context, in a fixed order, so the same tree always gives the same bytes.
 */
export function contextTar(contextDir: string, dockerfile = "Dockerfile"): Buffer {
  const ignore = new Ignore(readDockerignore(contextDir)).keep(".dockerignore").keep(cleanPath(dockerfile));
  const blocks: Buffer[] = [];
  for (const rel of contextPaths(contextDir, ignore)) {
    const file = path.join(contextDir, rel);
    const st = fs.lstatSync(file);
    if (st.isDirectory()) blocks.push(...contextEntry(`${rel}/`, st, Buffer.alloc(0)));
    else if (st.isFile()) blocks.push(...contextEntry(rel, st, fs.readFileSync(file)));
    else throw new Error(`${file} is neither a regular file nor a directory; the harness does not pack it into a build context`);
  }
  return zlib.gzipSync(tarArchive(blocks));
}

// ---------------------------------------------------------------------------------------------
// BuildKit's progress: base64 moby.buildkit.v1.StatusResponse messages in the JSON stream.

interface WireField {
  no: number;
  varint?: number;
  bytes?: Buffer;
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  // Multiplication, not shifts: a varint can exceed 32 bits; precision past 2^53 does not matter here.
  for (let scale = 1; pos < buf.length; scale *= 128) {
    const byte = buf[pos++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, pos];
  }
  throw new Error("truncated protobuf varint");
}

/** The protobuf wire format, far enough to list a message's fields; fixed-width fields are skipped. */
export function wireFields(buf: Buffer): WireField[] {
  const out: WireField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, next] = readVarint(buf, pos);
    const no = Math.floor(key / 8);
    pos = next;
    switch (key % 8) {
      case 0: {
        const [varint, after] = readVarint(buf, pos);
        out.push({ no, varint });
        pos = after;
        break;
      }
      case 1:
        pos += 8;
        break;
      case 2: {
        const [length, start] = readVarint(buf, pos);
        if (start + length > buf.length) throw new Error("truncated protobuf field");
        out.push({ no, bytes: buf.subarray(start, start + length) });
        pos = start + length;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`unsupported protobuf wire type ${key % 8}`);
    }
  }
  return out;
}

export interface BuildVertex {
  digest: string;
  name: string;
  cached: boolean;
  error: string;
}

export interface BuildVertexLog {
  vertex: string;
  stream: number;
  msg: Buffer;
}

export interface BuildStatus {
  vertexes: BuildVertex[];
  logs: BuildVertexLog[];
}

const text = (f: WireField | undefined): string => f?.bytes?.toString("utf8") ?? "";

/** StatusResponse {1 vertexes, 2 statuses, 3 logs}: the step names, their errors and their output. */
export function decodeStatus(buf: Buffer): BuildStatus {
  const fields = wireFields(buf);
  const sub = (no: number) => fields.flatMap((f) => (f.no === no && f.bytes ? [wireFields(f.bytes)] : []));
  // Proto3: the last occurrence of a singular field wins.
  const field = (message: WireField[], no: number) => message.filter((f) => f.no === no).pop();
  return {
    vertexes: sub(1).map((v) => ({
      digest: text(field(v, 1)),
      name: text(field(v, 3)),
      cached: !!field(v, 4)?.varint,
      error: text(field(v, 7)),
    })),
    logs: sub(3).map((l) => ({ vertex: text(field(l, 1)), stream: field(l, 3)?.varint ?? 0, msg: field(l, 4)?.bytes ?? Buffer.alloc(0) })),
  };
}

/** What BuildKit printed, numbered by step like `docker build --progress=plain`; only the tail is kept. */
export class BuildLog {
  private readonly steps = new Map<string, number>();
  private readonly failed = new Set<string>();
  private readonly partial = new Map<string, string>();
  private readonly lines: string[] = [];

  constructor(private readonly keep = 1000) {}

  add(status: BuildStatus): void {
    for (const v of status.vertexes) {
      const n = this.step(v.digest, v.name);
      if (v.error && !this.failed.has(v.digest)) {
        this.failed.add(v.digest);
        this.push(`#${n} ERROR: ${v.error}`);
      }
    }
    for (const l of status.logs) {
      const n = this.step(l.vertex, "");
      // A log message is a chunk of the step's output, not a line: complete lines are printed, the rest waits.
      const chunks = ((this.partial.get(l.vertex) ?? "") + l.msg.toString("utf8")).split(/\r?\n/);
      this.partial.set(l.vertex, chunks.pop() ?? "");
      for (const line of chunks) this.push(`#${n} ${line}`);
    }
  }

  /** Lines of the engine's classic `stream` messages (which BuildKit builds rarely send). */
  addText(chunk: string): void {
    for (const line of chunk.split(/\r?\n/)) if (line) this.push(line);
  }

  tail(count = 60): string[] {
    const unfinished = [...this.partial].filter(([, rest]) => rest).map(([digest, rest]) => `#${this.steps.get(digest)} ${rest}`);
    return [...this.lines, ...unfinished].slice(-count);
  }

  private step(digest: string, name: string): number {
    const known = this.steps.get(digest);
    if (known !== undefined) return known;
    const n = this.steps.size + 1;
    this.steps.set(digest, n);
    if (name) this.push(`#${n} ${name}`);
    return n;
  }

  private push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 2 * this.keep) this.lines.splice(0, this.lines.length - this.keep);
  }
}

// ---------------------------------------------------------------------------------------------
// The build itself.

/**
 * Refuses an engine whose images live in containerd's store: there the provider's build fails
 * with a 403 from BuildKit, and the harness must not succeed where `pulumi up` would not.
 */
export async function refuseUnsupportedBuilder(engine: Engine): Promise<void> {
  const info = await engine.call("GET", "/info");
  if (!JSON.stringify(info.DriverStatus ?? []).includes("io.containerd.snapshotter.v1")) return;
  throw new Error(
    [
      `this Docker engine stores images in containerd (storage driver ${info.Driver}, io.containerd.snapshotter.v1).`,
      `The Pulumi Docker provider cannot build images there: its build fails with "failed to read downloaded context:`,
      `failed to load cache key: invalid response status 403" (https://github.com/kreuzwerker/terraform-provider-docker/issues/534).`,
      `Switch the containerd image store off: put "features": {"containerd-snapshotter": false} in /etc/docker/daemon.json`,
      `and restart dockerd, or on Docker Desktop turn off Settings > General > "Use containerd for pulling and storing images".`,
      `Images stored in containerd are not visible afterwards: build the base image again (scripts/base-image.sh).`,
    ].join("\n"),
  );
}

export interface BuildRequest {
  /** The context directory. */
  context: string;
  /** Relative to the context (as the provider sends it); default Dockerfile. */
  dockerfile?: string;
  tag: string;
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
}

function relativeDockerfile(context: string, dockerfile: string): string {
  const rel = path.relative(path.resolve(context), path.resolve(context, dockerfile)).split(path.sep).join("/");
  if (rel.startsWith("../") || path.isAbsolute(rel))
    throw new Error(`the Dockerfile ${dockerfile} is outside the build context ${context}; the harness only builds Dockerfiles inside it`);
  return rel;
}

/**
 * The query the provider's client sends (createImageBuildOptions through the Go client). No
 * `session`: the provider's session only serves secrets, which the platform does not use. No
 * `buildid` either, as the provider sends none: the engine gives each request its own build, so
 * concurrent builds stay apart.
 */
function buildQuery(req: BuildRequest, dockerfile: string): string {
  return new URLSearchParams({
    t: req.tag,
    dockerfile,
    buildargs: JSON.stringify(req.buildArgs ?? {}),
    labels: JSON.stringify(req.labels ?? {}),
    rm: "1",
    version: "2",
  }).toString();
}

function failure(req: BuildRequest, error: string, log: BuildLog): Error {
  const tail = log.tail();
  return new Error(
    `building ${req.tag} from ${req.context} failed: ${error}${tail.length ? `\nthe last ${tail.length} lines BuildKit printed:\n${tail.join("\n")}` : ""}`,
  );
}

/** Builds an image with BuildKit through the engine API, as the provider does; returns the image id. */
export async function buildImage(engine: Engine, req: BuildRequest): Promise<{ imageId: string; seconds: number }> {
  const started = Date.now();
  const dockerfile = relativeDockerfile(req.context, req.dockerfile ?? "Dockerfile");
  const log = new BuildLog();
  let imageId = "";
  let error = "";
  const onLine = (line: string) => {
    if (!line.trim()) return;
    const m = JSON.parse(line);
    if (m.id === "moby.buildkit.trace" && typeof m.aux === "string") log.add(decodeStatus(Buffer.from(m.aux, "base64")));
    else if (m.id === "moby.image.id") imageId = m.aux?.ID ?? "";
    else if (m.error || m.errorDetail) error = m.errorDetail?.message ?? m.error;
    else if (typeof m.stream === "string") log.addText(m.stream);
  };
  try {
    await engine.streamLines(
      "POST",
      `/build?${buildQuery(req, dockerfile)}`,
      contextTar(req.context, dockerfile),
      "application/x-tar",
      onLine,
    );
  } catch (e) {
    throw failure(req, (e as Error).message, log);
  }
  if (error || !imageId) throw failure(req, error || "the engine ended the build without an image id", log);
  return { imageId, seconds: (Date.now() - started) / 1000 };
}
