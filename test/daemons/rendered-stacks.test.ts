// The files the real program hands to each container, for the dev and prod stacks, read by the
// daemon that uses them inside the project's own image. The per-component daemon tests go deeper
// with hand-made inputs; this one closes the gap between "the renderer works" and "what
// `pulumi up` deploys is accepted", wiring and all.
import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import { buildImage, explain, runWithFiles } from "../support/docker";
import { RenderedContainer, renderedStack } from "../support/rendered-stack";

/** Every service alias resolves to loopback, so a checker that looks one up fails fast instead of waiting on DNS. */
const ALIASES = ["postfix", "dovecot", "amavis", "spamd", "clamav", "mariadb"];

interface Check {
  /** The command, run through the image's own entrypoint unless `entrypoint` is set. */
  command: string[];
  entrypoint?: string;
  /** Output the check must not contain, beyond a non-zero exit. */
  mustNotSay?: RegExp;
  /** Output it must contain. */
  mustSay?: RegExp;
}

const CHECKS: Record<string, Check> = {
  // The entrypoint builds the SNI table and runs `postfix check` before the command.
  postfix: {
    command: ["postconf", "-n"],
    mustNotSay: /^\S+: (warning|fatal|error):/im,
    mustSay: /^virtual_transport = lmtp:inet:\[?dovecot\]?:24$/m,
  },
  // The entrypoint refuses to continue when `doveconf -n` fails.
  dovecot: { command: ["doveconf", "-n"], mustNotSay: /Error|Warning/, mustSay: /mail_driver = maildir/ },
  amavis: { command: ["/usr/sbin/amavisd", "test-config"] },
  spamd: { command: ["/bin/sh", "-c", "spamassassin --lint 2>&1"], mustNotSay: /warn:|error/i },
  clamav: { command: ["clamconf", "-n"], entrypoint: "", mustNotSay: /ERROR/ },
  mariadb: { command: ["mariadbd", "--help", "--verbose", "--user=mysql"], entrypoint: "", mustNotSay: /\[ERROR\]|unknown variable/i },
  proxy: { command: ["nginx", "-t"], entrypoint: "", mustNotSay: /\[(warn|emerg|alert)\]/ },
  webmail: {
    command: [
      "-c",
      '. /etc/apache2/envvars && apache2 -t 2>&1 && for f in /etc/roundcube/config.inc.php /etc/roundcube/plugins/*/config.inc.php; do php -l "$f" || exit 1; done',
    ],
    entrypoint: "/bin/sh",
    mustSay: /Syntax OK/,
    mustNotSay: /Errors parsing|Parse error/,
  },
  // The ACME client (prod: acme-labs.io): each order sources as shell, its CSR and bootstrap chain parse, each check target has six fields.
  acme: {
    command: [
      "-c",
      'for d in /etc/mail-platform/acme/domains/*/; do . "$d/order.conf" && openssl req -in "$d/request.csr" -noout -verify 2>&1 && openssl x509 -in "$d/bootstrap.pem" -noout || exit 1; done; awk \'NF && !/^#/ && NF != 6 { bad = 1 } END { exit bad }\' /etc/mail-platform/acme/tls-check.conf && echo acme-config-ok',
    ],
    entrypoint: "/bin/sh",
    mustSay: /verify OK[\s\S]*acme-config-ok/,
  },
  // The backup (prod: local and the NAS's REST server): backup.conf sources and passes the jobs'
  // own check, every repository has what it needs, the database account's file has its section.
  backup: {
    command: [
      "-c",
      '. /usr/local/lib/mail-platform/backup-lib.sh && load_config && for r in $BACKUP_REPOSITORIES; do (use_repository "$r") || exit 1; done && grep -q "^\\[client\\]" "$MYSQL_DEFAULTS_FILE" && restic version && echo backup-config-ok',
    ],
    entrypoint: "/bin/sh",
    mustSay: /restic [\d.]+[\s\S]*backup-config-ok/,
    mustNotSay: /result=failed/,
  },
  // The rule updater: the site config it lints updates with is accepted, each channel key is a key.
  "sa-update": {
    command: [
      "-c",
      'spamassassin --lint 2>&1 && for k in /etc/mail-platform/sa-update/keys/*; do [ -e "$k" ] || continue; gpg --show-keys "$k" >/dev/null || exit 1; done; echo sa-update-config-ok',
    ],
    entrypoint: "/bin/sh",
    mustSay: /sa-update-config-ok/,
    mustNotSay: /warn:|error/i,
  },
  // The monitoring (prod): Prometheus with its rules and probe list, Alertmanager with its
  // receivers, the blackbox exporter with its modules, mtail's programs, each checked by its own tool.
  monitoring: {
    command: [
      "-c",
      "promtool check config /etc/prometheus/prometheus.yml 2>&1 && amtool check-config /etc/prometheus/alertmanager.yml 2>&1 && prometheus-blackbox-exporter --config.file=/etc/prometheus/blackbox.yml --config.check 2>&1 && mtail --compile_only --progs /etc/mtail --logtostderr 2>&1 && echo monitoring-config-ok",
    ],
    entrypoint: "/bin/sh",
    mustSay: /SUCCESS[\s\S]*monitoring-config-ok/,
    mustNotSay: /FAILED|level=error|checker\.go/,
  },
  // The bans (prod): fail2ban reads every jail with its filter and actions; the log files exist
  // once their components have run, here they are made empty.
  bans: {
    command: [
      "-c",
      "for s in postfix dovecot webmail postfixadmin bans; do mkdir -p /var/log/mail-platform/$s && : >/var/log/mail-platform/$s/$s.log; done; fail2ban-client -t 2>&1 && fail2ban-client -d 2>&1 | grep -c \"'start'\"",
    ],
    entrypoint: "/bin/sh",
    mustSay: /configuration test is successful\n5\n/,
    mustNotSay: /ERROR|WARNING/,
  },
  // PostfixAdmin's UI: the same image as the provisioning run, served by Apache.
  postfixadmin: {
    command: ["-c", ". /etc/apache2/envvars && apache2 -t 2>&1 && php -l /etc/postfixadmin/config.local.php"],
    entrypoint: "/bin/sh",
    mustSay: /Syntax OK/,
    mustNotSay: /Errors parsing|Parse error/,
  },
  "postfixadmin-provision": {
    command: [
      "-r",
      "require '/etc/postfixadmin/config.local.php'; json_decode(file_get_contents('/etc/postfixadmin/desired-state.json'), true, 512, JSON_THROW_ON_ERROR); echo 'config ok';",
    ],
    entrypoint: "php",
    mustSay: /config ok/,
  },
};

