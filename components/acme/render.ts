// The ACME client's files as a pure function of plain values: one folder per domain with its
// order (CA, account contact, challenge), the CSR Pulumi made, the bootstrap chain the daemons
// serve until the first issuance, the secrets the CA or the DNS server want; the TLS ports the
// served-certificate check asks; and the schedule of both jobs.
import { PlatformConfig } from "../../config/platform";
import { shellWord } from "../../render/literals";
import { RenderedFiles, renderTemplates, TemplateCopy } from "../../render/template";
import { renderSchedule } from "../host/scheduled-jobs";
import { certificateFor } from "../pki/certificate-choice";
import { pemFile } from "../pki/pem";
import { AcmeOrder, DomainCertificate, TlsEndpoint } from "../types";
import { ACME_DOMAINS_DIR, ACME_JOBS } from "./constants";

type AcmePlatform = Pick<PlatformConfig, "domains" | "schedules">;

export interface AcmeRenderInput {
  platform: AcmePlatform;
  /** One per ACME domain (Certificates.acmeOrders). */
  orders: AcmeOrder[];
  /** Every domain's certificate; an ACME domain's is its bootstrap chain. */
  certificates: DomainCertificate[];
  /** Every TLS listener of the platform (PostfixGateway, DovecotStore, ReverseProxy). */
  tlsEndpoints: TlsEndpoint[];
}

class AcmeRenderError extends Error {}

/** The secret files of a domain's folder, root-only. */
export function acmeFileModes(orders: Pick<AcmeOrder, "domain">[]): Record<string, string> {
  return Object.fromEntries(
    orders.flatMap((o) =>
      [`${ACME_DOMAINS_DIR}/${o.domain}/eab-hmac.secret`, `${ACME_DOMAINS_DIR}/${o.domain}/tsig.secret`].map((f) => [f, "0600"]),
    ),
  );
}

/**
 * The SNI name the check sends for a domain on a port: mail.<domain> on the mail ports (what
 * autoconfiguration tells clients), mta-sts.<domain> on HTTPS (what sending servers fetch).
 */
function checkName(domain: string, e: TlsEndpoint): string {
  return e.service === "proxy" ? `mta-sts.${domain}` : `mail.${domain}`;
}

export function renderAcmeFiles(input: AcmeRenderInput): RenderedFiles {
  const { platform, orders } = input;
  const wanted = platform.domains.filter((d) => d.tls.source === "acme").map((d) => d.name);
  const got = orders.map((o) => o.domain);
  if (wanted.join(" ") !== got.join(" "))
    throw new AcmeRenderError(`orders: one per ACME domain in config order, expected [${wanted.join(", ")}], got [${got.join(", ")}]`);
  if (input.tlsEndpoints.length === 0) throw new AcmeRenderError("tlsEndpoints: none given; the check would pass without asking any port");

  const files = renderTemplates("acme", {
    [`${ACME_DOMAINS_DIR}/order.conf`]: orders.map((o): TemplateCopy => ({
      path: `${ACME_DOMAINS_DIR}/${o.domain}/order.conf`,
      values: {
        domain: shellWord(o.domain),
        commonName: shellWord(o.hostnames[0]),
        server: shellWord(o.directoryUrl),
        email: shellWord(o.email),
        challenge: shellWord(o.challenge.type),
        eabKeyId: shellWord(o.externalAccountBinding?.keyId ?? ""),
        dnsNameserver: shellWord(o.challenge.type === "dns-01" ? o.challenge.nameserver : ""),
        tsigKeyName: shellWord(o.challenge.type === "dns-01" ? o.challenge.tsigKeyName : ""),
        tsigAlgorithm: shellWord(o.challenge.type === "dns-01" ? o.challenge.tsigAlgorithm : ""),
      },
    })),
    "/etc/mail-platform/acme/tls-check.conf": {
      targets: orders
        .flatMap((o) =>
          input.tlsEndpoints.map((e) => {
            const sni = checkName(o.domain, e);
            // The name must be on this domain's certificate, or the check would compare another's.
            if (certificateFor(sni, input.certificates).domain !== o.domain)
              throw new AcmeRenderError(`tlsEndpoints: ${sni} is not served with ${o.domain}'s certificate`);
            return `${o.domain} ${e.service} ${e.host} ${e.port} ${e.starttls ?? "-"} ${sni}`;
          }),
        )
        .join("\n"),
    },
  });
  for (const o of orders) {
    const dir = `${ACME_DOMAINS_DIR}/${o.domain}`;
    const bootstrap = input.certificates.find((c) => c.domain === o.domain);
    if (!bootstrap) throw new AcmeRenderError(`certificates: none for ${o.domain}, whose bootstrap chain the check compares with`);
    files[`${dir}/request.csr`] = pemFile(o.csrPem);
    files[`${dir}/bootstrap.pem`] = pemFile(bootstrap.certChainPem);
    if (o.caPem) files[`${dir}/ca.pem`] = pemFile(o.caPem);
    if (o.externalAccountBinding) files[`${dir}/eab-hmac.secret`] = `${o.externalAccountBinding.hmacKey}\n`;
    if (o.challenge.type === "dns-01") files[`${dir}/tsig.secret`] = `${o.challenge.tsigSecret}\n`;
  }
  Object.assign(
    files,
    renderSchedule([
      { name: ACME_JOBS.renew, schedule: platform.schedules.acmeRenewal, command: "acme-renew" },
      { name: ACME_JOBS.tlsCheck, schedule: platform.schedules.tlsCheck, command: "tls-check" },
    ]),
  );
  return files;
}
