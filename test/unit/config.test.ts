// The stack config's validation: good stacks parse, bad ones report every problem with its key.
import { strict as assert } from "assert";
import * as path from "path";
import { describe, it } from "node:test";
import { resolvePlatform } from "../../config/platform";
import { readStackFile } from "../../config/stack-file";
import { aliasLoops, stackSchema } from "../../config/schema";
import { ConfigProblem, formatProblems, validateStack } from "../../config/validate";
import { configWarnings } from "../../config/warnings";
import type { PropertyMap } from "../../tools/mock-run/property-map";

const ROOT = path.join(__dirname, "..", "..");

const base = () => ({
  hostname: "mail.example.com",
  domains: [{ name: "example.com" }],
  mailboxes: [{ address: "alice@example.com", name: "Alice", quotaMb: 100 }],
  aliases: [{ address: "postmaster@example.com", goto: ["alice@example.com"] }],
  storage: { ssdRoot: "/srv/ssd", bulkRoot: "/srv/bulk" },
});

function problemsOf(raw: Record<string, unknown>): ConfigProblem[] {
  const r = validateStack(raw, { checkFiles: true });
  return r.ok ? [] : r.problems;
}

describe("stack files in the repository", () => {
  it("Pulumi.dev.yaml is valid", () => {
    const r = validateStack(readStackFile(path.join(ROOT, "Pulumi.dev.yaml")).values);
    assert.ok(r.ok, r.ok ? "" : formatProblems(r.problems));
  });
  it("Pulumi.prod.yaml is valid apart from the PEM files that live on the deploy machine", () => {
    const r = validateStack(readStackFile(path.join(ROOT, "Pulumi.prod.yaml")).values, { checkFiles: false });
    assert.ok(r.ok, r.ok ? "" : formatProblems(r.problems));
  });
});

describe("good configs", () => {
  it("fills defaults a minimal stack leaves out", () => {
    const r = validateStack(base());
    assert.ok(r.ok);
    assert.equal(r.value.domains[0].dkimSelector, "mail");
    assert.deepEqual(r.value.domains[0].tls, { source: "self-signed", keyGeneration: 1, publishNextKey: false });
    assert.equal(r.value.ports.smtp, 25);
    assert.equal(r.value.limits.messageSizeMb, 50);
    assert.equal(r.value.features.archive, false);
    assert.equal(r.value.dockerHost, "unix:///var/run/docker.sock");
  });
  it("lower-cases addresses and domains", () => {
    const raw = { ...base(), hostname: "Mail.Example.COM", domains: [{ name: "Example.com" }] };
    const r = validateStack(raw);
    assert.ok(r.ok, r.ok ? "" : formatProblems(r.problems));
    assert.equal(r.value.hostname, "mail.example.com");
  });
  it("accepts an ssh Docker host and a trusted office network inside the platform's width", () => {
    const r = validateStack({ ...base(), dockerHost: "ssh://deploy@mailhost:2222", trustedNetworks: ["192.0.2.0/28"] });
    assert.ok(r.ok, r.ok ? "" : formatProblems(r.problems));
  });
});

