// mail-platform: a complete company mail system on one Docker host.
// Reads the stack config once, then wires the components together through their outputs only.
import * as pulumi from "@pulumi/pulumi";
import { loadPlatformConfig } from "./config/load";
import { Archive, PILER_CSP } from "./components/archive/archive";
import { SearchIndex } from "./components/search/search-index";
import { ContentFilter } from "./components/contentfilter/content-filter";
import { Database } from "./components/database/database";
import { DovecotStore } from "./components/dovecot/dovecot-store";
import { DockerHost } from "./components/host/docker-host";
import { Certificates } from "./components/pki/certificates";
import { DkimKeys } from "./components/pki/dkim";
import { dnsRecords, webAppDnsRecords, zoneSnippet } from "./components/pki/dns-records";
import { PostfixGateway } from "./components/postfix/postfix-gateway";
import { mtaStsDnsRecords, ReverseProxy, tlsRptDnsRecords, WebApp } from "./components/proxy/reverse-proxy";
import { Endpoint } from "./components/types";
import { Webmail, WEBMAIL_CSP } from "./components/webmail/webmail";
import { POSTFIXADMIN_CSP, PostfixAdminUi } from "./components/postfixadmin/admin-ui";
import { servedWebHostnames } from "./config/platform";

const platform = loadPlatformConfig();
const name = platform.instanceName;

const host = new DockerHost(name, {
  dockerHost: platform.dockerHost,
  instanceName: platform.instanceName,
  internalSubnet: platform.internalSubnet,
  edgeSubnet: platform.edgeSubnet,
  baseImage: platform.baseImage,
  // Only what the stack runs is built: the webmail's image alone takes a minute and a half.
  images: [
    "mariadb",
    "postfixadmin",
    "postfix",
    "dovecot",
    "amavis",
    "spamd",
    "clamav",
    "proxy",
    ...(platform.features.webmail ? ["webmail"] : []),
  ],
});
// Every service resource lives on the configured engine.
const onHost: pulumi.ComponentResourceOptions = { providers: { docker: host.provider } };
const internalNetwork = { name: host.internalNetwork.name };
const edgeNetwork = { name: host.edgeNetwork.name };

const certificates = new Certificates(`${name}-tls`, {
  domains: platform.domains,
  hostname: platform.hostname,
  webHostnames: servedWebHostnames(platform),
});
const dkim = new DkimKeys(`${name}-dkim`, { domains: platform.domains });

const database = new Database(
  `${name}-db`,
  { platform, image: host.images.mariadb, postfixadminImage: host.images.postfixadmin, network: internalNetwork },
  onHost,
);

// Off unless features.archive: then every message is copied to the archive's intake, an existing
// archive server's (archive.intake) or the built-in Piler's, which searches through Manticore.
// Services that read the database start after it; `startAfter` orders them without tying their
// config to the database's containers, so re-provisioning or a MariaDB restart re-creates none of them.
const afterDatabase = [database.ready.server];
const afterProvisioning = [database.ready.provisioned];

const searchIndex =
  platform.features.archive && !platform.archive.intake ? new SearchIndex(`${name}-search`, { platform, internalNetwork }, onHost) : undefined;
const archive = platform.features.archive
  ? new Archive(
      `${name}-archive`,
      {
        platform,
        builtin: searchIndex ? { internalNetwork, sql: database.pilerSql, search: searchIndex.sqlEndpoint, startAfter: afterDatabase } : undefined,
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
    images: { amavis: host.images.amavis, spamd: host.images.spamd, clamav: host.images.clamav },
    internalNetwork,
    edgeNetwork,
    bayesSql: database.bayesSql,
    startAfter: afterDatabase,
    dkimKeys: dkim.keys,
    reinjection,
    archive: archive?.intake,
  },
  onHost,
);

const mailStore = new DovecotStore(
  `${name}-store`,
  {
    platform,
    image: host.images.dovecot,
    internalNetwork,
    edgeNetwork,
    sql: database.dovecotSql,
    startAfter: afterProvisioning,
    certificates: certificates.certificates,
    spamd: contentFilter.spamdEndpoint,
  },
  onHost,
);

const gateway = new PostfixGateway(
  `${name}-mta`,
  {
    platform,
    image: host.images.postfix,
    internalNetwork,
    edgeNetwork,
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
        image: host.images.webmail,
        internalNetwork,
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

// The same image as the provisioning run, serving PostfixAdmin's pages with the same settings.
const adminUi = platform.features.admin
  ? new PostfixAdminUi(
      `${name}-admin`,
      { platform, image: host.images.postfixadmin, internalNetwork, config: database.postfixadminConfig, startAfter: afterProvisioning },
      onHost,
    )
  : undefined;

const apps: pulumi.Input<WebApp>[] = [];
if (webmail) apps.push(webmail.httpEndpoint.apply((upstream) => ({ hostname: platform.webHostnames.webmail, upstream, csp: WEBMAIL_CSP })));
if (archive?.httpEndpoint) {
  apps.push(archive.httpEndpoint.apply((upstream) => ({ hostname: platform.webHostnames.archive, upstream, csp: PILER_CSP })));
}
if (adminUi) apps.push(adminUi.httpEndpoint.apply((upstream) => ({ hostname: platform.webHostnames.admin, upstream, csp: POSTFIXADMIN_CSP })));

// The HTTPS front: each domain's MTA-STS policy and mail-client autoconfiguration, and the web apps.
const proxy = new ReverseProxy(
  `${name}-proxy`,
  { platform, image: host.images.proxy, internalNetwork, edgeNetwork, certificates: certificates.certificates, apps: pulumi.all(apps) },
  onHost,
);

// From the public keys alone: records derived from the private keys would be secret, and print as [secret].
const records = pulumi.all([dkim.publicKeys, proxy.mtaStsPolicies]).apply(([keys, policies]) => [
  ...dnsRecords(platform.domains, platform.hostname, Object.fromEntries(keys.map((k) => [k.domain, k.publicKeyBase64]))),
  ...mtaStsDnsRecords(policies),
  ...tlsRptDnsRecords(platform.domains),
  ...webAppDnsRecords(platform.domains, platform.hostname, servedWebHostnames(platform)),
]);

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
  ...(archive?.httpEndpoint ? { archive: httpsUrl(platform.webHostnames.archive) } : {}),
};

function httpsUrl(hostname: string): string {
  return `https://${hostname}${platform.ports.https === 443 ? "" : `:${platform.ports.https}`}/`;
}
