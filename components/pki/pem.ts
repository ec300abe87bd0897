// PEM text as the daemons read it from a file.

/** The PEM text ending in a newline: OpenSSL's reader needs one before the next block (Postfix's key-then-chain file) and some daemons at the end. */
export function pemFile(pem: string): string {
  return pem.endsWith("\n") ? pem : `${pem}\n`;
}
