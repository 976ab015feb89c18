import { describe, expect, it } from "vitest";

import {
  attentionMemoryAccesses, flashAttention, flashAttentionBackward, naiveAttention, naiveAttentionBackward,
} from "../lib/efficiency/attention";
import { Random } from "../lib/core/random";

// ---------------------------------------------------------------------------------------------
// An independent float64 reference, written from the definition softmax(QKᵀ/√d) V.

function referenceAttention(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, n: number, nKeys: number, d: number, causal: boolean) {
  const out = new Float64Array(n * d);
  const logsumexp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s: number[] = [];
    for (let j = 0; j < (causal ? i + 1 : nKeys); j++) {
      let dotQK = 0;
      for (let x = 0; x < d; x++) dotQK += q[i * d + x] * k[j * d + x];
      s.push(dotQK / Math.sqrt(d));
    }
    const max = Math.max(...s);
    const e = s.map((sj) => Math.exp(sj - max));
    const z = e.reduce((a, b) => a + b, 0);
    logsumexp[i] = max + Math.log(z);
    for (let j = 0; j < e.length; j++) for (let x = 0; x < d; x++) out[i * d + x] += (e[j] / z) * v[j * d + x];
  }
  return { out, logsumexp };
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

/** max |a − b| / max |b|: agreement relative to the size of the reference (or of `scale`). */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, scale = maxAbs(b)): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  return diff / Math.max(scale, 1e-30);
}

function inputs(seed: number, n: number, nKeys: number, d: number) {
  const rng = new Random(seed);
  return { q: rng.normals(n * d, 1), k: rng.normals(nKeys * d, 1), v: rng.normals(nKeys * d, 1), dOut: rng.normals(n * d, 1) };
}

// n, nKeys, d, causal, blocks: N = 1, N below one block, N not a multiple of the blocks,
// more keys than queries, fewer keys than queries, tall and wide tiles, the default tiles.
const CASES: { n: number; nKeys: number; d: number; causal: boolean; blockRows?: number; blockCols?: number }[] = [];
for (const causal of [false, true]) {
  CASES.push(
    { n: 1, nKeys: 1, d: 4, causal, blockRows: 4, blockCols: 4 },
    { n: 5, nKeys: 5, d: 8, causal, blockRows: 16, blockCols: 16 },
    { n: 37, nKeys: 37, d: 16, causal, blockRows: 8, blockCols: 8 },
    { n: 37, nKeys: 37, d: 7, causal, blockRows: 5, blockCols: 11 },
    { n: 64, nKeys: 64, d: 32, causal, blockRows: 16, blockCols: 4 },
    { n: 100, nKeys: 100, d: 64, causal },
    { n: 130, nKeys: 130, d: 16, causal, blockRows: 3, blockCols: 128 },
  );
}
CASES.push({ n: 13, nKeys: 29, d: 8, causal: false, blockRows: 4, blockCols: 6 }, { n: 40, nKeys: 9, d: 4, causal: false, blockRows: 7, blockCols: 4 });

const label = (c: (typeof CASES)[number]) => `N=${c.n} N_k=${c.nKeys} d=${c.d}${c.causal ? " causal" : ""} blocks=${c.blockRows ?? "default"}×${c.blockCols ?? "default"}`;

