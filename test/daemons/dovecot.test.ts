// Dovecot itself reads the configuration we render for the dev and prod stacks, inside the
// project's image: `doveconf` must parse every file, the settings that carry the hardening must
// come out as intended, and a started Dovecot must answer on each listener with the right
// certificate per SNI name. Without MariaDB (network none), logins are left to the end-to-end tests.
import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import { platformPeers } from "../../config/network";
import { DOVECOT_METRICS_PORT, DOVECOT_PORTS } from "../../components/dovecot/constants";
import { DovecotRenderInput, renderDovecotFiles } from "../../components/dovecot/render";
import { certificateHostnames } from "../../components/pki/hostnames";
import { RenderedFiles } from "../../render/template";
import { buildImage, explain, runWithFiles } from "../support/docker";
import { makeCertificate } from "../support/pem";
import { stackPlatform } from "../support/platforms";

/** A password with every character that needs quoting or escaping in dovecot.conf. */
const AWKWARD_PASSWORD = 'p#a"s%{x} w$rd\\!';

/** The render input of a stack file, with endpoints as the other components publish them. */
function stackInput(stackFile: string, sqlHost: string): DovecotRenderInput {
  const platform = stackPlatform(stackFile);
  return {
    platform,
    sql: { host: sqlHost, port: 3306, database: "postfixadmin", user: "dovecot", password: AWKWARD_PASSWORD },
    certificates: platform.domains.map((d, i) => makeCertificate(d.name, certificateHostnames(d, i, platform.hostname), "rsa")),
    spamd: { host: "spamd", port: 783 },
    // What the webmail asks Dovecot to trust (Webmail.loginForwarders).
    loginForwarders: platformPeers(platform.internalSubnet),
  };
}

/** Probes run inside the container against its own loopback, once Dovecot is up. */
function liveProbe(sniNames: string[]): string {
  const sni = sniNames
    .map(
      (n) =>
        `echo "SNI ${n} $(echo | timeout 5 openssl s_client -connect 127.0.0.1:993 -servername ${n} 2>/dev/null | openssl x509 -noout -subject -nameopt multiline | sed -n 's/ *commonName *= *//p')"`,
    )
    .join("\n");
  return `
set -u
dovecot || { echo "DOVECOT DID NOT START"; exit 1; }
for i in $(seq 1 100); do timeout 2 /usr/local/bin/healthcheck && break; sleep 0.1; done
timeout 2 /usr/local/bin/healthcheck && echo "HEALTHY" || echo "UNHEALTHY"
line() { timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && IFS= read -r l <&3 && echo "$l"' "$1"; }
echo "IMAP $(line 143)"
echo "POP3 $(line 110)"
echo "LMTP $(line 24)"
echo "SIEVE-CAPS $(timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/4190; printf "LOGOUT\\r\\n" >&3; cat <&3' | tr '\\r\\n' '  ')"
echo "IMAP-STARTTLS $(printf 'a CAPABILITY\\r\\nb LOGOUT\\r\\n' | timeout 5 openssl s_client -quiet -starttls imap -connect 127.0.0.1:143 2>/dev/null | grep '^\\* CAPABILITY' | tr -d '\\r')"
# SECLEVEL=0 lets this client offer TLS 1.1, so a refusal is the server's.
echo "TLS1.1 $(echo | timeout 5 openssl s_client -connect 127.0.0.1:993 -tls1_1 -cipher DEFAULT@SECLEVEL=0 2>&1 | grep -c 'alert protocol version')"
echo "TLS1.2 $(echo | timeout 5 openssl s_client -connect 127.0.0.1:993 -tls1_2 2>&1 | grep -c 'BEGIN CERTIFICATE')"
echo "SASL $(timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${DOVECOT_PORTS.sasl}; printf "VERSION\\t1\\t2\\nCPID\\t1\\n" >&3; timeout 1 cat <&3' | tr '\\t\\n' ' |')"
echo "DEFAULT-CERT $(echo | timeout 5 openssl s_client -connect 127.0.0.1:993 -noservername 2>/dev/null | openssl x509 -noout -subject -nameopt multiline | sed -n 's/ *commonName *= *//p')"
${sni}
doveadm stop >/dev/null 2>&1 || true
`;
}

