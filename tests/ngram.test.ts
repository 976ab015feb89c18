import { describe, expect, it } from "vitest";

import { Random } from "../lib/core/random";
import { ngramBaseline, ngramCrossEntropy } from "../lib/scaling/ngram";

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
