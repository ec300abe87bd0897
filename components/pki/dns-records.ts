// The DNS records a company must publish for its mail to be delivered and trusted, as data (for
// automation) and as a zone-file snippet (for pasting into a DNS provider's console).
import { DomainConfig } from "../../config/schema";
import { mailClientHostnames, webHostnamesByDomain } from "./hostnames";

export interface DnsRecord {
  /** The mail domain the record belongs to. */
  domain: string;
  /** Fully qualified owner name, with the trailing dot. */
  name: string;
  type: "MX" | "TXT" | "CNAME" | "TLSA";
  value: string;
  /** Why the record exists, for the zone snippet's comment. */
  purpose: string;
}

export function dnsRecords(domains: DomainConfig[], hostname: string, dkimPublicKeys: Record<string, string>): DnsRecord[] {
  return domains.flatMap((d): DnsRecord[] => {
    const report = d.dmarcReportAddress ?? `postmaster@${d.name}`;
    return [
      { domain: d.name, name: `${d.name}.`, type: "MX", value: `10 ${hostname}.`, purpose: "mail for the domain goes to the platform" },
      { domain: d.name, name: `${d.name}.`, type: "TXT", value: "v=spf1 mx -all", purpose: "SPF: only the MX host sends for the domain" },
      {
        domain: d.name,
        name: `${d.dkimSelector}._domainkey.${d.name}.`,
        type: "TXT",
        value: `v=DKIM1; k=rsa; p=${dkimPublicKeys[d.name]}`,
        purpose: "DKIM public key for the signatures Amavis adds",
      },
      {
        domain: d.name,
        name: `_dmarc.${d.name}.`,
        type: "TXT",
        value: `v=DMARC1; p=${d.dmarcPolicy}; rua=mailto:${report}; fo=1`,
        purpose: "DMARC policy and where aggregate reports go",
      },
      ...mailClientHostnames(d.name).map((name): DnsRecord => ({
        domain: d.name,
        name: `${name}.`,
        type: "CNAME",
        value: `${hostname}.`,
        purpose: "served by the platform's HTTPS front (MTA-STS policy, mail client autoconfiguration)",
      })),
    ];
  });
}

/** A CNAME to the platform for each web app host name, listed under the domain it falls in. */
export function webAppDnsRecords(domains: DomainConfig[], hostname: string, webHostnames: string[]): DnsRecord[] {
  const byDomain = webHostnamesByDomain(
    domains.map((d) => d.name),
    webHostnames,
  );
  return Object.entries(byDomain).flatMap(([domain, names]) =>
    names
      .filter((name) => name !== hostname)
      .map((name): DnsRecord => ({
        domain,
        name: `${name}.`,
        type: "CNAME",
        value: `${hostname}.`,
        purpose: "a web app on the platform's HTTPS front",
      })),
  );
}

/** TXT data as zone-file strings: quoted, split at 255 octets as RFC 1035 requires. */
export function txtStrings(value: string): string {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 255) parts.push(`"${value.slice(i, i + 255).replace(/(["\\])/g, "\\$1")}"`);
  return parts.join(" ");
}

export function zoneSnippet(records: DnsRecord[], hostname: string): string {
  const lines = [
    `; Publish ${hostname}. as an A (and AAAA) record pointing at the Docker host's public address,`,
    `; with a matching PTR record at your provider.`,
  ];
  for (const r of records) {
    lines.push(`; ${r.purpose}`);
    lines.push(`${r.name}\t3600\tIN\t${r.type}\t${r.type === "TXT" ? txtStrings(r.value) : r.value}`);
  }
  return lines.join("\n") + "\n";
}
