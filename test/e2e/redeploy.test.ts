// Re-deploying a running platform, as users do with `pulumi up` after a config change: what the
// engine would delete and re-create (the harness plans it as the engine does), whether the mail
// service stays up, and whether the change reaches the containers. Each test puts the original
// stack back before it ends, so the files after this one see the usual deployment.
import { strict as assert } from "assert";
import { after, before, describe, it } from "node:test";
import { docker, dockerExec, inspect } from "../support/docker";
import { imapClient, normalHeaders, sendInbound, waitForMessage } from "./support/mail";
import { logs, platform, unique } from "./support/platform";
import { deploy, e2eWith } from "./support/stack-variants";
import { Endpoints } from "./up";

const SERVICES = [
  "mp-e2e-mariadb",
  "mp-e2e-postfix",
  "mp-e2e-dovecot",
  "mp-e2e-amavis",
  "mp-e2e-spamd",
  "mp-e2e-clamav",
  "mp-e2e-proxy",
  "mp-e2e-webmail",
  "mp-e2e-postfixadmin",
];

const changed = (e: Endpoints) => e.steps.filter((s) => s.kind !== "same").map((s) => `${s.kind} ${s.name}`);
const containerIds = () => Object.fromEntries(SERVICES.map((c) => [c, inspect(c, "{{.Id}}")]));

/** Sends a message in from outside and waits for it in the mailbox (logging in with `pass` when the suite's accounts lack it). */
async function mailStillFlows(to: string, label: string, pass?: string): Promise<void> {
  const token = unique(label);
  await sendInbound({
    from: "partner@remote.test",
    to: [to],
    subject: `${label} ${token}`,
    text: "still here",
    headers: normalHeaders("remote.test"),
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const client = imapClient(to, pass);
    await client.connect();
    await client.mailboxOpen("INBOX");
    const found = await client.search({ subject: token });
    await client.logout();
    if (found && found.length) return;
    if (Date.now() > deadline)
      assert.fail(`no message "${token}" reached ${to}'s INBOX within 60 s:\n${logs("postfix", "amavis", "dovecot")}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe("re-deploying a running platform", () => {
  before(() => {
    platform();
  });
  after(() => {
    deploy();
  });

  it("a new mailbox replaces only the provisioning run: every service keeps running, and the mailbox receives mail", async () => {
    const ids = containerIds();
    const withFrank = deploy(
      e2eWith((c) => c["mail-platform:mailboxes"].push({ address: "frank@example.test", name: "Frank Example", quotaMb: 64 })),
    );
    assert.deepEqual(changed(withFrank), ["create mp-e2e-db-mailbox-frank@example.test", "replace mp-e2e-db-provision"]);
    assert.deepEqual(containerIds(), ids, "a long-running container was re-created");
    const frank = withFrank.accounts.find((a) => a.address === "frank@example.test");
    assert.ok(frank, "the new mailbox's password is an output");
    await mailStillFlows("frank@example.test", "new-mailbox", frank.password);
    const restored = deploy();
    assert.deepEqual(changed(restored), ["replace mp-e2e-db-provision", "delete mp-e2e-db-mailbox-frank@example.test"]);
    assert.deepEqual(containerIds(), ids);
  });

  it("a stopped container is started and a removed one re-created by the next deploy (Pulumi.yaml refreshes first)", async () => {
    assert.equal(docker(["stop", "mp-e2e-dovecot"]).code, 0);
    const dovecotId = inspect("mp-e2e-dovecot", "{{.Id}}");
    assert.equal(docker(["rm", "-f", "mp-e2e-proxy"]).code, 0);
    const e = deploy();
    assert.deepEqual(
      e.steps
        .filter((s) => s.kind !== "same")
        .map((s) => `${s.kind} ${s.name}`)
        .sort(),
      [
        "create mp-e2e-proxy-container",
        "found-gone mp-e2e-proxy-container",
        "found-stopped mp-e2e-store-container",
        "update mp-e2e-store-container",
      ],
    );
    assert.equal(inspect("mp-e2e-dovecot", "{{.State.Running}} {{.Id}}"), `true ${dovecotId}`, "Dovecot started in place, not re-created");
    assert.equal(inspect("mp-e2e-proxy", "{{.State.Running}}"), "true");
    await mailStillFlows("alice@example.test", "after-restore");
  });

  it("a changed tmpfs size reaches Amavis (the provider alone would only record it)", async () => {
    const sizeOf = () =>
      dockerExec("mp-e2e-amavis", ["df", "-m", "--output=size", "/var/lib/amavis/tmp"]).stdout.trim().split("\n").pop()?.trim();
    assert.equal(sizeOf(), "256");
    const e = deploy(e2eWith((c) => (c["mail-platform:tuning"].amavisTmpMb = 320)));
    assert.ok(changed(e).includes("replace mp-e2e-filter-amavis"), `Amavis must be replaced: ${changed(e).join(", ")}`);
    assert.equal(sizeOf(), "320");
    await mailStillFlows("bob@example.test", "bigger-tmpfs");
    deploy();
    assert.equal(sizeOf(), "256");
  });

  it("a changed internal subnet replaces the network and every container on it, keeps the data, and mail flows", async () => {
    const token = unique("before-subnet");
    await sendInbound({
      from: "partner@remote.test",
      to: ["alice@example.test"],
      subject: `Before ${token}`,
      text: "keep me",
      headers: normalHeaders("remote.test"),
    });
    await waitForMessage("alice@example.test", token, ["INBOX"]);
    const ids = containerIds();
    const e = deploy(e2eWith((c) => (c["mail-platform:internalSubnet"] = "172.31.8.0/24")));
    assert.ok(changed(e).includes("replace mp-e2e-internal"), `the network must be replaced: ${changed(e).join(", ")}`);
    const subnet = inspect("mp-e2e-internal", "{{(index .IPAM.Config 0).Subnet}}", "network");
    assert.equal(subnet, "172.31.8.0/24");
    const now = containerIds();
    for (const c of SERVICES) assert.notEqual(now[c], ids[c], `${c} should have been re-created on the new network`);
    await waitForMessage("alice@example.test", token, ["INBOX"], 5000);
    await mailStillFlows("alice@example.test", "new-subnet");
    deploy();
    assert.equal(inspect("mp-e2e-internal", "{{(index .IPAM.Config 0).Subnet}}", "network"), "172.31.0.0/24");
    await mailStillFlows("alice@example.test", "subnet-back");
  });
});
