// Literals of the config languages the renderers write values into, each escaped the one way its
// language reads it back. A value the syntax cannot hold (a line break where a setting ends at
// the line, NUL) is refused rather than mangled.

export class LiteralError extends Error {}

/** A PHP single-quoted string literal (Roundcube, PostfixAdmin, Piler's UI): only `\` and `'` need escaping; NUL is refused. */
export function phpString(value: string): string {
  if (value.includes("\0")) throw new LiteralError("a PHP string value cannot contain NUL");
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A PHP list literal of strings. */
export function phpList(values: string[]): string {
  return `[${values.map(phpString).join(", ")}]`;
}

/** A single-quoted Perl string literal (Amavis's config is Perl). */
export function perlString(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new LiteralError("a Perl string value (Amavis's config) cannot contain a line break or NUL");
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** The inside of a single-quoted SQL string literal (MariaDB); the template writes the quotes. */
export function sqlString(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\0/g, "\\0");
}

/**
 * A value for a Dovecot 2.4 setting. Bare when it is a plain token; otherwise double-quoted with
 * `\` and `"` escaped. `%` becomes `%%` (2.4 expands `%{...}` in most string settings) and a
 * leading `$` is quoted so `$SET:`/`$ENV:` references can never be injected by a value.
 */
export function dovecotValue(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new LiteralError("a Dovecot setting value cannot contain a line break or NUL");
  if (/^[A-Za-z0-9._@/+=:-]+$/.test(value)) return value;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%")}"`;
}

/** The inside of a Sieve quoted string; the template writes the quotes, so only `\` and `"` need escaping. */
export function sieveString(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

/** A POSIX shell word, single-quoted (a sourced `NAME=value` file): `'` is closed, escaped and reopened; a line break or NUL is refused. */
export function shellWord(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new LiteralError("a shell value cannot contain a line break or NUL");
  return `'${value.replace(/'/g, "'\\''")}'`;
}
