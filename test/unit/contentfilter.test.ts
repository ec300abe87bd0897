import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { stackPlatform } from "../support/platforms";
import { installMocks, ofType, RecordedResource, registered, valueOf } from "../support/mocks";
import { dataVolumes } from "../support/registrations";

installMocks();
import { PlatformConfig, resolvePlatform } from "../../config/platform";
import { validateStack } from "../../config/validate";
import { ContentFilter } from "../../components/contentfilter/content-filter";
import { BAYES_SECRET_FILE, dkimKeyPath } from "../../components/contentfilter/constants";
import { cidrsWithout, gatewayOf } from "../../config/network";
import {
  bannedFilenameRe,
  clamdLimits,
  ContentFilterRenderInput,
  dkimKeyLines,
  networkChecksEnabled,
  renderAmavisFiles,
  renderClamavFiles,
  renderSaUpdateFiles,
  renderSpamdFiles,
  saTrustedNetworks,
} from "../../components/contentfilter/render";
import { ArchiveIntake, DkimKey, SqlEndpoint } from "../../components/types";
import { archiveIntake } from "../../components/archive/render";

const CONTAINER = "docker:index/container:Container";
const AMAVIS_CONF = "/etc/amavis/conf.d/50-user";
const LOCAL_CF = "/etc/spamassassin/local.cf";

const dev = stackPlatform("Pulumi.dev.yaml");
const prod = stackPlatform("Pulumi.prod.yaml");

const bayesSql: SqlEndpoint = { host: "mariadb", port: 3306, database: "spamassassin", user: "spamassassin", password: "bayes-secret-4" };
const keysOf = (p: PlatformConfig): DkimKey[] =>
  p.domains.map((d) => ({ domain: d.name, selector: d.dkimSelector, privateKeyPem: `-----KEY ${d.name}-----\n`, publicKeyBase64: "MIIB" }));
const inputOf = (p: PlatformConfig): ContentFilterRenderInput => ({
  platform: p,
  reinjection: { host: "postfix", port: 10025 },
  clamd: { host: "clamav", port: 3310 },
  bayesSql,
  dkimKeys: keysOf(p),
});

/** The value of a Perl scalar assignment `$name = value;` in the rendered Amavis config. */
function perlVar(conf: string, name: string): string | undefined {
  const m = new RegExp(`^\\$${name}\\s*=\\s*(.*?);\\s*$`, "m").exec(conf);
  return m?.[1];
}

/** The value of a SpamAssassin setting. */
function saSetting(cf: string, name: string): string | undefined {
  return new RegExp(`^${name} (.*)$`, "m").exec(cf)?.[1];
}

