// SearchIndex: the rendered manticore.conf (Piler's real-time tables, the Chinese segmentation
// options, the names per Manticore release) and the component's children under mocks.
import { strict as assert } from "assert";
import { before, describe, it } from "node:test";
import { stackPlatform } from "../support/platforms";
import { installMocks, ofType, onlyContainer, RecordedResource, valueOf } from "../support/mocks";
import { imageId } from "../../tools/mock-run/material";

installMocks();
import { PlatformConfig } from "../../config/platform";
import { MANTICORE_CONFIG_FILE, MANTICORE_DATA_DIR } from "../../components/search/constants";
import {
  charsetNames,
  PILER_TABLES,
  renderSearchFiles,
  RT_MEM_LIMIT_MB,
  searchMemoryMb,
  tokenizerSettings,
} from "../../components/search/render";
import { SearchIndex } from "../../components/search/search-index";

type Section = { kind: string; name: string; settings: Map<string, string[]> };

/** manticore.conf as sections of `key = value` settings (repeated keys keep every value). */
function parseManticoreConf(text: string): Section[] {
  const sections: Section[] = [];
  const re = /^(index|table|searchd|common|source)[ \t]*([A-Za-z0-9_]*)[ \t]*\n\{\n([\s\S]*?)\n\}/gm;
  for (const m of text.matchAll(re)) {
    const settings = new Map<string, string[]>();
    for (const raw of m[3].split("\n")) {
      const line = raw.trim();
      if (!line || line.startsWith("#")) continue;
      const eq = line.indexOf("=");
      assert.ok(eq > 0, `a setting line without '=' in section ${m[1]} ${m[2]}: ${JSON.stringify(raw)}`);
      const key = line.slice(0, eq).trim();
      settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1).trim()]);
    }
    sections.push({ kind: m[1], name: m[2], settings });
  }
  return sections;
}

function withSearch(over: Partial<PlatformConfig["search"]>): PlatformConfig {
  const p = stackPlatform("Pulumi.dev.yaml");
  return { ...p, features: { ...p.features, archive: true, search: true }, search: { ...p.search, ...over } };
}

const conf = (p: PlatformConfig) => renderSearchFiles({ platform: p })[MANTICORE_CONFIG_FILE];
const one = (s: Section, key: string) => {
  const v = s.settings.get(key);
  assert.ok(v && v.length === 1, `${s.name}: expected one ${key}, saw ${JSON.stringify(v)}`);
  return v[0];
};

