// Which names a domain's certificate covers. Clients reach the server as mail.<domain> (what
// autoconfig and the DNS outputs advertise) or by the primary hostname, so SNI needs both; the
// HTTPS front serves each domain's MTA-STS policy and mail-client autoconfiguration on their
// conventional names, and web apps on names under the domain.
import { DomainConfig } from "../../config/schema";
import { mailClientHostnames } from "../proxy/constants";

export function certificateHostnames(domain: DomainConfig, index: number, primaryHostname: string, webHostnames: string[] = []): string[] {
  const names = [`mail.${domain.name}`, domain.name, ...mailClientHostnames(domain.name), ...webHostnames];
  if (index === 0) names.unshift(primaryHostname);
  return [...new Set(names)];
}
