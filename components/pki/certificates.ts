// One TLS certificate per mail domain, served by SNI on Postfix, Dovecot and nginx. A domain gets
// a certificate from the stack's own CA (dev, internal use), from PEM files the company already
// has (bought, or renewed by their own tooling), or from an ACME CA (Let's Encrypt). For the stack
// CA and ACME the private key is Pulumi's: an ACME renewal reuses it through the CSR made here, so
// the DANE records computed from it stay valid, and the stack CA's certificate from the same key
// is what daemons serve until the ACME client's first issuance.
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { DomainConfig } from "../../config/schema";
import { AcmeOrder, CertificatePublicKey, DomainCertificate } from "../types";
import { certificateHostnames, webHostnamesByDomain } from "./hostnames";
import { leafPublicKeyPem } from "./tlsa";
import { secretFromFile } from "../host/secret-file";

const CERTIFICATES_TYPE = "mail-platform:pki:Certificates";

export interface CertificatesArgs {
  /** The stack's domains; the first one's certificate also names the primary hostname, the default for a client that sends no SNI. */
  domains: DomainConfig[];
  /** Primary hostname of the mail server. */
  hostname: string;
  /** Organisation name written into the self-signed CA's subject. Defaults to the first domain. */
  organization?: string;
  /** Validity of self-signed leaf certificates in days. Defaults to 397 (what browsers accept). */
  validityDays?: number;
  /** Web app host names the proxy serves; each lands on the certificate of the domain it falls under. */
  webHostnames?: string[];
}

export class Certificates extends pulumi.ComponentResource {
  /** One certificate per domain, in config order. */
  public readonly certificates: pulumi.Output<DomainCertificate[]>;
  /** The self-signed CA's certificate, for clients to trust; empty when no domain uses it. */
  public readonly caCertPem: pulumi.Output<string>;
  /**
   * Each domain's public key (and the next one's, while a rollover is announced), for the TLSA
   * records. Built apart from `certificates`, which holds the private keys: anything derived from
   * it is secret, and the DNS records are meant to be published.
   */
  public readonly publicKeys: pulumi.Output<CertificatePublicKey[]>;
  /** What the ACME client orders, one per `tls.source: acme` domain (secret: EAB and TSIG keys). */
  public readonly acmeOrders: pulumi.Output<AcmeOrder[]>;

