// How a daemon serves the chains the ACME client renews, the one way for Postfix, Dovecot and
// nginx: its container mounts the client's chains read-only, and images/lib/tls-watch installs
// a new chain over the bootstrap one the deployment uploaded and reloads the daemon.
import { PlatformConfig } from "../../config/platform";
import { DomainConfig } from "../../config/schema";
import { RenderedFiles, renderTemplates } from "../../render/template";
import { LIVE_CHAIN_DIR, TLS_WATCH_FILE } from "./constants";

/** The domains whose chains the ACME client obtains. */
export function acmeDomains(domains: Pick<DomainConfig, "name" | "tls">[]): string[] {
  return domains.filter((d) => d.tls.source === "acme").map((d) => d.name);
}

/** The host directory of the ACME client's chains, `<domain>/fullchain.pem` each. */
function liveChainHostDir(p: Pick<PlatformConfig, "volumePaths">): string {
  return `${p.volumePaths.acme}/certificates`;
}

/** The read-only mount of the chains, for a daemon's container; none when no domain uses ACME. */
export function liveChainMounts(
  p: Pick<PlatformConfig, "volumePaths" | "domains">,
): { hostPath: string; containerPath: string; readOnly: true }[] {
  return acmeDomains(p.domains).length ? [{ hostPath: liveChainHostDir(p), containerPath: LIVE_CHAIN_DIR, readOnly: true }] : [];
}

/**
 * tls-watch's list for a daemon: for each ACME domain, the live chain, the file the daemon's
 * config serves it from, and the key file (the same file when the daemon reads the key and the
 * chain from one, as Postfix does). No file when no domain uses ACME, and tls-watch does not run.
 */
export function tlsWatchFiles(
  domains: Pick<DomainConfig, "name" | "tls">[],
  files: (domain: string) => { served: string; key: string },
): RenderedFiles {
  const lines = acmeDomains(domains).map((d) => {
    const { served, key } = files(d);
    return `${LIVE_CHAIN_DIR}/${d}/fullchain.pem ${served} ${key}`;
  });
  return lines.length ? renderTemplates("tls-watch", { [TLS_WATCH_FILE]: { chains: lines.join("\n") } }) : {};
}
