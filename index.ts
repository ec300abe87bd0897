// mail-platform: a complete company mail system on one Docker host.
// Reads the stack config once, then wires the components together through their outputs only.
import * as pulumi from "@pulumi/pulumi";
import { loadPlatformConfig } from "./config/load";
import { servedWebHostnames } from "./config/platform";
import { AcmeClient } from "./components/acme/acme-client";
import { acmeDomains } from "./components/acme/live-chains";
import { Archive } from "./components/archive/archive";
import { ContentFilter } from "./components/contentfilter/content-filter";
import { Database } from "./components/database/database";
import { DovecotStore } from "./components/dovecot/dovecot-store";
import { Backup } from "./components/backup/backup";
import { Bans } from "./components/bans/bans";
import { DockerHost } from "./components/host/docker-host";
import { Certificates } from "./components/pki/certificates";
import { DkimKeys } from "./components/pki/dkim";
import { tlsaRecords } from "./components/pki/tlsa";
import { dnsRecords, webAppDnsRecords, zoneSnippet } from "./components/pki/dns-records";
import { PostfixGateway } from "./components/postfix/postfix-gateway";
import { PostfixAdminUi } from "./components/postfixadmin/admin-ui";
import { mtaStsDnsRecords, tlsRptDnsRecords } from "./components/proxy/mta-sts";
import { ReverseProxy } from "./components/proxy/reverse-proxy";
import { SearchIndex } from "./components/search/search-index";
import { Monitoring } from "./components/monitoring/monitoring";
import { InternalProbe } from "./components/monitoring/render";
import { ACME_JOBS } from "./components/acme/constants";
import { BAYES_REPORT_JOB, FRESHCLAM_JOB, SA_UPDATE_JOB } from "./components/contentfilter/constants";
import { QUEUE_REPORT_JOB } from "./components/postfix/constants";
import { Endpoint, WebApp } from "./components/types";
import { Webmail } from "./components/webmail/webmail";

const platform = loadPlatformConfig();
const name = platform.instanceName;

// The engine, the two networks, and the project images, each built when a component below asks for it.
const host = new DockerHost(name, {
  dockerHost: platform.dockerHost,
  instanceName: platform.instanceName,
  internalSubnet: platform.internalSubnet,
  edgeSubnet: platform.edgeSubnet,
  baseImage: platform.baseImage,
});
// Every service resource lives on the configured engine.
const onHost: pulumi.ComponentResourceOptions = { providers: { docker: host.provider } };
const networks = host.networks;

const certificates = new Certificates(`${name}-tls`, {
  domains: platform.domains,
  hostname: platform.hostname,
  webHostnames: servedWebHostnames(platform),
});
const dkim = new DkimKeys(`${name}-dkim`, { domains: platform.domains });

const database = new Database(
  `${name}-db`,
  { platform, image: host.image("mariadb"), postfixadminImage: host.image("postfixadmin"), networks },
  onHost,
);

// Services that read the database start after it; `startAfter` orders them without tying their
// config to the database's containers, so re-provisioning or a MariaDB restart re-creates none of them.
const afterDatabase = [database.ready.server];
const afterProvisioning = [database.ready.provisioned];

// Off unless features.archive: then every message is copied to the archive's intake, an existing
// archive server's (archive.intake) or the built-in Piler's, which searches through Manticore.
const searchIndex =
  platform.features.archive && !platform.archive.intake ? new SearchIndex(`${name}-search`, { platform, networks }, onHost) : undefined;
const archive = platform.features.archive
  ? new Archive(
      `${name}-archive`,
      {
        platform,
        builtin: searchIndex ? { networks, sql: database.pilerSql, search: searchIndex.sqlEndpoint, startAfter: afterDatabase } : undefined,
      },
      onHost,
    )
  : undefined;

// Amavis hands scanned mail back to Postfix, and Postfix hands mail to Amavis: the one cycle in
// the wiring, closed with a deferred output so both sides still take the other's real output.
const [reinjection, resolveReinjection] = pulumi.deferredOutput<Endpoint>();

const contentFilter = new ContentFilter(
  `${name}-filter`,
  {
    platform,
    images: { amavis: host.image("amavis"), spamd: host.image("spamd"), clamav: host.image("clamav"), saUpdate: host.image("sa-update") },
    networks,
    bayesSql: database.bayesSql,
    startAfter: afterDatabase,
    dkimKeys: dkim.keys,
    reinjection,
    archive: archive?.intake,
  },
  onHost,
);

// Dovecot trusts a client address forwarded with a login only from the webmail, which needs
// Dovecot's endpoints and so comes later: the webmail's answer is handed over where it is created.
const [loginForwarders, resolveLoginForwarders] = pulumi.deferredOutput<string[]>();

const mailStore = new DovecotStore(
  `${name}-store`,
  {
    platform,
    image: host.image("dovecot"),
    networks,
    sql: database.dovecotSql,
    startAfter: afterProvisioning,
    certificates: certificates.certificates,
    spamd: contentFilter.spamdEndpoint,
    loginForwarders,
  },
  onHost,
);

