// Pure renderer of the search index's configuration: Manticore Search with the built-in Piler's
// real-time tables. Plain values in, container path -> file content out; tests call it directly.
import { PlatformConfig } from "../../config/platform";
import { RenderedFiles, renderTemplates } from "../../render/template";
import { MANTICORE_CONFIG_FILE, MANTICORE_DATA_DIR, MANTICORE_PORTS } from "./constants";
/** Piler's tables, by the names its daemon and web UI use. */
export const PILER_TABLES = ["piler1", "tag1", "note1", "audit1"] as const;

/**
 * RAM chunk limits in MiB. piler1 gets every message's text; its RAM chunk is where new
 * documents are searchable before they are written out as a disk chunk. Piler ships 512M, sized
 * for a host of its own; on this one it shares memory with MariaDB, ClamAV's signatures and
 * Amavis. 256 MiB still holds days of a company's mail (the index stores terms and positions,
 * not the text: `stored_fields` is empty), and it bounds how much a crash replays from the
 * binary log. Tags, notes and the audit trail are a few lines each: Piler's own 16M.
 */
export const RT_MEM_LIMIT_MB = { piler1: 256, small: 16 } as const;

/**
 * The container's memory limit: the RAM chunks may each be full while a full one is written out
 * (the new writes need a second buffer meanwhile), plus searchd's own working memory.
 */
export function searchMemoryMb(): number {
  const chunks = RT_MEM_LIMIT_MB.piler1 + RT_MEM_LIMIT_MB.small * (PILER_TABLES.length - 1);
  return 2 * chunks + 256;
}

export type ChineseSegmentation = PlatformConfig["search"]["chineseSegmentation"];

/** Manticore's names for the two halves of Unicode: scripts written with and without spaces. */
export interface CharsetNames {
  /** Chinese, Japanese, Korean (Manticore 7+: and Thai) characters. */
  continuous: string;
  /** Every other script Manticore knows, with case folding. */
  nonContinuous: string;
}

/**
 * The charset aliases of the Manticore release in `image`. Manticore 7.0.0 introduced `cont` and
 * `non_cont` (CJK plus Thai) and kept `cjk`/`non_cjk`; 6.x knows only `cjk`/`non_cjk`
 * (Changelog 7.0.0, issue #2103). An image whose tag names no version (a digest, a mirror) gets
 * the 6.x names, which every release since 6.0 accepts.
 */
export function charsetNames(image: string): CharsetNames {
  const tag = /:([0-9]+)\.[0-9]+(\.[0-9]+)?$/.exec(image.replace(/@sha256:[0-9a-f]+$/, ""));
  const major = tag ? Number(tag[1]) : 0;
  return major >= 7 ? { continuous: "cont", nonContinuous: "non_cont" } : { continuous: "cjk", nonContinuous: "non_cjk" };
}

/**
 * The tokenizer lines every table gets, for `search.chineseSegmentation`
 * (manual: Creating_a_table/NLP_and_tokenization/Languages_with_continuous_scripts).
 * `_` stays a word character as in Piler's own charset_table.
 */
export function tokenizerSettings(segmentation: ChineseSegmentation, names: CharsetNames): Record<string, string> {
  switch (segmentation) {
    case "ngram":
      // Every Chinese character is a term (ngram_chars are word characters of their own): any
      // substring is found by a phrase of single characters, and no dictionary can miss a name.
      return { charset_table: `${names.nonContinuous}, _`, ngram_len: "1", ngram_chars: names.continuous };
    case "icu":
      // ICU's dictionary splits runs of Chinese into words; other scripts are tokenized as usual.
      return { charset_table: `${names.nonContinuous}, ${names.continuous}, _`, morphology: "icu_chinese" };
  }
}

/** Why each option, for the comment at the top of the rendered file. */
const SEGMENTATION_COMMENT: Record<ChineseSegmentation, string> = {
  ngram: "search.chineseSegmentation = ngram: each Chinese character is a term; searching a word matches it as a phrase of characters.",
  icu: "search.chineseSegmentation = icu: Chinese runs are split into words by ICU's dictionary (morphology icu_chinese).",
};

export interface SearchRenderInput {
  platform: Pick<PlatformConfig, "search">;
}

export function renderSearchFiles(input: SearchRenderInput): RenderedFiles {
  const search = input.platform.search;
  const settings = tokenizerSettings(search.chineseSegmentation, charsetNames(search.image));
  const tokenizer = Object.entries(settings)
    .map(([key, value]) => `    ${key} = ${value}`)
    .join("\n");
  return renderTemplates("manticore", {
    [MANTICORE_CONFIG_FILE]: {
      segmentationComment: SEGMENTATION_COMMENT[search.chineseSegmentation],
      dataDir: MANTICORE_DATA_DIR,
      piler1RtMemLimit: `${RT_MEM_LIMIT_MB.piler1}M`,
      smallRtMemLimit: `${RT_MEM_LIMIT_MB.small}M`,
      tokenizer,
      sqlPort: MANTICORE_PORTS.sql,
    },
  });
}
