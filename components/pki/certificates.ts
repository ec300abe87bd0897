// One TLS certificate per mail domain, served by SNI on Postfix and Dovecot. A domain either gets
// a certificate from the stack's own CA (dev, internal use) or from PEM files the company already
// has (bought, or renewed by their own tooling).
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { DomainConfig } from "../../config/schema";
import { DomainCertificate } from "../types";
import { certificateHostnames, webHostnamesByDomain } from "./hostnames";

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

  constructor(name: string, args: CertificatesArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(CERTIFICATES_TYPE, name, {}, opts);
    const selfSigned = args.domains.some((d) => d.tls.source === "self-signed");
    const organization = args.organization ?? args.domains[0].name;
    let ca: { cert: tls.SelfSignedCert; key: tls.PrivateKey } | undefined;
    if (selfSigned) {
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
    const certs = args.domains.map((domain, i): pulumi.Output<DomainCertificate> => {
      const hostnames = certificateHostnames(domain, i, args.hostname, web[domain.name]);
      if (domain.tls.source === "pem") {
        return pulumi.output({
          domain: domain.name,
          hostnames,
          certChainPem: fs.readFileSync(domain.tls.certFile, "utf8"),
          privateKeyPem: pulumi.secret(fs.readFileSync(domain.tls.keyFile, "utf8")),
        });
      }
      const issuer = ca!;
      const key = new tls.PrivateKey(`${name}-${domain.name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
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
      return pulumi.output({
        domain: domain.name,
        hostnames,
        certChainPem: pulumi.all([cert.certPem, issuer.cert.certPem]).apply(([leaf, caPem]) => leaf + caPem),
        privateKeyPem: pulumi.secret(key.privateKeyPem),
      });
    });

    this.certificates = pulumi.all(certs);
    this.caCertPem = ca ? ca.cert.certPem : pulumi.output("");
    this.registerOutputs({ certificates: this.certificates, caCertPem: this.caCertPem });
  }
}
