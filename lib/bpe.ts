// Byte-level byte-pair encoding (BPE), the tokenizer family of GPT-2 and most models since,
// in the style of minbpe: small enough to read in one sitting.
//
// Start from the 256 possible bytes, so that every string can be written down (no "unknown"
// token, ever). Then repeatedly find the most frequent pair of adjacent tokens in the training
// text and give it a new token id. Encoding replays those merges in the order they were learned.
//
// Before counting, text is cut into chunks with a GPT-2-like regex (words with their leading
// space, runs of digits, runs of punctuation, whitespace), and pairs are only counted inside a
// chunk. That keeps merges from gluing "dog" to the "." after it, which would spend vocabulary
// on "dog.", "dog!", "dog?" instead of reusable pieces.
import { readFileSync } from "node:fs";
import { TextDecoder, TextEncoder } from "node:util";

import { writeFileAtomic } from "./files";

/** A trained tokenizer, as saved to JSON. */
export interface BpeModel {
  /** 256 byte tokens + one token per merge: always `256 + merges.length`. */
  vocabSize: number;
  /** Merges in the order learned: merge i joins the pair `[left, right]` into token id `256 + i`. */
  merges: [number, number][];
  /** Source of the pre-tokenization regex (compiled with flags "gu"). */
  pattern: string;
}

/** GPT-2's split pattern, with `\p{L}`/`\p{N}` so that accented and non-Latin words stay whole. */
const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

const BYTE_TOKENS = 256;

const utf8Encoder = new TextEncoder();
// Non-fatal, so ids that cut a multi-byte character in half decode to U+FFFD instead of
// throwing (a model sampling token by token produces such sequences). ignoreBOM keeps a
// leading U+FEFF in the text rather than silently dropping it, so round trips stay exact.
const utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

function compilePattern(pattern: string, where: string): RegExp {
  try {
    return new RegExp(pattern, "gu");
  } catch (err) {
    throw new Error(`${where}: pattern must be a valid regular expression with flags "gu"; got ${JSON.stringify(pattern)} (${(err as Error).message})`);
  }
}

/**
 * Cuts text into chunks by the regex. Any text the regex does not match becomes a chunk of its
 * own, so that no pattern (even a custom one) can lose characters: the chunks always join back
 * to exactly `text`.
 */
function splitChunks(text: string, regex: RegExp): string[] {
  const chunks: string[] = [];
  regex.lastIndex = 0;
  let end = 0; // where the previous match ended
  let match: RegExpExecArray | null;
  while ((match = regex.exec(text)) !== null) {
    if (match.index > end) chunks.push(text.slice(end, match.index));
    if (match[0].length === 0) {
      regex.lastIndex++; // an empty match would otherwise loop forever
      continue;
    }
    chunks.push(match[0]);
    end = match.index + match[0].length;
  }
  if (end < text.length) chunks.push(text.slice(end));
  return chunks;
}

/** Replaces every occurrence of (left, right) in `ids`, scanning left to right, with `newId`. */
function mergePair(ids: number[], left: number, right: number, newId: number): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < ids.length) {
    if (i + 1 < ids.length && ids[i] === left && ids[i + 1] === right) {
      out.push(newId);
      i += 2;
    } else {
      out.push(ids[i]);
      i += 1;
    }
  }
  return out;
}

/**
 * Learns `vocabSize - 256` merges from `text`.
 *
 * Pairs are counted over the distinct chunks, each weighted by how often it occurs: Tiny
 * Shakespeare has ~300,000 chunks but only ~15,000 distinct ones. Overlapping pairs count
 * separately ("aaa" holds the pair (a, a) twice), as in minbpe.
 *
 * The most frequent pair wins; ties go to the lowest pair by (left id, right id), so training
 * is deterministic. After a merge only the chunks that contain the merged pair change, so only
 * their pair counts are updated, instead of recounting the whole text for every merge.
 *
 * Training stops early, with fewer merges than asked for, once no pair occurs at least twice:
 * a merge that saves one token once is memorizing the text, not compressing it. The model's
 * `vocabSize` is then the size actually reached, `256 + merges.length`.
 *
 * `onProgress(mergesDone, mergesRequested)` is called after every merge (throttle it yourself,
 * e.g. with `progress()`).
 */
