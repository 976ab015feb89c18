import { describe, expect, it } from "vitest";

import { Random } from "../lib/core/random";
import { ngramBaseline, ngramCrossEntropy, ngramSampler } from "../lib/core/ngram";

const random = (n: number, vocab: number, seed: number) => {
  const r = new Random(seed);
  // A skewed distribution, so that counts carry information.
  return Int32Array.from({ length: n }, () => Math.min(vocab - 1, Math.floor(vocab * r.next() ** 2)));
};

describe("n-gram baselines", () => {
  it("a unigram table scored on its own text with vanishing smoothing gives the empirical entropy; huge smoothing gives ln V", () => {
    const ids = random(5000, 7, 1);
    const counts = new Array(7).fill(0);
    for (const x of ids) counts[x]++;
    const entropy = -counts.filter((c) => c > 0).reduce((s, c) => s + (c / ids.length) * Math.log(c / ids.length), 0);
    expect(ngramCrossEntropy(ids, ids, 7, 1, 1e-12)).toBeCloseTo(entropy, 9);
    expect(ngramCrossEntropy(ids, ids, 7, 3, 1e12)).toBeCloseTo(Math.log(7), 9);
  });

  it("agrees with a brute-force count over string keys", () => {
    const train = random(3000, 5, 2), test = random(800, 5, 3);
    for (const n of [1, 2, 3]) {
      const key = (ids: Int32Array, i: number, len: number) => Array.from(ids.subarray(i - len + 1, i + 1)).join(",");
      const pairs = new Map<string, number>(), contexts = new Map<string, number>();
      for (let i = n - 1; i < train.length; i++) {
        pairs.set(key(train, i, n), (pairs.get(key(train, i, n)) ?? 0) + 1);
        const ctx = n === 1 ? "" : key(train, i - 1, n - 1);
        contexts.set(ctx, (contexts.get(ctx) ?? 0) + 1);
      }
      let total = 0;
      for (let i = n - 1; i < test.length; i++) {
        const ctx = n === 1 ? "" : key(test, i - 1, n - 1);
        total -= Math.log(((pairs.get(key(test, i, n)) ?? 0) + 0.1) / ((contexts.get(ctx) ?? 0) + 0.5));
      }
      expect(ngramCrossEntropy(train, test, 5, n, 0.1), `n = ${n}`).toBeCloseTo(total / (test.length - n + 1), 12);
    }
  });

  it("tunes the smoothing on the training text only, then scores the test text", () => {
    const train = random(4000, 6, 4), test = random(1000, 6, 5);
    const ks = [0.01, 0.3, 3];
    const base = ngramBaseline(train, test, 6, 2, ks);
    const tuneLosses = ks.map((k) => ngramCrossEntropy(train.subarray(0, 3600), train.subarray(3600), 6, 2, k));
    expect(base.k).toBe(ks[tuneLosses.indexOf(Math.min(...tuneLosses))]);
    expect(base.loss).toBe(ngramCrossEntropy(train, test, 6, 2, base.k));
    expect(() => ngramCrossEntropy(train, Int32Array.from([7]), 6, 1, 1)).toThrow("ngramCrossEntropy: test[0] must be a token id in [0, 5]; got 7");
    expect(() => ngramCrossEntropy(train, test, 6, 2, 0)).toThrow("the smoothing k must be > 0");
  });
});

/** Token ids of a text over a small alphabet: "a" is 0, "b" is 1, … */
const ids = (text: string, alphabet = "abcdefghij") => Int32Array.from([...text], (c) => alphabet.indexOf(c));

/** How often each character follows `context` in `text`, by scanning every position for the context. */
function followers(text: string, context: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + context.length < text.length; i++) {
    if (text.slice(i, i + context.length) === context) counts.set(text[i + context.length], (counts.get(text[i + context.length]) ?? 0) + 1);
  }
  return counts;
}

/**
 * Pearson's chi-square of `draws` next tokens after `context` against the counts `expected`
 * (character → count). Characters expected never must never be drawn.
 */
function chiSquare(sample: ReturnType<typeof ngramSampler>, context: string, expected: Map<string, number>, draws: number, seed: number): number {
  const random = new Random(seed);
  const seen = new Map<string, number>();
  for (let k = 0; k < draws; k++) {
    const c = "abcdefghij"[sample(ids(context), 1, random)[0]];
    seen.set(c, (seen.get(c) ?? 0) + 1);
  }
  for (const c of seen.keys()) expect(expected.has(c), `"${c}" after "${context}"`).toBe(true);
  const total = [...expected.values()].reduce((a, b) => a + b, 0);
  let chi = 0;
  for (const [c, count] of expected) {
    const e = (draws * count) / total;
    chi += ((seen.get(c) ?? 0) - e) ** 2 / e;
  }
  return chi;
}

// The 99.9% points of chi-square with 1 to 3 degrees of freedom: a correct sampler exceeds them once in a thousand seeds.
const CHI_999 = [NaN, 10.83, 13.82, 16.27];