describe("bad configs report each problem with its key", () => {
  const cases: { name: string; change: (c: PropertyMap) => void; expect: { key: string; expected: RegExp }[] }[] = [
    {
      name: "hostname that is not a FQDN",
      change: (c) => (c.hostname = "mailserver"),
      expect: [{ key: "mail-platform:hostname", expected: /fully qualified domain name/ }],
    },
    {
      name: "mailbox in an undeclared domain",
      change: (c) => c.mailboxes.push({ address: "carol@other.org", name: "Carol", quotaMb: 10 }),
      expect: [{ key: "mail-platform:mailboxes[1].address", expected: /declared domain \(example\.com\)/ }],
    },
    {
      name: "duplicate address across a mailbox and an alias",
      change: (c) => c.aliases.push({ address: "alice@example.com", goto: ["bob@elsewhere.org"] }),
      expect: [{ key: "mail-platform:aliases[1].address", expected: /not already used by mail-platform:mailboxes\[0\]\.address/ }],
    },
    {
      name: "alias loop",
      change: (c) =>
        c.aliases.push({ address: "a@example.com", goto: ["b@example.com"] }, { address: "b@example.com", goto: ["a@example.com"] }),
      expect: [{ key: "mail-platform:aliases[1].goto", expected: /not a loop/ }],
    },
    {
      name: "alias to a local address nobody declared",
      change: (c) => (c.aliases[0].goto = ["nobody@example.com"]),
      expect: [{ key: "mail-platform:aliases[0].goto[0]", expected: /mailbox or alias declared/ }],
    },
    {
      name: "invalid CIDR",
      change: (c) => (c.trustedNetworks = ["10.0.0.1/24"]),
      expect: [{ key: "mail-platform:trustedNetworks[0]", expected: /zero host bits/ }],
    },
    {
      name: "trusted network wider than the platform's own",
      change: (c) => (c.trustedNetworks = ["10.0.0.0/8"]),
      expect: [{ key: "mail-platform:trustedNetworks[0]", expected: /no wider than the platform's own \(\/24\)/ }],
    },
    {
      name: "zero quota",
      change: (c) => (c.mailboxes[0].quotaMb = 0),
      expect: [{ key: "mail-platform:mailboxes[0].quotaMb", expected: /^a number > 0$/ }],
    },
    {
      name: "unknown key (a typo)",
      change: (c) => (c.mailboxs = []),
      expect: [{ key: "mail-platform", expected: /README's config reference/ }],
    },
    {
      name: "missing required key",
      change: (c) => delete c.storage,
      expect: [{ key: "mail-platform:storage", expected: /required/ }],
    },
    {
      name: "Docker host that is neither unix:// nor ssh://",
      change: (c) => (c.dockerHost = "tcp://10.0.0.5:2375"),
      expect: [{ key: "mail-platform:dockerHost", expected: /ssh:\/\/user@host/ }],
    },
    {
      name: "two services on one host port",
      change: (c) => (c.ports = { smtp: 2525, submission: 2525 }),
      expect: [{ key: "mail-platform:ports.submission", expected: /not already used by ports\.smtp/ }],
    },
    {
      name: "reject score not above tag score",
      change: (c) => (c.spam = { tagScore: 6, rejectScore: 5 }),
      expect: [{ key: "mail-platform:spam.rejectScore", expected: /above spam\.tagScore/ }],
    },
    {
      name: "PEM files that do not exist",
      change: (c) => (c.domains[0].tls = { source: "pem", certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem" }),
      expect: [
        { key: "mail-platform:domains[0].tls.certFile", expected: /readable PEM file/ },
        { key: "mail-platform:domains[0].tls.keyFile", expected: /readable PEM file/ },
      ],
    },
    {
      name: "a domain without postmaster",
      change: (c) => c.domains.push({ name: "example.org" }),
      expect: [{ key: "mail-platform:domains[1].name", expected: /postmaster@example\.org \(RFC 5321/ }],
    },
    {
      name: "a trusted network that contains the edge gateway (everyone through docker-proxy)",
      change: (c) => (c.trustedNetworks = ["172.30.1.0/25"]),
      expect: [{ key: "mail-platform:trustedNetworks[0]", expected: /Docker gateway 172\.30\.1\.1/ }],
    },
    {
      name: "the built-in archive without its search index",
      change: (c) => (c.features = { archive: true }),
      expect: [{ key: "mail-platform:features.search", expected: /cannot search without its Manticore index/ }],
    },
    {
      name: "a search index with an external archive server",
      change: (c) => {
        c.features = { archive: true, search: true };
        c.archive = { intake: { host: "piler.example.com" } };
      },
      expect: [{ key: "mail-platform:features.search", expected: /belongs to the built-in Piler/ }],
    },
    {
      name: "PostfixAdmin's UI with nobody to log in",
      change: (c) => (c.features = { admin: true }),
      expect: [{ key: "mail-platform:web.admins", expected: /at least one administrator/ }],
    },
    {
      name: "two web apps on one host name, one on a name the proxy keeps for autoconfig",
      change: (c) => {
        c.features = { webmail: true, admin: true };
        c.web = { admins: ["boss@example.com"], webmailHostname: "autoconfig.example.com", adminHostname: "AUTOCONFIG.example.com" };
      },
      expect: [
        { key: "mail-platform:web.webmailHostname", expected: /other than the mta-sts/ },
        { key: "mail-platform:web.adminHostname", expected: /other than the mta-sts/ },
        { key: "mail-platform:web.adminHostname", expected: /not already used by web.webmailHostname/ },
      ],
    },
    {
      name: "the monitoring on the webmail's host name, a relay password file that is not there, a bad duration",
      change: (c) => {
        c.features = { webmail: true, monitoring: true };
        c.monitoring = {
          hostname: "webmail.example.com",
          alerts: {
            email: {
              to: ["ops@elsewhere.example"],
              from: "alerts@example.com",
              smarthost: "relay.example.net:587",
              passwordFile: "/nonexistent/relay.password",
            },
          },
          for: { down: "2 minutes" },
        };
      },
      expect: [
        { key: "mail-platform:monitoring.hostname", expected: /not already used by web.webmailHostname/ },
        { key: "mail-platform:monitoring.alerts.email.passwordFile", expected: /readable file with the alert relay's password/ },
        { key: "mail-platform:monitoring.for.down", expected: /a duration such as 30s/ },
      ],
    },
    {
      name: "relative storage path",
      change: (c) => (c.storage.ssdRoot = "data/ssd"),
      expect: [{ key: "mail-platform:storage.ssdRoot", expected: /absolute path/ }],
    },
    {
      name: "a relay host Postfix cannot read",
      change: (c) => (c.relayhost = "smtp provider:587"),
      expect: [{ key: "mail-platform:relayhost", expected: /\[host\]:port/ }],
    },
    {
      name: "two volumes on one path",
      change: (c) => (c.storage.volumes = { queue: "/srv/q", mailboxes: "/srv/q" }),
      expect: [{ key: "mail-platform:storage.volumes.mailboxes", expected: /not already used by storage\.volumes\.queue/ }],
    },
    {
      name: "a port that collides with another service's default",
      change: (c) => (c.ports = { smtp: 587 }),
      expect: [{ key: "mail-platform:ports.submission", expected: /not already used by ports\.smtp/ }],
    },
    {
      name: "a malformed port does not hide two others on one host port",
      change: (c) => (c.ports = { smtp: 70000, imap: 587 }),
      expect: [
        { key: "mail-platform:ports.smtp", expected: /<= 65535/ },
        { key: "mail-platform:ports.imap", expected: /not already used by ports\.submission/ },
      ],
    },
    {
      name: "a malformed domain name, without a follow-on complaint for each of its addresses",
      change: (c) => (c.domains[0].name = "exa mple.com"),
      expect: [{ key: "mail-platform:domains[0].name", expected: /fully qualified domain name/ }],
    },
    {
      name: "a malformed web host name, judged no further",
      change: (c) => {
        c.features = { webmail: true };
        c.web = { webmailHostname: "web mail.example.com" };
      },
      expect: [{ key: "mail-platform:web.webmailHostname", expected: /fully qualified domain name/ }],
    },
    {
      name: "an external archive server whose intake is malformed still counts as external",
      change: (c) => {
        c.features = { archive: true };
        c.archive = { intake: { port: 25 } };
      },
      expect: [{ key: "mail-platform:archive.intake.host", expected: /required/ }],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const raw = base();
      c.change(raw);
      const problems = problemsOf(raw);
      for (const e of c.expect) {
        const hit = problems.find((p) => p.key === e.key && e.expected.test(p.expected));
        assert.ok(hit, `expected a problem at ${e.key} matching ${e.expected}; saw:\n${formatProblems(problems)}`);
      }
      assert.equal(problems.length, c.expect.length, `expected exactly ${c.expect.length} problem(s); saw:\n${formatProblems(problems)}`);
    });
  }

  it("lists several problems at once", () => {
    const raw: PropertyMap = base();
    raw.hostname = "localhost";
    raw.mailboxes[0].quotaMb = 0;
    raw.trustedNetworks = ["0.0.0.0/0"];
    const r = validateStack(raw);
    assert.ok(!r.ok);
    // Shape problems and cross-key problems come out of the same run.
    const keys = r.problems.map((p) => p.key).sort();
    assert.deepEqual(keys, ["mail-platform:hostname", "mail-platform:mailboxes[0].quotaMb", "mail-platform:trustedNetworks[0]"].sort());
  });

  it("runs every cross-key rule while keys elsewhere, even in the same objects, are malformed", () => {
    const raw: PropertyMap = base();
    raw.typo = true;
    raw.domains[0].dkimSelector = "Not A Label";
    raw.domains.push({ name: "example.org" });
    raw.mailboxes.push({ address: "carol@other.org", name: "Carol", quotaMb: -5 });
    raw.aliases.push({ address: "a@example.com", goto: ["a@example.com", "not an address"] });
    raw.ports = { smtp: "25", imap: 2525, pop3: 2525 };
    raw.spam = { tagScore: 6, rejectScore: 5, bannedExtensions: ["EXE"] };
    raw.features = { archive: true, admin: "yes" };
    raw.trustedNetworks = ["10.0.0.0/8", "10.0.0.1/24"];
    const r = validateStack(raw, { checkFiles: true });
    assert.ok(!r.ok);
    assert.deepEqual(
      r.problems.map((p) => `${p.key}: found ${p.found}; expected ${p.expected}`).sort(),
      [
        `mail-platform: found unknown key 'typo'; expected only the keys listed in the README's config reference (check the spelling)`,
        `mail-platform:aliases[1].goto: found "a@example.com -> a@example.com"; expected aliases that end in a mailbox or external address, not a loop`,
        `mail-platform:aliases[1].goto[1]: found "not an address"; expected an e-mail address such as alice@example.com`,
        `mail-platform:domains[0].dkimSelector: found "Not A Label"; expected one DNS label such as mail2026`,
        `mail-platform:domains[1].name: found "example.org"; expected a mailbox or alias for postmaster@example.org (RFC 5321 requires it)`,
        `mail-platform:features.admin: found "yes"; expected a boolean`,
        `mail-platform:features.search: found nothing; expected true: the built-in Piler cannot search without its Manticore index (or set archive.intake to use an existing archive server)`,
        `mail-platform:mailboxes[1].address: found "carol@other.org"; expected an address in a declared domain (example.com, example.org)`,
        `mail-platform:mailboxes[1].quotaMb: found -5; expected a number > 0`,
        `mail-platform:ports.pop3: found 2525; expected a host port not already used by ports.imap`,
        `mail-platform:ports.smtp: found "25"; expected a number`,
        `mail-platform:spam.bannedExtensions[0]: found "EXE"; expected Invalid string: must match pattern /^[a-z0-9]{1,10}$/`,
        `mail-platform:spam.rejectScore: found 5; expected a score above spam.tagScore (6)`,
        `mail-platform:trustedNetworks[0]: found "10.0.0.0/8"; expected a network no wider than the platform's own (/24); an open relay is one typo away otherwise`,
        `mail-platform:trustedNetworks[1]: found "10.0.0.1/24"; expected an IPv4 network in CIDR form with zero host bits, such as 192.0.2.0/24`,
      ].sort(),
    );
  });
});

describe("the schema", () => {
  it("holds the cross-key rules itself, so any parse with it enforces them", () => {
    const raw: PropertyMap = base();
    raw.mailboxes.push({ address: "carol@other.org", name: "Carol", quotaMb: 10 });
    const r = stackSchema.safeParse(raw);
    assert.ok(!r.success);
    assert.deepEqual(
      r.error.issues.map((i) => [i.path, i.message]),
      [[["mailboxes", 1, "address"], "an address in a declared domain (example.com)"]],
    );
  });
  it("checks the PEM files only when asked to (the reviewer's validate tool runs without --check-files)", () => {
    const raw: PropertyMap = base();
    raw.domains[0].tls = { source: "pem", certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem" };
    assert.ok(validateStack(raw, { checkFiles: false }).ok);
    assert.equal(problemsOf(raw).length, 2);
  });
});

describe("the deploying shell's environment", () => {
  it("refuses the Docker variables that would make the provider deploy elsewhere than dockerHost, naming each", async () => {
    const { environmentProblems } = await import("../../config/environment");
    const problems = environmentProblems({
      DOCKER_CONTEXT: "prod",
      DOCKER_CERT_PATH: "/home/me/.docker",
      DOCKER_HOST: "tcp://x:2376",
      DOCKER_SSH_OPTS: "-i key",
    });
    assert.deepEqual(
      problems.map((p) => p.key),
      ["environment variable DOCKER_CONTEXT", "environment variable DOCKER_CERT_PATH"],
    );
    assert.match(problems[0].found, /instead of dockerHost/);
    assert.match(problems[0].expected, /unset DOCKER_CONTEXT/);
    assert.doesNotMatch(JSON.stringify(problems), /home\/me/, "values are not echoed: certificate material may be among them");
  });
});

describe("archive settings", () => {
  it("accepts an external archive intake and defaults the copy address later", () => {
    const r = validateStack({ ...base(), features: { archive: true }, archive: { intake: { host: "piler.example.com" } } });
    assert.ok(r.ok, r.ok ? "" : formatProblems(r.problems));
    assert.deepEqual(r.value.archive.intake, { host: "piler.example.com", port: 25 });
  });
});

describe("alias loops", () => {
  it("finds a three-alias cycle once", () => {
    const loops = aliasLoops([
      { address: "a@x.org", goto: ["b@x.org"] },
      { address: "b@x.org", goto: ["c@x.org"] },
      { address: "c@x.org", goto: ["a@x.org", "ext@y.org"] },
    ]);
    assert.deepEqual(loops, [["a@x.org", "b@x.org", "c@x.org", "a@x.org"]]);
  });
  it("finds a self-alias", () => {
    assert.deepEqual(aliasLoops([{ address: "a@x.org", goto: ["a@x.org"] }]), [["a@x.org", "a@x.org"]]);
  });
});

describe("resolvePlatform", () => {
  it("derives tuning from the host's cores and a path per volume", () => {
    const r = validateStack({ ...base(), storage: { ssdRoot: "/ssd", bulkRoot: "/bulk", volumes: { mailboxes: "/nvme/mail" } } });
    assert.ok(r.ok);
    const p = resolvePlatform(r.value, "prod", 4);
    assert.equal(p.instanceName, "mp-prod");
    assert.deepEqual(p.tuning, {
      hostCpus: 4,
      postfixProcessLimit: 100,
      amavisChildren: 5,
      clamdThreads: 8,
      lmtpConcurrency: 8,
      amavisTmpMb: 1024,
    });
    assert.deepEqual(p.volumePaths, {
      queue: "/ssd/queue",
      acme: "/ssd/acme",
      bans: "/ssd/bans",
      metrics: "/ssd/metrics",
      monitoring: "/ssd/monitoring",
      sarules: "/ssd/sarules",
      mailboxes: "/nvme/mail",
      database: "/ssd/database",
      index: "/ssd/index",
      quarantine: "/ssd/quarantine",
      virusdb: "/ssd/virusdb",
      archive: "/bulk/archive",
      backups: "/bulk/backups",
      logs: "/bulk/logs",
    });
  });
});

describe("configWarnings", () => {
  it("warns when the monitoring has nowhere to send alerts, and not once it has", () => {
    const parse = (monitoring: Record<string, unknown>) => {
      const r = validateStack({ ...base(), features: { monitoring: true }, monitoring });
      assert.ok(r.ok, r.ok ? "" : formatProblems(r.problems));
      return configWarnings(r.value);
    };
    assert.match(parse({}).join("\n"), /mail-platform:monitoring.alerts: neither email nor webhookUrl/);
    assert.deepEqual(parse({ alerts: { webhookUrl: "https://chat.example.com/hook" } }), []);
  });

  it("warns when bans are on but every client comes through Docker's userland proxy (a loopback bindAddress)", () => {
    const warnings = (bindAddress: string) => {
      const r = validateStack({ ...base(), bindAddress, features: { bans: true } });
      assert.ok(r.ok, r.ok ? "" : formatProblems(r.problems));
      return configWarnings(r.value);
    };
    assert.match(
      warnings("127.0.0.1").join("\n"),
      /mail-platform:bindAddress: 127\.0\.0\.1 is reached only through Docker's userland proxy/,
    );
    assert.deepEqual(warnings("0.0.0.0"), []);
    assert.deepEqual(warnings("198.51.100.25"), []);
  });
});
