// Low-precision number formats, bit-exact: IEEE 754 binary16 ("fp16") and bfloat16 ("bf16").
//
//          sign  exponent  fraction  unit roundoff u   largest finite   smallest normal  smallest subnormal
//   fp32     1      8         23       2^-24            ≈ 3.4e38          2^-126           2^-149
//   fp16     1      5         10       2^-11            65504             2^-14            2^-24
//   bf16     1      8          7       2^-8             ≈ 3.39e38         2^-126           2^-133
//
// fp16 keeps more precision but little range: gradients below 2^-24 become 0 and values above
// 65504 become infinity, which is why fp16 training needs loss scaling. bf16 is the top half of
// an fp32 (same range, 8 significant bits), so it rarely over- or underflows but rounds coarsely.
// Conversions round to nearest, ties to even, as hardware does.

import type { HalfFormat } from "../gpt/mixed";
import { checkAttentionInputs, checkBufferSize, checkMatrix, checkScoresSize, naiveAttention, type AttentionOptions } from "./attention";
import { describeValue, shown } from "../core/checks";

export interface FloatFormat {
  /** Bits of fraction stored (the significand has one more, implicit). */
  fractionBits: number;
  exponentBits: number;
  /** u = 2^-(fractionBits + 1): |round(x) − x| ≤ u·|x| for x in the normal range. */
  unitRoundoff: number;
  maxFinite: number;
  minNormal: number;
  minSubnormal: number;
}

export const FLOAT_FORMATS: Record<HalfFormat | "fp32", FloatFormat> = {
  fp32: { fractionBits: 23, exponentBits: 8, unitRoundoff: 2 ** -24, maxFinite: (2 - 2 ** -23) * 2 ** 127, minNormal: 2 ** -126, minSubnormal: 2 ** -149 },
  fp16: { fractionBits: 10, exponentBits: 5, unitRoundoff: 2 ** -11, maxFinite: 65504, minNormal: 2 ** -14, minSubnormal: 2 ** -24 },
  bf16: { fractionBits: 7, exponentBits: 8, unitRoundoff: 2 ** -8, maxFinite: (2 - 2 ** -7) * 2 ** 127, minNormal: 2 ** -126, minSubnormal: 2 ** -133 },
};

// One float32 seen as its 32 bits.
const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

function checkFormat(fn: string, format: string): void {
  if (format !== "fp16" && format !== "bf16") throw new Error(`${fn}: format must be "fp16" or "bf16"; got ${shown(format)}`);
}

function checkBits16(fn: string, bits: number): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > 0xffff) throw new Error(`${fn}: bits must be an integer in [0, 65535]; got ${shown(bits)}`);
}

// The array conversions read a Float32Array's bytes as 32-bit patterns: any other array would be
// read wrongly (a Float64Array's 8-byte floats as pairs of garbage) or as empty (a plain array).
function checkFloat32Array(fn: string, name: string, x: Float32Array): void {
  if (!(x instanceof Float32Array)) throw new Error(`${fn}: ${name} must be a Float32Array; got ${describeValue(x)}`);
}

function checkUint16Array(fn: string, bits: Uint16Array): void {
  if (!(bits instanceof Uint16Array)) throw new Error(`${fn}: bits must be a Uint16Array (16-bit patterns); got ${describeValue(bits)}`);
}

// ---------------------------------------------------------------------------------------------
// fp16

