// Which names a domain's certificate covers. Clients reach the server as mail.<domain> (what
// autoconfig and the DNS outputs advertise) or by the primary hostname, so SNI needs both.
import { DomainConfig } from "../../config/schema";

export function certificateHostnames(domain: DomainConfig, index: number, primaryHostname: string): string[] {
  const names = [`mail.${domain.name}`, domain.name];
  if (index === 0) names.unshift(primaryHostname);
  return [...new Set(names)];
}
