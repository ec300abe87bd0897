// The typed values components hand each other. A component never re-types another's host name
// or port: it receives one of these from the other component's outputs.
import * as pulumi from "@pulumi/pulumi";

/** A TCP service reachable on the platform's internal network. */
export interface Endpoint {
  /** Network alias of the container that serves it. */
  host: string;
  port: number;
}

/** How one consumer reaches its database: the account is its own, with only the rights it needs. */
export interface SqlEndpoint extends Endpoint {
  database: string;
  user: string;
  /** Secret. */
  password: string;
}

/** One domain's certificate, served by SNI. */
export interface DomainCertificate {
  domain: string;
  /** Host names the certificate covers (the primary hostname for the primary domain, mail.<domain> ...). */
  hostnames: string[];
  /** Leaf certificate followed by its chain. */
  certChainPem: string;
  /** Secret. */
  privateKeyPem: string;
}

/** A certificate's public key alone, for the DANE records: apart from the certificate, which holds a secret. */
export interface CertificatePublicKey {
  domain: string;
  /** SubjectPublicKeyInfo, PEM. */
  publicKeyPem: string;
  /** The key the next rollover switches to (publishNextKey), whose record goes out first. */
  nextPublicKeyPem?: string;
}

/** What the ACME client needs to obtain one domain's chain: the CSR Pulumi made from the domain's key, and the CA's terms. */
export interface AcmeOrder {
  domain: string;
  /** The names on the certificate: exactly those the platform serves for the domain. */
  hostnames: string[];
  /** PKCS#10, PEM; public. */
  csrPem: string;
  email: string;
  directoryUrl: string;
  /** PEM bundle to trust for the directory's HTTPS; empty for Debian's CA certificates. */
  caPem: string;
  /** External account binding; the HMAC key is secret. */
  externalAccountBinding?: { keyId: string; hmacKey: string };
  challenge:
    | { type: "http-01" }
    | { type: "dns-01"; provider: "rfc2136"; nameserver: string; tsigKeyName: string; tsigAlgorithm: string; tsigSecret: string };
}

/** A TLS listener of the platform, for the check that every port serves the certificate on disk. */
export interface TlsEndpoint extends Endpoint {
  /** The daemon, for the check's log lines and metric labels. */
  service: string;
  /** The STARTTLS dialect openssl s_client speaks before the handshake; absent for implicit TLS. */
  starttls?: "smtp" | "imap" | "pop3" | "sieve";
}

/** A domain's DKIM signing key. */
export interface DkimKey {
  domain: string;
  selector: string;
  /** Secret. */
  privateKeyPem: string;
  /** The `p=` value of the DNS record. */
  publicKeyBase64: string;
}

/** A DKIM key's public half: what its DNS record publishes. */
export type DkimPublicKey = Omit<DkimKey, "privateKeyPem">;

/** A Docker network a container joins, by name. */
interface NetworkRef {
  name: pulumi.Input<string>;
}

/** The platform's two networks (DockerHost.networks). */
export interface PlatformNetworks {
  /** Service to service, with no route in or out; every container joins it under its alias. */
  internal: NetworkRef;
  /** Published ports and the way out to the Internet. */
  edge: NetworkRef;
}

/** A web application the ReverseProxy serves over HTTPS on its own host name. */
export interface WebApp {
  /** Host name it is served on, e.g. webmail.example.com. */
  hostname: string;
  /** Upstream inside the platform (plain HTTP). */
  upstream: Endpoint;
  /** Content-Security-Policy for this app. */
  csp: string;
  /** A password the front asks for before any request reaches the app (an app without logins of its own). */
  basicAuth?: {
    realm: string;
    user: string;
    /** The password in a form nginx's auth_basic_user_file takes, e.g. `{SSHA}...`. Secret. */
    passwordHash: string;
  };
}

/** Where and to whom archive copies are sent. */
export interface ArchiveIntake {
  /** The archive's SMTP intake (piler-smtp). */
  endpoint: Endpoint;
  /** Envelope recipient of every copy (Piler's archive_address). */
  address: string;
}

/** What PostfixAdmin's config.local.php is made of, for its provisioning run and its web UI. */
export interface PostfixadminAccess {
  /** PostfixAdmin's read-write account on its database. Secret. */
  sql: SqlEndpoint;
  /** bcrypt hash of the setup password (PHP's password_verify accepts `$2a$`/`$2y$`). Secret. */
  setupPasswordHash: string;
}