  constructor(name: string, args: CertificatesArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(CERTIFICATES_TYPE, name, {}, opts);
    // ACME domains need the CA too: it signs their bootstrap certificate.
    const needsCa = args.domains.some((d) => d.tls.source !== "pem");
    const organization = args.organization ?? args.domains[0].name;
    let ca: { cert: tls.SelfSignedCert; key: tls.PrivateKey } | undefined;
    if (needsCa) {
      const key = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
      const cert = new tls.SelfSignedCert(
        `${name}-ca`,
        {
          privateKeyPem: key.privateKeyPem,
          isCaCertificate: true,
          allowedUses: ["cert_signing", "crl_signing"],
          subject: { commonName: `${organization} mail CA`, organization },
          validityPeriodHours: 10 * 365 * 24,
        },
        { parent: this },
      );
      ca = { cert, key };
    }

    const web = webHostnamesByDomain(
      args.domains.map((d) => d.name),
      args.webHostnames ?? [],
    );
    const certs: pulumi.Output<DomainCertificate>[] = [];
    const publicKeys: pulumi.Output<CertificatePublicKey>[] = [];
    const orders: pulumi.Output<AcmeOrder>[] = [];
    args.domains.forEach((domain, i) => {
      const hostnames = certificateHostnames(domain, i, args.hostname, web[domain.name]);
      const tlsConfig = domain.tls;
      if (tlsConfig.source === "pem") {
        const certChainPem = fs.readFileSync(tlsConfig.certFile, "utf8");
        certs.push(
          pulumi.output({
            domain: domain.name,
            hostnames,
            certChainPem,
            privateKeyPem: pulumi.secret(fs.readFileSync(tlsConfig.keyFile, "utf8")),
          }),
        );
        publicKeys.push(pulumi.output({ domain: domain.name, publicKeyPem: publicKeyOfFile(tlsConfig.certFile, certChainPem, this) }));
        return;
      }
      const issuer = ca!;
      const keyOf = (generation: number) =>
        new tls.PrivateKey(
          // Generation 1 keeps the name the key had before rollovers existed, so no stack's key changes.
          generation === 1 ? `${name}-${domain.name}-key` : `${name}-${domain.name}-key-${generation}`,
          { algorithm: "ECDSA", ecdsaCurve: "P256" },
          { parent: this },
        );
      const key = keyOf(tlsConfig.keyGeneration);
      const next = tlsConfig.publishNextKey ? keyOf(tlsConfig.keyGeneration + 1) : undefined;
      const csr = new tls.CertRequest(
        `${name}-${domain.name}-csr`,
        { privateKeyPem: key.privateKeyPem, dnsNames: hostnames, subject: { commonName: hostnames[0], organization } },
        { parent: this },
      );
      const cert = new tls.LocallySignedCert(
        `${name}-${domain.name}-cert`,
        {
          certRequestPem: csr.certRequestPem,
          caCertPem: issuer.cert.certPem,
          caPrivateKeyPem: issuer.key.privateKeyPem,
          allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
          validityPeriodHours: (args.validityDays ?? 397) * 24,
          // Renewed by the next `pulumi up` once inside the last 30 days.
          earlyRenewalHours: 30 * 24,
        },
        { parent: this },
      );
      certs.push(
        pulumi.output({
          domain: domain.name,
          hostnames,
          certChainPem: pulumi.all([cert.certPem, issuer.cert.certPem]).apply(([leaf, caPem]) => leaf + caPem),
          privateKeyPem: pulumi.secret(key.privateKeyPem),
        }),
      );
      publicKeys.push(
        pulumi.all([key.publicKeyPem, next?.publicKeyPem]).apply(([publicKeyPem, nextPublicKeyPem]) => ({
          domain: domain.name,
          publicKeyPem,
          ...(nextPublicKeyPem ? { nextPublicKeyPem } : {}),
        })),
      );
      if (tlsConfig.source === "acme") orders.push(acmeOrder(domain.name, hostnames, csr.certRequestPem, tlsConfig));
    });

    this.certificates = pulumi.all(certs);
    this.caCertPem = ca ? ca.cert.certPem : pulumi.output("");
    this.publicKeys = pulumi.all(publicKeys);
    this.acmeOrders = pulumi.all(orders);
    this.registerOutputs({
      certificates: this.certificates,
      caCertPem: this.caCertPem,
      publicKeys: this.publicKeys,
      acmeOrders: this.acmeOrders,
    });
  }
}

/** The leaf's public key from a `tls.certFile`, or an error that names the file. */
function publicKeyOfFile(file: string, pem: string, component: pulumi.Resource): string {
  try {
    return leafPublicKeyPem(pem);
  } catch (e) {
    throw new pulumi.ResourceError(`${file} (a domain's tls.certFile) holds no PEM certificate first: ${(e as Error).message}`, component);
  }
}

type AcmeTls = Extract<DomainConfig["tls"], { source: "acme" }>;

/** One domain's order; the files the config names are read here, on the machine running Pulumi, and their secrets stay secrets. */
function acmeOrder(domain: string, hostnames: string[], csrPem: pulumi.Output<string>, t: AcmeTls): pulumi.Output<AcmeOrder> {
  const eab = t.externalAccountBinding;
  const c = t.challenge;
  return pulumi.output({
    domain,
    hostnames,
    csrPem,
    email: t.email,
    directoryUrl: t.directoryUrl,
    caPem: t.caFile ? fs.readFileSync(t.caFile, "utf8") : "",
    ...(eab ? { externalAccountBinding: { keyId: eab.keyId, hmacKey: secretFromFile(eab.hmacKeyFile) } } : {}),
    challenge:
      c.type === "http-01"
        ? { type: c.type }
        : {
            type: c.type,
            provider: c.provider,
            nameserver: c.nameserver,
            tsigKeyName: c.tsigKeyName,
            tsigAlgorithm: c.tsigAlgorithm,
            tsigSecret: secretFromFile(c.tsigSecretFile),
          },
  }) as pulumi.Output<AcmeOrder>;
}
