// Key, certificate and password material for resources whose values a real `pulumi up` would
// get from the tls and random providers. `masked` gives stable stand-ins that reveal nothing
// (for rendering config a reviewer can diff); `real` gives working material (for daemons that
// parse keys, and for the live deployment harness).
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as bcrypt from "bcryptjs";

export type SecretsMode = "masked" | "real";

/** One token, no spaces: the stand-in has to fit wherever the secret would (a SpamAssassin option, a URL). */
export const MASK = (what: string) => `<masked:${what.replace(/\s+/g, "_")}>`;

function openssl(args: string[], files: Record<string, string>): Record<string, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-openssl-"));
  try {
    for (const [f, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), content, { mode: 0o600 });
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    return Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function subjectOf(subject: Record<string, unknown> | undefined): string {
  const cn = (subject?.commonName as string) ?? "mail-platform";
  const o = subject?.organization as string | undefined;
  return `/CN=${cn}${o ? `/O=${o}` : ""}`;
}

export function privateKey(mode: SecretsMode, name: string, inputs: Record<string, any>): Record<string, string> {
  if (mode === "masked") {
    return {
      privateKeyPem: MASK(`private key ${name}`),
      publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${Buffer.from(`stand-in public key ${name}`).toString("base64")}\n-----END PUBLIC KEY-----\n`,
    };
  }
  const { privateKey: key, publicKey } =
    inputs.algorithm === "ECDSA"
      ? crypto.generateKeyPairSync("ec", { namedCurve: inputs.ecdsaCurve === "P384" ? "secp384r1" : "prime256v1" })
      : crypto.generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 });
  return {
    // The formats the tls provider returns: PKCS#1 for RSA, SEC1 for EC.
    privateKeyPem: key.export({ type: inputs.algorithm === "ECDSA" ? "sec1" : "pkcs1", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

export function certRequest(mode: SecretsMode, name: string, inputs: Record<string, any>): Record<string, string> {
  if (mode === "masked") return { certRequestPem: `stand-in CSR ${name} for ${(inputs.dnsNames ?? []).join(",")}\n` };
  const san = (inputs.dnsNames ?? []).map((d: string) => `DNS:${d}`).join(",");
  const out = openssl(
    ["req", "-new", "-key", "key.pem", "-subj", subjectOf(inputs.subject), ...(san ? ["-addext", `subjectAltName=${san}`] : []), "-out", "csr.pem"],
    { "key.pem": inputs.privateKeyPem },
  );
  return { certRequestPem: out["csr.pem"] };
}

export function selfSignedCert(mode: SecretsMode, name: string, inputs: Record<string, any>): Record<string, string> {
  if (mode === "masked") return { certPem: `stand-in certificate ${name}\n` };
  const days = String(Math.ceil(inputs.validityPeriodHours / 24));
  const ext = inputs.isCaCertificate
    ? ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    : ["-addext", "basicConstraints=critical,CA:FALSE"];
  const out = openssl(["req", "-x509", "-new", "-key", "key.pem", "-subj", subjectOf(inputs.subject), "-days", days, ...ext, "-out", "cert.pem"], {
    "key.pem": inputs.privateKeyPem,
  });
  return { certPem: out["cert.pem"] };
}

export function locallySignedCert(mode: SecretsMode, name: string, inputs: Record<string, any>): Record<string, string> {
  if (mode === "masked") return { certPem: `stand-in certificate ${name}\n` };
  const days = String(Math.ceil(inputs.validityPeriodHours / 24));
  const out = openssl(
    [
      "x509", "-req", "-in", "csr.pem", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", days,
      "-copy_extensions", "copyall", "-extfile", "ext.cnf", "-out", "cert.pem",
    ],
    {
      "csr.pem": inputs.certRequestPem,
      "ca.pem": inputs.caCertPem,
      "ca-key.pem": inputs.caPrivateKeyPem,
      "ext.cnf": "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    },
  );
  return { certPem: out["cert.pem"] };
}

export function randomPassword(mode: SecretsMode, name: string, inputs: Record<string, any>): Record<string, string> {
  if (mode === "masked") return { result: MASK(`password ${name}`), bcryptHash: MASK(`bcrypt hash of password ${name}`) };
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  const bytes = crypto.randomBytes(inputs.length ?? 32);
  const result = [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
  // The random provider's bcryptHash: cost 10, $2a$ prefix.
  return { result, bcryptHash: bcrypt.hashSync(result, 10) };
}
