// AdamW (Loshchilov & Hutter): Adam's update with decoupled weight decay, bias correction and
// global-norm gradient clipping, one small group of elementwise ops per parameter tensor.
import * as tf from "@tensorflow/tfjs";
import { roundToBFloat16, roundToFloat16, roundToHalf, type HalfFormat } from "./precision";
import { sumTensors } from "./ops";
import { checkNumber, checkObject, shown } from "../core/checks";
import { tensorOf } from "../core/wasmKernels";

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay, applied to parameters marked `decay` only. */
  weightDecay: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  gradClip: number;
  /**
   * Where the weights live between steps: "fp32" (mixed precision's float32 master copy), or
   * fp16/bf16, rounding every weight after its update, so that an update smaller than half the
   * weight's spacing in that format is lost (the failure master weights exist to avoid). Default "fp32".
   */
  masterWeights?: "fp32" | HalfFormat;
}

function checkOptimizer(name: string, params: unknown[], c: AdamWConfig): void {
  checkObject(name, "config", c, "{ beta1, beta2, eps, weightDecay, gradClip }");
  if (params.length === 0) throw new Error(`${name}: no parameters to optimise`);
  for (const k of ["beta1", "beta2"] as const) if (!(c[k] >= 0 && c[k] < 1)) throw new Error(`${name}: ${k} must be in [0, 1); got ${c[k]}`);
  checkNumber(name, "eps", c.eps, Number.MIN_VALUE);
  checkNumber(name, "weightDecay", c.weightDecay, 0);
  checkNumber(name, "gradClip", c.gradClip, 0);
  if (!["fp32", "fp16", "bf16", undefined].includes(c.masterWeights)) {
    throw new Error(`${name}: masterWeights must be "fp32", "fp16" or "bf16"; got ${shown(c.masterWeights)}`);
  }
}

/**
 * AdamW over plain Float32Arrays. The state (m, v) and a copy of the weights live in JavaScript
 * (the weights read once, at the first step) and each parameter is written once per step: one
 * loop per tensor instead of a dozen tfjs ops, which on wasm cost more in dispatch than in
 * arithmetic (~800 ops a step for the baby GPT). The update is SliceAdamW's over all the
 * weights laid end to end. Every read is asynchronous, so the same code runs on webgpu, where
 * a synchronous read is impossible in Node.
 */
export class AdamW {
  private readonly vars: tf.Variable[];
  private readonly update: SliceAdamW;
  /** The weights laid end to end as the last update left them (what the variables hold). */
  private weights: Float32Array | undefined;
  /** Where a gradient given as tensors is laid end to end. */
  private flat: Float32Array | undefined;

  /** Optimises `params`; only those marked `decay` get weight decay. */
  constructor(params: { variable: tf.Variable; decay: boolean }[], c: AdamWConfig) {
    checkOptimizer("AdamW", params, c);
    this.vars = params.map((p) => p.variable);
    const size = this.vars.reduce((s, v) => s + v.size, 0);
    this.update = new SliceAdamW(params.map((p) => ({ size: p.variable.size, decay: p.decay })), 0, size, c);
  }

  get variables(): tf.Variable[] {
    return this.vars;
  }

  /** Parameters in all: the length of a flat gradient. */
  get size(): number {
    return this.update.to;
  }

  /**
   * Applies one update from `grads`, already averaged over micro-batches: one tensor per
   * variable, or all of them flat in `variables` order. Returns the global gradient norm before clipping.
   */
  async step(grads: tf.Tensor[] | Float32Array, learningRate: number): Promise<number> {
    checkNumber("AdamW.step", "learningRate", learningRate, 0);
    const flat = grads instanceof Float32Array ? this.checkFlat(grads) : await this.read(grads);
    this.weights ??= await this.readWeights();
    let sumSquares = 0;
    for (const g of spansOf(this.vars, flat)) sumSquares += sumOfSquares(g);
    const norm = Math.sqrt(sumSquares);
    this.update.update(flat, this.weights, learningRate, clipFactor(this.update.gradClip, norm));
    assignWeights(this.vars, this.weights);
    return norm;
  }

