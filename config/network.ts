// IPv4 arithmetic on the platform's subnets, shared by the components that write access lists
// and by the validation that keeps those lists safe. It imports nothing, so the config schema can
// use it without a cycle.

/** A CIDR as numbers: the network address and the prefix length. */
export interface Cidr {
  base: number;
  bits: number;
}

function ipToInt(octets: number[]): number {
  return octets.reduce((acc, o) => ((acc << 8) | o) >>> 0, 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join(".");
}

/** `192.0.2.0/24` as numbers; the caller has validated the form (config/schema.ts's `cidr`). */
export function parseCidr(s: string): Cidr {
  const [ip, bits] = s.split("/");
  return { base: ipToInt(ip.split(".").map(Number)), bits: Number(bits) };
}

function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** Whether `s` is an IPv4 CIDR with zero host bits, such as 192.0.2.0/24. */
export function isCanonicalCidr(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return false;
  return (ipToInt(octets) & ~maskOf(bits)) >>> 0 === 0;
}

/** Whether two networks share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const mask = maskOf(Math.min(a.bits, b.bits));
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0;
}

/** The netmask of a prefix length, dotted: 24 -> 255.255.255.0. */
export function netmask(bits: number): string {
  return intToIp(maskOf(bits));
}

/** A subnet as address/netmask (`172.30.0.0/255.255.255.0`), for daemons that take no prefix length. */
export function withNetmask(subnet: string): string {
  const { base, bits } = parseCidr(subnet);
  return `${intToIp(base)}/${netmask(bits)}`;
}

/**
 * The first usable address of a subnet. DockerHost sets it as each bridge network's gateway, so
 * it is the Docker host itself as the containers see it (and docker-proxy's source address).
 */
export function gatewayOf(subnet: string): string {
  const { base } = parseCidr(subnet);
  return intToIp((base + 1) >>> 0);
}

/** Whether `address` lies inside `subnet`. */
export function contains(subnet: string, address: string): boolean {
  const { base, bits } = parseCidr(subnet);
  const ip = parseCidr(`${address}/32`).base;
  return ip >= base && ip < base + 2 ** (32 - bits);
}

/**
 * `subnet` without one address, as the smallest list of CIDRs (for daemons whose access lists
 * have no "except" syntax, such as spamd's --allowed-ips). `172.30.0.0/24` minus `172.30.0.1`
 * gives `172.30.0.0/32, 172.30.0.2/31, 172.30.0.4/30, ... 172.30.0.128/25`.
 */
export function cidrsWithout(subnet: string, address: string): string[] {
  const { base, bits } = parseCidr(subnet);
  if (!contains(subnet, address)) return [subnet];
  const ip = parseCidr(`${address}/32`).base;
  const out: string[] = [];
  // Walk down from the whole subnet: at each level keep the half that does not hold `ip`.
  let lo = base;
  for (let b = bits + 1; b <= 32; b++) {
    const half = 2 ** (32 - b);
    const inUpper = ip >= lo + half;
    out.push(`${intToIp((inUpper ? lo : lo + half) >>> 0)}/${b}`);
    if (inUpper) lo += half;
  }
  return out.sort((a, b) => parseCidr(a).base - parseCidr(b).base);
}

/**
 * The platform's own containers: its internal subnet minus the gateway, where processes on the
 * Docker host appear. Daemons trust forwarded client addresses (and relay) only from here.
 */
export function platformPeers(internalSubnet: string): string[] {
  return cidrsWithout(internalSubnet, gatewayOf(internalSubnet));
}
