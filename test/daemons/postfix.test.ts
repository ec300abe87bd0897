// Postfix itself reads the configuration we render for the dev and prod stacks, inside the
// project's image: `postfix check`, `postconf -n/-M/-P` without warnings, the SNI table built by the
// entrypoint, and a started Postfix answering on its listeners the way the hardening promises.
// Without MariaDB and Dovecot (network none), anything that needs an SQL or SASL lookup is left to
// the end-to-end tests.
import { strict as assert } from "assert";
import * as path from "path";
import { before, describe, it } from "node:test";
import { resolvePlatform } from "../../config/platform";
import { readStackFile } from "../../config/stack-file";
import { validateStack } from "../../config/validate";
import { PostfixRenderInput, postfixLimits, renderPostfixFiles } from "../../components/postfix/render";
import { buildImage, explain, runWithFiles } from "../support/docker";
import { makeCertificate } from "../support/pem";

const ROOT = path.resolve(__dirname, "..", "..");

/** The render input of a stack file, with endpoints as the other components publish them. */
function stackInput(stackFile: string, algorithm: "rsa" | "ec"): PostfixRenderInput {
  const file = readStackFile(path.join(ROOT, stackFile));
  // Prod's PEM files live on the company's deploy machine, not here; generated certs stand in.
  const result = validateStack(file.values, { checkFiles: false });
  if (!result.ok) throw new Error(`${stackFile} does not validate: ${JSON.stringify(result.problems)}`);
  const platform = resolvePlatform(result.value, file.stack, 2);
  const certificates = platform.domains.map((d, i) =>
    makeCertificate(d.name, [...new Set([...(i === 0 ? [platform.hostname] : []), `mail.${d.name}`, d.name])], algorithm),
  );
  return {
    platform,
    sql: { host: "mariadb", port: 3306, database: "postfixadmin", user: "postfix", password: "Xk3v9QpL2mW8rT5z" },
    certificates,
    lmtp: { host: "dovecot", port: 24 },
    sasl: { host: "dovecot", port: 12345 },
    inboundFilter: { host: "amavis", port: 10024 },
    originatingFilter: { host: "amavis", port: 10026 },
  };
}

/**
 * A stand-in for Dovecot's auth service (the protocol Postfix's `smtpd_sasl_type = dovecot` speaks,
 * https://doc.dovecot.org/main/developer_manual/design/auth_protocol.html): it offers PLAIN and
 * LOGIN and refuses every login. Enough to see when Postfix offers AUTH and that it asks Dovecot.
 */
const FAKE_DOVECOT_AUTH = String.raw`
use strict; use IO::Socket::INET;
$SIG{CHLD} = 'IGNORE';
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 12345, Listen => 16, ReuseAddr => 1) or die "listen: $!";
while (my $c = $srv->accept) {
  next if fork;
  $c->autoflush(1);
  print $c "VERSION	1	2
MECH	PLAIN	plaintext
MECH	LOGIN	plaintext
SPID	1
CUID	1
COOKIE	0123456789abcdef0123456789abcdef
DONE
";
  while (my $l = <$c>) { print $c "FAIL	$1	reason=test
" if $l =~ /^AUTH	(\d+)	/; }
  exit 0;
}
`;

/**
 * Runs inside the container after the image's entrypoint prepared the files (modes, SNI table,
 * `postfix check`). Each section starts with `@@@ <name> rc=<exit code>`.
 */