describe("renderSearchFiles", () => {
  const files = renderSearchFiles({ platform: withSearch({}) });
  const sections = parseManticoreConf(files[MANTICORE_CONFIG_FILE]);
  const tables = sections.filter((s) => s.kind === "index");

  it("renders only manticore.conf, where the image's searchd reads it", () => {
    assert.deepEqual(Object.keys(files), ["/etc/manticoresearch/manticore.conf"]);
    assert.ok(!files[MANTICORE_CONFIG_FILE].includes("{{"), "no placeholder is left");
  });

  it("declares Piler's four real-time tables, under the data directory, and nothing else", () => {
    assert.deepEqual(
      tables.map((t) => t.name),
      [...PILER_TABLES],
    );
    for (const t of tables) {
      assert.equal(one(t, "type"), "rt", `${t.name}: type`);
      assert.equal(one(t, "path"), `${MANTICORE_DATA_DIR}/${t.name}`, `${t.name}: path`);
      assert.equal(one(t, "min_prefix_len"), "5", `${t.name}: Piler's prefix length`);
      assert.equal(one(t, "min_word_len"), "1", `${t.name}: single characters are words`);
    }
    assert.deepEqual(
      sections.map((s) => s.kind),
      ["index", "index", "index", "index", "searchd"],
    );
  });

  it("gives piler1 the fields and attributes Piler inserts (sph_index's columns)", () => {
    const piler1 = tables[0];
    assert.deepEqual(piler1.settings.get("rt_field"), [
      "sender",
      "rcpt",
      "senderdomain",
      "rcptdomain",
      "subject",
      "body",
      "attachment_types",
    ]);
    assert.deepEqual(piler1.settings.get("rt_attr_bigint"), ["arrived", "sent"]);
    assert.deepEqual(piler1.settings.get("rt_attr_uint"), ["size", "direction", "folder", "attachments"]);
    assert.equal(one(piler1, "stored_fields"), "", "no copy of the text in the index");
    assert.equal(one(piler1, "rt_mem_limit"), `${RT_MEM_LIMIT_MB.piler1}M`);
  });

  it("gives tag1, note1 and audit1 the columns Piler's web UI uses", () => {
    const [, tag1, note1, audit1] = tables;
    assert.deepEqual(
      [tag1.settings.get("rt_field"), tag1.settings.get("rt_attr_bigint"), tag1.settings.get("rt_attr_uint")],
      [["tag"], ["mid"], ["uid"]],
    );
    assert.deepEqual(
      [note1.settings.get("rt_field"), note1.settings.get("rt_attr_bigint"), note1.settings.get("rt_attr_uint")],
      [["note"], ["mid"], ["uid"]],
    );
    assert.deepEqual(
      [audit1.settings.get("rt_field"), audit1.settings.get("rt_attr_bigint"), audit1.settings.get("rt_attr_uint")],
      [["email", "ipaddr", "description"], ["ts", "meta_id"], ["action"]],
    );
    assert.equal(one(tag1, "stored_fields"), "tag");
    assert.equal(one(note1, "stored_fields"), "note");
    for (const t of [tag1, note1, audit1]) assert.equal(one(t, "rt_mem_limit"), `${RT_MEM_LIMIT_MB.small}M`, `${t.name}: rt_mem_limit`);
  });

  it("serves the MySQL protocol on 9306 only, logs to stdout and syncs the binary log on every commit", () => {
    const searchd = sections.find((s) => s.kind === "searchd")!;
    assert.deepEqual(searchd.settings.get("listen"), ["9306:mysql41"]);
    assert.equal(one(searchd, "log"), "/dev/stdout");
    assert.equal(one(searchd, "binlog_path"), MANTICORE_DATA_DIR);
    assert.equal(one(searchd, "binlog_flush"), "1");
    assert.equal(searchd.settings.has("data_dir"), false, "plain mode: tables declared in the config, no data_dir");
    assert.equal(searchd.settings.has("query_log"), false, "no query log");
    assert.equal(one(searchd, "buddy_path"), "");
  });

  const chineseCases: [string, Partial<PlatformConfig["search"]>, Record<string, string>, string[]][] = [
    ["ngram on 6.3.8 (the default)", {}, { charset_table: "non_cjk, _", ngram_len: "1", ngram_chars: "cjk" }, ["morphology"]],
    [
      "icu on 6.3.8",
      { chineseSegmentation: "icu" },
      { charset_table: "non_cjk, cjk, _", morphology: "icu_chinese" },
      ["ngram_len", "ngram_chars"],
    ],
    [
      "ngram on 7.4.6 (cont and non_cont exist from 7.0.0)",
      { image: "manticoresearch/manticore:7.4.6" },
      { charset_table: "non_cont, _", ngram_len: "1", ngram_chars: "cont" },
      ["morphology"],
    ],
    [
      "icu on 14.1.0",
      { chineseSegmentation: "icu", image: "manticoresearch/manticore:14.1.0" },
      { charset_table: "non_cont, cont, _", morphology: "icu_chinese" },
      ["ngram_len", "ngram_chars"],
    ],
  ];
  for (const [name, over, expected, absent] of chineseCases) {
    it(`applies the Chinese segmentation to every table: ${name}`, () => {
      const rendered = parseManticoreConf(conf(withSearch(over))).filter((s) => s.kind === "index");
      assert.equal(rendered.length, PILER_TABLES.length);
      for (const t of rendered) {
        const seen = Object.fromEntries(Object.keys(expected).map((k) => [k, t.settings.get(k)?.join(" | ")]));
        assert.deepEqual(seen, expected, `${t.name}: expected ${JSON.stringify(expected)}, saw ${JSON.stringify(seen)}`);
        for (const k of absent) assert.equal(t.settings.has(k), false, `${t.name}: ${k} must not be set`);
      }
    });
  }

  const versionCases: [string, string][] = [
    ["manticoresearch/manticore:6.3.8", "cjk"],
    ["manticoresearch/manticore:6.3.8@sha256:0123abcd", "cjk"],
    ["registry.local:5000/manticore:7.0.0", "cont"],
    ["manticoresearch/manticore:latest", "cjk"],
    ["manticoresearch/manticore@sha256:0123abcd", "cjk"],
  ];
  for (const [image, continuous] of versionCases) {
    it(`names the continuous-script charset ${continuous} for ${image}`, () => {
      assert.equal(charsetNames(image).continuous, continuous);
    });
  }

  it("never combines ICU and n-grams on the same characters", () => {
    for (const names of [charsetNames("m:6.3.8"), charsetNames("m:9.3.2")]) {
      assert.equal("ngram_chars" in tokenizerSettings("icu", names), false);
      assert.equal("morphology" in tokenizerSettings("ngram", names), false);
    }
  });
});