describe("attention forward", () => {
  it.each(CASES.map((c) => [label(c), c] as const))("naive and flash agree with float64 and each other: %s", (_, c) => {
    const { q, k, v } = inputs(c.n * 1000 + c.d, c.n, c.nKeys, c.d);
    const reference = referenceAttention(q, k, v, c.n, c.nKeys, c.d, c.causal);
    const naive = naiveAttention(q, k, v, c.n, c.d, { causal: c.causal, nKeys: c.nKeys });
    const flash = flashAttention(q, k, v, c.n, c.d, c);
    expect(relativeError(naive.out, reference.out)).toBeLessThan(1e-5);
    expect(relativeError(flash.out, naive.out)).toBeLessThan(1e-5);
    expect(relativeError(flash.logsumexp, reference.logsumexp)).toBeLessThan(1e-5);
    expect(relativeError(naive.logsumexp, reference.logsumexp)).toBeLessThan(1e-5);
    // P's rows are distributions, zero above the diagonal when causal.
    for (let i = 0; i < c.n; i++) {
      let sum = 0;
      for (let j = 0; j < c.nKeys; j++) {
        sum += naive.probs[i * c.nKeys + j];
        if (c.causal && j > i) expect(naive.probs[i * c.nKeys + j]).toBe(0);
      }
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  it("keeps large scores finite (max-subtracted softmax) and uses the first key only at row 0 when causal", () => {
    const n = 6, d = 2;
    const q = new Float32Array(n * d).fill(100), k = new Float32Array(n * d).fill(100);
    const v = Float32Array.from({ length: n * d }, (_, i) => i);
    for (const f of [naiveAttention, flashAttention]) {
      const { out } = f(q, k, v, n, d, { causal: true });
      expect(Array.from(out.subarray(0, d))).toEqual([0, 1]); // row 0 sees only key 0
      expect(out.every(Number.isFinite)).toBe(true);
      expect(out[(n - 1) * d]).toBeCloseTo((0 + 2 + 4 + 6 + 8 + 10) / 6, 4); // equal scores: the mean of V
    }
  });
});

describe("attention backward", () => {
  it.each(CASES.map((c) => [label(c), c] as const))("flash backward equals naive backward: %s", (_, c) => {
    const { q, k, v, dOut } = inputs(c.n * 7 + c.d, c.n, c.nKeys, c.d);
    const naive = naiveAttention(q, k, v, c.n, c.d, { causal: c.causal, nKeys: c.nKeys });
    const flash = flashAttention(q, k, v, c.n, c.d, c);
    const gNaive = naiveAttentionBackward(q, k, v, naive.probs, dOut, c.n, c.d, { nKeys: c.nKeys });
    const gFlash = flashAttentionBackward(q, k, v, flash.out, dOut, flash.logsumexp, c.n, c.d, c);
    // Relative to the largest gradient: with one key, dQ and dK are exactly 0 and both give rounding noise.
    const scale = Math.max(maxAbs(gNaive.dq), maxAbs(gNaive.dk), maxAbs(gNaive.dv));
    expect(relativeError(gFlash.dq, gNaive.dq, scale)).toBeLessThan(1e-5);
    expect(relativeError(gFlash.dk, gNaive.dk, scale)).toBeLessThan(1e-5);
    expect(relativeError(gFlash.dv, gNaive.dv, scale)).toBeLessThan(1e-5);
  });

  it.each([
    { n: 3, nKeys: 4, d: 2, causal: false },
    { n: 4, nKeys: 4, d: 3, causal: true },
  ])("naive backward equals central finite differences of the float64 reference (%o)", ({ n, nKeys, d, causal }) => {
    const { q, k, v, dOut } = inputs(99, n, nKeys, d);
    const { probs } = naiveAttention(q, k, v, n, d, { causal, nKeys });
    const grads = naiveAttentionBackward(q, k, v, probs, dOut, n, d, { nKeys });
    // loss = Σ dO ∘ O, so ∂loss/∂O = dO.
    const h = 1e-6;
    const loss = (qq: Float64Array, kk: Float64Array, vv: Float64Array) =>
      referenceAttention(qq, kk, vv, n, nKeys, d, causal).out.reduce((s, o, i) => s + o * dOut[i], 0);
    const base = { q: Float64Array.from(q), k: Float64Array.from(k), v: Float64Array.from(v) };
    for (const [name, grad] of [["q", grads.dq], ["k", grads.dk], ["v", grads.dv]] as const) {
      for (let i = 0; i < base[name].length; i++) {
        const plus = { ...base, [name]: Float64Array.from(base[name]) };
        const minus = { ...base, [name]: Float64Array.from(base[name]) };
        plus[name][i] += h;
        minus[name][i] -= h;
        const numeric = (loss(plus.q, plus.k, plus.v) - loss(minus.q, minus.k, minus.v)) / (2 * h);
        expect(Math.abs(grad[i] - numeric), `d${name}[${i}]: ${grad[i]} vs ${numeric}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(numeric)));
      }
    }
  });
});

describe("memory", () => {
  const d = 16;
  const measure = (n: number, causal: boolean) => {
    const { q, k, v, dOut } = inputs(n, n, n, d);
    const naive = naiveAttention(q, k, v, n, d, { causal });
    const flash = flashAttention(q, k, v, n, d, { causal });
    return {
      naive: naive.peakBytes,
      flash: flash.peakBytes,
      naiveBackward: naiveAttentionBackward(q, k, v, naive.probs, dOut, n, d).peakBytes,
      flashBackward: flashAttentionBackward(q, k, v, flash.out, dOut, flash.logsumexp, n, d, { causal }).peakBytes,
    };
  };

  it.each([false, true])("flash grows linearly in N, naive quadratically (causal: %s)", (causal) => {
    const sizes = [128, 256, 512, 1024];
    const peaks = sizes.map((n) => measure(n, causal));
    for (let i = 1; i < sizes.length; i++) {
      const [before, after] = [peaks[i - 1], peaks[i]];
      expect(after.flash / before.flash).toBeLessThanOrEqual(2);
      expect(after.flash).toBeGreaterThan(before.flash); // m and ℓ: [N] each
      expect(after.flashBackward / before.flashBackward).toBeLessThanOrEqual(2);
      expect(after.naive / before.naive).toBeCloseTo(4, 1);
      expect(after.naiveBackward / before.naiveBackward).toBeGreaterThan(3.9);
    }
    const n = sizes.at(-1)!;
    const last = peaks.at(-1)!;
    expect(last.naive).toBe(2 * n * n * 4); // S and P, float32
    expect(last.naiveBackward).toBe(2 * n * n * 4 + n * 4); // dP, dS and D
    expect(last.flash).toBeLessThan(last.naive / 16);
    expect(last.flashBackward).toBeLessThan(last.naiveBackward / 16);
  });

  it("counts the IO of Theorem 2 line by line", () => {
    // M = 25,600 floats: B_c = ⌈25600 / 256⌉ = 100, B_r = min(100, 64) = 64, T_c = ⌈1024 / 100⌉ = 11.
    const io = attentionMemoryAccesses(1024, 64, 100 * 1024);
    expect(io).toEqual({ standard: 4 * 1024 * 64 + 4 * 1024 ** 2, flash: 2 * 1024 * 64 + 11 * (3 * 1024 * 64 + 4 * 1024), sramElements: 25_600, blockRows: 64, blockCols: 100 });
    // Θ(N²d²/M): quadrupling M cuts the flash count about fourfold; standard does not move.
    const n = 8192, d = 64;
    const small = attentionMemoryAccesses(n, d, 64 * 1024), large = attentionMemoryAccesses(n, d, 256 * 1024);
    expect(small.flash / large.flash).toBeGreaterThan(3.5);
    expect(small.standard).toBe(large.standard);
    expect(small.flash / ((n * n * d * d) / small.sramElements)).toBeCloseTo(12, 0);
    // Fewer accesses than standard attention once M exceeds about 3d² (here M/3d² = 1.33).
    expect(small.flash).toBeLessThan(small.standard);
    expect(large.flash).toBeLessThan(large.standard / 4);
  });
});

describe("validation", () => {
  const q = new Float32Array(4 * 8), k = new Float32Array(4 * 8), v = new Float32Array(4 * 8);

  it("says which size is wrong and what it got", () => {
    expect(() => flashAttention(q, k, v, 0, 8)).toThrow("flashAttention: n must be a positive integer; got 0");
    expect(() => naiveAttention(q, k, v, 2.5, 8)).toThrow("naiveAttention: n must be a positive integer; got 2.5");
    expect(() => naiveAttention(q, k, v, 4, -8)).toThrow("naiveAttention: d must be a positive integer; got -8");
    expect(() => flashAttention(q, k, v, 4, 8, { blockRows: 0 })).toThrow("flashAttention: blockRows must be a positive integer; got 0");
    expect(() => flashAttention(q, k, v, 4, 8, { blockCols: 1.5 })).toThrow("flashAttention: blockCols must be a positive integer; got 1.5");
    expect(() => flashAttentionBackward(q, k, v, q, q, new Float32Array(4), 4, 8, { blockRows: -1 })).toThrow("flashAttentionBackward: blockRows must be a positive integer; got -1");
    expect(() => naiveAttention(q, k, v, 4, 8, { nKeys: 0 })).toThrow("naiveAttention: nKeys must be a positive integer; got 0");
  });

  it("names the shapes when arrays do not match", () => {
    expect(() => naiveAttention(new Float32Array(30), k, v, 4, 8)).toThrow("naiveAttention: q must be [n, d] = [4, 8], 32 elements; got 30 elements (not a multiple of 8)");
    // A head size that differs between Q and K shows up as K's length.
    expect(() => flashAttention(q, new Float32Array(4 * 16), v, 4, 8)).toThrow("flashAttention: k must be [nKeys, d] = [4, 8], 32 elements; got 64 elements ([8, 8])");
    expect(() => flashAttention(q, k, new Float32Array(3 * 8), 4, 8)).toThrow("flashAttention: v must be [nKeys, d] = [4, 8], 32 elements; got 24 elements ([3, 8])");
    expect(() => flashAttention(q, new Float32Array(6 * 8), new Float32Array(6 * 8), 4, 8, { causal: true, nKeys: 6 })).toThrow(
      "flashAttention: causal attention needs as many keys as queries; got n = 4 queries and nKeys = 6 keys",
    );
    expect(() => naiveAttention([1, 2] as unknown as Float32Array, k, v, 4, 8)).toThrow("naiveAttention: q must be a Float32Array; got Array");
    expect(() => naiveAttentionBackward(q, k, v, new Float32Array(4 * 5), q, 4, 8)).toThrow("naiveAttentionBackward: probs must be [n, nKeys] = [4, 4], 16 elements; got 20 elements ([5, 4])");
    expect(() => naiveAttentionBackward(q, k, v, new Float32Array(16), new Float32Array(8), 4, 8)).toThrow("naiveAttentionBackward: dOut must be [n, d] = [4, 8], 32 elements; got 8 elements ([1, 8])");
    expect(() => flashAttentionBackward(q, k, v, new Float32Array(31), q, new Float32Array(4), 4, 8)).toThrow("flashAttentionBackward: o must be [n, d] = [4, 8], 32 elements; got 31 elements (not a multiple of 8)");
    expect(() => flashAttentionBackward(q, k, v, q, q, new Float32Array(3), 4, 8)).toThrow("flashAttentionBackward: logsumexp must be [n, 1] = [4, 1], 4 elements; got 3 elements ([3, 1])");
  });

  it("checks the IO model's sizes", () => {
    expect(() => attentionMemoryAccesses(1024, 64, 2)).toThrow("attentionMemoryAccesses: sramBytes must be an integer of at least one element (4 bytes); got 2");
    expect(() => attentionMemoryAccesses(0, 64, 1024)).toThrow("attentionMemoryAccesses: n must be a positive integer; got 0");
  });
});
