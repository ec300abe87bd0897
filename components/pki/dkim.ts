// A DKIM signing key per domain, made and kept by Pulumi: the private half goes to Amavis as a
// secret, the public half into the DNS records the admin publishes.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { DomainConfig } from "../../config/schema";
import { DkimKey, DkimPublicKey } from "../types";

const DKIM_KEYS_TYPE = "mail-platform:pki:DkimKeys";

export interface DkimKeysArgs {
  domains: DomainConfig[];
}

/** The `p=` value of a DKIM record: the SubjectPublicKeyInfo of the key, base64, no PEM armour. */
export function dkimPublicKeyValue(publicKeyPem: string): string {
  return publicKeyPem
    .split("\n")
    .filter((l) => l && !l.startsWith("-----"))
    .join("");
}

export class DkimKeys extends pulumi.ComponentResource {
  /** One key per domain, in config order. */
  public readonly keys: pulumi.Output<DkimKey[]>;
  /**
   * The same keys' public halves alone, for the DNS records. Built apart from `keys`: anything
   * derived from an object holding a secret is secret, and `pulumi stack output dns` would then
   * print `[secret]` for records that are meant to be published.
   */
  public readonly publicKeys: pulumi.Output<DkimPublicKey[]>;

  constructor(name: string, args: DkimKeysArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(DKIM_KEYS_TYPE, name, {}, opts);
    const keys = args.domains.map((d) => {
      // RSA-2048: what every verifier accepts; Ed25519 DKIM (RFC 8463) is still ignored by many.
      // The selector is in the resource name, so a new selector means a new key (a rotation).
      const key = new tls.PrivateKey(`${name}-${d.name}-${d.dkimSelector}`, { algorithm: "RSA", rsaBits: 2048 }, { parent: this });
      const publicKeyBase64 = key.publicKeyPem.apply(dkimPublicKeyValue);
      const publicKey = publicKeyBase64.apply((p): DkimPublicKey => ({ domain: d.name, selector: d.dkimSelector, publicKeyBase64: p }));
      return {
        publicKey,
        key: pulumi
          .all([publicKey, pulumi.secret(key.privateKeyPem)])
          .apply(([pub, privateKeyPem]): DkimKey => ({ ...pub, privateKeyPem })),
      };
    });
    this.keys = pulumi.all(keys.map((k) => k.key));
    this.publicKeys = pulumi.all(keys.map((k) => k.publicKey));
    this.registerOutputs({ keys: this.keys, publicKeys: this.publicKeys });
  }
}
