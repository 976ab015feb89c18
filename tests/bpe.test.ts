import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { BpeTokenizer, trainBpe, type BpeModel } from "../lib/bpe";

const SHAKESPEARE = readFileSync(join(import.meta.dirname, "..", "datasets", "tinyshakespeare.txt"), "utf8");
const utf8 = (s: string) => Array.from(new TextEncoder().encode(s));

// Trained once, shared by the tests that need a realistic tokenizer (a fraction of a second).
let shakespeare512: BpeTokenizer | undefined;
function shakespeareTokenizer(): BpeTokenizer {
  return (shakespeare512 ??= new BpeTokenizer(trainBpe(SHAKESPEARE, 512)));
}

/**
 * The obvious BPE trainer, written independently of lib/bpe.ts: keep every chunk of the text
 * (no deduplication), recount every adjacent pair from scratch before each merge, merge the
 * most frequent (ties: smallest (left, right)), stop when no pair occurs twice. Also returns
 * the training text's tokens after the last merge, which is what encoding that text must give.
 */
function naiveTrain(text: string, vocabSize: number): { merges: [number, number][]; tokens: number[] } {
  const pattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
  let chunks = (text.match(pattern) ?? []).map(utf8);
  expect(chunks.flat()).toEqual(utf8(text)); // the pattern covers the whole text
  const merges: [number, number][] = [];
  while (256 + merges.length < vocabSize) {
    const counts = new Map<string, number>();
    for (const ids of chunks) {
      for (let i = 0; i + 1 < ids.length; i++) {
        const key = `${ids[i]},${ids[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    let best: [number, number] | null = null;
    let bestCount = 0;
    for (const [key, n] of counts) {
      const pair = key.split(",").map(Number) as [number, number];
      const smaller = best === null || pair[0] < best[0] || (pair[0] === best[0] && pair[1] < best[1]);
      if (n > bestCount || (n === bestCount && smaller)) [best, bestCount] = [pair, n];
    }
    if (best === null || bestCount < 2) break;
    const [a, b] = best;
    const newId = 256 + merges.length;
    merges.push([a, b]);
    chunks = chunks.map((ids) => {
      const out: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (ids[i] === a && ids[i + 1] === b) {
          out.push(newId);
          i++;
        } else out.push(ids[i]);
      }
      return out;
    });
  }
  return { merges, tokens: chunks.flat() };
}

describe("trainBpe and encode, worked by hand", () => {
  // Wikipedia's example. "aaabdaaabac" is one chunk (all letters). Pair counts, overlaps
  // included: aa 4, ab 2, bd 1, da 1, ba 1, ac 1.
  //   merge 0: (a, a) → 256:        256 a b d 256 a b a c
  //            now (256, a) 2 and (a, b) 2 tie; (97, 98) < (256, 97), so
  //   merge 1: (a, b) → 257:        256 257 d 256 257 a c
  //   merge 2: (256, 257) → 258:    258 d 258 a c
  // Then every pair occurs once, so training stops with 3 merges although 44 were asked for.
  const text = "aaabdaaabac";

  it("learns the merges, ties broken by the smallest pair, and stops when no pair repeats", () => {
    const calls: [number, number][] = [];
    const model = trainBpe(text, 300, { onProgress: (done, total) => calls.push([done, total]) });
    expect(model.merges).toEqual([
      [97, 97],
      [97, 98],
      [256, 257],
    ]);
    expect(model.vocabSize).toBe(259);
    expect(calls).toEqual([
      [1, 44],
      [2, 44],
      [3, 44],
    ]);
    // Asking for fewer tokens stops sooner.
    expect(trainBpe(text, 257).merges).toEqual([[97, 97]]);
    expect(trainBpe(text, 256)).toMatchObject({ vocabSize: 256, merges: [] });
  });

  it("encodes by merge rank and knows each token's bytes", () => {
    const tok = new BpeTokenizer(trainBpe(text, 300));
    expect(Array.from(tok.encode(text))).toEqual([258, 100, 258, 97, 99]);
    expect(Array.from(tok.tokenBytes(258))).toEqual(utf8("aaab"));
    expect(Array.from(tok.tokenBytes(100))).toEqual([100]);
    // (a, a) has rank 0, so it is merged before (a, b) could be: "aab" → 256 b, and "aaa" → 256 a.
    expect(Array.from(tok.encode("aab"))).toEqual([256, 98]);
    expect(Array.from(tok.encode("aaa"))).toEqual([256, 97]);
    expect(Array.from(tok.encode("aaaa"))).toEqual([256, 256]);
    // " aaab" is one chunk (space + word); the space never merges here.
    expect(Array.from(tok.encode("aaab aaab"))).toEqual([258, 32, 258]);
    expect(Array.from(tok.encode(""))).toEqual([]);
  });

  it("never merges across chunk boundaries", () => {
    // Chunks "ab", " ab", " ab": (a, b) ×3, then (space, ab) ×2. The pair (b, space) occurs
    // twice in the raw text, but always across a boundary, so it is never counted.
    const model = trainBpe("ab ab ab", 300);
    expect(model.merges).toEqual([
      [97, 98],
      [32, 256],
    ]);
    expect(Array.from(new BpeTokenizer(model).encode("ab ab ab"))).toEqual([256, 257, 257]);
  });
});

describe("trainBpe against a brute-force trainer", () => {
  it("learns exactly the same merges on 400 lines of Tiny Shakespeare, and encodes the same", () => {
    const sample = SHAKESPEARE.split("\n").slice(0, 400).join("\n");
    const reference = naiveTrain(sample, 300);
    expect(reference.merges).toHaveLength(44); // the sample has enough repeated pairs
    const model = trainBpe(sample, 300);
    expect(model.merges).toEqual(reference.merges);
    expect(model.vocabSize).toBe(300);
    expect(Array.from(new BpeTokenizer(model).encode(sample))).toEqual(reference.tokens);
  });

  it("agrees on a text with many ties and repeated characters", () => {
    const sample = "aaaa bbbb abab baba aaaa!! 1111 22 ab-ab... aaaaaaa\n\n  zz zz zzz";
    const reference = naiveTrain(sample, 280);
    const model = trainBpe(sample, 280);
    expect(model.merges).toEqual(reference.merges);
    expect(Array.from(new BpeTokenizer(model).encode(sample))).toEqual(reference.tokens);
  });
});

describe("BpeTokenizer round trips", () => {
  const samples = [
    "",
    "Hello, world! It's 2024; we'll see.",
    "naïve café, crème brûlée, Ångström, straße",
    "emoji: 👩‍👩‍👧 🎉🎉 👍🏽",
    "東京は日本の首都です。한국어 텍스트. Русский текст.",
    "   leading, trailing   \n\n\n\t\ttabs\r\nCRLF  ",
    "\uFEFFa byte-order mark survives",
    "\u0000 control \u0007 characters \u001b[0m",
    " ",
    "\n",
  ];

  it("decode(encode(s)) === s for varied strings, with trained and byte-only tokenizers", () => {
    const tokenizers = [shakespeareTokenizer(), new BpeTokenizer(trainBpe("aaabdaaabac", 300)), new BpeTokenizer(trainBpe("x", 256))];
    for (const tok of tokenizers) {
      for (const s of samples) expect(tok.decode(tok.encode(s))).toBe(s);
    }
    // With no merges, the tokens are the UTF-8 bytes.
    expect(Array.from(tokenizers[2].encode("é👍"))).toEqual(utf8("é👍"));
  });

  it("decodes ids that split a multi-byte character to U+FFFD instead of throwing", () => {
    const tok = new BpeTokenizer(trainBpe("x", 256));
    const emoji = utf8("🎉"); // 4 bytes
    expect(tok.decode(emoji.slice(0, 2))).toBe("\uFFFD");
    expect(tok.decode([...utf8("é").slice(0, 1), 97])).toBe("\uFFFDa");
    expect(tok.decode(new Int32Array(emoji))).toBe("🎉");
  });

  it("compresses Tiny Shakespeare at vocab 512 and round-trips all of it", () => {
    const tok = shakespeareTokenizer();
    expect(tok.vocabSize).toBe(512);
    const ids = tok.encode(SHAKESPEARE);
    const bytes = utf8(SHAKESPEARE).length;
    expect(bytes).toBe(1_115_394);
    // Measured: 575,345 tokens, 1.94 bytes per token. Assert with margin.
    expect(bytes / ids.length).toBeGreaterThan(1.85);
    expect(bytes / ids.length).toBeLessThan(2.05);
    expect(ids.reduce((a, b) => Math.min(a, b))).toBeGreaterThanOrEqual(0);
    expect(ids.reduce((a, b) => Math.max(a, b))).toBe(511); // the last merge is used
    expect(tok.decode(ids)).toBe(SHAKESPEARE);
  });

  it("is deterministic: training twice gives the same model", () => {
    const sample = SHAKESPEARE.slice(0, 50_000);
    expect(trainBpe(sample, 350)).toEqual(trainBpe(sample, 350));
  });
});

describe("BpeTokenizer JSON and files", () => {
  it("toJSON / fromJSON and save / load give identical encodings", () => {
    const tok = shakespeareTokenizer();
    const heldOut = "To be, or not to be: that is the question. Élan, 🎭!";
    const viaJson = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
    expect(viaJson.toJSON()).toEqual(tok.toJSON());
    expect(Array.from(viaJson.encode(heldOut))).toEqual(Array.from(tok.encode(heldOut)));

    const dir = mkdtempSync(join(tmpdir(), "bpe-test-"));
    try {
      const path = join(dir, "nested", "tokenizer.json");
      tok.save(path);
      expect(readdirSync(join(dir, "nested"))).toEqual(["tokenizer.json"]); // no temp file left behind
      const loaded = BpeTokenizer.load(path);
      expect(loaded.vocabSize).toBe(512);
      expect(loaded.toJSON()).toEqual(tok.toJSON());
      expect(Array.from(loaded.encode(heldOut))).toEqual(Array.from(tok.encode(heldOut)));
      expect(Array.from(loaded.encode(SHAKESPEARE.slice(0, 20_000)))).toEqual(Array.from(tok.encode(SHAKESPEARE.slice(0, 20_000))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("toJSON returns a copy that cannot change the tokenizer", () => {
    const tok = new BpeTokenizer(trainBpe("aaabdaaabac", 300));
    const json = tok.toJSON();
    json.merges[0][0] = 98;
    expect(tok.toJSON().merges[0]).toEqual([97, 97]);
  });
});

describe("errors say what was wrong and what was expected", () => {
  const good = (): BpeModel => trainBpe("aaabdaaabac", 300); // merges [[97,97],[97,98],[256,257]]

  it("rejects a bad vocabSize or empty text in trainBpe", () => {
    expect(() => trainBpe("abc", 100)).toThrow("trainBpe: vocabSize must be an integer ≥ 256 (the 256 byte tokens); got 100");
    expect(() => trainBpe("abc", 300.5)).toThrow("trainBpe: vocabSize must be an integer ≥ 256 (the 256 byte tokens); got 300.5");
    expect(() => trainBpe("abc", NaN)).toThrow("got NaN");
    expect(() => trainBpe("", 300)).toThrow("trainBpe: text must be a non-empty string to learn merges from; got an empty string");
  });

  it("rejects ids outside [0, vocabSize) in decode and tokenBytes", () => {
    const tok = new BpeTokenizer(good());
    expect(() => tok.decode([97, 259])).toThrow("decode: ids[1] = 259 is not a token id: expected an integer in [0, 259) (vocabSize 259)");
    expect(() => tok.decode([-1])).toThrow("decode: ids[0] = -1 is not a token id: expected an integer in [0, 259)");
    expect(() => tok.decode([1.5])).toThrow("decode: ids[0] = 1.5 is not a token id");
    expect(() => tok.tokenBytes(300)).toThrow("tokenBytes: id = 300 is not a token id: expected an integer in [0, 259)");
    expect(tok.decode([258])).toBe("aaab");
  });

  it("rejects malformed models in fromJSON, naming the problem", () => {
    const { pattern } = good();
    expect(() => BpeTokenizer.fromJSON(null)).toThrow("BpeTokenizer.fromJSON: expected a BPE model object { vocabSize, merges, pattern }; got null");
    expect(() => BpeTokenizer.fromJSON([1, 2])).toThrow("got an array");
    expect(() => BpeTokenizer.fromJSON({ vocabSize: 256, pattern })).toThrow(
      "BpeTokenizer.fromJSON: merges must be an array of [left, right] token id pairs; got nothing (missing)",
    );
    expect(() => BpeTokenizer.fromJSON({ vocabSize: 258, pattern, merges: [[97, 97], [97]] })).toThrow(
      "BpeTokenizer.fromJSON: merges[1] must be a pair of non-negative integer token ids; got [97]",
    );
    expect(() => BpeTokenizer.fromJSON({ vocabSize: 258, pattern, merges: [[97, 97], [257, 97]] })).toThrow(
      "BpeTokenizer.fromJSON: merges[1] = [257, 97] refers to token 257, which is not defined yet: before merge 1 only tokens 0..256 exist (merge 1 creates token 257)",
    );
    expect(() => BpeTokenizer.fromJSON({ vocabSize: 258, pattern, merges: [[97, 97], [97, 97]] })).toThrow(
      "BpeTokenizer.fromJSON: merges[1] = [97, 97] repeats merges[0]; each pair can be merged only once",
    );
    expect(() => BpeTokenizer.fromJSON({ ...good(), vocabSize: 512 })).toThrow(
      "BpeTokenizer.fromJSON: vocabSize must be 256 byte tokens + 3 merges = 259; got 512",
    );
    expect(() => BpeTokenizer.fromJSON({ vocabSize: 256, merges: [] })).toThrow(
      "BpeTokenizer.fromJSON: pattern must be the pre-tokenization regex source as a string; got nothing (missing)",
    );
    expect(() => BpeTokenizer.fromJSON({ vocabSize: 256, merges: [], pattern: "(" })).toThrow(
      'BpeTokenizer.fromJSON: pattern must be a valid regular expression with flags "gu"; got "("',
    );
    // The constructor checks too.
    expect(() => new BpeTokenizer({ ...good(), vocabSize: 300 })).toThrow("BpeTokenizer: vocabSize must be 256 byte tokens + 3 merges = 259; got 300");
  });

  it("names the path when load finds no file, no JSON or no model", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpe-test-"));
    try {
      const missing = join(dir, "missing.json");
      expect(existsSync(missing)).toBe(false);
      expect(() => BpeTokenizer.load(missing)).toThrow(`BpeTokenizer.load: cannot read ${missing}: ENOENT`);
      const notJson = join(dir, "not.json");
      writeFileSync(notJson, "merges: [[97, 97]]");
      expect(() => BpeTokenizer.load(notJson)).toThrow(`BpeTokenizer.load: ${notJson} is not valid JSON (`);
      const wrong = join(dir, "wrong.json");
      writeFileSync(wrong, JSON.stringify({ vocabSize: 300, merges: [], pattern: "x" }));
      expect(() => BpeTokenizer.load(wrong)).toThrow(`BpeTokenizer.load(${wrong}): vocabSize must be 256 byte tokens + 0 merges = 256; got 300`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
