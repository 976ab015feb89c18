import { describe, expect, it } from "vitest";

import { naiveAttention } from "../lib/efficiency/attention";
import {
  fromBFloat16Array, fromBFloat16Bits, fromFloat16Array, fromFloat16Bits, gradientUnderflow, LossScaler, matmulLowPrecision, maxAbsDifference,
  mixedPrecisionAttention, roundToBFloat16, roundToFloat16, roundToFormat, toBFloat16Array, toBFloat16Bits, toFloat16Array, toFloat16Bits, log2Histogram,
} from "../lib/efficiency";
import { Random } from "../lib/core/random";

// ---------------------------------------------------------------------------------------------
// Independent references, from the definition of a binary floating-point format: the nearest
// number of the form m·2^(e − p) (p fraction bits, e ≥ e_min), ties to even m, ±∞ past the largest
// finite. Float64 arithmetic; no bit manipulation.

/** The e with 2^e ≤ a < 2^(e+1); log2 is only a first guess, the loops make it exact. */
function binade(a: number): number {
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  return e;
}

function roundReference(x: number, fractionBits: number, minExponent: number, maxFinite: number): number {
  if (Number.isNaN(x) || x === 0 || !Number.isFinite(x)) return x;
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const e = Math.max(minExponent, binade(a)); // subnormals share the smallest normal binade's spacing
  const spacing = 2 ** (e - fractionBits);
  const t = a / spacing; // exact: a power-of-two division
  const below = Math.floor(t);
  const rest = t - below; // exact
  const m = rest > 0.5 || (rest === 0.5 && below % 2 === 1) ? below + 1 : below;
  const rounded = m * spacing;
  return sign * (rounded > maxFinite ? Infinity : rounded);
}

/** The bits of a value the format holds: sign, biased exponent, fraction. */
function bitsReference(value: number, fractionBits: number, exponentBits: number): number {
  const bias = 2 ** (exponentBits - 1) - 1;
  const signBit = value < 0 || Object.is(value, -0) ? 2 ** (fractionBits + exponentBits) : 0;
  const a = Math.abs(value);
  const allOnes = 2 ** exponentBits - 1;
  if (a === Infinity) return signBit + allOnes * 2 ** fractionBits;
  const minNormal = 2 ** (1 - bias);
  if (a < minNormal) return signBit + a / 2 ** (1 - bias - fractionBits); // subnormal: 0.f · 2^(1 − bias)
  const e = binade(a);
  return signBit + (e + bias) * 2 ** fractionBits + (a / 2 ** e - 1) * 2 ** fractionBits;
}

const fp16Reference = (x: number) => bitsReference(roundReference(Math.fround(x), 10, -14, 65504), 10, 5);
const bf16Reference = (x: number) => bitsReference(roundReference(Math.fround(x), 7, -126, (2 - 2 ** -7) * 2 ** 127), 7, 8);

