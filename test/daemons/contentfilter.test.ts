// The ContentFilter's rendered config, read by the real daemons in the project's images: Amavis
// loads its config and the DKIM keys and starts listening, SpamAssassin lints its site config,
// spamd starts with its command line, clamd starts and finds the EICAR test string.
import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import { PlatformConfig } from "../../config/platform";
import {
  ContentFilterRenderInput,
  networkChecksEnabled,
  renderAmavisFiles,
  renderClamavFiles,
  renderSpamdFiles,
} from "../../components/contentfilter/render";
import { buildImage, explain, runWithFiles } from "../support/docker";
import { loopbackFilterInput } from "../support/contentfilter-input";
import { stackPlatform } from "../support/platforms";

const inputOf = loopbackFilterInput;

/** The EICAR anti-virus test string, joined from two halves so this file never contains it. */
const EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EI" + "CAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

// Sends one message over SMTP and prints each reply, so the test sees what Amavis answered.
// Arguments: port, sender, recipient.
const SMTP_PROBE = `#!/usr/bin/perl
use strict; use warnings; use IO::Socket::INET;
my ($port, $from, $rcpt) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 120) or die "connect: $!";
sub reply { my $r = ''; while (my $l = <$s>) { $r .= $l; last if $l =~ /^\\d{3} / } print "S: $r"; $r }
sub cmd { print "C: $_[0]\\n"; print $s "$_[0]\\r\\n"; reply() }
reply(); cmd("EHLO probe.example.test"); cmd("MAIL FROM:<$from>"); cmd("RCPT TO:<$rcpt>"); cmd("DATA");
print $s "From: $from\\r\\nTo: $rcpt\\r\\nSubject: probe via $port\\r\\nDate: Thu, 01 Jan 2026 00:00:00 +0000\\r\\nMessage-ID: <probe$port\\@example.net>\\r\\n\\r\\nHello, this is a short test message.\\r\\n.\\r\\n";
print "C: <message>\\n"; reply(); cmd("QUIT");
`;

// Stand-ins for the neighbours Amavis talks to, inside its own container: a clamd that answers
// every stream (zIDSESSION/zINSTREAM) with OK, and an SMTP sink on the re-injection port that
// stores each message it receives as /tmp/sink/<n>.eml.
const NEIGHBOURS = `#!/usr/bin/perl
use strict; use warnings; use IO::Socket::INET;
mkdir '/tmp/sink';
if (fork() == 0) {
  my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 3310, Listen => 5, ReuseAddr => 1) or die "clamd: $!";
  while (my $c = $srv->accept) {
    my $id = 0;
    while (defined(my $cmd = readz($c))) {
      last if $cmd eq 'zEND';
      if ($cmd eq 'zPING') { print $c "PONG\\0"; next }
      next unless $cmd eq 'zINSTREAM';
      $id++;
      while (read($c, my $len, 4) == 4) { my $n = unpack('N', $len); last if $n == 0; read($c, my $buf, $n) }
      print $c "$id: stream: OK\\0"; $c->flush;
    }
    close $c;
  }
  exit 0;
}
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 10025, Listen => 5, ReuseAddr => 1) or die "sink: $!";
# One process per connection: Amavis keeps its connection to Postfix open for reuse.
$SIG{CHLD} = 'IGNORE';
my $n = 0;
while (my $c = $srv->accept) {
  $n++;
  if (fork()) { close $c; next }
  $c->autoflush(1);
  print $c "220 sink ESMTP\\r\\n";
  while (my $l = <$c>) {
    if ($l =~ /^DATA/i) {
      print $c "354 go\\r\\n"; my $msg = '';
      while (my $d = <$c>) { last if $d =~ /^\\.\\r?\\n$/; $msg .= $d }
      $n += 1000; open(my $fh, '>', "/tmp/sink/$n.eml") or die; print $fh $msg; close $fh;
      print $c "250 2.0.0 stored $n\\r\\n";
    } elsif ($l =~ /^QUIT/i) { print $c "221 bye\\r\\n"; last }
    elsif ($l =~ /^EHLO/i) { print $c "250-sink\\r\\n250 8BITMIME\\r\\n" }
    else { print $c "250 ok\\r\\n" }
  }
  exit 0;
}
sub readz { my $c = shift; my $s = ''; while (1) { my $r = read($c, my $ch, 1); return undef unless $r; return $s if $ch eq "\\0"; $s .= $ch } }
`;

// Starts Amavis as the image does and waits (bounded) until its health check passes.
const START_AMAVIS = `/usr/local/bin/entrypoint.sh /usr/sbin/amavisd foreground >/tmp/amavis.log 2>&1 &
pid=$!
for i in $(seq 1 90); do
  /usr/local/bin/healthcheck >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || break
  sleep 1
done
/usr/local/bin/healthcheck || { echo "AMAVIS DID NOT START"; cat /tmp/amavis.log; exit 1; }
`;

