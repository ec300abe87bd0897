// PEM material for tests: armoured stand-ins for tests that only check where key material goes,
// and real keys and certificates for the daemons that load and serve them.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DomainCertificate } from "../../components/types";

/** PEM armour around `body`. The armour is built at run time so no file in the repository looks like a committed private key. */
export function fakePem(label: string, body: string): string {
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

export const PRIVATE_KEY = ["PRIVATE", "KEY"].join(" ");

/** A real private key (PKCS#8 PEM) from the openssl CLI: `ec` (P-256) is fast to make, `rsa` is 2048 bits. */
export function makePrivateKey(algorithm: "rsa" | "ec"): string {
  const keyArgs =
    algorithm === "rsa"
      ? ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
      : ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
  return execFileSync("openssl", ["genpkey", ...keyArgs], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * A real self-signed certificate for `domain` naming `hostnames` (the first is its CN), valid two
 * days, with a key of `algorithm` (makePrivateKey): daemons refuse to start with material they
 * cannot parse.
 */
export function makeCertificate(domain: string, hostnames: string[], algorithm: "rsa" | "ec"): DomainCertificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-test-cert-"));
  try {
    const privateKeyPem = makePrivateKey(algorithm);
    fs.writeFileSync(path.join(dir, "key.pem"), privateKeyPem, { mode: 0o600 });
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-key",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "cert.pem"),
        "-days",
        "2",
        "-subj",
        `/CN=${hostnames[0]}`,
        "-addext",
        `subjectAltName=${hostnames.map((h) => `DNS:${h}`).join(",")}`,
      ],
      { stdio: "pipe" },
    );
    return { domain, hostnames, certChainPem: fs.readFileSync(path.join(dir, "cert.pem"), "utf8"), privateKeyPem };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
