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
//
// The training engine emulates mixed precision with these: tensors stay float32 (TensorFlow.js
// has no fp16 arithmetic on CPU), but the values that real mixed-precision training would hold
// in fp16 or bf16 — matmul inputs and the gradients flowing back through them — are rounded to
// that format (roundToHalf, castHalf), while accumulation, softmax, the loss and the master
// weights stay in float32; loss scaling (LossScaler) keeps small fp16 gradients from flushing
// to zero. What is lost to rounding, underflow and overflow is then lost here too.
import * as tf from "@tensorflow/tfjs";
import { checkInteger, checkPositiveInteger, describeValue, shown } from "../core/checks";
import { sumTensors } from "./ops";

export type HalfFormat = "fp16" | "bf16";

interface FormatSpec {
  /** Significand bits including the implicit one. */
  precision: number;
  /** Smallest positive normal number. */
  minNormal: number;
  /** Largest finite number; anything that rounds above it becomes infinite. */
  maxFinite: number;
  /** Magnitudes above this count as overflow without rounding (keeps (2^s + 1)·x finite in float32). */
  splitLimit: number;
}

export const HALF_FORMATS: Record<HalfFormat, FormatSpec> = {
  fp16: { precision: 11, minNormal: 2 ** -14, maxFinite: 65504, splitLimit: 2 ** 17 },
  // bf16 keeps float32's exponent range; only the significand is shorter. Magnitudes above
  // 2^100 (never reached by this course's tensors) are treated as overflow.
  bf16: { precision: 8, minNormal: 2 ** -126, maxFinite: 3.3895313892515355e38, splitLimit: 2 ** 100 },
};

/**
 * Rounds float32 values to the nearest value of an fp16 or bf16 grid, with tensor ops only:
 * - normal range: Veltkamp's splitting, c = (2^s + 1)·x, hi = c − (c − x), which in float32
 *   arithmetic rounds x to 24 − s significant bits;
 * - subnormal range (fp16, |x| < 2^-14): a fixed grid of spacing 2^-24, by tf.round (half to even);
 * - beyond the largest finite value: ±infinity.
 * Halfway cases in the normal range may round away from even (Veltkamp's split does not
 * promise ties-to-even); the bit-exact conversions are below.
 */
export function roundToHalf(x: tf.Tensor, format: HalfFormat): tf.Tensor {
  if (!(format === "fp16" || format === "bf16")) throw new Error(`roundToHalf: format must be one of ${Object.keys(HALF_FORMATS).join(", ")}; got ${JSON.stringify(format)}`);
  const { precision, minNormal, maxFinite, splitLimit } = HALF_FORMATS[format];
  return tf.tidy(() => {
    const sigma = 2 ** (24 - precision) + 1;
    const abs = tf.abs(x);
    const clipped = tf.clipByValue(x, -splitLimit, splitLimit);
    const c = tf.mul(clipped, sigma);
    const normal = tf.sub(c, tf.sub(c, clipped));
    let out = normal;
    if (format === "fp16") {
      const spacing = 2 ** -24;
      const subnormal = tf.mul(tf.round(tf.div(x, spacing)), spacing);
      out = tf.where(tf.less(abs, minNormal), subnormal, normal);
    }
    // Overflow: values whose rounded magnitude exceeds the largest finite number. NaN stays NaN.
    const overflow = tf.logicalOr(tf.greater(tf.abs(out), maxFinite), tf.greater(abs, splitLimit));
    return tf.where(overflow, tf.mul(tf.sign(x), Infinity), out);
  });
}

/**
 * Identity in value up to rounding: the forward pass rounds to `format`, and so does the
 * gradient flowing back (as an fp16 activation gradient would be stored).
 */
export function castHalf(x: tf.Tensor, format: HalfFormat): tf.Tensor {
  const op = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = inputs[0] as tf.Tensor;
    return { value: roundToHalf(input, format), gradFunc: (dy: tf.Tensor) => [roundToHalf(dy, format)] };
  });
  return op(x);
}

/**
 * Identity in value and gradient; in the backward pass it hands a copy of the gradient flowing
 * through it to `probe`, as it arrives (before any rounding), kept out of any tf.tidy: the probe
 * owns it and disposes of it. How the course looks at activation gradients; the copy is read
 * later, asynchronously, since WebGPU cannot read a tensor synchronously in Node.js.
 */
export function probeGradient(x: tf.Tensor, probe: (gradient: tf.Tensor) => void): tf.Tensor {
  const op = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = inputs[0] as tf.Tensor;
    return {
      value: tf.clone(input),
      gradFunc: (dy: tf.Tensor) => {
        probe(tf.keep(tf.clone(dy)));
        return [tf.clone(dy)];
      },
    };
  });
  return op(x);
}

/** Whether every value of every tensor is finite (true for no tensors): one reduction and one read per call. */
export async function allFinite(tensors: tf.Tensor[]): Promise<boolean> {
  if (tensors.length === 0) return true; // nothing to overflow
  const bad = tf.tidy(() => sumTensors(tensors.map((t) => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(t)), "int32")))));
  const [count] = await bad.data();
  bad.dispose();
  return count === 0;
}

// ---------------------------------------------------------------------------------------------
// Bit-exact conversions, on plain numbers and typed arrays

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

export function checkFormat(fn: string, format: string): void {
  if (format !== "fp16" && format !== "bf16") throw new Error(`${fn}: format must be "fp16" or "bf16"; got ${shown(format)}`);
}

function checkBits16(fn: string, bits: number): void {
  checkInteger(fn, "bits", bits, 0, 0xffff);
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
      checkPositiveInteger(fn, "growthInterval", this.growthInterval);
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

  /** The scale and the good steps counted towards its next growth: what a resumed run restores. */
  saved(): { scale: number; goodSteps: number } {
    return { scale: this.currentScale, goodSteps: this.goodSteps };
  }

  /** Continues from what saved() returned. */
  restore(state: { scale: number; goodSteps: number }): void {
    checkInteger("LossScaler.restore", "goodSteps", state?.goodSteps, 0);
    if (!(state.scale > 0 && Number.isFinite(state.scale))) throw new Error(`LossScaler.restore: scale must be a finite number > 0; got ${shown(state.scale)}`);
    this.currentScale = state.scale;
    this.goodSteps = state.goodSteps;
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
