// The template renderer: `{{ name }}` placeholders, nothing else. It refuses a template that
// names a value it was not given and a value the template never uses, so a renamed placeholder
// or a forgotten setting fails the unit tests instead of reaching a daemon.
import * as fs from "fs";
import * as path from "path";

export const TEMPLATE_ROOT = path.resolve(__dirname, "..", "config-templates");

export type TemplateValues = Record<string, string | number | boolean>;

/** A container path -> content map: what a container receives. */
export type RenderedFiles = Record<string, string>;

/** One rendering of a template at a path of its own (a site per domain, a document per domain). */
export interface TemplateCopy {
  /** Path inside the container. */
  path: string;
  values: TemplateValues;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

export class TemplateError extends Error {}

/** Renders template text; `name` only labels errors. */
export function renderText(name: string, text: string, values: TemplateValues): string {
  const used = new Set<string>();
  const unknown = new Set<string>();
  const out = text.replace(PLACEHOLDER, (_m, key: string) => {
    if (!Object.prototype.hasOwnProperty.call(values, key)) {
      unknown.add(key);
      return "";
    }
    used.add(key);
    return String(values[key]);
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  const errors: string[] = [];
  if (unknown.size) errors.push(`placeholders with no value: ${[...unknown].join(", ")}`);
  if (unused.length) errors.push(`values the template never uses: ${unused.join(", ")}`);
  if (errors.length) throw new TemplateError(`${name}: ${errors.join("; ")}`);
  return out;
}

/**
 * The one way a renderer turns templates into files: every template under
 * `config-templates/<folder>` (a daemon's folder, or a part of it) is rendered. `uses` names a
 * template by its path inside the container, which is its path under the daemon's folder, and
 * gives its values, or the copies to render instead of it; a template without an entry is
 * rendered as it is, with no values. An entry that names no template is refused, as the
 * renderer refuses a placeholder without a value, so a typo cannot drop a setting silently.
 */
export function renderTemplates(folder: string, uses: Record<string, TemplateValues | TemplateCopy[]>): RenderedFiles {
  const templates = new Map(templatesOf(folder).map((t) => [containerPath(t), t]));
  const strays = Object.keys(uses).filter((p) => !templates.has(p));
  if (strays.length) throw new TemplateError(`config-templates/${folder} has no template for ${strays.join(", ")}`);
  const files: RenderedFiles = {};
  const put = (file: string, content: string) => {
    if (Object.prototype.hasOwnProperty.call(files, file)) throw new TemplateError(`config-templates/${folder}: ${file} is rendered twice`);
    files[file] = content;
  };
  for (const [file, template] of templates) {
    const text = fs.readFileSync(path.join(TEMPLATE_ROOT, template), "utf8");
    const use = Object.prototype.hasOwnProperty.call(uses, file) ? uses[file] : {};
    if (Array.isArray(use)) for (const copy of use) put(copy.path, renderText(`${template} (as ${copy.path})`, text, copy.values));
    else put(file, renderText(template, text, use));
  }
  return files;
}

/** The path a template is uploaded to inside its container: the template path minus the daemon folder. */
function containerPath(template: string): string {
  return "/" + template.split("/").slice(1).join("/");
}

/** Every template file under one folder of config-templates/, as paths relative to it, sorted. */
function templatesOf(folder: string): string[] {
  const root = path.join(TEMPLATE_ROOT, folder);
  const walk = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  return walk(root)
    .map((f) => path.relative(TEMPLATE_ROOT, f).split(path.sep).join("/"))
    .sort();
}