function probeScript(sniProbes: { hostname: string }[]): string {
  return `
readreply() { local line; while IFS= read -r -t 5 line <&3; do line=\${line%$'\\r'}; echo "$line"; [[ $line =~ ^[0-9]{3}\\  ]] && return 0; done; echo "(no reply)"; }
smtp() { exec 3<>/dev/tcp/127.0.0.1/$1 || return 1; shift; readreply; for c in "$@"; do echo ">>> $c"; printf '%s\\r\\n' "$c" >&3; readreply; done; exec 3>&-; }
section() { name=$1; shift; out=$("$@" 2>&1); echo "@@@ $name rc=$?"; echo "$out"; }
starttls() { (sleep 1; printf 'EHLO client.example.net\\r\\n'; sleep 0.5; printf 'AUTH PLAIN AGFsaWNlAHNlY3JldA==\\r\\n'; sleep 1; printf 'QUIT\\r\\n') | openssl s_client -starttls smtp -crlf -ign_eof -connect 127.0.0.1:$1 -servername "$2" 2>&1; }
# Every peer resolves to loopback at once (network none has no DNS): Dovecot's auth is the fake
# above; Amavis and MariaDB refuse connections, which is all these probes need.
echo '127.0.0.1 dovecot amavis mariadb' >> /etc/hosts
perl /tmp/fake-dovecot-auth.pl &
section check postfix check
section postconf-n postconf -n
section postconf-M postconf -M
section postconf-P postconf -P
section modes stat -c '%a %U:%G %n' /etc/postfix/sql/virtual-domains.cf /etc/postfix/tls/sni.lmdb /etc/postfix/tls/*.pem
section start postfix start
for i in $(seq 1 50); do /usr/local/bin/healthcheck >/dev/null 2>&1 && break; sleep 0.2; done
section health /usr/local/bin/healthcheck
${sniProbes.map((p) => `section "sni ${p.hostname}" sh -c 'openssl s_client -connect 127.0.0.1:465 -servername ${p.hostname} -tls1_2 </dev/null | openssl x509 -noout -ext subjectAltName'`).join("\n")}
section nosni sh -c 'openssl s_client -connect 127.0.0.1:465 -noservername </dev/null | openssl x509 -noout -ext subjectAltName'
section tls11-465 openssl s_client -connect 127.0.0.1:465 -tls1_1 -cipher DEFAULT@SECLEVEL=0 </dev/null
section smtp-25 smtp 25 'EHLO client.example.net' 'VRFY postmaster' 'AUTH PLAIN AGFsaWNlAHNlY3JldA==' QUIT
section starttls-25 starttls 25 ${sniProbes[0].hostname}
section submission-587 smtp 587 'EHLO client.example.net' 'AUTH PLAIN AGFsaWNlAHNlY3JldA==' 'MAIL FROM:<someone@example.net>' QUIT
section starttls-587 starttls 587 ${sniProbes[0].hostname}
section submissions-465 sh -c "(sleep 1; printf 'EHLO client.example.net\\r\\n'; sleep 1; printf 'QUIT\\r\\n') | openssl s_client -crlf -ign_eof -connect 127.0.0.1:465 -servername ${sniProbes[0].hostname} 2>&1"
section reinjection-10025 smtp 10025 'EHLO client.example.net' QUIT
postfix stop >/dev/null 2>&1
exit 0
`;
}

function sections(output: string): Record<string, { rc: number; text: string }> {
  const result: Record<string, { rc: number; text: string }> = {};
  for (const chunk of output.split(/^@@@ /m).slice(1)) {
    const [head, ...rest] = chunk.split("\n");
    const m = /^(.*) rc=(\d+)$/.exec(head);
    if (m) result[m[1]] = { rc: Number(m[2]), text: rest.join("\n") };
  }
  return result;
}