// Starts Amavis, then sends one message.
const AMAVIS_RUN = `#!/bin/sh
${START_AMAVIS}echo "LISTENING"
perl /probe/smtp-probe.pl 10024 sender@example.net "$1"
echo "--- amavis log ---"
cat /tmp/amavis.log
`;

// The same, with the stand-ins for clamd and Postfix running: one message in on 10024 (from the
// Internet to a local mailbox), one on 10026 (from a local user to a remote address).
const AMAVIS_FLOW = `#!/bin/sh
perl /probe/neighbours.pl >/tmp/neighbours.log 2>&1 &
${START_AMAVIS}perl /probe/smtp-probe.pl 10024 sender@example.net "$1"
perl /probe/smtp-probe.pl 10026 "$1" friend@example.net
for f in /tmp/sink/*.eml; do echo "=== $f"; cat "$f"; done
echo "--- amavis log ---"; cat /tmp/amavis.log
echo "--- neighbours log ---"; cat /tmp/neighbours.log
`;

// Starts clamd (and cron for the freshclam job) as the image does, then scans.
const CLAMAV_RUN = `#!/bin/sh
/usr/local/bin/entrypoint.sh >/tmp/clamav.log 2>&1 &
pid=$!
for i in $(seq 1 60); do
  clamdscan --no-summary --ping 1 >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || break
  sleep 1
done
clamdscan --no-summary --ping 1 || { echo "CLAMD DID NOT START"; cat /tmp/clamav.log; exit 1; }
echo "--- eicar ---"; clamdscan --no-summary --stream /probe/eicar.txt
echo "--- clean ---"; clamdscan --no-summary --stream /probe/clean.txt
echo "--- cron ---"; pgrep -x cron >/dev/null && echo "cron runs"
echo "--- processes ---"; ps -eo pid,comm 2>/dev/null || ls /proc | grep -c '^[0-9]'
echo "--- clamav log ---"; cat /tmp/clamav.log
`;

const SPAMD_RUN = `#!/bin/sh
. /etc/default/spamd
/usr/sbin/spamd $OPTIONS >/tmp/spamd.log 2>&1 &
pid=$!
for i in $(seq 1 60); do
  spamc -K >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || break
  sleep 1
done
spamc -K || { echo "SPAMD DID NOT START"; cat /tmp/spamd.log; exit 1; }
echo "SPAMD ANSWERS"
`;

const STACKS = ["Pulumi.dev.yaml", "Pulumi.prod.yaml"];