const gateway = new PostfixGateway(
  `${name}-mta`,
  {
    platform,
    image: host.image("postfix"),
    networks,
    sql: database.postfixSql,
    startAfter: afterProvisioning,
    certificates: certificates.certificates,
    lmtp: mailStore.lmtpEndpoint,
    sasl: mailStore.saslEndpoint,
    inboundFilter: contentFilter.inboundFilter,
    originatingFilter: contentFilter.originatingFilter,
  },
  onHost,
);
resolveReinjection(gateway.reinjectionEndpoint);

const webmail = platform.features.webmail
  ? new Webmail(
      `${name}-webmail`,
      {
        platform,
        image: host.image("webmail"),
        networks,
        imap: mailStore.imapEndpoint,
        submission: gateway.submissionEndpoint,
        managesieve: mailStore.managesieveEndpoint,
        sql: database.roundcubeSql,
        passwordSql: database.passwordChangeSql,
        startAfter: afterProvisioning,
        caCertPem: certificates.caCertPem,
      },
      onHost,
    )
  : undefined;
// Its users' failed logins then slow down each user, not the whole webmail.
resolveLoginForwarders(webmail?.loginForwarders ?? pulumi.output<string[]>([]));

// The same image as the provisioning run, serving PostfixAdmin's pages with the same settings.
const adminUi = platform.features.admin
  ? new PostfixAdminUi(
      `${name}-admin`,
      { platform, image: host.image("postfixadmin"), networks, access: database.postfixadmin, startAfter: afterProvisioning },
      onHost,
    )
  : undefined;

// The ACME client starts after the proxy, which forwards the CA's HTTP-01 requests to it: its
// endpoint is handed to the proxy through a deferred output, resolved where the client is made.
const ordersAcme = acmeDomains(platform.domains).length > 0;
const httpChallenge = platform.domains.some((d) => d.tls.source === "acme" && d.tls.challenge.type === "http-01");
const acmeChallenge = httpChallenge ? pulumi.deferredOutput<Endpoint>() : undefined;

// The monitoring probes the front, and the front serves the monitoring's pages: its web app is
// handed over through a deferred output, resolved where the monitoring is made.
const monitoringApp = platform.features.monitoring ? pulumi.deferredOutput<WebApp>() : undefined;

// The HTTPS front: each domain's MTA-STS policy and mail-client autoconfiguration, and the web apps.
const apps = [webmail?.webApp, archive?.webApp, adminUi?.webApp, monitoringApp?.[0]].filter(
  (app): app is pulumi.Output<WebApp> => app !== undefined,
);
const proxy = new ReverseProxy(
  `${name}-proxy`,
  {
    platform,
    image: host.image("proxy"),
    networks,
    certificates: certificates.certificates,
    apps,
    ...(acmeChallenge ? { acmeChallenge: acmeChallenge[0] } : {}),
  },
  onHost,
);

// Off unless a domain has `tls.source: acme`: then lego obtains and renews its chain, the daemons
// above reload it, and a check asks every TLS port whether it serves what is on disk.
const acme = ordersAcme
  ? new AcmeClient(
      `${name}-acme`,
      {
        platform,
        image: host.image("acme"),
        networks,
        orders: certificates.acmeOrders,
        certificates: certificates.certificates,
        tlsEndpoints: pulumi.all([gateway.tlsEndpoints, mailStore.tlsEndpoints, proxy.tlsEndpoints]).apply((lists) => lists.flat()),
        startAfter: [gateway, mailStore, proxy],
      },
      onHost,
    )
  : undefined;
if (acmeChallenge && acme) acmeChallenge[1](acme.challengeEndpoint);

// From the public keys alone: records derived from the private keys would be secret, and print as [secret].
const records = pulumi.all([dkim.publicKeys, proxy.mtaStsPolicies, certificates.publicKeys]).apply(([keys, policies, tlsKeys]) => [
  ...dnsRecords(platform.domains, platform.hostname, Object.fromEntries(keys.map((k) => [k.domain, k.publicKeyBase64]))),
  // The MX and submission host's key: the first domain's certificate names the primary hostname.
  ...tlsaRecords(
    platform.domains[0].name,
    platform.hostname,
    tlsKeys.find((k) => k.domain === platform.domains[0].name)!,
  ),
  ...mtaStsDnsRecords(policies),
  ...tlsRptDnsRecords(platform.domains),
  ...webAppDnsRecords(platform.domains, platform.hostname, servedWebHostnames(platform)),
]);

// Off unless features.backup: the databases dumped and the data backed up every night to each
// repository, the repositories checked and a restore drilled every week.
const backup = platform.features.backup
  ? new Backup(
      `${name}-backup`,
      { platform, image: host.image("backup"), networks, mysql: database.backupSql, startAfter: afterProvisioning },
      onHost,
    )
  : undefined;

// Off unless features.bans: fail2ban reads the login failures in the log files of the components
// above and bans a client from every published port of the host.
if (platform.features.bans) {
  const loginServices = [gateway, mailStore, webmail, adminUi].filter((c): c is NonNullable<typeof c> => c !== undefined);
  new Bans(`${name}-bans`, { platform, image: host.image("bans"), networks, startAfter: loginServices }, onHost);
}

