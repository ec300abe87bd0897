// IPv4 arithmetic (config/network.ts): the one place addresses are computed with.
import { strict as assert } from "assert";
import { describe, it } from "node:test";
import { contains, gatewayOf, isCanonicalCidr, netmask, overlaps, parseCidr, platformPeers, withNetmask } from "../../config/network";

describe("config/network", () => {
  const cases: [string, () => unknown, unknown][] = [
    ["gateway of a /24", () => gatewayOf("172.30.0.0/24"), "172.30.0.1"],
    ["gateway of a /16", () => gatewayOf("10.20.0.0/16"), "10.20.0.1"],
    ["contains: inside", () => contains("10.0.0.0/30", "10.0.0.3"), true],
    ["contains: just outside", () => contains("10.0.0.0/30", "10.0.0.4"), false],
    ["overlaps: nested", () => overlaps(parseCidr("172.30.0.0/16"), parseCidr("172.30.1.0/24")), true],
    ["overlaps: side by side", () => overlaps(parseCidr("172.30.0.0/24"), parseCidr("172.30.1.0/24")), false],
    ["canonical CIDR", () => isCanonicalCidr("192.0.2.0/24"), true],
    ["host bits set", () => isCanonicalCidr("192.0.2.1/24"), false],
    ["octet out of range", () => isCanonicalCidr("192.0.256.0/24"), false],
    ["netmask of /25", () => netmask(25), "255.255.255.128"],
    ["netmask of /0", () => netmask(0), "0.0.0.0"],
    ["address/netmask", () => withNetmask("10.8.0.0/16"), "10.8.0.0/255.255.0.0"],
    ["the platform's peers leave out the gateway only", () => platformPeers("10.0.0.0/29"), ["10.0.0.0/32", "10.0.0.2/31", "10.0.0.4/30"]],
  ];
  for (const [what, got, want] of cases) it(what, () => assert.deepEqual(got(), want));
});