describe("ContentFilter renderers", () => {
  describe("Amavis policy, per stack", () => {
    const cases: { stack: string; p: PlatformConfig; expect: Record<string, string> }[] = [
      {
        stack: "dev",
        p: dev,
        expect: {
          myhostname: "'mail.example.test'",
          max_servers: String(dev.tuning.amavisChildren),
          sa_tag_level_deflt: "-9999",
          sa_tag2_level_deflt: "5.0",
          sa_kill_level_deflt: "12.0",
          final_spam_destiny: "D_BOUNCE",
          final_virus_destiny: "D_BOUNCE",
          final_banned_destiny: "D_BOUNCE",
          final_bad_header_destiny: "D_PASS",
          forward_method: "'smtp:[postfix]:10025'",
          notify_method: "$forward_method",
          inet_socket_bind: "'0.0.0.0'",
          TEMPBASE: "'/var/lib/amavis/tmp'",
          DO_SYSLOG: "0",
          sa_local_tests_only: "1",
          enable_dkim_signing: "1",
          enable_dkim_verification: "0",
          mailfrom_notify_admin: "'postmaster@example.test'",
          virus_admin: "undef",
        },
      },
      {
        stack: "prod",
        p: prod,
        expect: {
          myhostname: "'mail.acme-corp.com'",
          max_servers: "8",
          sa_tag2_level_deflt: "4.5",
          sa_kill_level_deflt: "10.0",
          final_virus_destiny: "D_DISCARD",
          sa_local_tests_only: "0",
          enable_dkim_verification: "1",
          mailfrom_notify_admin: "'postmaster@acme-corp.com'",
          virus_admin: "'postmaster@acme-corp.com'",
        },
      },
    ];
    for (const c of cases) {
      it(`${c.stack}: ${Object.keys(c.expect).length} settings as expected`, () => {
        const conf = renderAmavisFiles(inputOf(c.p))[AMAVIS_CONF];
        const seen = Object.fromEntries(Object.keys(c.expect).map((k) => [k, perlVar(conf, k)]));
        assert.deepEqual(seen, c.expect);
      });
    }

    it("never delivers a virus, whatever virusAction says", () => {
      for (const virusAction of ["reject", "quarantine"] as const) {
        const p = { ...dev, spam: { ...dev.spam, virusAction } };
        const conf = renderAmavisFiles(inputOf(p))[AMAVIS_CONF];
        assert.notEqual(perlVar(conf, "final_virus_destiny"), "D_PASS", virusAction);
        assert.equal(perlVar(conf, "virus_quarantine_to"), "'virus-quarantine'");
      }
    });

    it("runs every check and has no fallback scanner, so a clamd failure defers mail", () => {
      const conf = renderAmavisFiles(inputOf(dev))[AMAVIS_CONF];
      for (const map of ["virus", "spam", "banned", "header"]) {
        assert.match(conf, new RegExp(`^@bypass_${map}_checks_maps\\s*=\\s*\\(0\\);`, "m"), map);
      }
      assert.match(conf, /^@av_scanners_backup = \(\);/m);
      assert.match(conf, /\\&ask_daemon, \["\{\}\/\*", 'clamd:clamav:3310'\]/);
    });

    it("listens for the internal network only, without its gateway, and banks 10026 as ORIGINATING", () => {
      const conf = renderAmavisFiles(inputOf(dev))[AMAVIS_CONF];
      assert.match(conf, /^@inet_acl = qw\( 127\.0\.0\.1 !172\.30\.0\.1 172\.30\.0\.0\/24 \);/m);
      assert.match(conf, /^\$inet_socket_port = \[10024, 10026\];/m);
      assert.match(conf, /^\$interface_policy\{'10026'\} = 'ORIGINATING';/m);
      assert.match(conf, /\$policy_bank\{'ORIGINATING'\} = \{\n\s+originating => 1,/);
      assert.match(conf, /^@mynetworks = \(\);/m);
      assert.match(conf, /^@local_domains_acl = \( 'example\.test' \);/m);
      assert.match(renderAmavisFiles(inputOf(prod))[AMAVIS_CONF], /^@local_domains_acl = \( 'acme-corp\.com', 'acme-labs\.io' \);/m);
    });

    it("signs with one dkim_key per domain and uploads each key", () => {
      const files = renderAmavisFiles(inputOf(prod));
      assert.deepEqual(
        files[AMAVIS_CONF].split("\n").filter((l) => l.startsWith("dkim_key(")),
        [
          "dkim_key('acme-corp.com', 's2026', '/etc/amavis/dkim/acme-corp.com.s2026.pem');",
          "dkim_key('acme-labs.io', 's2026', '/etc/amavis/dkim/acme-labs.io.s2026.pem');",
        ],
      );
      assert.equal(files[dkimKeyPath("acme-labs.io", "s2026")], "-----KEY acme-labs.io-----\n");
      assert.equal(files["/etc/mailname"], "mail.acme-corp.com\n");
    });

    it("refuses DKIM keys that do not match the configured domains", () => {
      const table: { keys: DkimKey[]; error: RegExp }[] = [
        { keys: [], error: /no key for example\.test/ },
        { keys: [{ ...keysOf(dev)[0], selector: "old" }], error: /selector old; the config says dev/ },
        { keys: [...keysOf(dev), { ...keysOf(dev)[0], domain: "other.test" }], error: /other\.test, which is not a configured domain/ },
      ];
      for (const t of table) assert.throws(() => dkimKeyLines(dev, t.keys), t.error);
    });
  });

  it("bans the configured extensions, also as hidden double extensions", () => {
    const re = bannedFilenameRe(["exe", "js", "exe"]);
    assert.equal(re, "new_RE(\n  qr'.\\.(exe|js)$'i,\n  qr'.\\.[^./]*\\.(exe|js)\\.?$'i,\n)");
    assert.equal(bannedFilenameRe([]), "undef");
    const rx = [/.\.(exe|js)$/i, /.\.[^./]*\.(exe|js)\.?$/i];
    const table: [string, boolean][] = [
      ["invoice.exe", true],
      ["INVOICE.EXE", true],
      ["invoice.pdf.exe.", true],
      ["script.js", true],
      ["invoice.pdf", false],
      ["json.txt", false],
    ];
    for (const [name, banned] of table)
      assert.equal(
        rx.some((r) => r.test(name)),
        banned,
        name,
      );
  });

  describe("network tests", () => {
    const table: [string[], boolean][] = [
      [["example.test"], false],
      [["example.com", "corp.example"], false],
      [["acme-corp.com"], true],
      [["example.test", "acme-corp.com"], true],
    ];
    for (const [domains, on] of table) {
      it(`${domains.join(", ")}: ${on ? "on" : "off"}`, () => {
        const p = { ...dev, domains: domains.map((name) => ({ ...dev.domains[0], name })) };
        assert.equal(networkChecksEnabled(p), on);
        const cf = renderSpamdFiles({ platform: p, bayesSql })[LOCAL_CF];
        assert.deepEqual([saSetting(cf, "dns_available"), saSetting(cf, "skip_rbl_checks")], on ? ["yes", "0"] : ["no", "1"]);
      });
    }
  });

  it("SpamAssassin: Bayes in MariaDB under one global user, secrets in their own file", () => {
    const files = renderSpamdFiles({ platform: prod, bayesSql });
    const cf = files[LOCAL_CF];
    assert.equal(saSetting(cf, "bayes_store_module"), "Mail::SpamAssassin::BayesStore::MySQL");
    assert.equal(saSetting(cf, "bayes_sql_dsn"), "DBI:MariaDB:database=spamassassin;host=mariadb;port=3306");
    assert.equal(saSetting(cf, "bayes_sql_override_username"), "mail-platform");
    assert.equal(saSetting(cf, "required_score"), "4.5");
    assert.doesNotMatch(cf, /bayes-secret-4/);
    assert.equal(
      files[BAYES_SECRET_FILE].split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .join("\n"),
      "bayes_sql_username spamassassin\nbayes_sql_password bayes-secret-4",
    );
    assert.match(files["/etc/spamassassin/mail-platform.pre"], /^loadplugin Mail::SpamAssassin::Plugin::Rule2XSBody$/m);
    // Amavis's SpamAssassin reads the very same files.
    const amavis = renderAmavisFiles(inputOf(prod));
    for (const f of [LOCAL_CF, BAYES_SECRET_FILE, "/etc/spamassassin/mail-platform.pre"]) assert.equal(amavis[f], files[f], f);
  });

  it("SpamAssassin trusts our own networks but never a Docker gateway", () => {
    const p = { ...prod, internalSubnet: "172.30.0.0/24", edgeSubnet: "172.30.1.0/24", trustedNetworks: ["10.20.30.0/26"] };
    assert.equal(saTrustedNetworks(p), "!172.30.0.1 !172.30.1.1 172.30.0.0/24 10.20.30.0/26");
  });

  it("spamd: learning allowed, clients limited to loopback and the internal network minus its gateway", () => {
    const opts = renderSpamdFiles({ platform: dev, bayesSql })["/etc/default/spamd"];
    const allowed = /--allowed-ips=(\S+)/.exec(opts)?.[1].split(",");
    assert.deepEqual(allowed, ["127.0.0.1/32", ...cidrsWithout("172.30.0.0/24", "172.30.0.1")]);
    assert.ok(!allowed?.some((c) => c.startsWith("172.30.0.0/24")), "the whole subnet would include the gateway");
    for (const o of ["--allow-tell", "--listen=0.0.0.0:783", "--syslog=stderr", "--nouser-config"]) assert.ok(opts.includes(o), o);
  });

  it("cidrsWithout covers the subnet exactly, minus one address", () => {
    const table: [string, string, number][] = [
      ["172.30.0.0/24", "172.30.0.1", 255],
      ["10.0.0.0/30", "10.0.0.2", 3],
      ["10.0.0.0/30", "10.9.9.9", 4],
    ];
    for (const [subnet, ip, size] of table) {
      const cidrs = cidrsWithout(subnet, ip);
      const total = cidrs.reduce((n, c) => n + 2 ** (32 - Number(c.split("/")[1])), 0);
      assert.equal(total, size, `${subnet} - ${ip}: ${cidrs.join(",")}`);
    }
    assert.equal(gatewayOf("192.168.7.0/24"), "192.168.7.1");
  });

  it("clamd: threads from tuning, TCP on 3310, no log file, limits from the message size", () => {
    const table: [PlatformConfig, number, number][] = [
      [dev, dev.tuning.clamdThreads, 51],
      [prod, 12, 41],
    ];
    for (const [p, threads, streamMb] of table) {
      const conf = renderClamavFiles({ platform: p })["/etc/clamav/clamd.conf"];
      assert.match(conf, new RegExp(`^MaxThreads ${threads}$`, "m"));
      assert.match(conf, /^TCPSocket 3310$/m);
      assert.match(conf, /^Foreground yes$/m);
      assert.doesNotMatch(conf, /^LogFile/m);
      assert.match(conf, new RegExp(`^StreamMaxLength ${streamMb}M$`, "m"));
      assert.equal(clamdLimits(p.limits.messageSizeMb).streamMaxMb, streamMb);
    }
    assert.match(renderClamavFiles({ platform: dev })["/etc/clamav/freshclam.conf"], /^DatabaseOwner clamav$/m);
  });
});

/** A platform from a minimal stack plus `spam` and `schedules` settings, or the problems the schema finds. */
function jobsStack(extra: Record<string, unknown>) {
  return validateStack({
    hostname: "mail.example.com",
    domains: [{ name: "example.com" }],
    aliases: [{ address: "postmaster@example.com", goto: ["ext@elsewhere.org"] }],
    storage: { ssdRoot: "/s", bulkRoot: "/b" },
    ...extra,
  });
}
function jobsPlatform(extra: Record<string, unknown>): PlatformConfig {
  const r = jobsStack(extra);
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.problems));
  return resolvePlatform(r.value, "unit");
}

