// Lesson 06's mixed-precision experiments on plain arrays: a matmul and attention the way tensor
// cores compute them (inputs in fp16 or bf16, accumulation in float32), and what fp16 storage does
// to small gradients. The formats themselves, bit-exact, and loss scaling are the engine's
// (lib/gpt/precision.ts); lib/efficiency/index.ts re-exports them for the lesson.
import { checkAttentionInputs, checkBufferSize, checkMatrix, checkScoresSize, naiveAttention, type AttentionOptions } from "./attention";
import { checkPositiveInteger, checkThat, refuse, shown } from "../core/checks";
import { checkFormat, roundToFloat16, roundToFormat, type HalfFormat } from "../gpt/precision";

/** max_i |a_i − b_i| (NaN if any difference is NaN). */
export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`maxAbsDifference: arrays must have the same length; got ${a.length} and ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i] - b[i]);
    if (!(diff <= max)) max = diff; // also catches NaN
  }
  return max;
}

// ---------------------------------------------------------------------------------------------
// Mixed-precision arithmetic

/**
 * C = A B for A [m, k], B [k, n], the way tensor cores do it: inputs rounded to fp16 or bf16,
 * every product and every partial sum rounded to float32 (Math.fround), output float32. The
 * product of two fp16 (11-bit) or bf16 (8-bit) significands fits in float32's 24 bits exactly,
 * so all the rounding is in the inputs and the accumulation.
 */
export function matmulLowPrecision(a: Float32Array, b: Float32Array, m: number, k: number, n: number, format: HalfFormat): Float32Array {
  const fn = "matmulLowPrecision";
  for (const [name, value] of [["m", m], ["k", k], ["n", n]] as const) checkPositiveInteger(fn, name, value);
  checkFormat(fn, format);
  checkMatrix(fn, "a", a, "[m, k]", m, k);
  checkMatrix(fn, "b", b, "[k, n]", k, n);
  checkBufferSize(fn, `the product c [m, n] = [${m}, ${n}]`, m * n, "choose a smaller m or n");
  const aLow = roundToFormat(a, format); // [m, k]
  const bLow = roundToFormat(b, format); // [k, n]
  const c = new Float32Array(m * n); // [m, n]
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc = Math.fround(acc + Math.fround(aLow[i * k + p] * bLow[p * n + j]));
      c[i * n + j] = acc;
    }
  }
  return c;
}

export interface MixedPrecisionAttentionOptions extends AttentionOptions {
  format: HalfFormat;
}

export interface MixedPrecisionAttentionResult {
  out: Float32Array; // [N, d]
  /** max |out − attention of the unrounded float32 inputs|. */
  maxAbsError: number;
}

/**
 * Attention with Q, K, V stored in fp16 or bf16 and everything after in float32: scores
 * accumulated with Math.fround at each step, softmax in float32, P V accumulated in float32
 * (P itself is not rounded to the low format here; tensor-core kernels usually do round it).
 * Compared against naiveAttention on the original float32 inputs.
 */
export function mixedPrecisionAttention(
  q: Float32Array, k: Float32Array, v: Float32Array, n: number, d: number, options: MixedPrecisionAttentionOptions,
): MixedPrecisionAttentionResult {
  const fn = "mixedPrecisionAttention";
  const { nKeys, causal } = checkAttentionInputs(fn, q, k, v, n, d, options ?? {});
  checkFormat(fn, options?.format);
  // It compares against naiveAttention, which holds [n, nKeys] scores: refused here, before the work.
  checkScoresSize(fn, n, nKeys, "choose a smaller n (the float32 reference is standard attention)");
  const f = Math.fround;
  const scale = f(1 / Math.sqrt(d));
  const qLow = roundToFormat(q, options.format); // [N, d]
  const kLow = roundToFormat(k, options.format); // [N_k, d]
  const vLow = roundToFormat(v, options.format); // [N_k, d]
  const out = new Float32Array(n * d); // [N, d]
  const row = new Float32Array(nKeys); // one row of scores, then probabilities [N_k]
  for (let i = 0; i < n; i++) {
    const visible = causal ? i + 1 : nKeys;
    let max = -Infinity;
    for (let j = 0; j < visible; j++) {
      let s = 0;
      for (let x = 0; x < d; x++) s = f(s + f(qLow[i * d + x] * kLow[j * d + x]));
      row[j] = f(s * scale);
      max = Math.max(max, row[j]);
    }
    let sum = 0;
    for (let j = 0; j < visible; j++) {
      row[j] = f(Math.exp(f(row[j] - max)));
      sum = f(sum + row[j]);
    }
    for (let x = 0; x < d; x++) {
      let acc = 0;
      for (let j = 0; j < visible; j++) acc = f(acc + f(row[j] * vLow[j * d + x]));
      out[i * d + x] = f(acc / sum);
    }
  }
  const reference = naiveAttention(q, k, v, n, d, { causal, nKeys }).out;
  return { out, maxAbsError: maxAbsDifference(out, reference) };
}

export interface GradientUnderflow {
  /** Non-zero gradients looked at. */
  nonZero: number;
  /** Of those, how many become 0 when stored in fp16 as they are. */
  flushedWithoutScaling: number;
  /** How many become 0 when stored as g·scale. */
  flushedWithScaling: number;
  /** max |unscaled − g| / |g| over the gradients that survive scaling. */
  maxRelativeErrorWithScaling: number;
}

/**
 * What fp16 storage does to small gradients: below 2^-25 they round to zero (2^-24 is the
 * smallest fp16 subnormal), unless they are scaled up first. The gradients must be finite. If
 * some g·scale overflows fp16 (beyond 65504), maxRelativeErrorWithScaling is Infinity: the scale
 * is too large. With no non-zero gradient, every count is 0.
 */
export function gradientUnderflow(gradients: Float32Array, scale: number): GradientUnderflow {
  checkThat(scale > 0 && Number.isFinite(scale), "gradientUnderflow", "scale", scale, "a finite number > 0");
  let nonZero = 0, flushedWithoutScaling = 0, flushedWithScaling = 0, maxRelativeErrorWithScaling = 0;
  for (let i = 0; i < gradients.length; i++) {
    const g = gradients[i];
    if (!Number.isFinite(g)) refuse("gradientUnderflow", `gradients[${i}]`, g, "a finite number");
    if (g === 0) continue;
    nonZero++;
    if (roundToFloat16(g) === 0) flushedWithoutScaling++;
    const stored = roundToFloat16(Math.fround(g * scale));
    if (stored === 0) flushedWithScaling++;
    else maxRelativeErrorWithScaling = Math.max(maxRelativeErrorWithScaling, Math.abs(Math.fround(stored / scale) - g) / Math.abs(g));
  }
  return { nonZero, flushedWithoutScaling, flushedWithScaling, maxRelativeErrorWithScaling };
}

const LOG2_HISTOGRAM_MAX_BINS = 10_000;

/**
 * Where values lie on a binary log scale: the share of `values` whose |x| falls in [2^e, 2^(e+1)),
 * for each e from `lo` to `hi` (the first and last bins also take what lies beyond), and the share
 * that is exactly zero. What a format can hold is then read off against its exponent range.
 */
export function log2Histogram(values: Float32Array, lo: number, hi: number): { exponents: number[]; shares: number[]; zeros: number } {
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || !(lo < hi)) throw new Error(`log2Histogram: lo and hi must be integers with lo < hi; got ${shown(lo)} and ${shown(hi)}`);
  // A float32's exponent lies in [-149, 127]: a few hundred bins hold every value there is.
  if (hi - lo + 1 > LOG2_HISTOGRAM_MAX_BINS) {
    throw new Error(`log2Histogram: lo and hi span ${hi - lo + 1} bins, more than ${LOG2_HISTOGRAM_MAX_BINS}; got ${shown(lo)} and ${shown(hi)} (float32 exponents lie in [-149, 127])`);
  }
  if (values.length === 0) throw new Error("log2Histogram: no values given");
  const counts = new Array<number>(hi - lo + 1).fill(0);
  let zeros = 0;
  for (const [i, x] of values.entries()) {
    if (!Number.isFinite(x)) refuse("log2Histogram", `values[${i}]`, x, "a finite number");
    if (x === 0) { zeros++; continue; }
    counts[Math.min(Math.max(Math.floor(Math.log2(Math.abs(x))), lo), hi) - lo]++;
  }
  return { exponents: counts.map((_, k) => lo + k), shares: counts.map((c) => c / values.length), zeros: zeros / values.length };
}
