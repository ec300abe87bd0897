// DANE (RFC 7672): TLSA records that pin the platform's certificate key, `3 1 1` = the server's
// own certificate (DANE-EE), its SubjectPublicKeyInfo, SHA-256. They pin the key, not the
// certificate, so an ACME renewal with the key Pulumi keeps leaves them valid; `3 0 1` would
// change with every renewal. They take effect only in a DNSSEC-signed zone.
import * as crypto from "crypto";
import { CertificatePublicKey } from "../types";
import { DnsRecord } from "./dns-records";

/** Where SMTP servers (25) and mail clients (465, 587) find the platform, by port. */
const TLSA_PORTS: { port: number; purpose: string }[] = [
  { port: 25, purpose: "DANE for SMTP (RFC 7672): sending servers verify the MX's key" },
  { port: 465, purpose: "DANE for submission over TLS" },
  { port: 587, purpose: "DANE for submission with STARTTLS" },
];

/** The public key of the first certificate in a PEM chain, as PEM. */
export function leafPublicKeyPem(chainPem: string): string {
  return new crypto.X509Certificate(chainPem).publicKey.export({ type: "spki", format: "pem" }).toString();
}

/** The `3 1 1` association data: SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex. */
export function spkiSha256(publicKeyPem: string): string {
  const der = crypto.createPublicKey(publicKeyPem).export({ type: "spki", format: "der" });
  return crypto.createHash("sha256").update(der).digest("hex");
}

/**
 * TLSA records for `hostname` (the MX and submission host) from the key of the certificate it
 * is served with, and from the next key while a rollover is announced: both are published
 * before the switch, so a verifier with either record in its cache accepts the server.
 */
export function tlsaRecords(domain: string, hostname: string, key: CertificatePublicKey): DnsRecord[] {
  const keys = [key.publicKeyPem, ...(key.nextPublicKeyPem ? [key.nextPublicKeyPem] : [])];
  return TLSA_PORTS.flatMap(({ port, purpose }) =>
    keys.map((pem, i): DnsRecord => ({
      domain,
      name: `_${port}._tcp.${hostname}.`,
      type: "TLSA",
      value: `3 1 1 ${spkiSha256(pem)}`,
      purpose: `${purpose}${i === 1 ? " (the next key, published ahead of the switch)" : ""}; effective only in a DNSSEC-signed zone`,
    })),
  );
}