const CHANNEL_KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEaw+hhhYJKwYBBAHaRw8BAQdA\n=G3uG\n-----END PGP PUBLIC KEY BLOCK-----\n";

describe("scheduled jobs: SpamAssassin rule updates and ClamAV signature updates", () => {
  const SCHEDULE = "/etc/cron.d/mail-platform";
  const CHANNELS = "/etc/mail-platform/sa-update/channels";
  const FRESHCLAM = "/etc/clamav/freshclam.conf";
  /** The lines of a file that are neither comments nor blank. */
  const settings = (text: string) => text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));

  it("schedules sa-update and freshclam at the stack's defaults (UTC), each through run-job, output to the container's log", () => {
    for (const p of [dev, prod]) {
      const jobLines = (files: Record<string, string>) => settings(files[SCHEDULE]).filter((l) => /run-job/.test(l));
      assert.deepEqual(jobLines(renderSaUpdateFiles(inputOf(p))), [
        "47 4 * * * root run-job sa-update sa-rules update >/proc/$(cat /run/crond.pid)/fd/1 2>&1",
      ]);
      assert.deepEqual(jobLines(renderClamavFiles(inputOf(p))), [
        "7 */2 * * * root run-job freshclam update-signatures >/proc/$(cat /run/crond.pid)/fd/1 2>&1",
      ]);
    }
  });

  it("takes each job's schedule from the stack's `schedules`", () => {
    const p = jobsPlatform({ schedules: { spamassassinRules: "15  2 * * 1", clamavSignatures: "40 */4 * * *" } });
    assert.match(renderSaUpdateFiles(inputOf(p))[SCHEDULE], /^15 2 \* \* 1 root run-job sa-update sa-rules update /m);
    assert.match(renderClamavFiles(inputOf(p))[SCHEDULE], /^40 \*\/4 \* \* \* root run-job freshclam update-signatures /m);
  });

  it("refuses a freshclam schedule that would check more than once an hour", () => {
    const r = jobsStack({ schedules: { clamavSignatures: "*/15 * * * *" } });
    assert.equal(r.ok, false, "*/15 must be refused");
    if (!r.ok)
      assert.ok(
        r.problems.some((pr) => /clamavSignatures/.test(pr.key)),
        JSON.stringify(r.problems),
      );
  });

  it("updates updates.spamassassin.org by default, trusting SpamAssassin's own key only", () => {
    const files = renderSaUpdateFiles(inputOf(prod));
    assert.deepEqual(settings(files[CHANNELS]), ["updates.spamassassin.org -"]);
    assert.deepEqual(
      Object.keys(files).filter((f) => f.startsWith("/etc/mail-platform/sa-update/keys/")),
      [],
      "no key file without a channel key",
    );
  });

  it("lists further channels in order, each with the key trusted for it alone", () => {
    const p = jobsPlatform({
      spam: { ruleUpdates: { channels: [{ name: "updates.spamassassin.org" }, { name: "sa.updates.test", gpgKey: CHANNEL_KEY }] } },
    });
    const files = renderSaUpdateFiles(inputOf(p));
    assert.deepEqual(settings(files[CHANNELS]), ["updates.spamassassin.org -", "sa.updates.test sa.updates.test.asc"]);
    assert.equal(files["/etc/mail-platform/sa-update/keys/sa.updates.test.asc"], CHANNEL_KEY);
  });

  it("refuses a channel listed twice, a key that is not an armored public key, and a channel that is not a DNS name", () => {
    const channels = [
      { name: "updates.spamassassin.org" },
      { name: "updates.spamassassin.org" },
      { name: "x.test", gpgKey: "AB12CD34" },
      { name: "not a name" },
    ];
    const r = jobsStack({ spam: { ruleUpdates: { channels } } });
    assert.equal(r.ok, false);
    const keys = r.ok ? [] : r.problems.map((pr) => pr.key);
    for (const k of [
      "mail-platform:spam.ruleUpdates.channels[1].name",
      "mail-platform:spam.ruleUpdates.channels[2].gpgKey",
      "mail-platform:spam.ruleUpdates.channels[3].name",
    ])
      assert.ok(keys.includes(k), `expected a problem at ${k}; seen ${JSON.stringify(keys)}`);
  });

  it("the updater lints with the filter's own SpamAssassin config, but gets no Bayes account", () => {
    const input = inputOf(prod);
    const updater = renderSaUpdateFiles(input);
    const amavis = renderAmavisFiles(input);
    for (const f of [LOCAL_CF, "/etc/spamassassin/mail-platform.pre"]) assert.equal(updater[f], amavis[f], `${f} as Amavis reads it`);
    assert.equal(updater[BAYES_SECRET_FILE], undefined, "the Bayes account stays with Amavis and spamd");
    assert.ok(!Object.values(updater).some((c) => c.includes(bayesSql.password)), "no file of the updater holds the Bayes password");
  });

  it("freshclam: ClamAV's mirror and official databases by default, no daemon schedule of its own", () => {
    const conf = renderClamavFiles(inputOf(prod))[FRESHCLAM];
    assert.deepEqual(
      settings(conf).filter((l) => /^(DatabaseMirror|PrivateMirror|ExcludeDatabase|DatabaseCustomURL|Checks) /.test(l)),
      ["DatabaseMirror database.clamav.net"],
    );
  });

  it("freshclam: mirrors, private mirrors, custom URLs, and the official databases left out when asked", () => {
    const p = jobsPlatform({
      spam: {
        virusSignatures: {
          mirrors: ["db.local.example.com"],
          privateMirrors: ["http://clamav-mirror.example.com:8080"],
          officialDatabases: false,
          customUrls: ["http://172.31.1.60/clamav/test.ndb", "file:///srv/sigs/local.hdb"],
        },
      },
    });
    const conf = renderClamavFiles(inputOf(p))[FRESHCLAM];
    assert.deepEqual(
      settings(conf).filter((l) => /^(DatabaseMirror|PrivateMirror|ExcludeDatabase|DatabaseCustomURL) /.test(l)),
      [
        "DatabaseMirror db.local.example.com",
        "PrivateMirror http://clamav-mirror.example.com:8080",
        "ExcludeDatabase main",
        "ExcludeDatabase daily",
        "ExcludeDatabase bytecode",
        "DatabaseCustomURL http://172.31.1.60/clamav/test.ndb",
        "DatabaseCustomURL file:///srv/sigs/local.hdb",
      ],
    );
  });

  it("refuses official databases off with no custom URL, since freshclam would fetch nothing", () => {
    const r = jobsStack({ spam: { virusSignatures: { officialDatabases: false } } });
    assert.equal(r.ok, false);
    assert.ok(
      !r.ok && r.problems.some((pr) => pr.key === "mail-platform:spam.virusSignatures.customUrls"),
      r.ok ? "" : JSON.stringify(r.problems),
    );
  });

  it("clamd's own check only backs the job's reload up (hourly)", () => {
    assert.match(renderClamavFiles(inputOf(prod))["/etc/clamav/clamd.conf"], /^SelfCheck 3600$/m);
  });
});

