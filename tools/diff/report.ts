// Turns two renders of a stack into the text `npm run diff` prints: containers added and removed,
// then per container (by name) its settings and files (by path inside the container) as unified
// diffs, then the stack outputs. Everything sorted, so the same change always reads the same.
import type { Rendered, RenderedContainer } from "./rendered";
import { hunks } from "./unified";

export interface Side {
  /** How the side is named in the output: `origin/main (1a2b3c4d5e6f)`, `work tree`. */
  label: string;
  rendered: Rendered;
}

/** The name a container's settings go by, among its files (which are absolute paths). */
const SETTINGS = "[container settings]";

const sorted = (names: Iterable<string>): string[] => [...new Set(names)].sort();

/** One entry's diff with headers, or "" when both sides are the same. */
function entryDiff(name: string, before: Buffer | undefined, after: Buffer | undefined, labels: [string, string]): string {
  if (before === undefined ? after === undefined : after !== undefined && before.equals(after)) return "";
  const body = hunks(before, after) || "(empty file)\n";
  const from = before === undefined ? "/dev/null" : name;
  const to = after === undefined ? "/dev/null" : name;
  return `--- ${from}\t${labels[0]}\n+++ ${to}\t${labels[1]}\n${body}`;
}

function containerDiff(
  before: RenderedContainer | undefined,
  after: RenderedContainer | undefined,
  withSettings: boolean,
  labels: [string, string],
): string {
  const settings = (c?: RenderedContainer) => (withSettings && c?.settings !== undefined ? Buffer.from(c.settings) : undefined);
  let out = entryDiff(SETTINGS, settings(before), settings(after), labels);
  for (const file of sorted([...(before?.files.keys() ?? []), ...(after?.files.keys() ?? [])])) {
    out += entryDiff(file, before?.files.get(file), after?.files.get(file), labels);
  }
  return out;
}

/** An output as text: strings as they are (the DNS zone reads as a zone), the rest as JSON. */
function outputText(value: unknown): Buffer | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return Buffer.from(text.endsWith("\n") ? text : `${text}\n`);
}

export interface Report {
  text: string;
  differs: boolean;
}

/** `notes` are printed under the first line, before the diffs. */
export function report(stackFile: string, before: Side, after: Side, notes: string[] = []): Report {
  const labels: [string, string] = [before.label, after.label];
  const b = before.rendered.containers;
  const a = after.rendered.containers;
  const sections: string[] = [];
  const info = [...notes];

  const added = sorted(a.keys()).filter((n) => !b.has(n));
  const removed = sorted(b.keys()).filter((n) => !a.has(n));
  if (added.length) info.push(`containers added: ${added.join(", ")}`);
  if (removed.length) info.push(`containers removed: ${removed.join(", ")}`);

  // A revision whose render.ts predates .settings.json: comparing its nothing with the other
  // side's settings would show every setting as new.
  const hasSettings = (r: Rendered) => [...r.containers.values()].every((c) => c.settings !== undefined);
  const withSettings = hasSettings(before.rendered) && hasSettings(after.rendered);
  if (!withSettings) {
    const side = hasSettings(before.rendered) ? after.label : before.label;
    info.push(`note: ${side} renders no container settings (its tools/render.ts predates them); only files and outputs are compared`);
  }

  for (const name of sorted([...b.keys(), ...a.keys()])) {
    const diff = containerDiff(b.get(name), a.get(name), withSettings, labels);
    const state = !b.has(name) ? " (added)" : !a.has(name) ? " (removed)" : "";
    if (diff) sections.push(`=== container ${name}${state}\n${diff}`);
  }

  const bo = before.rendered.outputs;
  const ao = after.rendered.outputs;
  const outputs = sorted([...Object.keys(bo), ...Object.keys(ao)])
    .map((k) => entryDiff(k, outputText(bo[k]), outputText(ao[k]), labels))
    .join("");
  if (outputs) sections.push(`=== stack outputs\n${outputs}`);

  const differs = sections.length > 0 || added.length > 0 || removed.length > 0;
  const head = differs
    ? `${stackFile}: ${before.label} -> ${after.label}`
    : `${stackFile}: no differences between ${before.label} and ${after.label}`;
  return { text: [head, ...info].join("\n") + "\n" + sections.map((s) => `\n${s}`).join(""), differs };
}
