// The whole program with the built-in archive under mocks: Amavis's archive copies go to the
// Archive's intake output, Piler finds its database and the SearchIndex through their outputs,
// the proxy serves the archive UI, and the archive's data sits on the storage roots it belongs on.
import { strict as assert } from "assert";
import * as path from "path";
import { before, describe, it } from "node:test";
import { ProgramRun, RegisteredResource, runProgram } from "../../tools/mock-run/run-program";
import { containerNamed, dataVolumes, uploadOf } from "../support/registrations";

const STACK = path.join(__dirname, "stacks", "Pulumi.builtin-archive.yaml");

let run: ProgramRun;
const container = (suffix: string): RegisteredResource => containerNamed(run.resources, suffix);
const aliases = (c: RegisteredResource): string[] => c.inputs.networksAdvanced.flatMap((n: { aliases?: string[] }) => n.aliases ?? []);
const networks = (c: RegisteredResource): string[] => c.inputs.networksAdvanced.map((n: { name: string }) => n.name);

describe("the program with the built-in archive, under mocks", () => {
  before(async () => {
    run = await runProgram(STACK, "masked");
  });

  it("creates the Archive and its SearchIndex beside the mail core and the web apps", () => {
    const types = new Set(run.resources.filter((r) => r.type.startsWith("mail-platform:")).map((r) => r.type));
    for (const t of [
      "mail-platform:archive:Archive",
      "mail-platform:search:SearchIndex",
      "mail-platform:webmail:Webmail",
      "mail-platform:postfixadmin:PostfixAdminUi",
    ]) {
      assert.ok(types.has(t), `no ${t}; have ${[...types].join(", ")}`);
    }
  });

  it("Amavis sends archive copies to the host and port Piler answers SMTP on", () => {
    const amavis = uploadOf(container("amavis"), "/etc/amavis/conf.d/50-user");
    const m = /\$archive_quarantine_method = 'smtp:\[([\w.-]+)\]:(\d+)';/.exec(amavis);
    assert.ok(
      m,
      `no archive quarantine method in Amavis's config:\n${amavis
        .split("\n")
        .filter((l) => /archive/.test(l))
        .join("\n")}`,
    );
    assert.ok(
      aliases(container("piler")).includes(m[1]),
      `Amavis archives to ${m[1]}, which is not Piler's alias (${aliases(container("piler")).join(", ")})`,
    );
    assert.equal(m[2], "25");
    assert.deepEqual(
      networks(container("amavis")),
      ["mp-builtin-archive-internal"],
      "with the archive inside the platform, Amavis needs no edge network",
    );
  });

  it("Piler reads the envelope recipients Amavis writes and talks to MariaDB and Manticore by their aliases", () => {
    const conf = uploadOf(container("piler"), "/etc/piler/piler.conf");
    assert.match(conf, /^extra_to_field=X-Envelope-To:$/m);
    const sphx = /^sphxhost=([\w.-]+)$/m.exec(conf)?.[1];
    assert.ok(sphx && aliases(container("manticore")).includes(sphx), `piler.conf's sphxhost ${sphx} is not Manticore's alias`);
    assert.match(conf, /^sphxport=9306$/m);
    const mysql = /^mysqlhost=([\w.-]+)$/m.exec(conf)?.[1];
    assert.ok(mysql && aliases(container("mariadb")).includes(mysql), `piler.conf's mysqlhost ${mysql} is not MariaDB's alias`);
    assert.match(conf, /^mysqldb=piler$/m);
    assert.match(conf, /^enable_cjk=1$/m);
  });

  it("indexes Chinese with ICU, as the stack asks", () => {
    const conf = uploadOf(container("manticore"), "/etc/manticoresearch/manticore.conf");
    assert.match(conf, /morphology\s*=\s*icu_chinese/);
    assert.doesNotMatch(conf, /ngram_len/);
  });

  it("keeps the archive store on bulk storage and the index on SSD", () => {
    const binds = (c: RegisteredResource) => dataVolumes(c.inputs).map((v) => v.hostPath);
    const piler = binds(container("piler"));
    assert.ok(piler.length > 0 && piler.every((p: string) => p.startsWith("/srv/mail/bulk/archive")), `Piler's data: ${piler.join(", ")}`);
    const manticore = binds(container("manticore"));
    assert.ok(
      manticore.length > 0 && manticore.every((p: string) => p.startsWith("/srv/mail/ssd/index")),
      `Manticore's data: ${manticore.join(", ")}`,
    );
  });

  it("serves the archive, the webmail and PostfixAdmin on their own names, each with a certificate that covers it", () => {
    const proxy = container("proxy");
    for (const [hostname, upstream] of [
      ["archive.example.test", "piler"],
      ["webmail.example.test", "webmail"],
      ["postfixadmin.example.test", "postfixadmin"],
    ]) {
      const site = uploadOf(proxy, `/etc/nginx/sites/web-app.${hostname}.conf`);
      assert.match(site, new RegExp(`set \\$upstream_app http://${upstream}:80;`), `${hostname} is not proxied to ${upstream}:80`);
    }
    const certs = run.resources.filter((r) => r.type === "tls:index/locallySignedCert:LocallySignedCert");
    assert.ok(certs.length > 0, "no certificate from the stack's CA");
    const requests = run.resources.filter((r) => r.type === "tls:index/certRequest:CertRequest");
    const names = requests.flatMap((r) => r.inputs.dnsNames ?? []);
    for (const h of ["archive.example.test", "webmail.example.test", "postfixadmin.example.test"])
      assert.ok(names.includes(h), `no certificate names ${h}; names: ${names.join(", ")}`);
  });

  it("outputs the archive's admin password and the three web addresses", () => {
    assert.deepEqual(run.outputs.webUrls, {
      webmail: "https://webmail.example.test/",
      postfixadmin: "https://postfixadmin.example.test/",
      archive: "https://archive.example.test/",
    });
    assert.equal(
      run.outputs.archiveAdminPassword,
      "<masked:password_mp-builtin-archive-archive-admin>",
      "the admin password is the generated one",
    );
  });
});