/** float32 bit pattern → binary16 bit pattern, round to nearest even. */
function float32BitsToFloat16Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exponent = (f >>> 23) & 0xff; // biased by 127
  const fraction = f & 0x7fffff;
  if (exponent === 0xff) {
    // Infinity stays infinity; NaN stays NaN, quiet bit set, top of its payload kept.
    return fraction === 0 ? sign | 0x7c00 : sign | 0x7e00 | (fraction >>> 13);
  }
  const e = exponent - 127 + 15; // the exponent re-biased for fp16
  if (e >= 0x1f) return sign | 0x7c00; // ≥ 2^16: beyond the largest finite fp16 (65504)
  if (e <= 0) {
    // fp16 subnormal (or zero): the value in units of 2^-24, rounded to an integer.
    // Below 2^-25 (e < -10) everything rounds to zero, and 2^-25 itself ties to even: zero.
    if (e < -10) return sign;
    const significand = fraction | 0x800000; // the implicit leading 1: 24 bits
    const shift = 14 - e; // value / 2^-24 = significand / 2^shift
    const kept = significand >>> shift;
    const rest = significand & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    // Rounding up from the largest subnormal gives 0x400, the smallest normal: correct bits.
    return sign | (rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept);
  }
  // Normal: keep the top 10 of 23 fraction bits and round on the 13 dropped ones. A carry out of
  // the fraction increments the exponent, which is right, and past 65504 it reaches 0x7c00 (∞).
  const kept = (e << 10) | (fraction >>> 13);
  const rest = fraction & 0x1fff;
  return sign | (rest > 0x1000 || (rest === 0x1000 && (kept & 1) === 1) ? kept + 1 : kept);
}

/** The binary16 bits nearest to x (x is first taken as a float32, as in a Float32Array). */
export function toFloat16Bits(x: number): number {
  scratchFloat[0] = x;
  return float32BitsToFloat16Bits(scratchBits[0]);
}

/** The value of binary16 bits: (−1)^s · 2^(e−15) · 1.f, or 2^-14 · 0.f when e = 0. Exact. */
export function fromFloat16Bits(bits: number): number {
  checkBits16("fromFloat16Bits", bits);
  const negative = (bits & 0x8000) !== 0;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  let value: number;
  if (exponent === 0x1f) value = fraction === 0 ? Infinity : NaN;
  else if (exponent === 0) value = fraction * 2 ** -24;
  else value = (1 + fraction / 1024) * 2 ** (exponent - 15);
  return negative ? -value : value;
}


// ---------------------------------------------------------------------------------------------
// bf16

/** float32 bit pattern → bfloat16 bit pattern: the upper 16 bits, rounded to nearest even. */
function float32BitsToBFloat16Bits(f: number): number {
  if ((f & 0x7f800000) === 0x7f800000 && (f & 0x7fffff) !== 0) return (f >>> 16) | 0x0040; // NaN stays a (quiet) NaN
  const kept = f >>> 16;
  const rest = f & 0xffff;
  // A carry propagates into the exponent; from the largest finite bf16 it gives 0x7f80 (∞).
  return rest > 0x8000 || (rest === 0x8000 && (kept & 1) === 1) ? kept + 1 : kept;
}

/** The bfloat16 bits nearest to x (x is first taken as a float32). */
export function toBFloat16Bits(x: number): number {
  scratchFloat[0] = x;
  return float32BitsToBFloat16Bits(scratchBits[0]);
}

/** The value of bfloat16 bits: they are the upper half of a float32. Exact. */
export function fromBFloat16Bits(bits: number): number {
  checkBits16("fromBFloat16Bits", bits);
  scratchBits[0] = bits << 16;
  return scratchFloat[0];
}

// ---------------------------------------------------------------------------------------------
// Both formats: round trips and whole arrays, from the bit conversions above

/** Each float32's bit pattern through `convert`: an array in a 16-bit format. */
function toHalfArray(x: Float32Array, convert: (float32Bits: number) => number): Uint16Array {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  return Uint16Array.from(bits, convert);
}

// As in hardware, rounding never fails: NaN stays NaN, ±Infinity stays ±Infinity, and finite values
// beyond the format's largest finite one (65504 for fp16, ≈ 3.39e38 for bf16) become ±Infinity.

