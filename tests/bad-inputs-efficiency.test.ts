// Bad inputs at the doors of lib/efficiency: each must be refused with an error that names the
// function, the argument and its value (or the sizes and the memory they would need), never
// answered with a silently wrong result or a raw RangeError/TypeError.
import { describe, expect, it } from "vitest";

import { flashAttention, flashAttentionBackward, naiveAttention, naiveAttentionBackward } from "../lib/efficiency/attention";
import { compareAttention, randomAttentionInputs } from "../lib/efficiency/compare";
import { MemoryTracker } from "../lib/efficiency/memory";
import {
  fromBFloat16Array, fromFloat16Array, gradientUnderflow, log2Histogram, LossScaler, matmulLowPrecision, mixedPrecisionAttention, roundToFormat,
  toBFloat16Array, toFloat16Array,
} from "../lib/efficiency";

const x8 = Float32Array.of(1, 0, 0, 1, 0.5, -0.5, 2, 1); // [4, 2]
const big = (n: number, d: number) => new Float32Array(n * d); // zeros: finite, so only the size is wrong
const untyped = <T>(value: unknown) => value as T;

/** [what is called, the call, the error it must give]. */
const rows: [string, () => unknown, string | RegExp][] = [
  // Sizes that cannot fit in memory: refused before allocating, naming the sizes.
  ["naiveAttention, n = 20000, d = 1: [n, n] scores of 1.5 GiB", () => naiveAttention(big(20000, 1), big(20000, 1), big(20000, 1), 20000, 1),
    "naiveAttention: the scores [n, nKeys] = [20000, 20000] would hold 400,000,000 float32s (1.5 GiB); a working buffer may hold at most 268,435,456 (1 GiB); use flashAttention"],
  ["naiveAttentionBackward, n = 20000 with nKeys = 20000", () => naiveAttentionBackward(big(20000, 1), big(20000, 1), big(20000, 1), new Float32Array(4), big(20000, 1), 20000, 1),
    "naiveAttentionBackward: the scores [n, nKeys] = [20000, 20000] would hold 400,000,000 float32s (1.5 GiB)"],
  ["flashAttention, blocks 1e5 × 1e5 for n = 4", () => flashAttention(x8, x8, x8, 4, 2, { blockRows: 1e5, blockCols: 1e5 }),
    "flashAttention: a tile of [blockRows, blockCols] = [100000, 100000] scores would hold 10,000,000,000 float32s (37.3 GiB); a working buffer may hold at most 268,435,456 (1 GiB); choose smaller blocks"],
  ["flashAttentionBackward, blocks 1e5 × 1e5", () => flashAttentionBackward(x8, x8, x8, x8, x8, new Float32Array(4), 4, 2, { blockRows: 1e5, blockCols: 1e5 }),
    "flashAttentionBackward: a tile of [blockRows, blockCols] = [100000, 100000] scores would hold"],
  ["mixedPrecisionAttention, n = 20000: its float32 reference holds [n, n] scores", () => mixedPrecisionAttention(big(20000, 1), big(20000, 1), big(20000, 1), 20000, 1, { format: "fp16" }),
    "mixedPrecisionAttention: the scores [n, nKeys] = [20000, 20000] would hold 400,000,000 float32s"],
  ["matmulLowPrecision, a [20000, 1] times b [1, 20000]", () => matmulLowPrecision(big(20000, 1), big(1, 20000), 20000, 1, 20000, "bf16"),
    "matmulLowPrecision: the product c [m, n] = [20000, 20000] would hold 400,000,000 float32s (1.5 GiB)"],
  ["compareAttention, n = 20000", () => compareAttention(20000, 1),
    "compareAttention: the scores [n, nKeys] = [20000, 20000] would hold 400,000,000 float32s"],
  ["randomAttentionInputs, n·d = 2^30", () => randomAttentionInputs(2 ** 20, 2 ** 10),
    "randomAttentionInputs: each of q, k, v and dOut, [n, d] = [1048576, 1024], would hold 1,073,741,824 float32s (4.0 GiB)"],
  ["log2Histogram, hi = 1e10 bins", () => log2Histogram(Float32Array.of(1), 0, 1e10),
    "log2Histogram: lo and hi span 10000000001 bins, more than 10000; got 0 and 10000000000 (float32 exponents lie in [-149, 127])"],

  // Sizes and lengths that are not sizes.
  ["randomAttentionInputs, n = -1", () => randomAttentionInputs(-1, 4), "randomAttentionInputs: n must be a positive integer; got -1"],
  ["randomAttentionInputs, n NaN", () => randomAttentionInputs(NaN, 4), "randomAttentionInputs: n must be a positive integer; got NaN"],
  ["randomAttentionInputs, d = 0", () => randomAttentionInputs(4, 0), "randomAttentionInputs: d must be a positive integer; got 0"],
  ["compareAttention, d = 1.5", () => compareAttention(4, 1.5), "compareAttention: d must be a positive integer; got 1.5"],
  ["MemoryTracker.float32, length -1", () => new MemoryTracker("probe").float32(-1),
    "MemoryTracker.float32 (for probe): length must be an integer in [0, 268435456] (1 GiB of float32s); got -1"],
  ["MemoryTracker.float32, length NaN", () => new MemoryTracker("probe").float32(NaN), "MemoryTracker.float32 (for probe): length must be an integer in [0, 268435456] (1 GiB of float32s); got NaN"],
  ["MemoryTracker.float32, length 2^30", () => new MemoryTracker("probe").float32(2 ** 30), "MemoryTracker.float32 (for probe): length must be an integer in [0, 268435456] (1 GiB of float32s); got 1073741824"],

  // Arrays of the wrong kind, which the bit conversions would misread.
  ["toFloat16Array, a plain array", () => toFloat16Array(untyped([1, 2])), "toFloat16Array: x must be a Float32Array; got Array"],
  ["toFloat16Array, a Float64Array", () => toFloat16Array(untyped(Float64Array.of(1, 2))), "toFloat16Array: x must be a Float32Array; got Float64Array"],
  ["toBFloat16Array, a Float64Array", () => toBFloat16Array(untyped(Float64Array.of(1, 2))), "toBFloat16Array: x must be a Float32Array; got Float64Array"],
  ["fromFloat16Array, bits in a Float32Array", () => fromFloat16Array(untyped(Float32Array.of(1.5))), "fromFloat16Array: bits must be a Uint16Array (16-bit patterns); got Float32Array"],
  ["fromBFloat16Array, bits in a plain array", () => fromBFloat16Array(untyped([70000])), "fromBFloat16Array: bits must be a Uint16Array (16-bit patterns); got Array"],
  ["roundToFormat, a plain array", () => roundToFormat(untyped([1.1, 2.2]), "fp16"), "roundToFormat: x must be a Float32Array; got Array"],
  ["roundToFormat, a Float64Array", () => roundToFormat(untyped(Float64Array.of(1.1)), "bf16"), "roundToFormat: x must be a Float32Array; got Float64Array"],

  // Values that would silently poison the result.
  ["gradientUnderflow, a NaN gradient", () => gradientUnderflow(Float32Array.of(NaN, 1e-3), 1024), "gradientUnderflow: gradients[0] must be a finite number; got NaN"],
  ["gradientUnderflow, an infinite gradient", () => gradientUnderflow(Float32Array.of(1e-3, -Infinity), 1024), "gradientUnderflow: gradients[1] must be a finite number; got -Infinity"],

  // Options omitted (caught by the type checker, but cheap to name).
  ["mixedPrecisionAttention, options omitted", () => untyped<(...a: unknown[]) => unknown>(mixedPrecisionAttention)(x8, x8, x8, 4, 2),
    'mixedPrecisionAttention: format must be "fp16" or "bf16"; got undefined'],
  ["LossScaler, options omitted", () => new (untyped<new () => unknown>(LossScaler))(),
    'LossScaler: options must be { kind: "static", scale } or { kind: "dynamic", … }; got undefined'],
  ["LossScaler.step, gradients null", () => new LossScaler({ kind: "static", scale: 2 }).step(untyped(null)),
    "LossScaler.step: gradients must be an array of Float32Arrays; got null"],
];

describe("lib/efficiency refuses bad inputs at the door, naming the argument and its value", () => {
  for (const [what, call, message] of rows) {
    it(what, () => expect(call).toThrow(message));
  }

  it("keeps valid inputs working: huge finite values round to Infinity, NaN stays NaN", () => {
    expect(Array.from(roundToFormat(Float32Array.of(1e6, NaN, 1), "fp16"))).toEqual([Infinity, NaN, 1]);
    expect(Array.from(fromFloat16Array(toFloat16Array(Float32Array.of(-1e6, 0.5))))).toEqual([-Infinity, 0.5]);
    expect(gradientUnderflow(Float32Array.of(1), 2 ** 20).maxRelativeErrorWithScaling).toBe(Infinity); // overflow: scale too large
    expect(new MemoryTracker("t").float32(0).length).toBe(0);
    expect(flashAttention(x8, x8, x8, 4, 2, { blockRows: 1000, blockCols: 1000 }).out.length).toBe(8);
  });
});
