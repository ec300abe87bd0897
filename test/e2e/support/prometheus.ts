// The e2e stack's Prometheus, as an operator queries it: through the HTTPS front, behind the
// monitoring login.
import { strict as assert } from "assert";
import { platform } from "./platform";
import { WebSession } from "./web-session";

/** Where the front serves the monitoring (Pulumi.e2e.yaml's default `monitor.<first domain>`). */
export const MONITOR_HOST = "monitor.example.test";

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A session logged in to the monitoring. */
export function prometheus(): WebSession {
  const login = platform().monitoring;
  assert.ok(login, "the e2e stack has features.monitoring on, and its endpoints have no monitoring login");
  return new WebSession(MONITOR_HOST, login);
}

/** An instant query's samples. */
export async function query(expr: string): Promise<Sample[]> {
  const r = await prometheus().get(`/api/v1/query?query=${encodeURIComponent(expr)}`);
  assert.equal(r.status, 200, `query ${expr}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  return (JSON.parse(r.body) as { data: { result: Sample[] } }).data.result;
}