function postconfValues(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .map((l) => /^([a-z0-9_]+) = ?(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
}

let image = "";
before(async () => {
  image = await buildImage("postfix");
});

for (const [stackFile, algorithm] of [
  ["Pulumi.dev.yaml", "ec"],
  ["Pulumi.prod.yaml", "rsa"],
] as const) {
  describe(`Postfix accepts the rendered config of ${stackFile}`, () => {
    let input: PostfixRenderInput;
    let out: Record<string, { rc: number; text: string }> = {};
    let raw = "";
    before(() => {
      input = stackInput(stackFile, algorithm);
      const files = renderPostfixFiles(input);
      const probes = input.certificates.flatMap((c) => c.hostnames.map((hostname) => ({ hostname })));
      const r = runWithFiles(image, { ...files, "/tmp/fake-dovecot-auth.pl": FAKE_DOVECOT_AUTH }, ["bash", "-c", probeScript(probes)]);
      raw = explain(r);
      // The entrypoint itself runs `postfix check` and `postmap -F`; a rejection ends the run there.
      assert.equal(r.code, 0, `the entrypoint or the probe failed:\n${raw}`);
      out = sections(r.stdout);
    });

    const section = (name: string) => {
      const s = out[name];
      assert.ok(s, `no output section "${name}":\n${raw}`);
      return s;
    };

    it("passes `postfix check` and `postconf` without a warning", () => {
      for (const name of ["check", "postconf-n", "postconf-M", "postconf-P"]) {
        const s = section(name);
        assert.equal(s.rc, 0, `${name} exited ${s.rc}:\n${s.text}`);
        const warnings = s.text.split("\n").filter((l) => /(^|: )(warning|fatal|error):/i.test(l));
        assert.deepEqual(warnings, [], `${name} printed warnings:\n${s.text}`);
      }
    });

    it("has the hardening values in effect (postconf -n)", () => {
      const v = postconfValues(section("postconf-n").text);
      const limits = postfixLimits(input.platform.limits);
      const expected: Record<string, string> = {
        compatibility_level: "3.10",
        myhostname: input.platform.hostname,
        smtpd_tls_auth_only: "yes",
        smtpd_sasl_auth_enable: "no",
        smtpd_sasl_type: "dovecot",
        smtpd_sasl_path: "inet:dovecot:12345",
        smtpd_tls_security_level: "may",
        smtpd_tls_mandatory_protocols: ">=TLSv1.2",
        smtp_tls_security_level: "may",
        smtpd_forbid_bare_newline: "normalize",
        smtpd_forbid_unauth_pipelining: "yes",
        smtpd_helo_required: "yes",
        disable_vrfy_command: "yes",
        strict_rfc821_envelopes: "yes",
        smtpd_data_restrictions: "reject_unauth_pipelining",
        virtual_transport: "lmtp:inet:dovecot:24",
        content_filter: "amavisfeed:[amavis]:10024",
        message_size_limit: String(limits.messageSizeLimit),
        smtpd_recipient_limit: String(input.platform.limits.recipientsPerMessage),
        smtpd_client_message_rate_limit: String(input.platform.limits.messagesPerMinute),
        smtpd_client_connection_rate_limit: String(input.platform.limits.connectionsPerMinute),
        default_process_limit: String(input.platform.tuning.postfixProcessLimit),
        lmtp_destination_concurrency_limit: String(input.platform.tuning.lmtpConcurrency),
        maillog_file: "/dev/stdout",
        tls_server_sni_maps: "lmdb:/etc/postfix/tls/sni",
      };
      const seen = Object.fromEntries(Object.keys(expected).map((k) => [k, v[k]]));
      assert.deepEqual(seen, expected);
      assert.match(v.smtpd_relay_restrictions, /^permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination$/);
      assert.match(v.smtpd_sender_login_maps ?? "", /mysql:\/etc\/postfix\/sql\/sender-login\.cf/);
      for (const map of ["virtual_mailbox_domains", "virtual_mailbox_maps", "virtual_alias_maps"]) {
        assert.match(v[map] ?? "", /^proxy:mysql:\/etc\/postfix\/sql\//, `${map} = ${v[map]}`);
      }
    });

    it("runs every listener unchrooted with the per-port policies (postconf -M / -P)", () => {
      const services = section("postconf-M").text;
      for (const port of ["25", "465", "587", "10025"])
        assert.match(services, new RegExp(`^${port}\\s+inet\\s+n\\s+-\\s+n\\s`, "m"), `listener ${port}:\n${services}`);
      assert.doesNotMatch(services, /^\S+\s+\S+\s+\S+\s+\S+\s+y\s/m, "no service may run chrooted");
      assert.match(services, new RegExp(`^amavisfeed\\s+unix\\s+-\\s+-\\s+n\\s+-\\s+${input.platform.tuning.amavisChildren}\\s+smtp`, "m"));
      const p = section("postconf-P").text;
      for (const line of [
        "465/inet/smtpd_tls_wrappermode = yes",
        "465/inet/smtpd_tls_security_level = encrypt",
        "465/inet/smtpd_sasl_auth_enable = yes",
        "587/inet/smtpd_tls_security_level = encrypt",
        "587/inet/smtpd_sasl_auth_enable = yes",
        "587/inet/content_filter = amavisfeed:[amavis]:10026",
        "587/inet/smtpd_sender_restrictions = reject_non_fqdn_sender,reject_sender_login_mismatch,permit_sasl_authenticated,reject",
        "10025/inet/content_filter =",
        "10025/inet/mynetworks = !172.30.0.1,172.30.0.0/24",
        "amavisfeed/unix/smtp_send_xforward_command = yes",
      ]) {
        assert.ok(
          p.split("\n").some((l) => l.trim() === line),
          `expected "${line}" in postconf -P:\n${p}`,
        );
      }
    });

    it("leaves SQL credentials readable by root and postfix only, keys by root only", () => {
      const lines = section("modes").text.trim().split("\n");
      assert.ok(
        lines.some((l) => l === "640 root:postfix /etc/postfix/sql/virtual-domains.cf"),
        lines.join("\n"),
      );
      for (const l of lines.filter((x) => x.endsWith(".pem") || x.endsWith(".lmdb"))) assert.match(l, /^600 root:root /);
    });

    it("starts, reports healthy, and serves each domain's certificate by SNI on 465", () => {
      assert.equal(section("start").rc, 0, section("start").text);
      assert.equal(section("health").rc, 0, `health check failed:\n${section("health").text}`);
      for (const c of input.certificates) {
        for (const h of c.hostnames) {
          const s = section(`sni ${h}`);
          assert.equal(s.rc, 0, s.text);
          assert.match(
            s.text,
            new RegExp(`DNS:${c.hostnames[0].replace(/\./g, "\\.")}\\b`),
            `SNI ${h} should get ${c.domain}'s certificate:\n${s.text}`,
          );
        }
      }
      const first = input.certificates.find((c) => c.hostnames.includes(input.platform.hostname))!;
      assert.match(
        section("nosni").text,
        new RegExp(`DNS:${input.platform.hostname.replace(/\./g, "\\.")}`),
        "a client without SNI gets the primary hostname's certificate",
      );
      assert.ok(first);
    });

    it("refuses TLS 1.1 on 465", () => {
      const s = section("tls11-465");
      assert.notEqual(s.rc, 0, `TLS 1.1 handshake succeeded:\n${s.text}`);
      assert.match(s.text, /alert protocol version|no protocols available|unsupported protocol/i, s.text);
    });

    it("port 25: STARTTLS offered, AUTH never (before or after TLS), VRFY disabled, size limit announced", () => {
      const plain = section("smtp-25").text;
      assert.match(plain, /^250-STARTTLS$/m, plain);
      assert.doesNotMatch(plain, /^250[ -]AUTH/m, plain);
      assert.match(plain, new RegExp(`^250-SIZE ${postfixLimits(input.platform.limits).messageSizeLimit}$`, "m"), plain);
      assert.match(plain, /^502 5\.5\.1 VRFY command is disabled$/m, plain);
      const tls = section("starttls-25").text;
      assert.match(tls, /^250[ -]PIPELINING$/m, `no EHLO answer after STARTTLS:\n${tls}`);
      assert.doesNotMatch(tls, /^250[ -]AUTH/m, tls);
      assert.match(plain, /^503 5\.5\.1 Error: authentication not enabled$/m, plain);
    });

    it("port 587: no AUTH and no mail before STARTTLS; after it AUTH is offered and checked by Dovecot", () => {
      const s = section("submission-587").text;
      assert.match(s, /^250-STARTTLS$/m, s);
      assert.doesNotMatch(s, /^250[ -]AUTH/m, s);
      assert.match(s, /^>>> AUTH PLAIN \S+\n530 5\.7\.0 Must issue a STARTTLS command first$/m, s);
      assert.match(s, /^530 5\.7\.0 Must issue a STARTTLS command first$/m, s);
      const tls = section("starttls-587").text;
      assert.match(tls, /^250[ -]AUTH PLAIN LOGIN$/m, `no AUTH after STARTTLS on 587:\n${tls}`);
      assert.match(tls, /^535 5\.7\.8 Error: authentication failed/m, `Dovecot's refusal should reach the client:\n${tls}`);
    });

    it("port 465: implicit TLS, AUTH offered inside it", () => {
      const s = section("submissions-465").text;
      assert.match(s, /^220 /m, s);
      assert.match(s, /^250[ -]AUTH PLAIN LOGIN$/m, s);
      assert.doesNotMatch(s, /^250[ -]STARTTLS$/m, s);
    });

    it("port 10025 turns away clients outside the internal subnet at connect", () => {
      const s = section("reinjection-10025").text;
      assert.match(s.split("\n")[0], /^554 5\.7\.1 .*Client host rejected: Access denied/, s);
    });
  });
}