/** The test's stand-ins for MariaDB and spamd: a static password and a recorder on spamd's port. */
const STATIC_AUTH = `auth_mechanisms = plain login
passdb static {
  password = test
}
userdb static {
  fields {
    home = /var/vmail/example.test/alice
  }
}
`;

const FAKE_SPAMD = `perl -MIO::Socket::INET -e '
  my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 783, Listen => 5, ReuseAddr => 1) or die "listen: $!";
  while (my $c = $s->accept) {
    my ($cmd, $class, $len) = ("", "", 0);
    while (my $l = <$c>) {
      $l =~ s/\\r?\\n$//; last if $l eq "";
      $cmd = $l if !$cmd; $class = $1 if $l =~ /^Message-class: (\\w+)/; $len = $1 if $l =~ /^Content-length: (\\d+)/i;
    }
    my $body = ""; read($c, $body, $len) if $len;
    open(my $f, ">>", "/tmp/learned"); print $f "LEARNED $cmd $class\\n"; close $f;
    print $c "SPAMD/1.1 0 EX_OK\\r\\nDidSet: local\\r\\n\\r\\n"; close $c;
  }' &`;

/** LMTP delivery of a spam-tagged message, then a user's IMAP session moving mail around Junk. */
const LEARNING_SESSION = `
set -u
${FAKE_SPAMD}
dovecot || { echo "DOVECOT DID NOT START"; exit 1; }
for i in $(seq 1 100); do timeout 2 /usr/local/bin/healthcheck && break; sleep 0.1; done
exec 4<>/dev/tcp/127.0.0.1/24
printf 'LHLO test\\r\\nMAIL FROM:<x@example.org>\\r\\nRCPT TO:<alice@example.test>\\r\\nDATA\\r\\nX-Spam-Flag: YES\\r\\nSubject: tagged\\r\\n\\r\\nspam\\r\\n.\\r\\nQUIT\\r\\n' >&4
timeout 5 cat <&4 | tr -d '\\r' | sed 's/^/LMTP /'
msg=$'From: a@example.test\\r\\nSubject: hi\\r\\n\\r\\nhello\\r\\n'
exec 3<>/dev/tcp/127.0.0.1/143
{
  printf 'a LOGIN alice@example.test test\\r\\n'
  printf 'b LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)\\r\\n'
  printf 'c STATUS Junk (MESSAGES)\\r\\n'
  printf 'd APPEND INBOX {%d+}\\r\\n%s\\r\\n' "\${#msg}" "$msg"
  printf 'e SELECT INBOX\\r\\n'
  printf 'f MOVE 1 Junk\\r\\n'
  printf 'g SELECT Junk\\r\\n'
  printf 'h COPY 2 INBOX\\r\\n'
  printf 'i MOVE 1 Trash\\r\\n'
  printf 'z LOGOUT\\r\\n'
} >&3
timeout 10 cat <&3 | tr -d '\\r' | sed 's/^/IMAP /'
cat /tmp/learned 2>/dev/null
`;

/**
 * The OpenMetrics page before and after one failed and one successful IMAP login. Dovecot's
 * processes report events to the stats process asynchronously, so the page is read again until
 * both counters moved, or 15 s have passed.
 */