export function trainBpe(
  text: string,
  vocabSize: number,
  options: { onProgress?: (merges: number, total: number) => void } = {},
): BpeModel {
  if (!Number.isInteger(vocabSize) || vocabSize < BYTE_TOKENS) {
    throw new Error(`trainBpe: vocabSize must be an integer ≥ 256 (the 256 byte tokens); got ${vocabSize}`);
  }
  if (typeof text !== "string" || text.length === 0) {
    throw new Error(`trainBpe: text must be a non-empty string to learn merges from; got ${typeof text === "string" ? "an empty string" : typeof text}`);
  }
  const regex = compilePattern(GPT2_PATTERN, "trainBpe");

  // chunk → how many times it occurs.
  const chunkCounts = new Map<string, number>();
  for (const chunk of splitChunks(text, regex)) chunkCounts.set(chunk, (chunkCounts.get(chunk) ?? 0) + 1);
  const chunks: number[][] = []; // token ids of each distinct chunk, rewritten by every merge
  const weights: number[] = []; // how often that chunk occurs in the text
  for (const [chunk, count] of chunkCounts) {
    chunks.push(Array.from(utf8Encoder.encode(chunk)));
    weights.push(count);
  }

  // A pair (left, right) is stored as the number left * vocabSize + right. All ids are below
  // vocabSize, so keys order exactly like (left, right) pairs, which makes the tie-break a
  // plain "smaller key wins".
  const pairKey = (left: number, right: number) => left * vocabSize + right;
  const counts = new Map<number, number>(); // pair → weighted number of occurrences
  // pair → chunks that contain it, or did once: entries are not removed when a merge destroys
  // a pair in a chunk, so a chunk listed here may no longer hold the pair (it is skipped below).
  const chunksWith = new Map<number, Set<number>>();

  // Adds (sign = +1) or removes (sign = -1) the pairs of chunk c to the counts.
  const countPairs = (c: number, sign: 1 | -1) => {
    const ids = chunks[c];
    const w = sign * weights[c];
    for (let i = 0; i + 1 < ids.length; i++) {
      const key = pairKey(ids[i], ids[i + 1]);
      const n = (counts.get(key) ?? 0) + w;
      if (n === 0) {
        // No chunk holds this pair any more: forget it, so the search for the best pair stays short.
        counts.delete(key);
        chunksWith.delete(key);
      } else {
        counts.set(key, n);
      }
      if (sign > 0) {
        let set = chunksWith.get(key);
        if (set === undefined) chunksWith.set(key, (set = new Set()));
        set.add(c);
      }
    }
  };
  for (let c = 0; c < chunks.length; c++) countPairs(c, 1);

  const total = vocabSize - BYTE_TOKENS;
  const merges: [number, number][] = [];
  while (merges.length < total) {
    // The most frequent pair; on a tie, the smallest key. A linear scan over the distinct
    // pairs (a few thousand) is simpler than a priority queue and fast enough here.
    let bestKey = -1;
    let bestCount = 0;
    for (const [key, n] of counts) {
      if (n > bestCount || (n === bestCount && key < bestKey)) {
        bestKey = key;
        bestCount = n;
      }
    }
    if (bestCount < 2) break; // nothing left worth a token: see the doc comment

    const left = Math.floor(bestKey / vocabSize);
    const right = bestKey % vocabSize;
    const newId = BYTE_TOKENS + merges.length;
    merges.push([left, right]);

    // Rewrite only the chunks holding the pair: take their old pairs out of the counts, merge,
    // put the new pairs in. Copy the set first, because countPairs edits chunksWith.
    for (const c of Array.from(chunksWith.get(bestKey) ?? [])) {
      const merged = mergePair(chunks[c], left, right, newId);
      if (merged.length === chunks[c].length) continue; // a stale entry: the pair is gone from c
      countPairs(c, -1);
      chunks[c] = merged;
      countPairs(c, 1);
    }
    if (options.onProgress) options.onProgress(merges.length, total);
  }
  return { vocabSize: BYTE_TOKENS + merges.length, merges, pattern: GPT2_PATTERN };
}