  private async read(grads: tf.Tensor[]): Promise<Float32Array> {
    if (grads.length !== this.vars.length) throw new Error(`AdamW.step: ${grads.length} gradients for ${this.vars.length} parameters`);
    grads.forEach((g, i) => {
      if (g.size !== this.vars[i].size) throw new Error(`AdamW.step: gradient ${i} has shape [${g.shape}]; its parameter has [${this.vars[i].shape}]`);
    });
    const flat = (this.flat ??= new Float32Array(this.size));
    const values = await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>));
    spansOf(this.vars, flat).forEach((span, i) => span.set(values[i]));
    return flat;
  }

  /** A copy of the variables' values laid end to end (the cpu backend hands out its own arrays, which must not change). */
  private async readWeights(): Promise<Float32Array> {
    const weights = new Float32Array(this.size);
    const values = await Promise.all(this.vars.map((x) => x.data() as Promise<Float32Array>));
    spansOf(this.vars, weights).forEach((span, i) => span.set(values[i]));
    return weights;
  }

  private checkFlat(flat: Float32Array): Float32Array {
    if (flat.length !== this.size) throw new Error(`AdamW.step: a flat gradient of ${flat.length} values for ${this.size} parameters`);
    return flat;
  }
}

/** Views of `flat`, one per variable, in order: the variables' values laid end to end. */
export function spansOf(vars: tf.Variable[], flat: Float32Array): Float32Array[] {
  let offset = 0;
  return vars.map((v) => flat.subarray(offset, (offset += v.size)));
}

/** Each variable takes its span of `weights` (copied: `weights` changes at the next update). */
export function assignWeights(vars: tf.Variable[], weights: Float32Array): void {
  spansOf(vars, weights).forEach((span, i) => {
    const t = tensorOf(span, vars[i].shape);
    vars[i].assign(t);
    t.dispose();
  });
}

/** Σ x² of a gradient, in float64. */
export function sumOfSquares(g: Float32Array): number {
  let s = 0;
  for (let j = 0; j < g.length; j++) s += g[j] * g[j];
  return s;
}

/** What global-norm clipping multiplies every gradient by (1: no clipping). */
export function clipFactor(gradClip: number, norm: number): number {
  return gradClip > 0 ? Math.min(1, gradClip / (norm + 1e-6)) : 1;
}

/** The scalars of update number `t` (from 1), shared by every weight it touches. */
export interface AdamWScalars {
  beta1: number;
  beta2: number;
  clip: number;
  /** Learning rate with Adam's bias correction folded in. */
  stepSize: number;
  /** Epsilon rescaled by the same correction. */
  epsHat: number;
  /** What decayed weights are multiplied by first (decoupled weight decay). */
  decayKeep: number;
  round: ((x: number) => number) | null;
}

export function adamwScalars(c: AdamWConfig, t: number, learningRate: number, clip: number): AdamWScalars {
  const { beta1, beta2, eps, weightDecay } = c;
  const masterWeights = c.masterWeights ?? "fp32";
  return {
    beta1, beta2, clip,
    stepSize: (learningRate * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t),
    epsHat: eps * Math.sqrt(1 - beta2 ** t),
    decayKeep: 1 - learningRate * weightDecay,
    round: masterWeights === "fp16" ? roundToFloat16 : masterWeights === "bf16" ? roundToBFloat16 : null,
  };
}

/** One AdamW update of weights p in place, from gradient g and moments m and v (all the same length). */
export function updateSpan(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamWScalars, decay: boolean): void {
  const { beta1, beta2, clip, stepSize, epsHat } = s;
  // Decoupled weight decay (Loshchilov & Hutter): shrink the weights directly, not through the gradient.
  const keep = decay ? s.decayKeep : 1;
  for (let j = 0; j < p.length; j++) {
    const gj = g[j] * clip;
    m[j] = beta1 * m[j] + (1 - beta1) * gj;
    v[j] = beta2 * v[j] + (1 - beta2) * gj * gj;
    p[j] = p[j] * keep - (stepSize * m[j]) / (Math.sqrt(v[j]) + epsHat);
  }
  if (s.round) for (let j = 0; j < p.length; j++) p[j] = s.round(p[j]);
}

/** AdamW's state over all the weights laid end to end: first and second moments, and updates made. */
export interface OptimizerMoments {
  m: Float32Array;
  v: Float32Array;
  t: number;
}

/** Refuses moments that do not cover `size` parameters or whose update count is not a count. */
export function checkMoments(where: string, moments: OptimizerMoments, size: number): void {
  for (const key of ["m", "v"] as const) {
    const x = moments?.[key];
    if (!(x instanceof Float32Array) || x.length !== size) {
      throw new Error(`${where}: moments.${key} must be a Float32Array of ${size} values (one per parameter); got ${x instanceof Float32Array ? `${x.length} values` : shown(x)}`);
    }
  }
  if (!(Number.isInteger(moments.t) && moments.t >= 0)) throw new Error(`${where}: moments.t must be an integer ≥ 0 (updates made); got ${shown(moments.t)}`);
}

