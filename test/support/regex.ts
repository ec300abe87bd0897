// Text matched literally inside a regular expression the tests build from values (addresses, names).

/** `s` with every character a RegExp gives a meaning escaped. */
export function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
