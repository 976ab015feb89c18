// Emulated mixed precision for the training engine: tensors stay float32 (TensorFlow.js has
// no fp16 arithmetic on CPU), but the values that real mixed-precision training would hold
// in fp16 or bf16 — matmul inputs and the gradients flowing back through them — are
// rounded to that format, while accumulation, softmax, the loss and the master weights stay
// in float32. What is lost to rounding, underflow and overflow is then lost here too.
import * as tf from "@tensorflow/tfjs";
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
 * promise ties-to-even); the bit-exact conversions are in lib/efficiency/precision.ts.
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

/** Whether every value of every tensor is finite (true for no tensors): one reduction and one read per call. */
export async function allFinite(tensors: tf.Tensor[]): Promise<boolean> {
  if (tensors.length === 0) return true; // nothing to overflow
  const bad = tf.tidy(() => sumTensors(tensors.map((t) => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(t)), "int32")))));
  const [count] = await bad.data();
  bad.dispose();
  return count === 0;
}
