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
export interface NetworkRef {
  name: pulumi.Input<string>;
}

export type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };
