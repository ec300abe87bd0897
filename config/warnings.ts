// What a stack may say but probably does not mean: reported by `npm run validate` and by
// `pulumi preview`/`up` as warnings, never as errors, since the stack still deploys.
import { ParsedStack } from "./schema";

export function configWarnings(stack: Pick<ParsedStack, "features" | "monitoring" | "bindAddress">): string[] {
  const warnings: string[] = [];
  const alerts = stack.monitoring.alerts;
  if (stack.features.monitoring && !alerts.email && !alerts.webhookUrl) {
    warnings.push(
      "mail-platform:monitoring.alerts: neither email nor webhookUrl is set, so alerts only show on the dashboard; " +
        "set monitoring.alerts.email (an external relay) or monitoring.alerts.webhookUrl (a chat or incident tool)",
    );
  }
  // Docker's userland proxy carries every connection to a loopback-bound port, and it connects
  // from the Docker gateway's address: every client looks like one, and the gateway is never banned.
  if (stack.features.bans && stack.bindAddress.startsWith("127.")) {
    warnings.push(
      `mail-platform:bindAddress: ${stack.bindAddress} is reached only through Docker's userland proxy, so every client of the published ports has the Docker gateway's address, which features.bans never bans; ` +
        "publish on the host's public address (or 0.0.0.0) so Docker's NAT keeps each client's own",
    );
  }
  return warnings;
}