const isFp16NaN = (bits: number) => (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
const isBf16NaN = (bits: number) => (bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0;
const hex = (bits: number) => `0x${bits.toString(16).padStart(4, "0")}`;

/** A float32 from its bits. */
function float32(bits: number): number {
  return new Float32Array(Uint32Array.of(bits).buffer)[0];
}
function bitsOf32(x: number): number {
  return new Uint32Array(Float32Array.of(x).buffer)[0];
}

/**
 * Float32 samples: uniformly random bit patterns (every exponent, subnormals included) and, for
 * every `stepBits` spaced value of the 16-bit format, the midpoint to its neighbour and the
 * float32 values just either side of it: where rounding is decided.
 */
function samples(fromBits: (bits: number) => number, seed: number): number[] {
  const rng = new Random(seed);
  const out: number[] = [];
  for (let i = 0; i < 50_000; i++) {
    const x = float32(rng.int(2 ** 32));
    if (!Number.isNaN(x)) out.push(x);
  }
  for (let bits = 0; bits < 0x7fff; bits += 1 + rng.int(7)) {
    const [a, b] = [fromBits(bits), fromBits(bits + 1)];
    if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
    const mid = (a + b) / 2; // exact in float32: one more bit than the 16-bit format has
    for (const x of [mid, float32(bitsOf32(mid) + 1), mid > 0 ? float32(bitsOf32(mid) - 1) : 0, a, b]) out.push(x, -x);
  }
  return out;
}

describe("fp16", () => {
  it("round-trips all 65,536 bit patterns; NaNs stay NaN", () => {
    let nans = 0;
    const wrong: string[] = []; // one expect at the end: 65,536 expects would take seconds
    for (let bits = 0; bits <= 0xffff; bits++) {
      const value = fromFloat16Bits(bits);
      if (isFp16NaN(bits)) {
        nans++;
        if (!Number.isNaN(value) || !isFp16NaN(toFloat16Bits(value))) wrong.push(hex(bits));
      } else if (toFloat16Bits(value) !== bits || bitsReference(value, 10, 5) !== bits) {
        wrong.push(hex(bits)); // the round trip, and the decoded value is the one the definition gives
      }
    }
    expect(wrong).toEqual([]);
    expect(nans).toBe(2 * 1023);
  });

  it("orders the positive patterns by value (bits 0x0000 to 0x7c00 are increasing)", () => {
    const wrong: string[] = [];
    for (let bits = 0; bits < 0x7c00; bits++) if (!(fromFloat16Bits(bits + 1) > fromFloat16Bits(bits))) wrong.push(hex(bits));
    expect(wrong).toEqual([]);
  });

  it("rounds halfway cases to even and handles the edges of the range", () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1 + 2^-10: to even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // halfway between 1 + 2^-10 and 1 + 2^-9: to even (1 + 2^-9)
      [1 + 2 ** -11 + 2 ** -23, 0x3c01], // just above halfway: up
      [-2, 0xc000],
      [65504, 0x7bff], // largest finite
      [65519, 0x7bff],
      [65520, 0x7c00], // halfway to 65536, which is not representable: to even, which is ∞
      [-65520, 0xfc00],
      [1e10, 0x7c00],
      [2 ** -14, 0x0400], // smallest normal
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [1023.5 * 2 ** -24, 0x0400], // rounds up into the normals
      [2 ** -24, 0x0001], // smallest subnormal
      [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 subnormal units: to even (2)
      [2 ** -25, 0x0000], // half the smallest subnormal: to even (0)
      [2 ** -25 + 2 ** -40, 0x0001], // just above: up
      [-(2 ** -26), 0x8000], // underflow keeps the sign
      [0, 0x0000],
      [-0, 0x8000],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [NaN, 0x7e00], // quiet NaN
    ];
    for (const [x, bits] of cases) expect(hex(toFloat16Bits(x)), String(x)).toBe(hex(bits));
    expect(fromFloat16Bits(0x7bff)).toBe(65504);
    expect(fromFloat16Bits(0x0001)).toBe(2 ** -24);
    expect(Object.is(fromFloat16Bits(0x8000), -0)).toBe(true);
    expect(fromFloat16Bits(0xfc00)).toBe(-Infinity);
    expect(roundToFloat16(0.1)).toBe(0.0999755859375);
    expect(roundToFloat16(1 + 2 ** -11)).toBe(1);
  });

  it("agrees with the reference on random and near-halfway float32 values", () => {
    const xs = samples(fromFloat16Bits, 1);
    expect(xs.length).toBeGreaterThan(60_000);
    expect(xs.filter((x) => toFloat16Bits(x) !== fp16Reference(x)).map((x) => `${x}: ${hex(toFloat16Bits(x))} vs ${hex(fp16Reference(x))}`)).toEqual([]);
  });

  it("converts arrays as the scalars do", () => {
    const x = Float32Array.from(samples(fromFloat16Bits, 2).slice(0, 5000));
    const bits = toFloat16Array(x);
    expect(Array.from(bits)).toEqual(Array.from(x, toFloat16Bits));
    expect(Array.from(fromFloat16Array(bits))).toEqual(Array.from(x, (v) => Math.fround(roundToFloat16(v))));
    expect(Array.from(roundToFormat(x.subarray(10, 20), "fp16"))).toEqual(Array.from(x.subarray(10, 20), roundToFloat16));
  });

  it("rejects bits outside 16 bits", () => {
    expect(() => fromFloat16Bits(65536)).toThrow("fromFloat16Bits: bits must be an integer in [0, 65535]; got 65536");
    expect(() => fromFloat16Bits(1.5)).toThrow("fromFloat16Bits: bits must be an integer in [0, 65535]; got 1.5");
  });
});

describe("bf16", () => {
  it("round-trips all 65,536 bit patterns; NaNs stay NaN", () => {
    const wrong: string[] = [];
    for (let bits = 0; bits <= 0xffff; bits++) {
      const value = fromBFloat16Bits(bits);
      if (isBf16NaN(bits)) {
        if (!Number.isNaN(value) || !isBf16NaN(toBFloat16Bits(value))) wrong.push(hex(bits));
      } else if (toBFloat16Bits(value) !== bits || bitsReference(value, 7, 8) !== bits) {
        wrong.push(hex(bits));
      }
    }
    expect(wrong).toEqual([]);
  });

  it("rounds halfway cases to even and handles the edges of the range", () => {
    const maxFloat32 = float32(0x7f7fffff);
    const cases: [number, number][] = [
      [1, 0x3f80],
      [1 + 2 ** -8, 0x3f80], // halfway: to even (1)
      [1 + 3 * 2 ** -8, 0x3f82], // halfway: to even (1 + 2^-6)
      [1 + 2 ** -8 + 2 ** -23, 0x3f81],
      [(2 - 2 ** -7) * 2 ** 127, 0x7f7f], // largest finite bf16
      [maxFloat32, 0x7f80], // past (2 − 2^-8)·2^127: ∞
      [-maxFloat32, 0xff80],
      [2 ** -133, 0x0001], // smallest bf16 subnormal
      [2 ** -134, 0x0000], // half of it: to even (0)
      [3 * 2 ** -134, 0x0002],
      [2 ** -149, 0x0000], // smallest float32 subnormal
      [-0, 0x8000],
      [65520, 0x4780], // fp16 overflows here; bf16 just rounds (to 65536)
      [Infinity, 0x7f80],
      [-Infinity, 0xff80],
    ];
    for (const [x, bits] of cases) expect(hex(toBFloat16Bits(x)), String(x)).toBe(hex(bits));
    expect(toBFloat16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
    expect(roundToBFloat16(NaN)).toBeNaN();
    expect(Math.abs(roundToBFloat16(1e-30) - 1e-30) / 1e-30).toBeLessThanOrEqual(2 ** -8); // no underflow where fp16 gives 0
    expect(roundToFloat16(1e-30)).toBe(0);
  });

  it("agrees with the reference on random and near-halfway float32 values", () => {
    const xs = samples(fromBFloat16Bits, 3);
    expect(xs.length).toBeGreaterThan(60_000);
    expect(xs.filter((x) => toBFloat16Bits(x) !== bf16Reference(x)).map((x) => `${x}: ${hex(toBFloat16Bits(x))} vs ${hex(bf16Reference(x))}`)).toEqual([]);
  });

  it("converts arrays as the scalars do", () => {
    const x = Float32Array.from(samples(fromBFloat16Bits, 4).slice(0, 5000));
    const bits = toBFloat16Array(x);
    expect(Array.from(bits)).toEqual(Array.from(x, toBFloat16Bits));
    expect(Array.from(fromBFloat16Array(bits))).toEqual(Array.from(x, roundToBFloat16));
    // A NaN whose payload sits only in the low bits must not truncate to the bits of ∞.
    const nans = new Float32Array(Uint32Array.of(0x7f800001, 0xff800100, 0x7fc00000).buffer);
    expect(Array.from(toBFloat16Array(nans), isBf16NaN)).toEqual([true, true, true]);
    expect(Array.from(toFloat16Array(nans), isFp16NaN)).toEqual([true, true, true]);
    expect(() => fromBFloat16Bits(-1)).toThrow("fromBFloat16Bits: bits must be an integer in [0, 65535]; got -1");
  });
});

describe("matmulLowPrecision", () => {
  const U32 = 2 ** -24;

  it.each([
    ["fp16", 2 ** -11, 2 ** -25],
    ["bf16", 2 ** -8, 2 ** -134],
  ] as const)("%s: error within the rounding bound of the inputs plus float32 accumulation", (format, u, eta) => {
    const [m, k, n] = [9, 300, 7];
    const rng = new Random(5);
    const a = rng.normals(m * k, 1), b = rng.normals(k * n, 1);
    const c = matmulLowPrecision(a, b, m, k, n, format);
    const aLow = roundToFormat(a, format), bLow = roundToFormat(b, format);
    const gamma = (k * U32) / (1 - k * U32); // float32 summation of k terms
    let worst = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let exact = 0, exactLow = 0, inputBound = 0, sumAbsLow = 0;
        for (let p = 0; p < k; p++) {
          const [x, y] = [a[i * k + p], b[p * n + j]];
          const [xLow, yLow] = [aLow[i * k + p], bLow[p * n + j]];
          exact += x * y;
          exactLow += xLow * yLow;
          // |x̂ − x| ≤ u|x| + η (η: half the smallest subnormal), so |x̂ŷ − xy| ≤ e_x|y| + (|x| + e_x)e_y.
          const [ex, ey] = [u * Math.abs(x) + eta, u * Math.abs(y) + eta];
          inputBound += ex * Math.abs(y) + (Math.abs(x) + ex) * ey;
          sumAbsLow += Math.abs(xLow * yLow);
        }
        const got = c[i * n + j];
        expect(Math.abs(got - exactLow)).toBeLessThanOrEqual(gamma * sumAbsLow); // accumulation alone
        expect(Math.abs(got - exact)).toBeLessThanOrEqual(inputBound + gamma * sumAbsLow);
        worst = Math.max(worst, Math.abs(got - exact));
      }
    }
    expect(worst).toBeGreaterThan(0);
  });

  it("rounds the inputs and accumulates in float32, not float64", () => {
    // 1 + 2^-25 is not a float32: the float32 sum of 1·1 and 2^-13·2^-12 is 1.
    expect(Array.from(matmulLowPrecision(Float32Array.of(1, 2 ** -13), Float32Array.of(1, 2 ** -12), 1, 2, 1, "fp16"))).toEqual([1]);
    // 1 + 2^-9 is fine in fp16 but rounds to 1 in bf16.
    expect(Array.from(matmulLowPrecision(Float32Array.of(1 + 2 ** -9), Float32Array.of(1), 1, 1, 1, "fp16"))).toEqual([1 + 2 ** -9]);
    expect(Array.from(matmulLowPrecision(Float32Array.of(1 + 2 ** -9), Float32Array.of(1), 1, 1, 1, "bf16"))).toEqual([1]);
    // fp16 overflows where bf16 does not.
    expect(matmulLowPrecision(Float32Array.of(70000), Float32Array.of(1), 1, 1, 1, "fp16")[0]).toBe(Infinity);
    expect(matmulLowPrecision(Float32Array.of(70000), Float32Array.of(1), 1, 1, 1, "bf16")[0]).toBe(70144);
  });

  it("says what is wrong with its arguments", () => {
    const a = new Float32Array(6), b = new Float32Array(6);
    expect(() => matmulLowPrecision(a, b, 2, 3, 2, "fp8" as "fp16")).toThrow('matmulLowPrecision: format must be "fp16" or "bf16"; got "fp8"');
    expect(() => matmulLowPrecision(a, b, 2, 0, 2, "fp16")).toThrow("matmulLowPrecision: k must be a positive integer; got 0");
    expect(() => matmulLowPrecision(a, b, 3, 3, 2, "fp16")).toThrow("matmulLowPrecision: a must be [m, k] = [3, 3], 9 elements; got 6 elements ([2, 3])");
    expect(() => matmulLowPrecision(a, new Float32Array(8), 2, 3, 2, "bf16")).toThrow("matmulLowPrecision: b must be [k, n] = [3, 2], 6 elements; got 8 elements ([4, 2])");
    expect(() => roundToFormat(a, "fp32" as "fp16")).toThrow('roundToFormat: format must be "fp16" or "bf16"; got "fp32"');
    expect(() => maxAbsDifference(a, new Float32Array(5))).toThrow("maxAbsDifference: arrays must have the same length; got 6 and 5");
  });
});