// Off unless features.monitoring: every port above probed, the exporters read, alerts sent
// through the company's relay or webhook, the dashboard on the front behind a password.
const probe = (service: string, module: InternalProbe["module"], endpoint: pulumi.Input<Endpoint>) =>
  pulumi.output(endpoint).apply((e): InternalProbe => ({ service, module, endpoint: e }));
const upstream = (service: string, app: pulumi.Output<WebApp> | undefined) =>
  app
    ? [
        probe(
          service,
          "tcp_connect",
          app.apply((a) => a.upstream),
        ),
      ]
    : [];
const monitoring = monitoringApp
  ? new Monitoring(
      `${name}-monitoring`,
      {
        platform,
        image: host.image("monitoring"),
        networks,
        tlsEndpoints: pulumi.all([gateway.tlsEndpoints, mailStore.tlsEndpoints, proxy.tlsEndpoints]).apply((lists) => lists.flat()),
        internalProbes: pulumi.all([
          probe("amavis-inbound", "smtp_banner", contentFilter.inboundFilter),
          probe("amavis-originating", "smtp_banner", contentFilter.originatingFilter),
          probe("clamd", "clamd", contentFilter.clamdEndpoint),
          probe("spamd", "spamd", contentFilter.spamdEndpoint),
          probe("reinjection", "smtp_banner", gateway.reinjectionEndpoint),
          probe("lmtp", "smtp_banner", mailStore.lmtpEndpoint),
          probe("dovecot-auth", "tcp_connect", mailStore.saslEndpoint),
          probe("mariadb", "tcp_connect", database.endpoint),
          ...(archive
            ? [
                probe(
                  "archive-intake",
                  "smtp_banner",
                  archive.intake.apply((i) => i.endpoint),
                ),
              ]
            : []),
          ...upstream("webmail-app", webmail?.webApp),
          ...upstream("postfixadmin-app", adminUi?.webApp),
          ...upstream("archive-app", archive?.webApp),
        ]),
        dovecotMetrics: mailStore.metricsEndpoint,
        mysql: database.monitoringSql,
        dnsRecords: records,
        jobs: [
          QUEUE_REPORT_JOB,
          FRESHCLAM_JOB,
          SA_UPDATE_JOB,
          BAYES_REPORT_JOB,
          ...(acme ? [ACME_JOBS.renew, ACME_JOBS.tlsCheck] : []),
          ...(backup?.jobs ?? []),
        ],
        startAfter: [gateway, mailStore, proxy, contentFilter],
      },
      onHost,
    )
  : undefined;
if (monitoringApp && monitoring) monitoringApp[1](monitoring.webApp);

/** DNS records to publish, one object per record. */
export const dns = records;
/** The same records as a zone-file snippet to paste. */
export const dnsZone = records.apply((r) => zoneSnippet(r, platform.hostname));
/** The self-signed CA to trust in mail clients (empty when every domain brings its own certificate). */
export const caCertificate = certificates.caCertPem;
/** Initial mailbox passwords (secret): `pulumi stack output --show-secrets mailboxPasswords`. */
export const mailboxPasswords = database.mailboxPasswords;
/** Initial passwords of PostfixAdmin's super-administrators (secret): `pulumi stack output --show-secrets adminPasswords`. */
export const adminPasswords = database.adminPasswords;
/** The backup repositories' password (secret), empty without features.backup: keep it outside the backups. */
export const backupPassword = backup?.password ?? pulumi.secret("");
/** The built-in Piler's `admin@local` password (secret); empty with an external archive. */
export const archiveAdminPassword = archive?.adminPassword ?? pulumi.secret("");
/** Where clients connect: host ports published on the bind address. */
export const endpoints = {
  host: platform.bindAddress,
  smtp: platform.ports.smtp,
  submissions: platform.ports.submissions,
  submission: platform.ports.submission,
  imap: platform.ports.imap,
  imaps: platform.ports.imaps,
  pop3: platform.ports.pop3,
  pop3s: platform.ports.pop3s,
  managesieve: platform.ports.managesieve,
  http: platform.ports.http,
  https: platform.ports.https,
};
/** The web apps' addresses, for the features that are on. */
export const webUrls = {
  ...(webmail ? { webmail: httpsUrl(platform.webHostnames.webmail) } : {}),
  ...(adminUi ? { postfixadmin: httpsUrl(platform.webHostnames.admin) } : {}),
  ...(archive?.webApp ? { archive: httpsUrl(platform.webHostnames.archive) } : {}),
  ...(monitoring ? { monitoring: `${httpsUrl(platform.webHostnames.monitoring)}user/` } : {}),
};
/** The password of the monitoring pages' `monitoring` user (secret); empty without monitoring. */
export const monitoringPassword = monitoring?.password ?? pulumi.secret("");

function httpsUrl(hostname: string): string {
  return `https://${hostname}${platform.ports.https === 443 ? "" : `:${platform.ports.https}`}/`;
}
