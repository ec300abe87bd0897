// The update sources of the scheduled jobs, on the simulated Internet, for the maintenance tests:
// a SpamAssassin rules channel served the way sa-update finds one (a DNS TXT record with the
// channel's version for this SpamAssassin release, a `mirrors.` TXT record naming MIRRORED.BY, and
// a mirror serving `<version>.tar.gz` with its detached GPG signature), and a ClamAV
// DatabaseCustomURL. One HTTP container serves both (update-mirror/); the channel's records go
// into a zone added to the simulated Internet's DNS server, which is restarted to load it.
import * as path from "path";
import { copyInto, docker, dockerExec, inspect, mustDocker } from "../../support/docker";
import { ensureTestHost, TestHostSpec, waitUntilReady, zoneFiles } from "./internet";

const HERE = __dirname;

/** The mirror's container, its fixed address on the edge network's Internet side, and the channel. */
export const UPDATE_MIRROR = {
  name: "mp-e2e-internet-update-mirror",
  ip: "172.31.1.60",
  hostname: "mirror.updates.test",
  zone: "updates.test",
  /** The rules channel the e2e stack lists (spam.ruleUpdates.channels), signed by update-mirror/channel-key.asc. */
  channel: "sa.updates.test",
  /** The custom ClamAV database the e2e stack lists (spam.virusSignatures.customUrls). */
  clamavDatabase: "mail-platform-e2e.ndb",
};

/** Builds the mirror's image; returns its tag. */
function buildImage(base: string): string {
  const tag = "mail-platform-test/internet-update-mirror:latest";
  mustDocker(["build", "-q", "--build-arg", `BASE_IMAGE=${base}`, "-t", tag, path.join(HERE, "update-mirror")]);
  return tag;
}

/** Starts (or keeps) the mirror on `network` and waits until it answers HTTP. */
export function startUpdateMirror(network: string, baseImage: string): TestHostSpec {
  const spec: TestHostSpec = {
    name: UPDATE_MIRROR.name,
    image: buildImage(baseImage),
    network,
    ip: UPDATE_MIRROR.ip,
    hostname: UPDATE_MIRROR.hostname,
    ready: ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1/sa/', timeout=2)"],
  };
  ensureTestHost(spec);
  waitUntilReady([spec]);
  return spec;
}

/** Runs a shell script in the mirror; throws with its output when it fails. */
function inMirror(script: string, input?: string): string {
  const r = dockerExec(UPDATE_MIRROR.name, ["sh", "-euc", script], input);
  if (r.code !== 0) throw new Error(`update mirror: ${script}\nexit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * Publishes version `version` of the rules channel: `files` (name -> content, e.g. a .cf) packed
 * as <version>.tar.gz with a detached ASCII signature by the channel's key, and MIRRORED.BY.
 */
export function publishRules(version: number, files: Record<string, string>): void {
  const dir = `/tmp/rules-${version}`;
  for (const [name, content] of Object.entries(files)) {
    if (!/^[\w.-]+$/.test(name)) throw new Error(`publishRules: ${name} is not a plain file name`);
    inMirror(`mkdir -p ${dir} && cat > ${dir}/${name}`, content);
  }
  inMirror(
    [
      `cd ${dir}`,
      `tar czf /srv/mirror/sa/${version}.tar.gz *`,
      `gpg --batch --yes --armor --detach-sign -o /srv/mirror/sa/${version}.tar.gz.asc /srv/mirror/sa/${version}.tar.gz`,
      `printf 'http://${UPDATE_MIRROR.ip}/sa/ weight=1\\n' > /srv/mirror/sa/MIRRORED.BY`,
    ].join(" && "),
  );
}

/** Serves `content` as the custom ClamAV database (a fresh modification time, so freshclam sees it as new). */
export function publishClamavDatabase(content: string): void {
  inMirror(
    `cat > /srv/mirror/clamav/${UPDATE_MIRROR.clamavDatabase}.tmp && mv /srv/mirror/clamav/${UPDATE_MIRROR.clamavDatabase}.tmp /srv/mirror/clamav/${UPDATE_MIRROR.clamavDatabase}`,
    content,
  );
}

/**
 * Makes the simulated Internet's DNS server (`dnsContainer`, at `dnsIp`) announce `version` as the
 * channel's newest for SpamAssassin `saVersion` (e.g. 4.0.1, queried as 1.0.0.4.<channel>): writes
 * the channel's zone beside the others and restarts the server, whose entrypoint serves every zone
 * file it finds. The container keeps its spec label, so the platform's checks keep it.
 */
export function announceRules(dnsContainer: string, dnsIp: string, saVersion: string, version: number): void {
  const reversed = saVersion.split(".").reverse().join(".");
  const zone = zoneFiles(
    "",
    [
      { name: `${reversed}.${UPDATE_MIRROR.channel}`, type: "TXT", value: String(version) },
      { name: `mirrors.${UPDATE_MIRROR.channel}`, type: "TXT", value: `http://${UPDATE_MIRROR.ip}/sa/MIRRORED.BY` },
    ],
    { zones: [UPDATE_MIRROR.zone], nameserverIp: dnsIp },
  )[UPDATE_MIRROR.zone];
  copyInto(dnsContainer, { [`/etc/nsd/zones/${UPDATE_MIRROR.zone}.zone`]: zone }, 0o644);
  mustDocker(["restart", "-t", "2", dnsContainer]);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = dockerExec(dnsContainer, ["dns-healthcheck"]);
    if (r.code === 0) break;
    if (Date.now() > deadline || inspect(dnsContainer, "{{.State.Running}}") !== "true")
      throw new Error(
        `the DNS server did not come back with ${UPDATE_MIRROR.zone}:\n${r.stdout}${r.stderr}\n${docker(["logs", "--tail", "30", dnsContainer]).stderr}`,
      );
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
}