describe("mixedPrecisionAttention", () => {
  it.each([false, true])("is float32 attention of the rounded inputs; bf16 errs more than fp16 (causal: %s)", (causal) => {
    const [n, d] = [48, 16];
    const rng = new Random(11);
    const q = rng.normals(n * d, 1), k = rng.normals(n * d, 1), v = rng.normals(n * d, 1);
    const fp16 = mixedPrecisionAttention(q, k, v, n, d, { format: "fp16", causal });
    const bf16 = mixedPrecisionAttention(q, k, v, n, d, { format: "bf16", causal });
    const exact = naiveAttention(q, k, v, n, d, { causal }).out;
    expect(fp16.maxAbsError).toBe(maxAbsDifference(fp16.out, exact));
    for (const [format, result] of [["fp16", fp16], ["bf16", bf16]] as const) {
      const rounded = naiveAttention(roundToFormat(q, format), roundToFormat(k, format), roundToFormat(v, format), n, d, { causal }).out;
      expect(maxAbsDifference(result.out, rounded)).toBeLessThan(1e-5); // only float32 arithmetic differs
    }
    expect(fp16.maxAbsError).toBeGreaterThan(0);
    expect(fp16.maxAbsError).toBeLessThan(5e-3);
    expect(bf16.maxAbsError).toBeGreaterThan(2 * fp16.maxAbsError);
    expect(bf16.maxAbsError).toBeLessThan(5e-2);
  });

  it("validates like attention does", () => {
    const x = new Float32Array(8);
    expect(() => mixedPrecisionAttention(x, x, x, 2, 4, { format: "fp8" as "fp16" })).toThrow('mixedPrecisionAttention: format must be "fp16" or "bf16"; got "fp8"');
    expect(() => mixedPrecisionAttention(x, x, new Float32Array(7), 2, 4, { format: "fp16" })).toThrow("mixedPrecisionAttention: v must be [nKeys, d] = [2, 4], 8 elements; got 7 elements (not a multiple of 4)");
  });
});