/** x after a round trip through fp16 (NaN stays NaN; |x| ≥ 65520 becomes ±Infinity). */
export function roundToFloat16(x: number): number { return fromFloat16Bits(toFloat16Bits(x)); }
/** The fp16 bits of each element of a Float32Array (NaN stays NaN; |x| ≥ 65520 becomes ±Infinity). */
export function toFloat16Array(x: Float32Array): Uint16Array {
  checkFloat32Array("toFloat16Array", "x", x);
  return toHalfArray(x, float32BitsToFloat16Bits);
}
/** The values of fp16 bit patterns held in a Uint16Array. */
export function fromFloat16Array(bits: Uint16Array): Float32Array {
  checkUint16Array("fromFloat16Array", bits);
  return Float32Array.from(bits, fromFloat16Bits);
}

/** x after a round trip through bf16 (NaN stays NaN; beyond ≈ 3.39e38 becomes ±Infinity). */
export function roundToBFloat16(x: number): number { return fromBFloat16Bits(toBFloat16Bits(x)); }
/** The bf16 bits of each element of a Float32Array (NaN stays NaN; beyond ≈ 3.39e38 becomes ±Infinity). */
export function toBFloat16Array(x: Float32Array): Uint16Array {
  checkFloat32Array("toBFloat16Array", "x", x);
  return toHalfArray(x, float32BitsToBFloat16Bits);
}
/** The values of bf16 bit patterns held in a Uint16Array. */
export function fromBFloat16Array(bits: Uint16Array): Float32Array {
  checkUint16Array("fromBFloat16Array", bits);
  return Float32Array.from(bits, fromBFloat16Bits);
}

/**
 * Every element of a Float32Array rounded to the format, as float32 (the values the format can
 * hold). NaN stays NaN; values beyond the format's largest finite one become ±Infinity.
 */