const METRICS_SESSION = `
set -u
dovecot || { echo "DOVECOT DID NOT START"; exit 1; }
for i in $(seq 1 100); do timeout 2 /usr/local/bin/healthcheck && break; sleep 0.1; done
metrics() { timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${DOVECOT_METRICS_PORT}; printf "GET /metrics HTTP/1.0\\r\\nHost: dovecot\\r\\n\\r\\n" >&3; cat <&3' | tr -d '\\r'; }
count() { sed -n "s/^$1 \\([0-9]*\\)$/\\1/p" | grep . || echo -1; }
page=$(metrics)
echo "=== BEFORE"; echo "$page"
s0=$(echo "$page" | count dovecot_auth_success_total); f0=$(echo "$page" | count dovecot_auth_failure_total)
exec 3<>/dev/tcp/127.0.0.1/143
printf 'a LOGIN alice@example.test wrong\\r\\nb LOGIN alice@example.test test\\r\\nz LOGOUT\\r\\n' >&3
timeout 15 cat <&3 | tr -d '\\r' | sed 's/^/IMAP /'
deadline=$((SECONDS + 15))
while :; do
  page=$(metrics)
  s=$(echo "$page" | count dovecot_auth_success_total); f=$(echo "$page" | count dovecot_auth_failure_total)
  { [ "$s" -gt "$s0" ] && [ "$f" -gt "$f0" ]; } || [ $SECONDS -ge $deadline ] && break
  sleep 0.1
done
echo "=== AFTER"; echo "$page"
`;

let image: string;
before(async () => {
  image = await buildImage("dovecot");
});