/**
 * AdamW over one slice [from, to) of all parameters laid end to end, for data parallelism: each
 * thread updates its own slice of the shared weights and of the moments (which a team keeps in
 * shared memory, where the main thread can save them).
 * Given the same gradient and clip factor it computes exactly what AdamW does for those weights.
 */
export class SliceAdamW {
  private readonly spans: { from: number; to: number; decay: boolean }[] = [];
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t: number;

  /**
   * `parameters`: the size and decay flag of each parameter, in the order they are laid out.
   * `moments`, if given, holds m and v for all the parameters end to end (a data-parallel team
   * keeps them in shared memory, so a run can be saved and resumed) and `t` the updates already
   * made; this slice reads and writes [from, to) of them. Without it the moments start at zero.
   */
  constructor(
    parameters: { size: number; decay: boolean }[], readonly from: number, readonly to: number, private readonly c: AdamWConfig,
    moments?: OptimizerMoments,
  ) {
    checkOptimizer("SliceAdamW", parameters, c);
    let start = 0;
    for (const p of parameters) {
      const a = Math.max(start, from), b = Math.min(start + p.size, to);
      if (a < b) this.spans.push({ from: a, to: b, decay: p.decay });
      start += p.size;
    }
    if (moments) checkMoments("SliceAdamW", moments, start);
    this.m = moments ? moments.m.subarray(from, to) : new Float32Array(to - from);
    this.v = moments ? moments.v.subarray(from, to) : new Float32Array(to - from);
    this.t = moments?.t ?? 0;
  }

  /** The clipping threshold of the global gradient norm (0: none). */
  get gradClip(): number {
    return this.c.gradClip;
  }

  /** Updates weights[from, to) in place from grad[from, to), with the global clip factor. */
  update(grad: Float32Array, weights: Float32Array, learningRate: number, clip: number): void {
    this.t += 1;
    const s = adamwScalars(this.c, this.t, learningRate, clip);
    for (const { from, to, decay } of this.spans) {
      const local = (i: number) => i - this.from;
      updateSpan(weights.subarray(from, to), grad.subarray(from, to), this.m.subarray(local(from), local(to)), this.v.subarray(local(from), local(to)), s, decay);
    }
  }
}

/**
 * The same AdamW as tensor ops on the backend's device, for GPU backends: the state (m, v) lives
 * beside the weights and nothing is read back, so a step is queued without waiting for the GPU.
 * Arithmetic is float32 throughout (AdamW above accumulates in float64), so the two agree to
 * float32 rounding.
 */
export class DeviceAdamW {
  private readonly vars: tf.Variable[];
  private readonly decays: boolean[];
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;

  constructor(params: { variable: tf.Variable; decay: boolean }[], private readonly c: AdamWConfig) {
    checkOptimizer("DeviceAdamW", params, c);
    this.vars = params.map((p) => p.variable);
    this.decays = params.map((p) => p.decay);
    // Inside tidy, the zeros a variable starts from are freed; the variable is kept.
    this.m = this.vars.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    this.v = this.vars.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
  }

  get variables(): tf.Variable[] {
    return this.vars;
  }

  /** Applies one update; returns the global gradient norm before clipping, as a tensor (not read). */
  step(grads: tf.Tensor[], learningRate: number): tf.Scalar {
    checkNumber("DeviceAdamW.step", "learningRate", learningRate, 0);
    if (grads.length !== this.vars.length) throw new Error(`DeviceAdamW.step: ${grads.length} gradients for ${this.vars.length} parameters`);
    this.t += 1;
    const { beta1, beta2, eps, weightDecay, gradClip } = this.c;
    const t = this.t;
    const stepSize = (learningRate * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
    const epsHat = eps * Math.sqrt(1 - beta2 ** t);
    const format = this.c.masterWeights ?? "fp32";
    return tf.tidy(() => {
      const norm = tf.sqrt(sumTensors(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
      const clip = gradClip > 0 ? tf.minimum(1, tf.div(gradClip, tf.add(norm, 1e-6))) : tf.scalar(1);
      this.vars.forEach((p, i) => {
        const g = tf.mul(grads[i], clip);
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const keep = this.decays[i] ? 1 - learningRate * weightDecay : 1;
        const next = tf.sub(tf.mul(p, keep), tf.div(tf.mul(m, stepSize), tf.add(tf.sqrt(v), epsHat)));
        p.assign(format === "fp32" ? next : roundToHalf(next, format));
      });
      return norm;
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
