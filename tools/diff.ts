// npm run diff -- <git ref> [stack file]
// What a change does to the running platform, before anyone deploys it: renders the stack
// (default Pulumi.dev.yaml) at the git revision and in the work tree, under Pulumi's mocks with
// masked secrets, and prints a unified diff of every file each container would receive, of each
// container's settings, and of the stack outputs. Each side is rendered by its own tools/render.ts,
// so a revision renders what its own program would deploy. Exit status as diff(1): 0 the same,
// 1 different, 2 trouble (usage, or a side that does not render).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { NOTHING, render, Rendered, RenderFailed } from "./diff/rendered";
import { report } from "./diff/report";
import { existsAt, materialise, resolveCommit } from "./diff/revision";

const ROOT = path.resolve(__dirname, "..");
const USAGE = "usage: npm run diff -- <git ref> [stack file, default Pulumi.dev.yaml]";

class UsageError extends Error {}

interface Args {
  ref: string;
  /** Relative to the repository root, with forward slashes (the form git names it by). */
  stackFile: string;
}

function parseArgs(argv: string[]): Args {
  if (argv.some((a) => a.startsWith("-"))) throw new UsageError(USAGE);
  const [ref, stack = "Pulumi.dev.yaml", ...extra] = argv;
  if (!ref || extra.length) throw new UsageError(USAGE);
  const rel = path.relative(ROOT, path.resolve(stack));
  if (rel.startsWith("..") || path.isAbsolute(rel))
    throw new UsageError(`the stack file must be inside the repository (${ROOT}): ${stack}`);
  return { ref, stackFile: rel.split(path.sep).join("/") };
}

/** Renders one side, or says which side failed and why. A side without the stack file renders nothing. */
async function renderSide(label: string, tree: string, stackFile: string, present: boolean, outDir: string): Promise<Rendered> {
  if (!present) return NOTHING;
  try {
    return await render(tree, stackFile, outDir);
  } catch (e) {
    const why = e instanceof RenderFailed ? e.message : String(e);
    throw new RenderFailed(`rendering ${stackFile} failed at ${label}:\n${why.replace(/^/gm, "  ")}`);
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const commit = resolveCommit(ROOT, args.ref);
  if (!commit) throw new UsageError(`not a commit in ${ROOT}: ${args.ref}`);
  const short = commit.slice(0, 12);
  const revLabel = args.ref === commit || args.ref === short ? short : `${args.ref} (${short})`;
  const atRevision = existsAt(ROOT, commit, args.stackFile);
  const inWorkTree = fs.existsSync(path.join(ROOT, args.stackFile));
  if (!atRevision && !inWorkTree) throw new UsageError(`${args.stackFile} exists neither at ${revLabel} nor in the work tree`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mp-diff-"));
  // Ctrl-C ends the renders too (same process group); the copy of the revision goes with them.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      fs.rmSync(tmp, { recursive: true, force: true });
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
  try {
    const tree = path.join(tmp, "revision");
    if (atRevision) materialise(ROOT, commit, tree);
    // Side by side: each render is a few seconds of its own node process.
    const settled = await Promise.allSettled([
      renderSide(revLabel, tree, args.stackFile, atRevision, path.join(tmp, "render-revision")),
      renderSide("the work tree", ROOT, args.stackFile, inWorkTree, path.join(tmp, "render-work-tree")),
    ]);
    // Both sides' failures, not just the first: a pull request may break both.
    const failures = settled.flatMap((r) =>
      r.status === "rejected" ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : [],
    );
    if (failures.length) {
      for (const f of failures) console.error(f);
      return 2;
    }
    const [before, after] = settled.map((r) => (r as PromiseFulfilledResult<Rendered>).value);
    const notes = [
      ...(atRevision ? [] : [`note: ${args.stackFile} does not exist at ${revLabel}: everything is new`]),
      ...(inWorkTree ? [] : [`note: ${args.stackFile} does not exist in the work tree: everything is removed`]),
    ];
    const { text, differs } = report(args.stackFile, { label: revLabel, rendered: before }, { label: "work tree", rendered: after }, notes);
    process.stdout.write(text);
    return differs ? 1 : 0;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// process.exitCode, not process.exit(): a long diff piped into another program must not be cut off.
main().then(
  (code) => (process.exitCode = code),
  (e) => {
    console.error(e instanceof UsageError ? e.message : e);
    process.exitCode = 2;
  },
);
