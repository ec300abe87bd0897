// The whole program for the dev and prod stacks under mocks: what `pulumi up` would be handed.
// Asserts the wiring between components and the properties a reviewer relies on (ports, networks,
// secrets, data on host paths), across components rather than inside one.
import { strict as assert } from "assert";
import * as path from "path";
import { before, describe, it } from "node:test";
import { cidrsWithout } from "../../config/network";
import { ProgramRun, RegisteredResource, runProgram } from "../../tools/mock-run/run-program";
import { containerNamed, uploadOf } from "../support/registrations";

const ROOT = path.resolve(__dirname, "..", "..");
const CONTAINER = "docker:index/container:Container";

let run: ProgramRun;
const containers = () => run.resources.filter((r) => r.type === CONTAINER);
const container = (suffix: string): RegisteredResource => containerNamed(run.resources, suffix);
const aliases = (c: RegisteredResource, network: string): string[] =>
  c.inputs.networksAdvanced.find((n: { name: string }) => n.name === network)?.aliases ?? [];

describe("the dev stack under mocks", () => {
  before(async () => {
    run = await runProgram(path.join(ROOT, "Pulumi.dev.yaml"), "masked");
  });

  it("creates one component of each kind", () => {
    const components = run.resources
      .filter((r) => r.type.startsWith("mail-platform:"))
      .map((r) => r.type)
      .sort();
    assert.deepEqual(components, [
      "mail-platform:database:Database",
      "mail-platform:filter:ContentFilter",
      "mail-platform:host:DockerHost",
      "mail-platform:mailstore:DovecotStore",
      "mail-platform:mta:PostfixGateway",
      "mail-platform:pki:Certificates",
      "mail-platform:pki:DkimKeys",
      "mail-platform:postfixadmin:PostfixAdminUi",
      "mail-platform:proxy:ReverseProxy",
      "mail-platform:webmail:Webmail",
    ]);
  });

  it("publishes the DNS records in plain text, as `pulumi stack output dns` prints them, and keeps the passwords secret", () => {
    const secret = (output: string) =>
      run.secretOutputs.some((p) => p === output || p.startsWith(`${output}.`) || p.startsWith(`${output}[`));
    assert.equal(secret("dns"), false, `dns must not be secret; secret outputs: ${run.secretOutputs.join(", ")}`);
    assert.equal(secret("dnsZone"), false, "dnsZone must not be secret");
    assert.ok((run.outputs.dnsZone as string).includes("_domainkey"), "the zone snippet has the DKIM record");
    for (const output of ["mailboxPasswords", "adminPasswords", "archiveAdminPassword"])
      assert.equal(secret(output), true, `${output} must be secret`);
  });

  it("gives no service's configuration the database's or the provisioning run's outputs (ordering is dependsOn)", () => {
    const db = run.resources.filter((r) => /-db-(mariadb|provision)$/.test(r.name)).map((r) => r.urn);
    const tied = containers()
      .filter((c) => !c.inputs.attach)
      .flatMap((c) =>
        Object.entries(c.propertyDependencies)
          .filter(([, deps]) => deps.some((d) => db.includes(d) && d !== c.urn))
          .map(([k]) => `${c.inputs.name}.${k}`),
      );
    assert.deepEqual(tied, [], "the engine would re-create these whenever MariaDB is replaced or provisioning re-runs");
    const postfix = container("postfix");
    assert.ok(
      db.some((d) => postfix.dependencies.includes(d)),
      "Postfix still starts after the provisioning run",
    );
  });

  it("puts every Docker resource on the stack's own engine provider", () => {
    const docker = run.resources.filter((r) => r.type.startsWith("docker:"));
    const strays = docker.filter((r) => !r.provider?.includes("pulumi:providers:docker::mp-dev-engine"));
    assert.deepEqual(
      strays.map((r) => `${r.type} ${r.name} (${r.provider})`),
      [],
    );
  });

  it("publishes only the mail and HTTPS ports, all on 127.0.0.1, from Postfix, Dovecot and the proxy", () => {
    const published = containers().flatMap((c) =>
      (c.inputs.ports ?? []).map(
        (p: { ip: string; external: number; internal: number }) => `${c.inputs.name} ${p.ip}:${p.external}->${p.internal}`,
      ),
    );
    assert.deepEqual(published.sort(), [
      "mp-dev-dovecot 127.0.0.1:2110->110",
      "mp-dev-dovecot 127.0.0.1:2143->143",
      "mp-dev-dovecot 127.0.0.1:24190->4190",
      "mp-dev-dovecot 127.0.0.1:2993->993",
      "mp-dev-dovecot 127.0.0.1:2995->995",
      "mp-dev-postfix 127.0.0.1:2465->465",
      "mp-dev-postfix 127.0.0.1:2525->25",
      "mp-dev-postfix 127.0.0.1:2587->587",
      "mp-dev-proxy 127.0.0.1:2080->80",
      "mp-dev-proxy 127.0.0.1:2443->443",
    ]);
  });

  it("keeps the database and spamd off the edge network", () => {
    for (const name of ["mariadb", "spamd"]) {
      const nets = container(name).inputs.networksAdvanced.map((n: { name: string }) => n.name);
      assert.deepEqual(nets, ["mp-dev-internal"], `${name} must only be on the internal network`);
    }
  });

  it("Postfix delivers over LMTP to the host and port Dovecot answers on", () => {
    const mainCf = uploadOf(container("postfix"), "/etc/postfix/main.cf");
    const m = /^virtual_transport = lmtp:inet:\[?([\w.-]+)\]?:(\d+)$/m.exec(mainCf);
    assert.ok(m, `main.cf has no LMTP virtual_transport:\n${mainCf}`);
    assert.ok(
      aliases(container("dovecot"), "mp-dev-internal").includes(m[1]),
      `Dovecot is not reachable as ${m[1]} on the internal network`,
    );
    const master = uploadOf(container("dovecot"), "/etc/dovecot/conf.d/10-master.conf");
    assert.match(master, new RegExp(`inet_listener lmtp[\\s\\S]*?port = ${m[2]}\\b`), `Dovecot does not listen for LMTP on ${m[2]}`);
  });

  it("Postfix hands mail to the Amavis listeners, and Amavis hands it back to Postfix's re-injection port", () => {
    const mainCf = uploadOf(container("postfix"), "/etc/postfix/main.cf");
    const filter = /^content_filter = \w+:\[([\w.-]+)\]:(\d+)$/m.exec(mainCf);
    assert.ok(filter, "main.cf has no content_filter");
    assert.ok(aliases(container("amavis"), "mp-dev-internal").includes(filter[1]), `Amavis is not reachable as ${filter[1]}`);
    const amavis = uploadOf(container("amavis"), "/etc/amavis/conf.d/50-user");
    assert.match(amavis, new RegExp(`\\b${filter[2]}\\b`), `Amavis does not listen on ${filter[2]}`);
    const forward = /\$forward_method\s*=\s*'smtp:\[([\w.-]+)\]:(\d+)'/.exec(amavis);
    assert.ok(forward, "Amavis has no forward_method");
    assert.ok(aliases(container("postfix"), "mp-dev-internal").includes(forward[1]), `Postfix is not reachable as ${forward[1]}`);
    assert.match(
      uploadOf(container("postfix"), "/etc/postfix/master.cf"),
      new RegExp(`^${forward[2]}\\s+inet`, "m"),
      `Postfix does not listen on ${forward[2]}`,
    );
  });

  it("Postfix authenticates submission through Dovecot's auth listener", () => {
    const mainCf = uploadOf(container("postfix"), "/etc/postfix/main.cf");
    const m = /^smtpd_sasl_path = inet:([\w.-]+):(\d+)$/m.exec(mainCf);
    assert.ok(m, "main.cf has no smtpd_sasl_path");
    assert.ok(aliases(container("dovecot"), "mp-dev-internal").includes(m[1]));
    assert.match(uploadOf(container("dovecot"), "/etc/dovecot/conf.d/10-master.conf"), new RegExp(`port = ${m[2]}\\b`));
  });

  it("uploads every file carrying a password or key as a secret", () => {
    const leaking = containers().filter(
      (c) => JSON.stringify(c.inputs.uploads ?? []).includes("<masked:") && !c.secretInputs.some((p) => p.startsWith("uploads")),
    );
    assert.deepEqual(
      leaking.map((c) => c.inputs.name),
      [],
    );
  });

  it("never puts a secret into a plain input such as a label or an environment variable", () => {
    const plain = run.resources.flatMap((r) =>
      Object.entries(r.inputs)
        .filter(([k]) => k !== "uploads" && !r.secretInputs.some((p) => p === k || p.startsWith(`${k}.`) || p.startsWith(`${k}[`)))
        .filter(([, v]) => JSON.stringify(v ?? "").includes("<masked:"))
        .map(([k]) => `${r.name}.${k}`),
    );
    assert.deepEqual(plain, []);
  });

  it("keeps every piece of state on a host path under the storage roots", () => {
    const mounts = containers().flatMap((c) =>
      (c.inputs.volumes ?? []).map((v: { hostPath: string; containerPath: string }) => ({ c: c.inputs.name, ...v })),
    );
    assert.ok(mounts.length >= 4, "expected the queue, mailboxes, database and quarantine to be mounted");
    for (const m of mounts) {
      assert.ok(m.hostPath, `${m.c} mounts ${m.containerPath} without a host path (an anonymous volume dies with the container)`);
      assert.match(m.hostPath, /^\/var\/lib\/mail-platform\/dev\/(ssd|bulk)\//, `${m.c}: ${m.hostPath} is outside the storage roots`);
    }
    const byContainer = Object.fromEntries(mounts.map((m) => [`${m.c}:${m.containerPath}`, m.hostPath]));
    assert.equal(byContainer["mp-dev-postfix:/var/spool/postfix"], "/var/lib/mail-platform/dev/ssd/queue");
    assert.equal(byContainer["mp-dev-dovecot:/var/vmail"], "/var/lib/mail-platform/dev/ssd/mailboxes");
  });

  it("labels every service container with a hash of its config, so a change shows in a preview", () => {
    for (const c of containers().filter((x) => x.inputs.restart === "unless-stopped")) {
      const label = c.inputs.labels.find((l: { label: string; value: string }) => l.label === "mail-platform.config-hash");
      assert.match(label?.value ?? "", /^[0-9a-f]{16}$/, `${c.inputs.name} has no readable config hash`);
    }
  });

  it("serves Roundcube on its host name through the proxy, talking to Dovecot, Postfix and MariaDB by their outputs", () => {
    const site = uploadOf(container("proxy"), "/etc/nginx/sites/web-app.webmail.example.test.conf");
    const upstream = /set \$upstream_app http:\/\/([\w.-]+):(\d+);/.exec(site) ?? /proxy_pass http:\/\/([\w.-]+):(\d+)/.exec(site);
    assert.ok(upstream, `the webmail site proxies nowhere:\n${site}`);
    assert.ok(
      aliases(container("webmail"), "mp-dev-internal").includes(upstream[1]),
      `the proxy sends webmail traffic to ${upstream[1]}, which is not the webmail's alias`,
    );
    const config = uploadOf(container("webmail"), "/etc/roundcube/config.inc.php");
    const imap = /\$config\['imap_host'\] = 'tls:\/\/([\w.-]+):(\d+)';/.exec(config);
    assert.ok(imap, `no STARTTLS imap_host in Roundcube's config:\n${config}`);
    assert.ok(
      aliases(container("dovecot"), "mp-dev-internal").includes(imap[1]),
      `Roundcube's IMAP host ${imap[1]} is not Dovecot's alias`,
    );
    const smtp = /\$config\['smtp_host'\] = 'tls:\/\/([\w.-]+):587';/.exec(config);
    assert.ok(
      smtp && aliases(container("postfix"), "mp-dev-internal").includes(smtp[1]),
      `Roundcube submits through Postfix's 587: ${smtp?.[0]}`,
    );
    const password = uploadOf(container("webmail"), "/etc/roundcube/plugins/password/config.inc.php");
    assert.match(
      password,
      /mysql:\/\/password_change:[^@]+@mariadb:3306\/postfixadmin/,
      "the password plugin uses the password-change account, not PostfixAdmin's",
    );
    const auth = uploadOf(container("dovecot"), "/etc/dovecot/conf.d/10-auth.conf");
    // The internal subnet (where the webmail is) minus its gateway (the Docker host); nothing on the edge.
    const trusted = /^login_trusted_networks = (.*)$/m.exec(auth)?.[1].split(" ") ?? [];
    assert.deepEqual(
      trusted,
      cidrsWithout("172.30.0.0/24", "172.30.0.1"),
      "Dovecot trusts the internal subnet but the Docker host's gateway",
    );
    assert.ok(!trusted.some((n) => n.startsWith("172.30.1.")), `the edge network must not be trusted: ${trusted.join(" ")}`);
  });

  it("outputs the DNS records, with the DKIM key, as data and as a zone snippet", () => {
    const dns = run.outputs.dns as { type: string; name: string; value: string }[];
    assert.deepEqual(
      dns.map((r) => `${r.type} ${r.name}`),
      [
        "MX example.test.",
        "TXT example.test.",
        "TXT dev._domainkey.example.test.",
        "TXT _dmarc.example.test.",
        "CNAME mta-sts.example.test.",
        "CNAME autoconfig.example.test.",
        "CNAME autodiscover.example.test.",
        "TLSA _25._tcp.mail.example.test.",
        "TLSA _465._tcp.mail.example.test.",
        "TLSA _587._tcp.mail.example.test.",
        "TXT _mta-sts.example.test.",
        "TXT _smtp._tls.example.test.",
        "CNAME webmail.example.test.",
        "CNAME postfixadmin.example.test.",
      ],
    );
    assert.match(run.outputs.dnsZone as string, /^webmail\.example\.test\.\t3600\tIN\tCNAME\tmail\.example\.test\.$/m);
    assert.match(run.outputs.dnsZone as string, /^_25\._tcp\.mail\.example\.test\.\t3600\tIN\tTLSA\t3 1 1 [0-9a-f]{64}$/m);
    assert.match(run.outputs.dnsZone as string, /^dev\._domainkey\.example\.test\.\t3600\tIN\tTXT\t"v=DKIM1; k=rsa; p=/m);
  });
});
