// What the ContentFilter's renderers take, for the daemon tests that run its images alone.
import { ContentFilterRenderInput } from "../../components/contentfilter/render";
import { PlatformConfig } from "../../config/platform";
import { makePrivateKey } from "./pem";

/**
 * The services the filter talks to are loopback ports nobody listens on: the sandbox has no
 * network, so a service name would only fail after a DNS timeout (half a minute per lookup),
 * while a closed port fails at once, which is what these checks need (Postfix, MariaDB and clamd
 * are down: Amavis must defer).
 */
export function loopbackFilterInput(platform: PlatformConfig): ContentFilterRenderInput {
  return {
    platform,
    reinjection: { host: "127.0.0.1", port: 10025 },
    clamd: { host: "127.0.0.1", port: 3310 },
    bayesSql: { host: "127.0.0.1", port: 3306, database: "spamassassin", user: "spamassassin", password: "Test1Bayes2Password3" },
    dkimKeys: platform.domains.map((d) => ({
      domain: d.name,
      selector: d.dkimSelector,
      privateKeyPem: makePrivateKey("rsa"),
      publicKeyBase64: "",
    })),
  };
}
