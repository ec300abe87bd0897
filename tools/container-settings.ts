// What a container is set up with besides its files: every input of its docker.Container except
// the uploads' contents (render.ts writes those as files). render.ts writes it next to the files,
// so `npm run diff` shows a changed port, memory limit, healthcheck or network alias beside the
// changed config files.
import { MASK } from "./mock-run/material";
import type { RegisteredResource } from "./mock-run/run-program";

/** What is read of a registered resource (a narrow view, so a test can make one by hand). */
export type Registered = Pick<RegisteredResource, "inputs" | "secretInputs">;

/** Upload fields that carry a file's content: compared as rendered files, not as settings. */
const CONTENT_FIELDS = new Set(["content", "contentBase64"]);

/**
 * Secret paths that are covered already. Pulumi marks the whole `uploads` list secret when one
 * file in it is, but what is left of an upload here (its path, permissions) is no secret, and the
 * contents are rendered with masked material.
 */
const COVERED_SECRET = /^uploads(\[\d+\](\.(content|contentBase64))?)?$/;

/** The container's inputs with `image` named by what it is built from, ready to be written as JSON. */
export function containerSettings(container: Registered, imagesById: Map<string, Pick<Registered, "inputs">>): unknown {
  const settings: Record<string, unknown> = { ...container.inputs };
  if (Array.isArray(settings.uploads)) {
    settings.uploads = settings.uploads.map((u: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(u).filter(([k]) => !CONTENT_FIELDS.has(k))),
    );
  }
  // The image id is a digest that says nothing in a review; the service and the image's name
  // (which carries the hash of its build context) do.
  const image = imagesById.get(container.inputs.image as string);
  if (image) {
    const service = imageService(image);
    settings.image = { ...(service ? { service } : {}), name: image.inputs.name };
  }
  let masked: unknown = settings;
  for (const p of container.secretInputs) {
    if (!COVERED_SECRET.test(p)) masked = replaceAt(masked, parsePath(p), MASK(`secret input ${p}`));
  }
  return sortKeys(masked);
}

/** The images/ folder a project image is built from (its build label); none for an upstream image. */
export function imageService(image: Pick<Registered, "inputs"> | undefined): string | undefined {
  return image?.inputs.build?.labels?.["mail-platform.service"] as string | undefined;
}

/** `envs[2]`, `healthcheck.tests[0]` -> its keys and indexes. */
function parsePath(p: string): (string | number)[] {
  return [...p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
}

/** A copy of `value` with the part at `path` replaced; a path that is not there changes nothing. */
function replaceAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value) && typeof head === "number" && head < value.length) {
    return value.map((v, i) => (i === head ? replaceAt(v, rest, replacement) : v));
  }
  if (typeof value === "object" && value !== null && typeof head === "string" && head in value) {
    const obj = value as Record<string, unknown>;
    return { ...obj, [head]: replaceAt(obj[head], rest, replacement) };
  }
  return value;
}

/** Keys in a fixed order, so the JSON is byte-for-byte the same for the same settings. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
