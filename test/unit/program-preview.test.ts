// What a reviewer's `pulumi preview` would show for everyday changes, with the outputs of what the
// change replaces unknown, as in a real preview. The engine deletes and re-creates every container
// whose replace-forcing inputs take such outputs, so a mailbox, alias, admin or domain-policy
// change must replace at most the one-shot provisioning run: SMTP, IMAP and the web apps stay up.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { isService, PlannedStep, previewChange, unknownReplaceForcing } from "../e2e/harness/preview";
import type { PropertyMap } from "../../tools/mock-run/property-map";

const ROOT = path.resolve(__dirname, "..", "..");
const DEV = path.join(ROOT, "Pulumi.dev.yaml");
const PROVISION = "mp-dev-db-provision";

/** Pulumi.dev.yaml with `edit` applied to its config, as a stack file of the same stack. */
function devWith(edit: (config: PropertyMap) => void): string {
  const doc = parse(fs.readFileSync(DEV, "utf8"));
  edit(doc.config);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-preview-"));
  const file = path.join(dir, "Pulumi.dev.yaml");
  fs.writeFileSync(file, stringify(doc));
  return file;
}

/** The containers a plan does anything to but leave alone (a new or removed password is no outage). */
const touched = (steps: PlannedStep[]) =>
  steps
    .filter((s) => s.type === "docker:index/container:Container" && s.kind !== "same")
    .map((s) => `${s.kind} ${s.name}${s.reason ? ` (${s.reason})` : ""}`);

const CHANGES: [string, (c: PropertyMap) => void][] = [
  ["a new mailbox", (c) => c["mail-platform:mailboxes"].push({ address: "carol@example.test", name: "Carol Example", quotaMb: 256 })],
  ["a mailbox's quota and name", (c) => Object.assign(c["mail-platform:mailboxes"][1], { quotaMb: 2048, name: "Robert Example" })],
  ["a removed mailbox", (c) => c["mail-platform:mailboxes"].pop()],
  ["a new alias", (c) => c["mail-platform:aliases"].push({ address: "sales@example.test", goto: ["bob@example.test"] })],
  ["an alias's targets", (c) => (c["mail-platform:aliases"][0].goto = ["alice@example.test", "bob@example.test"])],
  ["a new PostfixAdmin administrator", (c) => c["mail-platform:web"].admins.push("bob@example.test")],
  ["a domain's DMARC policy", (c) => (c["mail-platform:domains"][0].dmarcPolicy = "reject")],
];

describe("pulumi preview of everyday changes (dev stack, unknown outputs as in a real preview)", () => {
  it("an unchanged stack plans no change at all", async () => {
    const { steps } = await previewChange(DEV, DEV);
    assert.deepEqual(touched(steps), []);
    assert.deepEqual(
      steps.filter((s) => s.kind === "create").map((s) => s.name),
      [],
    );
  });

  for (const [what, edit] of CHANGES) {
    it(`${what} replaces at most the provisioning run, and no service's replace-forcing input is unknown`, async () => {
      const { steps, run } = await previewChange(DEV, devWith(edit));
      const services = run.resources.filter(isService);
      assert.ok(services.length >= 9, `expected the dev stack's services, saw ${services.map((s) => s.name).join(", ")}`);
      assert.deepEqual(
        services.map((s) => [s.name, unknownReplaceForcing(s)]).filter(([, u]) => u.length),
        [],
        "these containers would be deleted and re-created by the engine (their replace-forcing inputs take outputs the change replaces)",
      );
      assert.deepEqual(
        touched(steps).filter((t) => !t.includes(PROVISION)),
        [],
        "only the provisioning run may be replaced",
      );
    });
  }

  it("a MariaDB replacement (a new image or config) re-runs provisioning and re-creates no service", async () => {
    const { steps, run } = await previewChange(DEV, DEV, { replace: ["mp-dev-db-mariadb"] });
    const t = touched(steps);
    assert.ok(
      t.some((x) => x.startsWith("replace mp-dev-db-mariadb")),
      `MariaDB should be replaced: ${t.join("; ")}`,
    );
    assert.deepEqual(
      t.filter((x) => !/mp-dev-db-(mariadb|provision)/.test(x)),
      [],
    );
    assert.deepEqual(
      run.resources
        .filter(isService)
        .filter((s) => s.name !== "mp-dev-db-mariadb" && unknownReplaceForcing(s).length)
        .map((s) => s.name),
      [],
    );
  });

  it("a subnet change replaces the network, and the engine re-creates every container on it first", async () => {
    const { steps, run } = await previewChange(
      DEV,
      devWith((c) => (c["mail-platform:internalSubnet"] = "172.30.8.0/24")),
    );
    const replaced = new Set(steps.filter((s) => s.kind === "replace").map((s) => s.name));
    assert.ok(replaced.has("mp-dev-internal"), "the internal network is replaced");
    for (const s of run.resources.filter(isService))
      assert.ok(replaced.has(s.name), `${s.name} is on the internal network and must be replaced with it`);
  });
});