describe("ContentFilter component", () => {
  let filter: ContentFilter;
  let containers: Record<string, RecordedResource>;
  before(async () => {
    filter = new ContentFilter("cf", {
      platform: prod,
      images: { amavis: "img-amavis", spamd: "img-spamd", clamav: "img-clamav", saUpdate: "img-sa-update" },
      networks: { internal: { name: "acme-internal" }, edge: { name: "acme-edge" } },
      bayesSql: pulumi.secret(bayesSql),
      dkimKeys: pulumi.output(keysOf(prod).map((k) => ({ ...k, privateKeyPem: pulumi.secret(k.privateKeyPem) }))),
      reinjection: pulumi.output({ host: "postfix", port: 10025 }),
    });
    await registered();
    containers = Object.fromEntries(ofType(CONTAINER).map((c) => [c.inputs.name as string, c]));
  });

  const uploads = (c: RecordedResource): Record<string, { content: string; permissions: string }> =>
    Object.fromEntries((c.inputs.uploads as { file: string; content: string; permissions: string }[]).map((u) => [u.file, u]));

  it("exposes the endpoints other components use", async () => {
    assert.deepEqual(
      await Promise.all([filter.inboundFilter, filter.originatingFilter, filter.spamdEndpoint, filter.clamdEndpoint].map(valueOf)),
      [
        { host: "amavis", port: 10024 },
        { host: "amavis", port: 10026 },
        { host: "spamd", port: 783 },
        { host: "clamav", port: 3310 },
      ],
    );
  });

  it("creates the four containers, named after the instance", () => {
    assert.deepEqual(Object.keys(containers).sort(), ["acme-amavis", "acme-clamav", "acme-sa-update", "acme-spamd"]);
    assert.deepEqual(
      ofType(CONTAINER)
        .map((c) => c.name)
        .sort(),
      ["cf-amavis", "cf-clamav", "cf-sa-update", "cf-spamd"],
    );
    assert.equal(containers["acme-amavis"].inputs.image, "img-amavis");
    assert.equal(containers["acme-sa-update"].inputs.image, "img-sa-update");
  });

  it("the updater writes the rules on the sarules host path; Amavis and spamd read it read-only, and start after it", () => {
    const updater = containers["acme-sa-update"];
    assert.deepEqual(dataVolumes(updater.inputs), [
      { hostPath: prod.volumePaths.sarules, containerPath: "/var/lib/mail-platform/sa-rules" },
      { hostPath: prod.volumePaths.metrics, containerPath: "/var/lib/mail-platform/metrics" },
    ]);
    assert.deepEqual(dataVolumes(containers["acme-spamd"].inputs), [
      { hostPath: prod.volumePaths.sarules, containerPath: "/var/lib/spamassassin", readOnly: true },
      // The Bayes report job's metrics.
      { hostPath: prod.volumePaths.metrics, containerPath: "/var/lib/mail-platform/metrics" },
    ]);
    for (const c of ["acme-amavis", "acme-spamd"])
      assert.ok(
        containers[c].dependencies.includes(updater.urn),
        `${c} waits for the updater (published rules); it waits for ${containers[c].dependencies}`,
      );
    assert.match(uploads(updater)["/etc/cron.d/mail-platform"].content, /run-job sa-update sa-rules update/);
  });

  it("clamd keeps its signatures on the virusdb host path and writes job metrics; freshclam runs from its schedule", () => {
    const clamav = containers["acme-clamav"];
    assert.deepEqual(dataVolumes(clamav.inputs), [
      { hostPath: prod.volumePaths.virusdb, containerPath: "/var/lib/clamav" },
      { hostPath: prod.volumePaths.metrics, containerPath: "/var/lib/mail-platform/metrics" },
    ]);
    assert.match(uploads(clamav)["/etc/cron.d/mail-platform"].content, /run-job freshclam update-signatures/);
    const entrypoint = fs.readFileSync(path.join(__dirname, "..", "..", "images", "clamav", "entrypoint.sh"), "utf8");
    assert.doesNotMatch(entrypoint, /freshclam --daemon/, "no freshclam daemon beside clamd any more");
  });

  it("joins the internal network under the short service name; clamav and (network tests on) amavis also the edge", () => {
    const nets = (c: string) =>
      (containers[c].inputs.networksAdvanced as { name: string; aliases?: string[] }[]).map(
        (n) => `${n.name}:${(n.aliases ?? []).join("+")}`,
      );
    assert.deepEqual(nets("acme-amavis"), ["acme-internal:amavis", "acme-edge:"]);
    assert.deepEqual(nets("acme-spamd"), ["acme-internal:spamd"]);
    assert.deepEqual(nets("acme-clamav"), ["acme-internal:clamav", "acme-edge:"]);
    assert.deepEqual(nets("acme-sa-update"), ["acme-internal:sa-update", "acme-edge:"]);
    for (const c of Object.values(containers)) assert.equal(c.inputs.ports?.length ?? 0, 0, `${c.inputs.name} publishes no port`);
  });

  it("Amavis forwards to the re-injection endpoint it was given and scans with the clamd endpoint", () => {
    const conf = uploads(containers["acme-amavis"])[AMAVIS_CONF].content;
    assert.equal(perlVar(conf, "forward_method"), "'smtp:[postfix]:10025'");
    assert.match(conf, /'clamd:clamav:3310'/);
    assert.equal(perlVar(conf, "max_servers"), String(prod.tuning.amavisChildren));
  });

  it("Amavis's temp dir is a tmpfs of tuning.amavisTmpMb; the quarantine a host directory", () => {
    const amavis = containers["acme-amavis"].inputs;
    assert.deepEqual(Object.keys(amavis.tmpfs), ["/var/lib/amavis/tmp"]);
    assert.match(amavis.tmpfs["/var/lib/amavis/tmp"], /^size=2048m,/);
    assert.deepEqual(dataVolumes(amavis), [
      { hostPath: prod.volumePaths.quarantine, containerPath: "/var/lib/amavis/virusmails" },
      { hostPath: prod.volumePaths.sarules, containerPath: "/var/lib/spamassassin", readOnly: true },
    ]);
    assert.equal(prod.volumePaths.quarantine, "/srv/nvme/mail/quarantine");
  });

  it("uploads every container's files as a secret, even clamd's, which carry none", () => {
    for (const c of Object.values(containers))
      assert.ok(c.secretInputs.includes("uploads"), `${c.inputs.name}: secret inputs ${c.secretInputs}`);
  });

  it("keeps DKIM keys and the Bayes password secret, and uploads them 0640", () => {
    const amavis = containers["acme-amavis"];
    const spamd = containers["acme-spamd"];
    assert.ok(amavis.secretInputs.includes("uploads"), `amavis uploads must be secret; secret inputs: ${amavis.secretInputs}`);
    assert.ok(spamd.secretInputs.includes("uploads"), `spamd uploads must be secret; secret inputs: ${spamd.secretInputs}`);
    const a = uploads(amavis);
    assert.equal(a["/etc/amavis/dkim/acme-corp.com.s2026.pem"].permissions, "0640");
    assert.equal(a[BAYES_SECRET_FILE].permissions, "0640");
    assert.match(a[BAYES_SECRET_FILE].content, /bayes-secret-4/);
    assert.equal(uploads(spamd)[BAYES_SECRET_FILE].permissions, "0640");
    assert.equal(a[AMAVIS_CONF].permissions, "0644");
  });

  it("each container has a health check that proves its daemon answers", () => {
    // Each image's own /usr/local/bin/healthcheck: spamc -K, clamdscan --ping, both Amavis listeners' greetings.
    for (const c of ["acme-spamd", "acme-clamav", "acme-amavis", "acme-sa-update"])
      assert.deepEqual(containers[c].inputs.healthcheck.tests, ["CMD", "/usr/local/bin/healthcheck"], c);
    const script = (image: string) => fs.readFileSync(path.join(__dirname, "..", "..", "images", image, "healthcheck"), "utf8");
    assert.match(script("spamd"), /^exec spamc -K$/m);
    assert.match(script("clamav"), /^exec clamdscan --no-summary --ping 1$/m);
    assert.match(script("amavis"), /for my \$port \(10024, 10026\)/);
  });

  it("the endpoints are plain values (no secret), so Postfix's config stays readable", async () => {
    assert.equal(await pulumi.isSecret(filter.inboundFilter), false);
  });
});

