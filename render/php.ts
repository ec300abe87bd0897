// PHP literals for the rendered PHP config files (Roundcube, PostfixAdmin, Piler's UI).

/** A PHP single-quoted string literal: only `\` and `'` need escaping there; NUL is refused. */
export function phpString(value: string): string {
  if (value.includes("\0")) throw new Error("a PHP string value cannot contain NUL");
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A PHP list literal of strings. */
export function phpList(values: string[]): string {
  return `[${values.map(phpString).join(", ")}]`;
}
