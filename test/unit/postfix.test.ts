// PostfixGateway: the pure renderer with tables of cases, then the component under mocks (its
// container's wiring: endpoints, ports, networks, mounts, secret uploads).
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { before, describe, it } from "node:test";
import { installMocks, onlyContainer, valueOf } from "../support/mocks";
import { dataVolumes } from "../support/registrations";
import { fakePem, PRIVATE_KEY } from "../support/pem";

installMocks();
import { PlatformConfig, resolvePlatform } from "../../config/platform";
import { validateStack } from "../../config/validate";
import { PostfixGateway } from "../../components/postfix/postfix-gateway";
import { certificateFile } from "../../components/postfix/constants";
import {
  PostfixRenderInput,
  postfixLimits,
  reinjectionNetworks,
  relayNetworks,
  renderPostfixFiles,
  sniEntries,
} from "../../components/postfix/render";
import { DomainCertificate } from "../../components/types";
import { gatewayOf } from "../../config/network";
import type { PropertyMap } from "../../tools/mock-run/property-map";

function platformOf(extra: Record<string, unknown> = {}): PlatformConfig {
  const r = validateStack({
    hostname: "mail.example.com",
    domains: [{ name: "example.com" }, { name: "example.org" }],
    mailboxes: [{ address: "alice@example.com", name: "Alice", quotaMb: 100 }],
    aliases: [
      { address: "postmaster@example.com", goto: ["alice@example.com"] },
      { address: "postmaster@example.org", goto: ["alice@example.com"] },
    ],
    storage: { ssdRoot: "/srv/ssd", bulkRoot: "/srv/bulk" },
    bindAddress: "127.0.0.1",
    ports: { smtp: 2525, submissions: 2465, submission: 2587 },
    tuning: { hostCpus: 4, amavisChildren: 6, lmtpConcurrency: 9, postfixProcessLimit: 77 },
    limits: { messageSizeMb: 20, messagesPerMinute: 30, recipientsPerMessage: 50, connectionsPerMinute: 40 },
    relayhost: "[smarthost.example.net]:587",
    ...extra,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return resolvePlatform(r.value, "unit", 4);
}

const cert = (domain: string, hostnames: string[]): DomainCertificate => ({
  domain,
  hostnames,
  certChainPem: `-----BEGIN CERTIFICATE-----\n${domain}\n-----END CERTIFICATE-----\n`,
  privateKeyPem: fakePem(PRIVATE_KEY, `key-of-${domain}`).trimEnd(),
});

const SQL_PASSWORD = "pf-R3ad0nly-pw";

function inputOf(platform = platformOf()): PostfixRenderInput {
  return {
    platform,
    sql: { host: "mariadb", port: 3306, database: "postfixadmin", user: "postfix", password: SQL_PASSWORD },
    certificates: [cert("example.com", ["mail.example.com", "example.com"]), cert("example.org", ["mail.example.org", "example.org"])],
    lmtp: { host: "dovecot", port: 24 },
    sasl: { host: "dovecot", port: 12345 },
    inboundFilter: { host: "amavis", port: 10024 },
    originatingFilter: { host: "amavis", port: 10026 },
  };
}

/** `name = value` of a main.cf. */
function mainCf(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    files["/etc/postfix/main.cf"]
      .split("\n")
      .map((l) => /^([a-z0-9_]+) = ?(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
}

/** The `-o` options of one master.cf service. */
function serviceOptions(files: Record<string, string>, service: string): Record<string, string> {
  const lines = files["/etc/postfix/master.cf"].split("\n");
  const start = lines.findIndex((l) => l.split(/\s+/)[0] === service);
  assert.ok(start >= 0, `no service ${service} in master.cf`);
  const opts: Record<string, string> = {};
  for (const l of lines.slice(start + 1)) {
    const m = /^\s+-o\s+([a-z0-9_]+)=(.*)$/.exec(l);
    if (!m) break;
    opts[m[1]] = m[2];
  }
  return opts;
}

describe("Postfix renderer: computed values", () => {
  const cases: { name: string; got: () => unknown; want: unknown }[] = [
    { name: "gateway of 172.30.0.0/24", got: () => gatewayOf("172.30.0.0/24"), want: "172.30.0.1" },
    { name: "gateway of 10.20.0.0/16", got: () => gatewayOf("10.20.0.0/16"), want: "10.20.0.1" },
    {
      name: "no trusted networks: nobody relays without AUTH",
      got: () => relayNetworks({ trustedNetworks: [], internalSubnet: "172.30.0.0/24", edgeSubnet: "172.30.1.0/24" }),
      want: "",
    },
    {
      name: "trusted networks never include the Docker gateways",
      got: () =>
        relayNetworks({ trustedNetworks: ["172.30.0.0/26", "192.0.2.0/24"], internalSubnet: "172.30.0.0/24", edgeSubnet: "172.30.1.0/24" }),
      want: "!172.30.0.1, !172.30.1.1, 172.30.0.0/26, 192.0.2.0/24",
    },
    {
      name: "re-injection trusts the internal subnet minus its gateway",
      got: () => reinjectionNetworks("10.9.8.0/24"),
      want: "!10.9.8.1,10.9.8.0/24",
    },
    {
      name: "limits from the stack's limits",
      got: () => postfixLimits({ messageSizeMb: 20, messagesPerMinute: 30, recipientsPerMessage: 50, connectionsPerMinute: 40 }),
      want: {
        messageSizeLimit: 20971520,
        reinjectionSizeLimit: 23068672,
        recipientLimit: 50,
        messageRateLimit: 30,
        connectionRateLimit: 40,
        recipientRateLimit: 250,
        authRateLimit: 40,
      },
    },
    {
      name: "SNI lines: every host name, first certificate wins a duplicate",
      got: () => sniEntries([cert("a.test", ["mail.a.test", "shared.test"]), cert("b.test", ["shared.test", "b.test"])]).split("\n"),
      want: ["mail.a.test /etc/postfix/tls/a.test.pem", "shared.test /etc/postfix/tls/a.test.pem", "b.test /etc/postfix/tls/b.test.pem"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(c.got(), c.want));
  }
});

describe("Postfix renderer: main.cf", () => {
  const files = renderPostfixFiles(inputOf());
  const v = mainCf(files);
  const expected: [string, string][] = [
    ["myhostname", "mail.example.com"],
    ["mydomain", "example.com"],
    ["mydestination", ""],
    ["virtual_transport", "lmtp:inet:dovecot:24"],
    ["lmtp_destination_concurrency_limit", "9"],
    ["content_filter", "amavisfeed:[amavis]:10024"],
    ["amavisfeed_destination_concurrency_limit", "6"],
    ["smtpd_sasl_type", "dovecot"],
    ["smtpd_sasl_path", "inet:dovecot:12345"],
    ["smtpd_sasl_auth_enable", "no"],
    ["smtpd_tls_auth_only", "yes"],
    ["smtpd_tls_security_level", "may"],
    ["smtpd_tls_mandatory_protocols", ">=TLSv1.2"],
    ["smtp_tls_security_level", "may"],
    ["smtpd_tls_chain_files", "/etc/postfix/tls/example.com.pem"],
    ["tls_server_sni_maps", "lmdb:/etc/postfix/tls/sni"],
    ["relayhost", "[smarthost.example.net]:587"],
    ["mynetworks", ""],
    ["message_size_limit", "20971520"],
    ["smtpd_recipient_limit", "50"],
    ["smtpd_client_message_rate_limit", "30"],
    ["smtpd_client_connection_rate_limit", "40"],
    ["smtpd_client_recipient_rate_limit", "250"],
    ["default_process_limit", "77"],
    ["maillog_file", "/dev/stdout"],
    ["smtpd_forbid_bare_newline", "normalize"],
    ["smtpd_helo_required", "yes"],
    ["disable_vrfy_command", "yes"],
    ["strict_rfc821_envelopes", "yes"],
    ["smtpd_data_restrictions", "reject_unauth_pipelining"],
    ["smtpd_reject_unlisted_recipient", "yes"],
    ["smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"],
    ["virtual_mailbox_domains", "proxy:mysql:/etc/postfix/sql/virtual-domains.cf"],
    ["virtual_mailbox_maps", "proxy:mysql:/etc/postfix/sql/virtual-mailboxes.cf"],
    ["virtual_alias_maps", "proxy:mysql:/etc/postfix/sql/virtual-aliases.cf"],
    ["smtpd_sender_login_maps", "proxy:mysql:/etc/postfix/sql/sender-login.cf"],
  ];
  for (const [key, want] of expected) {
    it(`${key} = ${want}`, () => assert.equal(v[key], want, `main.cf ${key}: expected "${want}", seen "${v[key]}"`));
  }
  it("trusted networks appear in mynetworks behind the gateway exclusions", () => {
    const t = mainCf(renderPostfixFiles(inputOf(platformOf({ trustedNetworks: ["192.0.2.0/24"] }))));
    assert.equal(t.mynetworks, "!172.30.0.1, !172.30.1.1, 192.0.2.0/24");
  });
});

describe("Postfix renderer: master.cf listeners", () => {
  const files = renderPostfixFiles(inputOf());
  const master = files["/etc/postfix/master.cf"];
  it("runs nothing chrooted", () => {
    const services = master.split("\n").filter((l) => /^[a-z0-9]+\s+(inet|unix|unix-dgram|fifo|pass)\s/.test(l));
    assert.ok(services.length > 20);
    const chrooted = services.filter((l) => l.split(/\s+/)[4] !== "n");
    assert.deepEqual(chrooted, []);
  });
  const cases: { service: string; want: Record<string, string | undefined> }[] = [
    // Port 25 takes main.cf as it is: no AUTH, opportunistic TLS, the global content_filter.
    { service: "25", want: { smtpd_sasl_auth_enable: undefined, content_filter: undefined } },
    {
      service: "587",
      want: {
        smtpd_tls_security_level: "encrypt",
        smtpd_sasl_auth_enable: "yes",
        smtpd_sender_restrictions: "reject_non_fqdn_sender,reject_sender_login_mismatch,permit_sasl_authenticated,reject",
        smtpd_relay_restrictions: "permit_sasl_authenticated,reject",
        content_filter: "amavisfeed:[amavis]:10026",
      },
    },
    {
      service: "465",
      want: {
        smtpd_tls_wrappermode: "yes",
        smtpd_tls_security_level: "encrypt",
        smtpd_sasl_auth_enable: "yes",
        smtpd_sender_restrictions: "reject_non_fqdn_sender,reject_sender_login_mismatch,permit_sasl_authenticated,reject",
        content_filter: "amavisfeed:[amavis]:10026",
      },
    },
    {
      service: "10025",
      want: {
        content_filter: "",
        mynetworks: "!172.30.0.1,172.30.0.0/24",
        smtpd_relay_restrictions: "permit_mynetworks,reject",
        smtpd_client_restrictions: "permit_mynetworks,reject",
        receive_override_options: "no_unknown_recipient_checks,no_header_body_checks,no_milters,no_address_mappings",
        smtpd_sasl_auth_enable: "no",
        message_size_limit: "23068672",
      },
    },
    {
      service: "amavisfeed",
      want: { smtp_send_xforward_command: "yes", smtp_data_done_timeout: "1200s", smtp_dns_support_level: "disabled" },
    },
  ];
  for (const c of cases) {
    it(`service ${c.service}`, () => {
      const o = serviceOptions(files, c.service);
      const seen = Object.fromEntries(Object.keys(c.want).map((k) => [k, o[k]]));
      assert.deepEqual(seen, c.want);
    });
  }
  it("amavisfeed runs one process per Amavis child", () => {
    assert.match(master, /^amavisfeed\s+unix\s+-\s+-\s+n\s+-\s+6\s+smtp$/m);
  });
});

describe("Postfix renderer: SQL maps and certificates", () => {
  const files = renderPostfixFiles(inputOf());
  const sqlFiles = ["virtual-domains.cf", "virtual-mailboxes.cf", "virtual-aliases.cf", "sender-login.cf"].map(
    (f) => `/etc/postfix/sql/${f}`,
  );
  for (const f of sqlFiles) {
    it(`${f} connects with the read-only account`, () => {
      assert.match(files[f], /^hosts = inet:mariadb:3306$/m);
      assert.match(files[f], /^dbname = postfixadmin$/m);
      assert.match(files[f], /^user = postfix$/m);
      assert.match(files[f], new RegExp(`^password = ${SQL_PASSWORD}$`, "m"));
      assert.match(files[f], /^query = SELECT .* active = '1'/m);
    });
  }
  it("queries PostfixAdmin's tables", () => {
    assert.match(files["/etc/postfix/sql/virtual-domains.cf"], /FROM domain WHERE domain = '%s'/);
    assert.match(files["/etc/postfix/sql/virtual-mailboxes.cf"], /SELECT maildir FROM mailbox WHERE username = '%s'/);
    assert.match(files["/etc/postfix/sql/virtual-aliases.cf"], /SELECT goto FROM alias WHERE address = '%s'/);
    const login = files["/etc/postfix/sql/sender-login.cf"];
    assert.match(login, /SELECT username FROM mailbox WHERE username = '%u@%d'.* UNION SELECT goto FROM alias WHERE address = '%u@%d'/);
  });
  it("writes key then chain per domain and an SNI line per host name", () => {
    assert.match(
      files[certificateFile("example.org")],
      new RegExp(`^${fakePem(PRIVATE_KEY, "key-of-example\\.org")}-----BEGIN CERTIFICATE-----`),
    );
    const sni = files["/etc/postfix/tls/sni"].split("\n").filter((l) => l && !l.startsWith("#"));
    assert.deepEqual(sni, [
      "mail.example.com /etc/postfix/tls/example.com.pem",
      "example.com /etc/postfix/tls/example.com.pem",
      "mail.example.org /etc/postfix/tls/example.org.pem",
      "example.org /etc/postfix/tls/example.org.pem",
    ]);
  });
  const bad: { name: string; change: (i: PostfixRenderInput) => void; error: RegExp }[] = [
    { name: "a domain without certificate", change: (i) => i.certificates.pop(), error: /no certificate for example\.org/ },
    {
      name: "a password with a line break",
      change: (i) => (i.sql.password = "two\nlines"),
      error: /sql\.password must be one non-empty line/,
    },
    { name: "a password with trailing space", change: (i) => (i.sql.password = "pw "), error: /sql\.password must be one non-empty line/ },
    { name: "an empty user", change: (i) => (i.sql.user = ""), error: /sql\.user must be one non-empty line/ },
    { name: "an endpoint with a bad port", change: (i) => (i.lmtp = { host: "dovecot", port: 0 }), error: /lmtp\.port must be a TCP port/ },
    {
      name: "a certificate for a foreign domain",
      change: (i) => i.certificates.push(cert("evil.test", ["evil.test"])),
      error: /evil\.test is not one of the stack's domains/,
    },
    {
      name: "two certificates for one domain",
      change: (i) => i.certificates.push(cert("example.org", ["www.example.org"])),
      error: /more than one certificate for example\.org/,
    },
  ];
  for (const b of bad) {
    it(`refuses ${b.name}`, () => {
      const i = inputOf();
      b.change(i);
      assert.throws(() => renderPostfixFiles(i), b.error);
    });
  }
});

describe("PostfixGateway under mocks", () => {
  const platform = platformOf({ instanceName: "mp-unit" });
  let gateway: PostfixGateway;
  let container: PropertyMap;
  before(async () => {
    // The endpoints arrive as other components' outputs; the SQL password as a secret.
    gateway = new PostfixGateway("mta", {
      platform,
      image: pulumi.output("sha256:postfix-image"),
      networks: { internal: { name: pulumi.output("mp-unit-internal") }, edge: { name: "mp-unit-edge" } },
      sql: pulumi.output({ host: "mariadb", port: 3306, database: "postfixadmin", user: "postfix", password: pulumi.secret(SQL_PASSWORD) }),
      certificates: pulumi.output(inputOf().certificates),
      lmtp: pulumi.output({ host: "dovecot-lmtp-alias", port: 2424 }),
      sasl: pulumi.output({ host: "dovecot", port: 12345 }),
      inboundFilter: pulumi.output({ host: "amavis", port: 10024 }),
      originatingFilter: pulumi.output({ host: "amavis", port: 10026 }),
    });
    container = (await onlyContainer()).inputs;
  });

  it("exposes the endpoints other components use", async () => {
    assert.deepEqual(await valueOf(gateway.reinjectionEndpoint), { host: "postfix", port: 10025 });
    assert.deepEqual(await valueOf(gateway.smtpEndpoint), { host: "postfix", port: 25 });
    assert.deepEqual(await valueOf(gateway.submissionEndpoint), { host: "postfix", port: 587 });
  });

  it("delivers over LMTP to the endpoint DovecotStore passed in, and filters through the given Amavis", async () => {
    const files = await valueOf(gateway.files);
    assert.match(files["/etc/postfix/main.cf"], /^virtual_transport = lmtp:inet:dovecot-lmtp-alias:2424$/m);
    assert.match(files["/etc/postfix/main.cf"], /^content_filter = amavisfeed:\[amavis\]:10024$/m);
    assert.match(files["/etc/postfix/master.cf"], /^ {2}-o content_filter=amavisfeed:\[amavis\]:10026$/m);
  });

  it("keeps the rendered files secret", async () => {
    assert.equal(await pulumi.isSecret(gateway.files), true);
  });

  it("names the container after the instance and answers as `postfix` on the internal network", () => {
    assert.equal(container.name, "mp-unit-postfix");
    assert.equal(container.image, "sha256:postfix-image");
    assert.deepEqual(
      container.networksAdvanced.map((n: { name: string; aliases: string[] }) => ({ name: n.name, aliases: n.aliases })),
      [
        { name: "mp-unit-internal", aliases: ["postfix"] },
        { name: "mp-unit-edge", aliases: [] },
      ],
    );
  });

  it("publishes 25, 465 and 587 on the bind address, and never 10025", () => {
    const ports = container.ports
      .map((p: { ip: string; external: number; internal: number }) => `${p.ip}:${p.external}->${p.internal}`)
      .sort();
    assert.deepEqual(ports, ["127.0.0.1:2465->465", "127.0.0.1:2525->25", "127.0.0.1:2587->587"]);
  });

  it("keeps the queue on the host's queue path", () => {
    assert.deepEqual(dataVolumes(container), [
      { hostPath: "/srv/ssd/queue", containerPath: "/var/spool/postfix" },
      // The scheduled queue report's metrics; no ACME domain, so no chains to mount.
      { hostPath: "/srv/ssd/metrics", containerPath: "/var/lib/mail-platform/metrics" },
    ]);
  });

  it("uploads every rendered file, SQL files 0640 and keys 0600, and is health-checked by the image's probe", async () => {
    const files = await valueOf(gateway.files);
    const uploads: { file: string; permissions: string; content: string }[] = container.uploads;
    assert.deepEqual(uploads.map((u) => u.file).sort(), Object.keys(files).sort());
    const mode = (f: string) => uploads.find((u) => u.file === f)?.permissions;
    assert.equal(mode("/etc/postfix/sql/virtual-aliases.cf"), "0640");
    assert.equal(mode("/etc/postfix/tls/example.com.pem"), "0600");
    assert.equal(mode("/etc/postfix/main.cf"), "0644");
    assert.deepEqual(container.healthcheck.tests, ["CMD", "/usr/local/bin/healthcheck"]);
  });
});
