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
import type { PropertyMap } from "./property-map";

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

/**
 * A real P-256 public key that depends only on `name`: its private scalar is a hash of the name
 * (wrapped as a SEC1 ECPrivateKey, from which Node derives the point). Masked renders stay the
 * same from run to run, and what parses a public key (the TLSA records) gets one.
 */
function standInPublicKey(name: string): string {
  const d = crypto.createHash("sha256").update(`stand-in public key ${name}`).digest();
  const prime256v1 = Buffer.from("a00a06082a8648ce3d030107", "hex");
  const sec1 = Buffer.concat([Buffer.from("3031020101", "hex"), Buffer.from("0420", "hex"), d, prime256v1]);
  const key = crypto.createPrivateKey({ key: sec1, format: "der", type: "sec1" });
  return crypto.createPublicKey(key).export({ type: "spki", format: "pem" }).toString();
}

export function privateKey(mode: SecretsMode, name: string, inputs: PropertyMap): Record<string, string> {
  if (mode === "masked") return { privateKeyPem: MASK(`private key ${name}`), publicKeyPem: standInPublicKey(name) };
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

export function certRequest(mode: SecretsMode, name: string, inputs: PropertyMap): Record<string, string> {
  if (mode === "masked") return { certRequestPem: `stand-in CSR ${name} for ${(inputs.dnsNames ?? []).join(",")}\n` };
  const san = (inputs.dnsNames ?? []).map((d: string) => `DNS:${d}`).join(",");
  const out = openssl(
    [
      "req",
      "-new",
      "-key",
      "key.pem",
      "-subj",
      subjectOf(inputs.subject),
      ...(san ? ["-addext", `subjectAltName=${san}`] : []),
      "-out",
      "csr.pem",
    ],
    { "key.pem": inputs.privateKeyPem },
  );
  return { certRequestPem: out["csr.pem"] };
}

export function selfSignedCert(mode: SecretsMode, name: string, inputs: PropertyMap): Record<string, string> {
  if (mode === "masked") return { certPem: `stand-in certificate ${name}\n` };
  const days = String(Math.ceil(inputs.validityPeriodHours / 24));
  const ext = inputs.isCaCertificate
    ? ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    : ["-addext", "basicConstraints=critical,CA:FALSE"];
  const out = openssl(
    ["req", "-x509", "-new", "-key", "key.pem", "-subj", subjectOf(inputs.subject), "-days", days, ...ext, "-out", "cert.pem"],
    {
      "key.pem": inputs.privateKeyPem,
    },
  );
  return { certPem: out["cert.pem"] };
}

export function locallySignedCert(mode: SecretsMode, name: string, inputs: PropertyMap): Record<string, string> {
  if (mode === "masked") return { certPem: `stand-in certificate ${name}\n` };
  const days = String(Math.ceil(inputs.validityPeriodHours / 24));
  const out = openssl(
    [
      "x509",
      "-req",
      "-in",
      "csr.pem",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-CAcreateserial",
      "-days",
      days,
      "-copy_extensions",
      "copyall",
      "-extfile",
      "ext.cnf",
      "-out",
      "cert.pem",
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

/** The random provider's character classes and defaults (terraform-provider-random, random_password). */
const CLASSES = {
  upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  lower: "abcdefghijklmnopqrstuvwxyz",
  numeric: "0123456789",
  special: "!@#$%&*()-_=+[]{}<>:?",
};

function pick(alphabet: string, count: number): string[] {
  return [...crypto.randomBytes(count)].map((b) => alphabet[b % alphabet.length]);
}

export function randomPassword(mode: SecretsMode, name: string, inputs: PropertyMap): Record<string, string> {
  if (mode === "masked") return { result: MASK(`password ${name}`), bcryptHash: MASK(`bcrypt hash of password ${name}`) };
  const classes = {
    upper: inputs.upper !== false ? CLASSES.upper : "",
    lower: inputs.lower !== false ? CLASSES.lower : "",
    numeric: inputs.numeric !== false ? CLASSES.numeric : "",
    special: inputs.special !== false ? (inputs.overrideSpecial ?? CLASSES.special) : "",
  };
  const minimums: [string, number][] = [
    [classes.upper, inputs.minUpper ?? 0],
    [classes.lower, inputs.minLower ?? 0],
    [classes.numeric, inputs.minNumeric ?? 0],
    [classes.special, inputs.minSpecial ?? 0],
  ];
  const required = minimums.flatMap(([alphabet, n]) => pick(alphabet, n));
  const length: number = inputs.length ?? 32;
  const chars = [...required, ...pick(Object.values(classes).join(""), length - required.length)];
  // The provider shuffles so the guaranteed characters do not sit at the front.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  const result = chars.join("");
  // The random provider's bcryptHash: cost 10 from Go's x/crypto/bcrypt, which writes $2a$.
  return { result, bcryptHash: bcrypt.hashSync(result, 10).replace(/^\$2b\$/, () => "$2a$") };
}

/** An image id as the engine reports it (`sha256:` and 64 hex digits), stable for the same name. */
export function imageId(of: string): string {
  return `sha256:${crypto.createHash("sha256").update(of).digest("hex")}`;
}