describe("ContentFilter config read by the daemons", () => {
  const images: Record<string, string> = {};
  const inputs: Record<string, ContentFilterRenderInput> = {};
  const platforms: Record<string, PlatformConfig> = {};
  before(async () => {
    for (const service of ["amavis", "spamd", "clamav"]) images[service] = await buildImage(service);
    for (const stack of STACKS) {
      platforms[stack] = stackPlatform(stack);
      inputs[stack] = inputOf(platforms[stack]);
    }
  });

  for (const stack of STACKS) {
    describe(stack, () => {
      it("Amavis reads its config (amavisd test-config)", () => {
        const r = runWithFiles(images.amavis, renderAmavisFiles(inputs[stack]), ["/usr/sbin/amavisd", "test-config"]);
        assert.equal(r.code, 0, `amavisd test-config rejected the rendered config:\n${explain(r)}`);
      });

      it("Amavis loads every domain's DKIM key (amavisd showkeys)", () => {
        const input = inputs[stack];
        const r = runWithFiles(images.amavis, renderAmavisFiles(input), ["/usr/sbin/amavisd", "showkeys"]);
        assert.equal(r.code, 0, `amavisd showkeys failed:\n${explain(r)}`);
        for (const d of input.platform.domains) {
          assert.match(
            r.stdout,
            new RegExp(`${d.dkimSelector}\\._domainkey\\.${d.name.replace(/\./g, "\\.")}\\.`),
            `expected a DNS record for ${d.dkimSelector}._domainkey.${d.name}; seen:\n${explain(r)}`,
          );
        }
      });

      it("Amavis starts, listens on 10024 and 10026, and defers mail while clamd is unreachable", () => {
        const input = inputs[stack];
        const rcpt = platforms[stack].mailboxes[0].address;
        const r = runWithFiles(
          images.amavis,
          { ...renderAmavisFiles(input), "/probe/smtp-probe.pl": SMTP_PROBE, "/probe/run.sh": AMAVIS_RUN },
          ["/probe/run.sh", rcpt],
          { entrypoint: "/bin/sh" },
        );
        assert.doesNotMatch(
          r.stdout,
          /PRESERVING EVIDENCE/,
          `a failed message must not leave its work directory on the tmpfs:\n${explain(r)}`,
        );
        assert.match(r.stdout, /LISTENING/, `Amavis did not start with the rendered config:\n${explain(r)}`);
        // No clamd in this sandbox: the message must be refused temporarily (Postfix keeps it queued).
        const afterData = r.stdout.split("C: <message>")[1] ?? "";
        assert.match(afterData, /^S: 4\d\d/m, `expected a 4xx reply after DATA (scanner down => deferred); seen:\n${explain(r)}`);
        assert.match(r.stdout, /ALL VIRUS SCANNERS FAILED/, `expected Amavis to log that the virus scanner failed:\n${explain(r)}`);
      });

      it("Amavis tags inbound mail with X-Spam headers and DKIM-signs mail from 10026 only", () => {
        const input = inputs[stack];
        const local = platforms[stack].mailboxes[0].address;
        const domain = local.split("@")[1];
        const selector = input.platform.domains.find((d) => d.name === domain)?.dkimSelector;
        const r = runWithFiles(
          images.amavis,
          {
            ...renderAmavisFiles(input),
            "/probe/smtp-probe.pl": SMTP_PROBE,
            "/probe/neighbours.pl": NEIGHBOURS,
            "/probe/run.sh": AMAVIS_FLOW,
          },
          ["/probe/run.sh", local],
          { entrypoint: "/bin/sh" },
        );
        const messages = r.stdout
          .split(/^=== \/tmp\/sink\/\d+\.eml$/m)
          .slice(1)
          .map((m) => m.split("--- amavis log ---")[0]);
        assert.equal(messages.length, 2, `expected both messages handed to the re-injection port:\n${explain(r)}`);
        const inbound = messages.find((m) => /^Subject: probe via 10024/m.test(m)) ?? "";
        const outbound = messages.find((m) => /^Subject: probe via 10026/m.test(m)) ?? "";
        assert.match(inbound, /^X-Spam-Flag: NO/m, `inbound mail must carry X-Spam headers:\n${explain(r)}`);
        assert.match(inbound, /^X-Spam-Score: /m);
        assert.match(inbound, /^X-Virus-Scanned: amavis at /m);
        assert.doesNotMatch(inbound, /^DKIM-Signature:/m, "inbound mail must not be signed");
        // The header is folded across lines; its tags may have whitespace around them.
        const signature = (/^DKIM-Signature:(.*(?:\r?\n[ \t].*)*)/m.exec(outbound)?.[1] ?? "").replace(/\s+/g, "");
        assert.ok(
          signature.includes(`d=${domain};`) && signature.includes(`s=${selector};`),
          `outbound mail must be signed by ${selector}._domainkey.${domain}:\n${explain(r)}`,
        );
      });

      it("SpamAssassin lints its site config and uses the compiled rules (amavis and spamd images)", () => {
        for (const [image, files] of [
          [images.amavis, renderAmavisFiles(inputs[stack])],
          [images.spamd, renderSpamdFiles(inputs[stack])],
        ] as const) {
          // Through the image's entrypoint, which makes the secret file readable as in a deployment.
          const r = runWithFiles(image, files, ["/bin/sh", "-c", "spamassassin --lint -D rules,zoom 2>&1; echo LINT_EXIT=$?"]);
          const out = r.stdout + r.stderr;
          assert.match(out, /LINT_EXIT=0/, `spamassassin --lint rejected the rendered config in ${image}:\n${explain(r)}`);
          assert.match(
            out,
            /zoom: able to use \d+\/\d+ 'body_0' compiled rules/,
            `expected the sa-compile'd body rules to load in ${image}:\n${explain(r).slice(-4000)}`,
          );
          const netOn = networkChecksEnabled(inputs[stack].platform);
          assert.match(files["/etc/spamassassin/local.cf"], new RegExp(`^dns_available ${netOn ? "yes" : "no"}$`, "m"));
        }
      });

      it("spamd starts with the rendered command line and answers spamc -K", () => {
        const r = runWithFiles(images.spamd, { ...renderSpamdFiles(inputs[stack]), "/probe/run.sh": SPAMD_RUN }, ["/probe/run.sh"], {
          entrypoint: "/bin/sh",
        });
        assert.match(r.stdout, /SPAMD ANSWERS/, `spamd did not start with the rendered options:\n${explain(r)}`);
      });

      it("clamd starts with cron beside it for the freshclam job, and finds EICAR over a stream", () => {
        const r = runWithFiles(
          images.clamav,
          {
            ...renderClamavFiles(inputs[stack]),
            "/probe/eicar.txt": EICAR,
            "/probe/clean.txt": "Nothing to see here.\n",
            "/probe/run.sh": CLAMAV_RUN,
          },
          ["/probe/run.sh"],
          { entrypoint: "/bin/sh" },
        );
        assert.match(r.stdout, /\/probe\/eicar\.txt: \S*EICAR\S* FOUND/i, `expected clamd to find EICAR:\n${explain(r)}`);
        assert.match(r.stdout, /\/probe\/clean\.txt: OK/, `expected a clean file to pass:\n${explain(r)}`);
        assert.match(r.stdout, /--- cron ---\ncron runs/, `cron must run beside clamd for the scheduled freshclam job:\n${explain(r)}`);
      });
    });
  }
});
