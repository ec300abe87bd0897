// The template renderer: `{{ name }}` placeholders, nothing else. It refuses a template that
// names a value it was not given and a value the template never uses, so a renamed placeholder
// or a forgotten setting fails the unit tests instead of reaching a daemon.
import * as fs from "fs";
import * as path from "path";

export const TEMPLATE_ROOT = path.resolve(__dirname, "..", "config-templates");

export type TemplateValue = string | number | boolean;
export type TemplateValues = Record<string, TemplateValue>;

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

/** Renders `config-templates/<template>`, e.g. `postfix/etc/postfix/main.cf`. */
export function renderTemplate(template: string, values: TemplateValues): string {
  const file = path.join(TEMPLATE_ROOT, template);
  return renderText(template, fs.readFileSync(file, "utf8"), values);
}

/** The path a template is uploaded to inside its container: the template path minus the daemon folder. */
export function containerPath(template: string): string {
  return "/" + template.split("/").slice(1).join("/");
}

/** Every template file of one daemon folder, as paths relative to TEMPLATE_ROOT. */
export function templatesOf(daemon: string): string[] {
  const root = path.join(TEMPLATE_ROOT, daemon);
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  return walk(root)
    .map((f) => path.relative(TEMPLATE_ROOT, f).split(path.sep).join("/"))
    .sort();
}

/** A rendered config file set: container path -> content. */
export type RenderedFiles = Record<string, string>;
