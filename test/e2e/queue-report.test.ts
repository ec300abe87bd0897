// The deferred-queue report: what waits in Postfix's queue, how long and why, on the container's
// log and as metrics, and that it deletes nothing: the message is delivered once the remote MX
// takes mail again. The remote MX (a test double for another company's) refuses with 451 while
// its switch is on.
import { strict as assert } from "assert";
import { after, before, describe, it } from "node:test";
import { containerLog, dockerExec } from "../support/docker";
import { acceptMail, refuseMail } from "./internet/internet";
import { submit } from "./support/mail";
import { internet, logs, platform, unique } from "./support/platform";

const POSTFIX = "mp-e2e-postfix";

function report(): { code: number; out: string; metrics: string } {
  const r = dockerExec(POSTFIX, ["run-job", "queue-report", "queue-report"]);
  const metrics = dockerExec(POSTFIX, [
    "cat",
    "/var/lib/mail-platform/metrics/queue.prom",
    "/var/lib/mail-platform/metrics/job-queue-report.prom",
  ]);
  return { code: r.code, out: r.stdout + r.stderr, metrics: metrics.stdout };
}

/** Waits until Postfix has tried the message once and put it in the deferred queue. */
async function untilDeferred(token: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const q = dockerExec(POSTFIX, ["postqueue", "-j"]).stdout;
    if (q.split("\n").some((l) => l.includes('"queue_name": "deferred"') && l.includes("remote.test"))) return;
    if (Date.now() > deadline)
      assert.fail(`the message ${token} was not deferred within ${timeoutMs / 1000} s; queue:\n${q}\n${logs("postfix")}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe("the deferred-queue report (queue-report in the Postfix container)", () => {
  let net: ReturnType<typeof internet>;
  before(() => {
    platform();
    net = internet();
  });
  after(() => acceptMail(net.mx.container));

  it("reports an empty queue as zero, with the job's success in its metrics", () => {
    const r = report();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /job=queue-report event=start/);
    assert.match(r.out, /job=queue-report event=end result=ok/);
    assert.match(r.metrics, /^mailplatform_job_exit_code\{job="queue-report"\} 0$/m);
    assert.match(r.metrics, /^mailplatform_job_last_success_timestamp_seconds\{job="queue-report"\} \d+$/m);
  });

  it("lists a deferred message with its reason and destination, counts it, deletes nothing, and the message goes out later", async () => {
    refuseMail(net.mx.container);
    const token = unique("deferred");
    await submit("alice@example.test", { from: "alice@example.test", to: ["partner@remote.test"], subject: token, text: "wait for me" });
    await untilDeferred(token);

    const r = report();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /deferred=[1-9]\d* oldest_age=\d+s/, r.out);
    assert.match(r.out, /\d+ recipient\(s\) to remote\.test: .*451 4\.3\.2 Service temporarily unavailable/, r.out);
    const deferred = Number(/^mailplatform_postfix_deferred_messages (\d+)$/m.exec(r.metrics)?.[1] ?? 0);
    assert.ok(deferred >= 1, r.metrics);
    assert.match(r.metrics, /^mailplatform_postfix_deferred_oldest_age_seconds \d+$/m);
    assert.match(containerLog(POSTFIX, ["--tail", "200"]) + r.out, /result=ok/);

    acceptMail(net.mx.container);
    dockerExec(POSTFIX, ["postqueue", "-f"]);
    const got = await net.waitForMessage((m) => m.raw.includes(token), 60_000);
    assert.deepEqual(got.rcptTo, ["partner@remote.test"]);
    const now = Number(/^mailplatform_postfix_deferred_messages (\d+)$/m.exec(report().metrics)?.[1]);
    assert.ok(now < deferred, `the delivered message is still counted: ${now} deferred, ${deferred} before`);
  });
});
