// What a stack may say but probably does not mean: reported by `npm run validate` and by
// `pulumi preview`/`up` as warnings, never as errors, since the stack still deploys.
import { ParsedStack } from "./schema";

export function configWarnings(stack: Pick<ParsedStack, "features" | "monitoring">): string[] {
  const warnings: string[] = [];
  const alerts = stack.monitoring.alerts;
  if (stack.features.monitoring && !alerts.email && !alerts.webhookUrl) {
    warnings.push(
      "mail-platform:monitoring.alerts: neither email nor webhookUrl is set, so alerts only show on the dashboard; " +
        "set monitoring.alerts.email (an external relay) or monitoring.alerts.webhookUrl (a chat or incident tool)",
    );
  }
  return warnings;
}