export function roundToFormat(x: Float32Array, format: HalfFormat): Float32Array {
  checkFormat("roundToFormat", format);
  checkFloat32Array("roundToFormat", "x", x);
  return format === "fp16" ? fromFloat16Array(toFloat16Array(x)) : fromBFloat16Array(toBFloat16Array(x));
}

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
  for (const [name, value] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${fn}: ${name} must be a positive integer; got ${shown(value)}`);
  }
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

// ---------------------------------------------------------------------------------------------
// Loss scaling

export type LossScalerOptions =
  | { kind: "static"; scale: number }
  | {
    kind: "dynamic";
    /** Default 2^16. */
    initialScale?: number;
    /** Steps without overflow before the scale grows; default 2000. */
    growthInterval?: number;
    /** Default 2. */
    growthFactor?: number;
    /** Default 0.5. */
    backoffFactor?: number;
  };

export interface LossScaleStep {
  /** The gradients after the trip through fp16 at `scale`, unscaled to float32. */
  gradients: Float32Array[];
  /** Some gradient overflowed to ±∞ or NaN in fp16: do not apply this step. */
  skip: boolean;
  /** The scale this step used. */
  scale: number;
  /** The scale the next step will use. */
  nextScale: number;
}

/**
 * Loss scaling for fp16 training. Multiplying the loss by s multiplies every gradient by s, which
 * lifts small gradients out of fp16's underflow range; dividing by s afterwards (in float32)
 * gives the true gradients back. Too large an s overflows to infinity instead. A static scaler
 * keeps s fixed; a dynamic one halves s and skips the step on overflow, and doubles s after
 * `growthInterval` steps in a row without one (as PyTorch's GradScaler does).
 */
export class LossScaler {
  readonly kind: "static" | "dynamic";
  private currentScale: number;
  private goodSteps = 0;
  private readonly growthInterval: number;
  private readonly growthFactor: number;
  private readonly backoffFactor: number;

  constructor(options: LossScalerOptions) {
    const fn = "LossScaler";
    if (options === undefined || options === null) throw new Error(`${fn}: options must be { kind: "static", scale } or { kind: "dynamic", … }; got ${shown(options)}`);
    this.kind = options.kind;
    if (options.kind === "static") {
      this.currentScale = options.scale;
      this.growthInterval = Infinity;
      this.growthFactor = 1;
      this.backoffFactor = 1;
    } else if (options.kind === "dynamic") {
      this.currentScale = options.initialScale ?? 2 ** 16;
      this.growthInterval = options.growthInterval ?? 2000;
      this.growthFactor = options.growthFactor ?? 2;
      this.backoffFactor = options.backoffFactor ?? 0.5;
      if (!Number.isInteger(this.growthInterval) || this.growthInterval <= 0) throw new Error(`${fn}: growthInterval must be a positive integer; got ${shown(this.growthInterval)}`);
      if (!(this.growthFactor > 1) || !Number.isFinite(this.growthFactor)) throw new Error(`${fn}: growthFactor must be a finite number > 1; got ${shown(this.growthFactor)}`);
      if (!(this.backoffFactor > 0 && this.backoffFactor < 1)) throw new Error(`${fn}: backoffFactor must be in (0, 1); got ${shown(this.backoffFactor)}`);
    } else {
      throw new Error(`${fn}: kind must be "static" or "dynamic"; got ${shown((options as { kind: unknown }).kind)}`);
    }
    if (!(this.currentScale > 0) || !Number.isFinite(this.currentScale)) throw new Error(`${fn}: scale must be a finite number > 0; got ${shown(this.currentScale)}`);
  }

  get scale(): number {
    return this.currentScale;
  }

  /**
   * One step: scale the float32 gradients by s (what the backward pass of s·loss produces),
   * store them in fp16, check for ±∞/NaN, unscale in float32, then update s.
   */
  step(gradients: Float32Array[]): LossScaleStep {
    if (!Array.isArray(gradients)) throw new Error(`LossScaler.step: gradients must be an array of Float32Arrays; got ${describeValue(gradients)}`);
    const scale = this.currentScale;
    let overflow = false;
    const unscaled = gradients.map((g, index) => {
      if (!(g instanceof Float32Array)) throw new Error(`LossScaler.step: gradients[${index}] must be a Float32Array; got ${g === null ? "null" : typeof g}`);
      const out = new Float32Array(g.length);
      for (let i = 0; i < g.length; i++) {
        const stored = roundToFloat16(Math.fround(g[i] * scale)); // scaled gradient as fp16
        if (!Number.isFinite(stored)) overflow = true;
        out[i] = Math.fround(stored / scale);
      }
      return out;
    });
    this.record(overflow);
    return { gradients: unscaled, skip: overflow, scale, nextScale: this.currentScale };
  }

  /**
   * Updates the scale after a step whose scaled gradients did (or did not) overflow, for
   * callers that check gradients themselves (the training engine). Returns whether the step's
   * update may be applied.
   */
  record(overflowed: boolean): boolean {
    if (this.kind === "dynamic") {
      if (overflowed) {
        this.currentScale *= this.backoffFactor;
        this.goodSteps = 0;
      } else if (++this.goodSteps >= this.growthInterval) {
        this.currentScale *= this.growthFactor;
        this.goodSteps = 0;
      }
    }
    return !overflowed;
  }
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
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`gradientUnderflow: scale must be a finite number > 0; got ${shown(scale)}`);
  let nonZero = 0, flushedWithoutScaling = 0, flushedWithScaling = 0, maxRelativeErrorWithScaling = 0;
  for (let i = 0; i < gradients.length; i++) {
    const g = gradients[i];
    if (!Number.isFinite(g)) throw new Error(`gradientUnderflow: gradients[${i}] is ${g}; expected finite gradients`);
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
    if (!Number.isFinite(x)) throw new Error(`log2Histogram: value ${i} is ${x}; expected finite values`);
    if (x === 0) { zeros++; continue; }
    counts[Math.min(Math.max(Math.floor(Math.log2(Math.abs(x))), lo), hi) - lo]++;
  }
  return { exponents: counts.map((_, k) => lo + k), shares: counts.map((c) => c / values.length), zeros: zeros / values.length };
}