for (const stack of ["Pulumi.dev.yaml", "Pulumi.prod.yaml"]) {
  describe(`${stack}: every container's rendered config is accepted by its daemon`, () => {
    let containers: RenderedContainer[];
    const images: Record<string, string> = {};
    before(async () => {
      containers = renderedStack(stack);
      for (const c of containers) images[c.service] ??= await buildImage(c.service);
    });

    it("renders only containers this test has a check for", () => {
      const unchecked = containers.map((c) => c.role).filter((r) => !(r in CHECKS));
      assert.deepEqual(unchecked, [], "add a check for each");
    });

    it("runs every image's health check from /usr/local/bin/healthcheck, an executable of the image", () => {
      for (const service of Object.keys(images)) {
        const r = runWithFiles(images[service], {}, ["-c", "test -x /usr/local/bin/healthcheck && head -n 1 /usr/local/bin/healthcheck"], {
          entrypoint: "/bin/sh",
        });
        assert.equal(r.code, 0, `${service}: no executable /usr/local/bin/healthcheck:\n${explain(r, 3000)}`);
        assert.match(r.stdout, /^#!\//, `${service}: the health check is a script with an interpreter line`);
      }
    });

    for (const role of Object.keys(CHECKS)) {
      it(`${role} accepts the files the program uploads`, (t) => {
        const container = containers.find((c) => c.role === role);
        if (!container) return t.skip(`${stack} runs no ${role}`);
        const check = CHECKS[role];
        const r = runWithFiles(images[container.service], container.contents, check.command, {
          entrypoint: check.entrypoint === "" ? undefined : check.entrypoint,
          loopbackHosts: ALIASES,
        });
        const out = r.stdout + r.stderr;
        assert.equal(r.code, 0, `${role} (${container.name}) rejected its rendered config:\n${explain(r, 3000)}`);
        if (check.mustNotSay)
          assert.doesNotMatch(out, check.mustNotSay, `${role} complained about its rendered config:\n${explain(r, 3000)}`);
        if (check.mustSay) assert.match(out, check.mustSay, `${role}: expected ${check.mustSay} in the output:\n${explain(r, 3000)}`);
      });
    }
  });
}