const isTokenId = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value >= 0;

/** Checks that `json` is a well-formed BpeModel and returns a fresh copy of it. */
function parseModel(json: unknown, where: string): BpeModel {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Error(`${where}: expected a BPE model object { vocabSize, merges, pattern }; got ${json === null ? "null" : Array.isArray(json) ? "an array" : typeof json}`);
  }
  const { vocabSize, merges, pattern } = json as Record<string, unknown>;
  if (!Array.isArray(merges)) {
    throw new Error(`${where}: merges must be an array of [left, right] token id pairs; got ${merges === undefined ? "nothing (missing)" : typeof merges}`);
  }
  const seen = new Map<string, number>();
  const copy: [number, number][] = [];
  merges.forEach((merge: unknown, i: number) => {
    const defined = BYTE_TOKENS + i; // ids 0 .. defined-1 exist before merge i
    if (!Array.isArray(merge) || merge.length !== 2 || !isTokenId(merge[0]) || !isTokenId(merge[1])) {
      throw new Error(`${where}: merges[${i}] must be a pair of non-negative integer token ids; got ${JSON.stringify(merge)}`);
    }
    const [left, right] = merge as [number, number];
    for (const id of [left, right]) {
      if (id >= defined) {
        throw new Error(
          `${where}: merges[${i}] = [${left}, ${right}] refers to token ${id}, which is not defined yet: before merge ${i} only tokens 0..${defined - 1} exist (merge ${i} creates token ${defined})`,
        );
      }
    }
    const earlier = seen.get(`${left},${right}`);
    if (earlier !== undefined) {
      throw new Error(`${where}: merges[${i}] = [${left}, ${right}] repeats merges[${earlier}]; each pair can be merged only once`);
    }
    seen.set(`${left},${right}`, i);
    copy.push([left, right]);
  });
  const expected = BYTE_TOKENS + copy.length;
  if (vocabSize !== expected) {
    throw new Error(`${where}: vocabSize must be 256 byte tokens + ${copy.length} merges = ${expected}; got ${JSON.stringify(vocabSize)}`);
  }
  if (typeof pattern !== "string") {
    throw new Error(`${where}: pattern must be the pre-tokenization regex source as a string; got ${pattern === undefined ? "nothing (missing)" : typeof pattern}`);
  }
  compilePattern(pattern, where);
  return { vocabSize: expected, merges: copy, pattern };
}

/** Encodes and decodes text with a trained BpeModel. */
export class BpeTokenizer {
  readonly vocabSize: number;
  private readonly merges: [number, number][];
  private readonly pattern: string;
  private readonly regex: RegExp;
  /** pair key (left * vocabSize + right) → rank, i.e. the index of the merge that joins it. */
  private readonly ranks = new Map<number, number>();
  /** The bytes each token stands for: a merged token is its two halves' bytes, concatenated. */
  private readonly vocab: Uint8Array[] = [];
  /** chunk → its token ids. Text repeats words a lot, so most chunks are encoded only once. */
  private readonly cache = new Map<string, number[]>();

