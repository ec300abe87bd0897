// A resolver for mailauth that asks the simulated Internet's DNS server, so DKIM, SPF and DMARC
// are checked against the records the stack told the admin to publish, never the real Internet.
import { Internet } from "../internet/internet";

export function resolverFor(net: Internet): (name: string, rrtype: string) => Promise<unknown> {
  return async (name: string, rrtype: string) => {
    const answers = net.query(name, rrtype);
    if (answers.length === 0) {
      const e = new Error(`queryTxt ENOTFOUND ${name}`) as Error & { code: string };
      e.code = "ENOTFOUND";
      throw e;
    }
    switch (rrtype) {
      case "TXT":
        return answers.map((a) => [a]);
      case "MX":
        return answers.map((a) => {
          const [priority, exchange] = a.split(/\s+/);
          return { priority: Number(priority), exchange: exchange.replace(/\.$/, "") };
        });
      default:
        return answers.map((a) => a.replace(/\.$/, ""));
    }
  };
}