describe("n-gram sampler", () => {
  it("reproduces a cycle whose every (n − 1)-context has one continuation, whatever the seed", () => {
    // In "abac" repeated, "a" is followed by b or c, but every pair by a single character: the trigram table has no choice.
    const sample = ngramSampler(ids("abac".repeat(20)), 4, 3);
    for (const seed of [1, 2, 3]) expect(Array.from(sample(ids("ab"), 40, new Random(seed)))).toEqual(Array.from(ids("acab".repeat(10))));
    // Only the context's last n − 1 tokens count.
    expect(Array.from(sample(ids("cccab"), 4, new Random(1)))).toEqual(Array.from(ids("acab")));
    const bigram = ngramSampler(ids("abcd".repeat(10)), 4, 2);
    expect(Array.from(bigram(ids("c"), 9, new Random(7)))).toEqual(Array.from(ids("dabcdabcd")));
    // The bigram table of "abac" does choose after "a": the trigram's determinism is its longer context.
    const loose = Array.from(ngramSampler(ids("abac".repeat(20)), 4, 2)(ids("a"), 200, new Random(1))).join("");
    expect(loose).toContain("0101"); // "abab", never in the cycle
  });

  it("draws each next token in proportion to how often it followed the context in training", () => {
    // A text over four characters whose next character depends on the two before it (a random
    // table of weights per pair), so that the contexts' counts differ.
    const r = new Random(11);
    const weights = Array.from({ length: 16 }, () => Array.from({ length: 4 }, () => 0.05 + r.next() ** 2));
    let text = "ab";
    while (text.length < 4000) {
      const w = weights[4 * "abcd".indexOf(text.at(-2)!) + "abcd".indexOf(text.at(-1)!)];
      let u = r.next() * w.reduce((a, b) => a + b, 0), x = 0;
      while (u >= w[x]) u -= w[x++];
      text += "abcd"[x];
    }
    const sample = ngramSampler(ids(text), 4, 3);
    for (const context of ["aa", "ab", "dc", "ca"]) {
      const expected = followers(text, context);
      expect(expected.size, context).toBeGreaterThan(1);
      expect(chiSquare(sample, context, expected, 5000, 1), context).toBeLessThan(CHI_999[expected.size - 1]);
    }
    // After "a" in "ab"×6 "ac"×3 "ad": b, c and d in the ratio 6 : 3 : 1.
    const simple = "ab".repeat(6) + "ac".repeat(3) + "ad";
    expect(chiSquare(ngramSampler(ids(simple), 4, 2), "a", new Map([["b", 6], ["c", 3], ["d", 1]]), 20_000, 2)).toBeLessThan(CHI_999[2]);
  });

  it("backs off to the longest shorter context seen in training, and never writes a character the text lacks", () => {
    const simple = "ab".repeat(6) + "ac".repeat(3) + "ad";
    const sample = ngramSampler(ids(simple), 10, 3);
    // "da" never occurs: the sample follows "a" (b, c, d as 6 : 3 : 1), not "ba" (b, c as 5 : 1) nor the whole text.
    expect(followers(simple, "da").size).toBe(0);
    expect(followers(simple, "ba")).toEqual(new Map([["b", 5], ["c", 1]]));
    expect(chiSquare(sample, "da", followers(simple, "a"), 20_000, 3)).toBeLessThan(CHI_999[2]);
    // "d" ends the text, so nothing ever followed it: the bigram table falls back to the characters' counts.
    const unigram = new Map([["a", 10], ["b", 6], ["c", 3], ["d", 1]]);
    expect(chiSquare(ngramSampler(ids(simple), 10, 2), "d", unigram, 20_000, 4)).toBeLessThan(CHI_999[3]);
    // A vocabulary of ten with only a to d in the text: from a context of characters never seen, only a to d come out.
    for (const seed of [1, 2, 3]) {
      const out = sample(ids("ij"), 2000, new Random(seed));
      expect(out.every((x) => x <= 3)).toBe(true);
      expect(new Set(out).size).toBe(4);
    }
  });

  it("names bad input: a short context, a length that is not positive, a training text shorter than n", () => {
    const sample = ngramSampler(ids("abacabad"), 4, 3);
    expect(() => sample(ids("a"), 5, new Random(1))).toThrow("ngramSampler: context must be at least n − 1 = 2 token ids");
    expect(() => sample(ids("ab"), 0, new Random(1))).toThrow("ngramSampler: length must be a positive integer; got 0");
    expect(() => sample(ids("ab"), 2.5, new Random(1))).toThrow("ngramSampler: length must be a positive integer; got 2.5");
    expect(() => ngramSampler(ids("abc"), 4, 5)).toThrow("ngramSampler: train needs at least n = 5 tokens; got 3");
    expect(() => ngramSampler(Int32Array.from([0, 7]), 4, 2)).toThrow("ngramSampler: train[1] must be a token id in [0, 3]; got 7");
    // A unigram table needs no context at all.
    expect(ngramSampler(ids("aaaa"), 4, 1)(new Int32Array(0), 3, new Random(1))).toEqual(Int32Array.from([0, 0, 0]));
  });
});