  constructor(model: BpeModel) {
    const checked = parseModel(model, "BpeTokenizer");
    this.vocabSize = checked.vocabSize;
    this.merges = checked.merges;
    this.pattern = checked.pattern;
    this.regex = compilePattern(checked.pattern, "BpeTokenizer");
    for (let b = 0; b < BYTE_TOKENS; b++) this.vocab.push(Uint8Array.of(b));
    this.merges.forEach(([left, right], rank) => {
      this.ranks.set(left * this.vocabSize + right, rank);
      const bytes = new Uint8Array(this.vocab[left].length + this.vocab[right].length);
      bytes.set(this.vocab[left], 0);
      bytes.set(this.vocab[right], this.vocab[left].length);
      this.vocab.push(bytes);
    });
  }

  /** Text → token ids. */
  encode(text: string): Int32Array {
    const out: number[] = [];
    for (const chunk of splitChunks(text, this.regex)) {
      let ids = this.cache.get(chunk);
      if (ids === undefined) {
        ids = this.encodeChunk(chunk);
        // Bound the cache so that encoding an endless stream of new words cannot exhaust memory.
        if (this.cache.size >= 100_000) this.cache.clear();
        this.cache.set(chunk, ids);
      }
      for (const id of ids) out.push(id);
    }
    return Int32Array.from(out);
  }

  /**
   * One chunk's bytes → token ids. Among the adjacent pairs, the one merged earliest in training
   * (lowest rank) is merged first, everywhere in the chunk, until no pair has a merge. This is
   * the order in which training built the tokens, so an encoding reuses the tokens training made.
   */
  private encodeChunk(chunk: string): number[] {
    let ids = Array.from(utf8Encoder.encode(chunk));
    while (ids.length >= 2) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const rank = this.ranks.get(ids[i] * this.vocabSize + ids[i + 1]);
        if (rank !== undefined && rank < bestRank) bestRank = rank;
      }
      if (bestRank === Infinity) break; // no pair left that training merged
      const [left, right] = this.merges[bestRank];
      ids = mergePair(ids, left, right, BYTE_TOKENS + bestRank);
    }
    return ids;
  }

  /**
   * Token ids → text. Ids that split a multi-byte character (say, half an emoji) decode to
   * U+FFFD "�" rather than throwing.
   */
  decode(ids: ArrayLike<number>): string {
    let length = 0;
    for (let i = 0; i < ids.length; i++) length += this.bytesOf(ids[i], `decode: ids[${i}]`).length;
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (let i = 0; i < ids.length; i++) {
      const piece = this.vocab[ids[i]];
      bytes.set(piece, offset);
      offset += piece.length;
    }
    return utf8Decoder.decode(bytes);
  }

  /** The bytes token `id` stands for (a copy). Useful to show what a token "is". */
  tokenBytes(id: number): Uint8Array {
    return this.bytesOf(id, "tokenBytes: id").slice();
  }

  private bytesOf(id: number, what: string): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new Error(`${what} = ${id} is not a token id: expected an integer in [0, ${this.vocabSize}) (vocabSize ${this.vocabSize})`);
    }
    return this.vocab[id];
  }

  /** The model (a copy), as `JSON.stringify` and `save` write it. */
  toJSON(): BpeModel {
    return { vocabSize: this.vocabSize, pattern: this.pattern, merges: this.merges.map(([l, r]): [number, number] => [l, r]) };
  }

  /** Rebuilds a tokenizer from parsed JSON, checking every field. */
  static fromJSON(json: unknown): BpeTokenizer {
    return new BpeTokenizer(parseModel(json, "BpeTokenizer.fromJSON"));
  }

  /** Writes the model as JSON, atomically (temporary file, then rename). */
  save(path: string): void {
    writeFileAtomic(path, JSON.stringify(this.toJSON()) + "\n");
  }

  static load(path: string): BpeTokenizer {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new Error(`BpeTokenizer.load: cannot read ${path}: ${(err as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`BpeTokenizer.load: ${path} is not valid JSON (${(err as Error).message}); expected a model written by BpeTokenizer.save`);
    }
    return new BpeTokenizer(parseModel(json, `BpeTokenizer.load(${path})`));
  }
}