describe("loss scaling", () => {
  const good = () => [Float32Array.of(1e-3, -2.5), Float32Array.of(2 ** -20)];
  const bad = () => [Float32Array.of(1e-3, 100), Float32Array.of(0)]; // 100 · 2^10 > 65504

  it("dynamic: halves and skips on overflow, doubles after growthInterval good steps", () => {
    const scaler = new LossScaler({ kind: "dynamic", initialScale: 2 ** 10, growthInterval: 3 });
    const script = [good, good, good, bad, good, bad, good, good, good, good];
    const steps = script.map((grads) => scaler.step(grads()));
    expect(steps.map((s) => s.scale)).toEqual([1024, 1024, 1024, 2048, 1024, 1024, 512, 512, 512, 1024]);
    expect(steps.map((s) => s.skip)).toEqual([false, false, false, true, false, true, false, false, false, false]);
    expect(steps.map((s) => s.nextScale)).toEqual([1024, 1024, 2048, 1024, 1024, 512, 512, 512, 1024, 1024]);
    expect(scaler.scale).toBe(1024);
    // A good step gives the gradients back to within fp16's relative precision.
    const [g] = steps[0].gradients;
    expect(Math.abs(g[0] - Math.fround(1e-3)) / 1e-3).toBeLessThanOrEqual(2 ** -11);
    expect(g[1]).toBe(-2.5);
    expect(steps[0].gradients[1][0]).toBe(2 ** -20);
    expect(steps[3].gradients[0][1]).toBe(Infinity);
  });

  it("dynamic: a NaN gradient also skips", () => {
    const scaler = new LossScaler({ kind: "dynamic" });
    expect(scaler.scale).toBe(65536);
    const step = scaler.step([Float32Array.of(0.5, NaN)]);
    expect(step).toMatchObject({ skip: true, scale: 65536, nextScale: 32768 });
  });

  it("static: the scale never changes; overflow is still reported", () => {
    const scaler = new LossScaler({ kind: "static", scale: 1024 });
    expect([good, bad, good].map((g) => scaler.step(g())).map((s) => [s.scale, s.skip])).toEqual([[1024, false], [1024, true], [1024, false]]);
  });

  it("rescues gradients below fp16's smallest subnormal (2^-24)", () => {
    const gradients = Float32Array.of(2 ** -26, -(2 ** -30), 1e-8, 1e-3, 0);
    expect(gradients.slice(0, 3).map(roundToFloat16).every((x) => x === 0)).toBe(true);
    const report = gradientUnderflow(gradients, 2 ** 16);
    expect(report).toMatchObject({ nonZero: 4, flushedWithoutScaling: 3, flushedWithScaling: 0 });
    expect(report.maxRelativeErrorWithScaling).toBeLessThanOrEqual(2 ** -11);
    const scaler = new LossScaler({ kind: "static", scale: 2 ** 16 });
    expect(Array.from(scaler.step([gradients]).gradients[0].slice(0, 2))).toEqual([2 ** -26, -(2 ** -30)]);
    expect(gradientUnderflow(gradients, 1).flushedWithScaling).toBe(3);
  });

  it("says what is wrong with its options", () => {
    expect(() => new LossScaler({ kind: "static", scale: 0 })).toThrow("LossScaler: scale must be a finite number > 0; got 0");
    expect(() => new LossScaler({ kind: "dynamic", initialScale: Infinity })).toThrow("LossScaler: scale must be a finite number > 0; got Infinity");
    expect(() => new LossScaler({ kind: "dynamic", growthInterval: 0 })).toThrow("LossScaler: growthInterval must be a positive integer; got 0");
    expect(() => new LossScaler({ kind: "dynamic", growthFactor: 1 })).toThrow("LossScaler: growthFactor must be a finite number > 1; got 1");
    expect(() => new LossScaler({ kind: "dynamic", backoffFactor: 1 })).toThrow("LossScaler: backoffFactor must be in (0, 1); got 1");
    expect(() => new LossScaler({ kind: "adaptive" } as unknown as { kind: "dynamic" })).toThrow('LossScaler: kind must be "static" or "dynamic"; got "adaptive"');
    expect(() => new LossScaler({ kind: "dynamic" }).step([[1, 2] as unknown as Float32Array])).toThrow("LossScaler.step: gradients[0] must be a Float32Array; got object");
    expect(() => gradientUnderflow(new Float32Array(1), -1)).toThrow("gradientUnderflow: scale must be a finite number > 0; got -1");
  });
});

describe("log2Histogram", () => {
  it("bins |x| by its binary exponent, clamps the ends, and counts zeros apart", () => {
    const values = Float32Array.from([1, 1.5, -1.99, 0.5, 2 ** -30, 2 ** 20, 0, -0.25]);
    const h = log2Histogram(values, -3, 1);
    expect(h.exponents).toEqual([-3, -2, -1, 0, 1]);
    // 2^-30 clamps into −3 and 2^20 into 1; 1, 1.5 and −1.99 lie in [1, 2); 0.5 in [0.5, 1); −0.25 in [0.25, 0.5).
    expect(h.shares.map((s) => s * 8)).toEqual([1, 1, 1, 3, 1]);
    expect(h.zeros).toBe(1 / 8);
    expect(() => log2Histogram(values, 2, 1)).toThrow("log2Histogram: lo and hi must be integers with lo < hi; got 2 and 1");
    expect(() => log2Histogram(Float32Array.from([NaN]), 0, 1)).toThrow("log2Histogram: values[0] must be a finite number; got NaN");
  });
});