describe("SearchIndex component", () => {
  let index: SearchIndex;
  let container: RecordedResource;
  let image: RecordedResource;
  const platform = withSearch({ chineseSegmentation: "icu" });

  before(async () => {
    index = new SearchIndex("search", { platform, networks: { internal: { name: "dev-internal" }, edge: { name: "dev-edge" } } });
    container = await onlyContainer();
    const images = ofType("docker:index/remoteImage:RemoteImage");
    assert.equal(images.length, 1);
    image = images[0];
  });

  it("pulls the pinned upstream image and keeps it locally", () => {
    assert.equal(image.inputs.name, "manticoresearch/manticore:6.3.8");
    assert.equal(image.inputs.keepLocally, true);
    assert.equal(container.inputs.image, imageId("image manticoresearch/manticore:6.3.8"));
  });

  it("runs searchd on the rendered config, answering to `manticore` on the internal network only", () => {
    assert.equal(container.inputs.name, `${platform.instanceName}-manticore`);
    assert.deepEqual(container.inputs.command, ["searchd", "--nodetach", "--config", "/etc/manticoresearch/manticore.conf"]);
    assert.deepEqual(container.inputs.networksAdvanced, [{ name: "dev-internal", aliases: ["manticore"] }]);
    assert.deepEqual(container.inputs.ports ?? [], []);
  });

  it("keeps the index on the SSD host path volumePaths.index", () => {
    assert.equal(platform.volumePaths.index, "/var/lib/mail-platform/dev/ssd/index");
    assert.deepEqual(container.inputs.volumes, [{ hostPath: platform.volumePaths.index, containerPath: MANTICORE_DATA_DIR }]);
  });

  it("uploads the rendered manticore.conf with the chosen segmentation", async () => {
    const uploads = container.inputs.uploads as { file: string; content: string }[];
    assert.deepEqual(
      uploads.map((u) => u.file),
      [MANTICORE_CONFIG_FILE],
    );
    assert.match(uploads[0].content, /^\s+morphology = icu_chinese$/m);
    assert.equal(uploads[0].content, (await valueOf(index.files))[MANTICORE_CONFIG_FILE]);
  });

  it("limits memory to twice the RAM chunks plus searchd's own, and is checked over SQL", () => {
    assert.equal(container.inputs.memory, searchMemoryMb());
    assert.equal(searchMemoryMb(), 2 * (256 + 3 * 16) + 256);
    assert.deepEqual(container.inputs.healthcheck.tests, ["CMD", "mysql", "-h", "127.0.0.1", "-P", "9306", "-e", "SHOW TABLES"]);
  });

  it("exposes manticore:9306 for Piler", async () => {
    assert.deepEqual(await valueOf(index.sqlEndpoint), { host: "manticore", port: 9306 });
  });
});