for (const stackFile of ["Pulumi.dev.yaml", "Pulumi.prod.yaml"]) {
  describe(`dovecot config of ${stackFile}`, () => {
    const input = stackInput(stackFile, "mariadb");
    const files = renderDovecotFiles(input);
    const lmtp = input.platform.tuning.lmtpConcurrency;

    it("doveconf -n parses every rendered file", () => {
      const r = runWithFiles(image, files, ["-n", "-P", "-c", "/etc/dovecot/dovecot.conf"], { entrypoint: "doveconf" });
      assert.equal(r.code, 0, `doveconf rejected the config:\n${explain(r)}`);
      assert.equal(r.stderr.trim(), "", `doveconf warned:\n${r.stderr}`);
      const expected: [string, RegExp][] = [
        ["protocols", /^protocols = imap pop3 lmtp sieve$/m],
        ["mail driver", /^mail_driver = maildir$/m],
        ["mail path below the home", /^mail_path = ~\/Maildir$/m],
        ["hostname", new RegExp(`^hostname = ${input.platform.hostname.replace(/\./g, "\\.")}$`, "m")],
        ["SQL password parsed as one quoted value", /^ {2}password = "p#a\\"s%%\{x\} w\$rd\\\\!"$/m],
        ["LMTP process limit", new RegExp(`service lmtp \\{\\n  client_limit = 1\\n  process_limit = ${lmtp}\\n`)],
        ["SASL listener", new RegExp(`inet_listener auth-postfix \\{\\n    port = ${DOVECOT_PORTS.sasl}\\n    type = auth\\n`)],
        ["learn-spam script on Junk", /^mailbox Junk \{\n {2}sieve_script learn-spam \{/m],
        ["learn-ham script from Junk", /^imapsieve_from Junk \{\n {2}sieve_script learn-ham \{/m],
        ["Junk as special-use", /mailbox Junk \{\n {4}auto = subscribe\n {4}special_use = "\\\\Junk"/],
        ["quota plugin", /^mail_plugins \{\n {2}quota = yes\n\}/m],
        ...input.certificates.flatMap((c) =>
          c.hostnames.map((h): [string, RegExp] => [
            `SNI ${h}`,
            new RegExp(
              `^local_name ${h.replace(/\./g, "\\.")} \\{\\n  ssl_server \\{\\n    cert_file = /etc/dovecot/tls/${c.domain.replace(/\./g, "\\.")}\\.crt`,
              "m",
            ),
          ]),
        ),
      ];
      for (const [what, re] of expected) assert.match(r.stdout, re, `${what}: expected ${re} in doveconf -n output:\n${r.stdout}`);
    });

    it("doveconf reports the hardening settings (which -n hides when they equal defaults)", () => {
      const names = ["auth_allow_cleartext", "ssl", "ssl_min_protocol", "auth_failure_delay", "auth_mechanisms", "log_path", "mail_uid"];
      const r = runWithFiles(image, files, ["-c", "/etc/dovecot/dovecot.conf", ...names], { entrypoint: "doveconf" });
      assert.equal(r.code, 0, explain(r));
      const expected = [
        "auth_allow_cleartext = no",
        "ssl = yes",
        "ssl_min_protocol = TLSv1.2",
        "auth_failure_delay = 2 secs",
        "auth_mechanisms = plain login",
        "log_path = /dev/stderr",
        "mail_uid = vmail",
      ];
      assert.deepEqual(r.stdout.trim().split("\n"), expected);
    });

    it("the entrypoint compiles the sieve scripts and passes its own check", () => {
      const r = runWithFiles(image, files, [
        "bash",
        "-c",
        "ls /etc/dovecot/sieve; stat -c '%a %U %n' /etc/dovecot/private /etc/dovecot/private/* /var/vmail",
      ]);
      assert.equal(r.code, 0, explain(r));
      for (const s of ["learn-spam.svbin", "learn-ham.svbin", "spam-to-junk.svbin"])
        assert.match(r.stdout, new RegExp(s), `expected ${s} compiled:\n${r.stdout}`);
      assert.match(r.stdout, /^700 root \/etc\/dovecot\/private$/m, r.stdout);
      for (const line of r.stdout.split("\n").filter((l) => l.includes("/etc/dovecot/private/")))
        assert.match(line, /^600 root /, `private file not 0600: ${line}`);
      assert.match(r.stdout, /^770 vmail \/var\/vmail$/m, r.stdout);
    });

    it("a started dovecot answers on every listener with the right certificate per SNI name", () => {
      // The auth process of Dovecot 2.4.1 crashes on an SQL host name it cannot resolve, and IMAP
      // waits for auth before greeting; with no network here the SQL host is a closed loopback port.
      const live = stackInput(stackFile, "127.0.0.1");
      const sniNames = live.certificates.flatMap((c) => c.hostnames);
      const r = runWithFiles(image, renderDovecotFiles(live), ["bash", "-c", liveProbe(sniNames)]);
      const out = r.stdout;
      const why = explain(r);
      assert.match(out, /^HEALTHY$/m, `healthcheck never passed:\n${why}`);
      assert.match(out, /^IMAP \* OK \[CAPABILITY [^\]]*STARTTLS[^\]]*\] Dovecot ready\./m, why);
      assert.match(out, /^POP3 \+OK Dovecot ready\./m, why);
      assert.match(out, new RegExp(`^LMTP 220 ${input.platform.hostname.replace(/\./g, "\\.")} Dovecot ready\\.`, "m"), why);
      assert.match(out, /^SIEVE-CAPS .*"SIEVE" "[^"]*imapsieve[^"]*".*"STARTTLS"/m, why);
      assert.match(out, /^IMAP-STARTTLS \* CAPABILITY .*AUTH=PLAIN/m, why);
      assert.match(out, /^TLS1\.1 1$/m, `the server must refuse TLS 1.1 with a protocol version alert:\n${why}`);
      assert.match(out, /^TLS1\.2 1$/m, `TLS 1.2 must work:\n${why}`);
      assert.match(out, /^SASL VERSION 1 \d+\|MECH PLAIN plaintext\|MECH LOGIN plaintext/m, why);
      const defaultCn = live.certificates[0].hostnames[0];
      assert.match(
        out,
        new RegExp(`^DEFAULT-CERT ${defaultCn.replace(/\./g, "\\.")}$`, "m"),
        `no-SNI clients get the first domain's certificate:\n${why}`,
      );
      for (const c of live.certificates) {
        for (const h of c.hostnames) {
          assert.match(
            out,
            new RegExp(`^SNI ${h.replace(/\./g, "\\.")} ${c.hostnames[0].replace(/\./g, "\\.")}$`, "m"),
            `SNI ${h}: expected the certificate of ${c.domain} (CN ${c.hostnames[0]}):\n${why}`,
          );
        }
      }
    });
    // One stack is enough here: the learning setup does not vary between stacks.
    if (stackFile === "Pulumi.dev.yaml")
      it("delivers tagged spam into Junk and learns spam/ham from moves into and out of Junk (not into Trash)", () => {
        const live = { ...stackInput(stackFile, "127.0.0.1"), spamd: { host: "127.0.0.1", port: 783 } };
        const files: RenderedFiles = { ...renderDovecotFiles(live), "/etc/dovecot/conf.d/10-auth.conf": STATIC_AUTH };
        delete files["/etc/dovecot/private/sql.conf.ext"];
        const r = runWithFiles(image, files, ["bash", "-c", LEARNING_SESSION]);
        const out = r.stdout;
        const why = explain(r);
        assert.match(out, /^LMTP 250 2\.0\.0 <alice@example\.test> .*Saved/m, `LMTP delivery:\n${why}`);
        for (const [folder, use] of [
          ["Drafts", "Drafts"],
          ["Sent", "Sent"],
          ["Junk", "Junk"],
          ["Trash", "Trash"],
        ]) {
          assert.match(
            out,
            new RegExp(
              `^IMAP \\* LIST \\([^)]*\\\\Subscribed[^)]*\\\\${use}[^)]*\\) "/" ${folder}$|^IMAP \\* LIST \\([^)]*\\\\${use}[^)]*\\\\Subscribed[^)]*\\) "/" ${folder}$`,
              "m",
            ),
            `${folder} must exist, be subscribed and flagged \\${use}:\n${why}`,
          );
        }
        assert.match(out, /^IMAP \* STATUS Junk \(MESSAGES 1\)$/m, `the X-Spam-Flag: YES message must be in Junk:\n${why}`);
        for (const tag of ["f", "h", "i"]) assert.match(out, new RegExp(`^IMAP ${tag} OK`, "m"), why);
        if (process.env.DOVECOT_TEST_VERBOSE) console.log(why);
        const learned = out.split("\n").filter((l) => l.startsWith("LEARNED "));
        assert.deepEqual(
          learned,
          ["LEARNED TELL SPAMC/1.5 spam", "LEARNED TELL SPAMC/1.5 ham"],
          `expected spam (INBOX->Junk), ham (Junk->INBOX), nothing for Junk->Trash:\n${why}`,
        );
      });
    if (stackFile === "Pulumi.dev.yaml")
      it("Dovecot's metrics endpoint counts failed and successful logins", () => {
        const live = stackInput(stackFile, "127.0.0.1");
        const files: RenderedFiles = { ...renderDovecotFiles(live), "/etc/dovecot/conf.d/10-auth.conf": STATIC_AUTH };
        delete files["/etc/dovecot/private/sql.conf.ext"];
        const r = runWithFiles(image, files, ["bash", "-c", METRICS_SESSION]);
        const why = explain(r);
        const page = (section: string) => r.stdout.split(`=== ${section}\n`)[1]?.split("\n=== ")[0] ?? "";
        const counter = (text: string, name: string): number | undefined => {
          const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
          return m ? Number(m[1]) : undefined;
        };
        assert.match(page("BEFORE"), /^HTTP\/1\.1 200 OK$/m, `no OpenMetrics page on port ${DOVECOT_METRICS_PORT}:\n${why}`);
        assert.match(r.stdout, /^IMAP a NO \[AUTHENTICATIONFAILED\]/m, `the wrong password must fail:\n${why}`);
        assert.match(r.stdout, /^IMAP b OK /m, `the right password must log in:\n${why}`);
        for (const name of ["dovecot_auth_failure_total", "dovecot_auth_success_total"]) {
          const before = counter(page("BEFORE"), name);
          const after = counter(page("AFTER"), name);
          assert.ok(before !== undefined && after !== undefined, `${name} missing from the metrics page:\n${why}`);
          assert.ok(after >= before + 1, `${name} went from ${before} to ${after}, expected an increase of at least 1:\n${why}`);
        }
      });
  });
}
