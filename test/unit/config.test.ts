// The stack config's validation: good stacks parse, bad ones report every problem with its key.
import { strict as assert } from "assert";
import * as path from "path";
import { describe, it } from "node:test";
import { resolvePlatform } from "../../config/platform";
import { readStackFile } from "../../config/stack-file";
import { aliasLoops, ConfigProblem, formatProblems, validateStack } from "../../config/validate";

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
    assert.deepEqual(r.value.domains[0].tls, { source: "self-signed" });
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
  const cases: { name: string; change: (c: any) => void; expect: { key: string; expected: RegExp }[] }[] = [
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
      name: "relative storage path",
      change: (c) => (c.storage.ssdRoot = "data/ssd"),
      expect: [{ key: "mail-platform:storage.ssdRoot", expected: /absolute path/ }],
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
    const raw: any = base();
    raw.hostname = "localhost";
    raw.mailboxes[0].quotaMb = 0;
    raw.trustedNetworks = ["0.0.0.0/0"];
    const r = validateStack(raw);
    assert.ok(!r.ok);
    // Shape problems and cross-key problems come out of the same run.
    const keys = r.problems.map((p) => p.key).sort();
    assert.deepEqual(keys, ["mail-platform:hostname", "mail-platform:mailboxes[0].quotaMb", "mail-platform:trustedNetworks[0]"].sort());
  });
});

describe("the deploying shell's environment", () => {
  it("refuses the Docker variables that would make the provider deploy elsewhere than dockerHost, naming each", async () => {
    const { environmentProblems } = await import("../../config/environment");
    const problems = environmentProblems({ DOCKER_CONTEXT: "prod", DOCKER_CERT_PATH: "/home/me/.docker", DOCKER_HOST: "tcp://x:2376", DOCKER_SSH_OPTS: "-i key" });
    assert.deepEqual(problems.map((p) => p.key), ["environment variable DOCKER_CONTEXT", "environment variable DOCKER_CERT_PATH"]);
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
    assert.deepEqual(p.tuning, { hostCpus: 4, postfixProcessLimit: 100, amavisChildren: 5, clamdThreads: 8, lmtpConcurrency: 8, amavisTmpMb: 1024 });
    assert.deepEqual(p.volumePaths, {
      queue: "/ssd/queue",
      mailboxes: "/nvme/mail",
      database: "/ssd/database",
      index: "/ssd/index",
      quarantine: "/ssd/quarantine",
      virusdb: "/ssd/virusdb",
      archive: "/bulk/archive",
      backups: "/bulk/backups",
    });
  });
});