describe("ContentFilter on a test-only stack", () => {
  it("keeps Amavis off the edge network when every domain is reserved for testing", async () => {
    new ContentFilter("cfdev", {
      platform: dev,
      images: { amavis: "a", spamd: "s", clamav: "c", saUpdate: "u" },
      networks: { internal: { name: "dev-internal" }, edge: { name: "dev-edge" } },
      bayesSql,
      dkimKeys: keysOf(dev),
      reinjection: { host: "postfix", port: 10025 },
    });
    await registered();
    const amavis = ofType(CONTAINER).find((c) => c.name === "cfdev-amavis");
    assert.ok(amavis, "cfdev-amavis registered");
    assert.deepEqual(
      (amavis.inputs.networksAdvanced as { name: string }[]).map((n) => n.name),
      ["dev-internal"],
    );
    assert.match(amavis.inputs.tmpfs["/var/lib/amavis/tmp"], /^size=256m,/);
  });
});

describe("archiving", () => {
  const platform = () => {
    const r = validateStack({
      hostname: "mail.example.com",
      domains: [{ name: "example.com" }],
      aliases: [{ address: "postmaster@example.com", goto: ["ext@elsewhere.org"] }],
      storage: { ssdRoot: "/s", bulkRoot: "/b" },
      features: { archive: true },
      archive: { intake: { host: "piler.example.com", port: 2525 } },
    });
    assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.problems));
    return resolvePlatform(r.value, "unit");
  };
  const input = (archive?: ArchiveIntake) => ({
    platform: platform(),
    reinjection: { host: "postfix", port: 10025 },
    clamd: { host: "clamav", port: 3310 },
    bayesSql: { host: "mariadb", port: 3306, database: "spamassassin", user: "spamassassin", password: "pw" },
    dkimKeys: [{ domain: "example.com", selector: "mail", privateKeyPem: "KEY", publicKeyBase64: "" }],
    archive,
  });

  it("sends one copy of every message to the archive intake, defaulting the address to archive@<hostname>", () => {
    const intake = archiveIntake(platform());
    assert.deepEqual(intake, { endpoint: { host: "piler.example.com", port: 2525 }, address: "archive@mail.example.com" });
    const conf = renderAmavisFiles(input(intake))["/etc/amavis/conf.d/50-user"];
    assert.match(conf, /^\$archive_quarantine_method = 'smtp:\[piler\.example\.com\]:2525';$/m);
    assert.match(conf, /^\$archive_quarantine_to = 'archive@mail\.example\.com';$/m);
  });

  it("sends no copies when archiving is off", () => {
    const conf = renderAmavisFiles(input(undefined))["/etc/amavis/conf.d/50-user"];
    assert.match(conf, /^\$archive_quarantine_method = undef;$/m);
    assert.match(conf, /^\$archive_quarantine_to = undef;$/m);
  });
});
