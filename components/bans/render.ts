// The bans' configuration: fail2ban's server settings, the defaults every jail shares (times,
// addresses never banned, the DOCKER-USER action), one jail per login that faces clients and the
// recidive jail, from the stack config (`bans`) and the components the stack has.
import * as crypto from "crypto";
import { gatewayOf } from "../../config/network";
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles, renderTemplates } from "../../render/template";
import { componentLogFile } from "../host/component-logs";
import { BAN_JAILS, BanJail } from "./constants";

type BansPlatform = Pick<PlatformConfig, "instanceName" | "features" | "bans" | "internalSubnet" | "edgeSubnet" | "trustedNetworks">;

interface JailSpec {
  jail: BanJail;
  /** What it bans, for the jail file's comment. */
  what: string;
  /** The service whose log file it reads. */
  service: string;
}

/** The jails of a stack: the mail logins always, the web apps' when they run, and the recidive jail. */
export function banJails(p: Pick<PlatformConfig, "features">): JailSpec[] {
  return [
    { jail: BAN_JAILS.smtp, what: "failed SMTP AUTH on ports 25, 465 and 587 (Postfix)", service: "postfix" },
    { jail: BAN_JAILS.imap, what: "failed IMAP, POP3 and ManageSieve logins, the webmail's included (Dovecot)", service: "dovecot" },
    ...(p.features.webmail ? [{ jail: BAN_JAILS.webmail, what: "failed webmail logins (Roundcube)", service: "webmail" }] : []),
    ...(p.features.admin ? [{ jail: BAN_JAILS.admin, what: "failed PostfixAdmin logins", service: "postfixadmin" }] : []),
    { jail: BAN_JAILS.recidive, what: "clients the other jails banned again and again", service: "bans" },
  ];
}

/** The services whose log files the bans read (mounted read-only), its own aside. */
export function bannedServices(p: Pick<PlatformConfig, "features">): string[] {
  return banJails(p)
    .map((j) => j.service)
    .filter((s) => s !== "bans");
}

/**
 * Six hex digits of the instance name: each jail's chain is `f2b-<jail>-<id>`, unique per stack
 * on a shared host and within iptables' 28 characters whatever the instance is called.
 */
export function banChainId(instanceName: string): string {
  return crypto.createHash("sha256").update(instanceName).digest("hex").slice(0, 6);
}

/** Never banned: loopback, the internal network, the Docker gateways, trusted networks, the stack's list. */
export function neverBanned(p: BansPlatform): string[] {
  // Not the whole edge network: the Internet's clients reach the containers on it.
  return [...new Set(["127.0.0.0/8", "::1", p.internalSubnet, gatewayOf(p.edgeSubnet), ...p.trustedNetworks, ...p.bans.ignore])];
}

const SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 } as const;
/** A time as `bans` has it (`10m`, `1w`), in seconds. */
export function banSeconds(t: string): number {
  return Number(t.slice(0, -1)) * SECONDS[t.slice(-1) as keyof typeof SECONDS];
}

export function renderBansFiles(p: BansPlatform): RenderedFiles {
  const b = p.bans;
  const times = (jail: BanJail) =>
    jail === BAN_JAILS.recidive
      ? { banTime: b.recidive.banTime, findTime: b.recidive.findTime, maxRetry: b.recidive.maxRetry }
      : { banTime: b.banTime, findTime: b.findTime, maxRetry: b.maxRetry };
  return renderTemplates("fail2ban", {
    // A day beyond the longest look-back and ban, so a restored ban is never purged early.
    "/etc/fail2ban/fail2ban.local": { dbPurgeAge: Math.max(banSeconds(b.recidive.banTime), banSeconds(b.recidive.findTime)) + SECONDS.d },
    "/etc/fail2ban/jail.local": { ignoreIp: neverBanned(p).join(" "), chainId: banChainId(p.instanceName) },
    "/etc/fail2ban/jail.d/jail.local": banJails(p).map((j) => ({
      path: `/etc/fail2ban/jail.d/${j.jail}.local`,
      values: { jail: j.jail, what: j.what, logPath: componentLogFile(j.service), ...times(j.jail) },
    })),
  });
}
