// Pretraining loop: AdamW with decoupled weight decay, linear warmup then cosine decay,
// global-norm clipping, gradient accumulation, periodic validation, seeded batches.
// Everything stays in tensors on the chosen backend except one scalar per step (the loss),
// which is read to stop on NaN and to report progress.
import * as tf from "@tensorflow/tfjs";

import { sampleBatch } from "../data";
import { Random } from "../random";
import { LossScaler } from "../efficiency/precision";
import { allFinite, type HalfFormat } from "./mixed";
import { parameterSpecs, flopsPerToken, type GPT } from "./model";

export interface TrainConfig {
  /** Optimizer steps. */
  steps: number;
  /** Sequences per micro-batch. */
  batchSize: number;
  /** Micro-batches whose gradients are averaged into one step (effective batch = batchSize × this). */
  gradAccumSteps: number;
  /** Peak learning rate, reached after warmup. */
  learningRate: number;
  /** Learning rate at the end of the cosine decay. */
  minLearningRate: number;
  warmupSteps: number;
  /** Steps over which the learning rate decays to its minimum (default: steps). */
  decaySteps?: number;
  /** Decoupled weight decay (AdamW), applied to 2-D weights only. */
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  gradClip: number;
  /** Estimate train and validation loss every this many steps (0: only at the end). */
  evalInterval: number;
  /** Batches per loss estimate (0: never estimate). */
  evalBatches: number;
  /** Seeds batch sampling and dropout. */
  seed: number;
  /** "fp32", or emulated mixed precision with fp16 or bf16 matmul inputs and float32 master weights. */
  precision: "fp32" | HalfFormat;
  /** Loss scaling under mixed precision: "dynamic", a fixed factor, or 1 for none. */
  lossScale: "dynamic" | number;
  /** Where dynamic loss scaling starts. */
  initialLossScale: number;
}

export const DEFAULT_TRAIN: TrainConfig = {
  steps: 2000, batchSize: 12, gradAccumSteps: 1, learningRate: 1e-3, minLearningRate: 1e-4, warmupSteps: 100,
  weightDecay: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, gradClip: 1.0, evalInterval: 250, evalBatches: 20, seed: 1337,
  precision: "fp32", lossScale: 1, initialLossScale: 2 ** 15,
};

export function validateTrainConfig(c: TrainConfig): TrainConfig {
  const ints: (keyof TrainConfig)[] = ["steps", "batchSize", "gradAccumSteps"];
  for (const k of ints) if (!Number.isInteger(c[k]) || (c[k] as number) < 1) throw new Error(`TrainConfig.${k} must be a positive integer; got ${c[k]}`);
  for (const k of ["warmupSteps", "evalInterval"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) throw new Error(`TrainConfig.${k} must be a non-negative integer; got ${c[k]}`);
  }
  if (!Number.isInteger(c.evalBatches) || c.evalBatches < 0) throw new Error(`TrainConfig.evalBatches must be a non-negative integer; got ${c.evalBatches}`);
  if (!(c.learningRate > 0)) throw new Error(`TrainConfig.learningRate must be positive; got ${c.learningRate}`);
  if (!(c.minLearningRate >= 0 && c.minLearningRate <= c.learningRate)) {
    throw new Error(`TrainConfig.minLearningRate must be in [0, learningRate = ${c.learningRate}]; got ${c.minLearningRate}`);
  }
  for (const k of ["beta1", "beta2"] as const) if (!(c[k] >= 0 && c[k] < 1)) throw new Error(`TrainConfig.${k} must be in [0, 1); got ${c[k]}`);
  for (const k of ["weightDecay", "gradClip"] as const) if (!(c[k] >= 0)) throw new Error(`TrainConfig.${k} must be ≥ 0; got ${c[k]}`);
  if (!(c.eps > 0)) throw new Error(`TrainConfig.eps must be positive; got ${c.eps}`);
  if (!["fp32", "fp16", "bf16"].includes(c.precision)) throw new Error(`TrainConfig.precision must be "fp32", "fp16" or "bf16"; got ${JSON.stringify(c.precision)}`);
  if (!(c.lossScale === "dynamic" || c.lossScale > 0)) throw new Error(`TrainConfig.lossScale must be "dynamic" or a positive number; got ${JSON.stringify(c.lossScale)}`);
  return c;
}

/** Linear warmup from 0 to the peak, then cosine decay to the minimum (nanoGPT's get_lr). */
export function learningRateAt(step: number, c: Pick<TrainConfig, "learningRate" | "minLearningRate" | "warmupSteps" | "decaySteps" | "steps">): number {
  const decaySteps = c.decaySteps ?? c.steps;
  if (step < c.warmupSteps) return (c.learningRate * (step + 1)) / (c.warmupSteps + 1);
  if (step >= decaySteps) return c.minLearningRate;
  const progress = (step - c.warmupSteps) / Math.max(1, decaySteps - c.warmupSteps);
  return c.minLearningRate + 0.5 * (1 + Math.cos(Math.PI * progress)) * (c.learningRate - c.minLearningRate);
}

/**
 * AdamW, one small group of elementwise ops per parameter tensor. (A single flat vector
 * would mean fewer ops, but splitting it back costs more than it saves on wasm, whose
 * slice reads the whole input for every piece.)
 */
export class AdamW {
  private readonly vars: tf.Variable[];
  private readonly decays: boolean[];
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;

  /** Optimises `params`; only those marked `decay` get weight decay. */
  constructor(params: { variable: tf.Variable; decay: boolean }[], private readonly c: Pick<TrainConfig, "beta1" | "beta2" | "eps" | "weightDecay" | "gradClip">) {
    if (params.length === 0) throw new Error("AdamW: no parameters to optimise");
    this.vars = params.map((p) => p.variable);
    this.decays = params.map((p) => p.decay);
    const zeros = () => this.vars.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    this.m = zeros();
    this.v = zeros();
  }

  get variables(): tf.Variable[] {
    return this.vars;
  }

  /**
   * Applies one update from `grads` (in `variables` order, already averaged over micro-batches).
   * Returns the global gradient norm before clipping, as a scalar tensor (caller disposes).
   */
  step(grads: tf.Tensor[], learningRate: number): tf.Scalar {
    if (grads.length !== this.vars.length) throw new Error(`AdamW.step: ${grads.length} gradients for ${this.vars.length} parameters`);
    this.t += 1;
    const { beta1, beta2, eps, weightDecay, gradClip } = this.c;
    const t = this.t;
    // Bias correction folded into one scalar step size and a rescaled epsilon.
    const stepSize = (learningRate * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
    const epsHat = eps * Math.sqrt(1 - beta2 ** t);
    return tf.tidy(() => {
      const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
      const clip = gradClip > 0 ? tf.minimum(1, tf.div(gradClip, tf.add(norm, 1e-6))) : null;
      this.vars.forEach((p, i) => {
        const g = clip ? tf.mul(grads[i], clip) : grads[i];
        const m = tf.add(tf.mul(beta1, this.m[i]), tf.mul(1 - beta1, g));
        const v = tf.add(tf.mul(beta2, this.v[i]), tf.mul(1 - beta2, tf.square(g)));
        this.m[i].assign(m);
        this.v[i].assign(v);
        // Decoupled weight decay (Loshchilov & Hutter): shrink the weights directly, not through the gradient.
        const decayed = this.decays[i] && weightDecay > 0 ? tf.mul(p, 1 - learningRate * weightDecay) : p;
        p.assign(tf.sub(decayed, tf.div(tf.mul(stepSize, m), tf.add(tf.sqrt(v), epsHat))));
      });
      return norm;
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

/** Every parameter of a model with its weight-decay flag, in checkpoint order. */
export function modelParameters(model: GPT): { variable: tf.Variable; decay: boolean }[] {
  return parameterSpecs(model.config).map((s) => ({ variable: model.params.get(s.name)!, decay: s.decay }));
}

export interface StepInfo {
  step: number;
  /** Training loss of this step (mean over its micro-batches). */
  loss: number;
  /** The loss scale in use (1 without loss scaling). */
  lossScale: number;
  /** Whether the update was skipped because a scaled gradient overflowed. */
  skipped: boolean;
  learningRate: number;
  gradNorm: number;
  tokens: number;
  elapsedSeconds: number;
  tokensPerSecond: number;
}

export interface EvalInfo {
  step: number;
  trainLoss: number;
  valLoss: number;
  tokens: number;
  elapsedSeconds: number;
}

export interface TrainCallbacks {
  onStep?: (info: StepInfo) => void;
  onEval?: (info: EvalInfo) => void;
  /** Return true to stop after this evaluation (e.g. a target loss was reached). */
  shouldStop?: (info: EvalInfo) => boolean;
}

export interface TrainResult {
  steps: StepInfo[];
  evals: EvalInfo[];
  tokens: number;
  seconds: number;
  /** Training FLOPs by the 6N + attention estimate (flopsPerToken × tokens). */
  flops: number;
}

export class TrainingDivergedError extends Error {}

/** A macrotask boundary: lets I/O queued by callbacks (kernel messages) go out. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Mean loss over `batches` random batches, without dropout or gradients. */
export function estimateLoss(model: GPT, ids: Int32Array, batches: number, batchSize: number, random: Random): number {
  const T = model.config.blockSize;
  let sum = 0;
  for (let i = 0; i < batches; i++) {
    const b = sampleBatch(ids, batchSize, T, random);
    const loss = tf.tidy(() => model.loss(b.x, b.y, batchSize, T));
    sum += loss.dataSync()[0];
    loss.dispose();
  }
  return sum / batches;
}

/**
 * Trains `model` in place on token ids. Deterministic for a given seed and backend.
 * Throws TrainingDivergedError, naming the step, if the loss becomes NaN or infinite.
 */
export async function train(model: GPT, data: { train: Int32Array; val: Int32Array }, config: Partial<TrainConfig> = {}, callbacks: TrainCallbacks = {}): Promise<TrainResult> {
  const c = validateTrainConfig({ ...DEFAULT_TRAIN, ...config });
  const T = model.config.blockSize;
  for (const [name, ids] of Object.entries(data)) {
    if (ids.length < T + 1) throw new Error(`train: the ${name} split has ${ids.length} tokens; a batch needs at least blockSize + 1 = ${T + 1}`);
  }
  const batchRandom = new Random(c.seed);
  const evalRandom = new Random(c.seed + 1);
  const optimizer = new AdamW(modelParameters(model), c);
  const vars = optimizer.variables;
  const tokensPerStep = c.batchSize * c.gradAccumSteps * T;
  const precision = c.precision === "fp32" ? undefined : c.precision;
  // Growth every 200 good steps (PyTorch waits 2000): the course's runs are short.
  const scaler = new LossScaler(c.lossScale === "dynamic" ? { kind: "dynamic", initialScale: c.initialLossScale, growthInterval: 200 } : { kind: "static", scale: c.lossScale });
  const started = performance.now();
  const result: TrainResult = { steps: [], evals: [], tokens: 0, seconds: 0, flops: 0 };
  const evaluate = (step: number): boolean => {
    const info: EvalInfo = {
      step,
      trainLoss: estimateLoss(model, data.train, c.evalBatches, c.batchSize, evalRandom),
      valLoss: estimateLoss(model, data.val, c.evalBatches, c.batchSize, evalRandom),
      tokens: result.tokens,
      elapsedSeconds: (performance.now() - started) / 1000,
    };
    result.evals.push(info);
    callbacks.onEval?.(info);
    return callbacks.shouldStop?.(info) ?? false;
  };

  try {
    for (let step = 0; step < c.steps; step++) {
      const lr = learningRateAt(step, c);
      let lossSum = 0;
      let summed: tf.Tensor[] | null = null;
      for (let micro = 0; micro < c.gradAccumSteps; micro++) {
        const b = sampleBatch(data.train, c.batchSize, T, batchRandom);
        const seed = c.seed + step * c.gradAccumSteps + micro;
        const scale = scaler.scale;
        const { value, grads } = tf.variableGrads(
          () => tf.mul(model.loss(b.x, b.y, c.batchSize, T, { training: true, dropoutSeed: seed, precision }), scale) as tf.Scalar,
          vars,
        );
        lossSum += value.dataSync()[0] / scale;
        value.dispose();
        const ordered = vars.map((v) => grads[v.name]);
        if (summed === null) summed = ordered;
        else {
          const previous: tf.Tensor[] = summed;
          summed = previous.map((s, i) => tf.add(s, ordered[i]));
          tf.dispose([...previous, ...ordered]);
        }
      }
      const loss = lossSum / c.gradAccumSteps;
      if (!Number.isFinite(loss)) {
        tf.dispose(summed!);
        throw new TrainingDivergedError(
          `training diverged at step ${step}: the loss is ${loss} (learning rate ${lr.toExponential(2)}); lower the learning rate, warm up longer or clip gradients`,
        );
      }
      // With loss scaling, an overflowed gradient (inf or NaN) skips the update; otherwise unscale and step.
      const lossScale = scaler.scale;
      const apply = c.lossScale === 1 || scaler.record(!allFinite(summed!));
      let gradNorm = NaN;
      if (apply) {
        const divisor = c.gradAccumSteps * lossScale;
        const averaged = divisor === 1 ? summed! : summed!.map((g) => tf.div(g, divisor));
        const norm = optimizer.step(averaged, lr);
        if (divisor !== 1) tf.dispose(averaged);
        gradNorm = norm.dataSync()[0];
        norm.dispose();
      }
      tf.dispose(summed!);

      result.tokens += tokensPerStep;
      const elapsedSeconds = (performance.now() - started) / 1000;
      const info: StepInfo = {
        step, loss, lossScale, skipped: !apply, learningRate: lr, gradNorm, tokens: result.tokens, elapsedSeconds, tokensPerSecond: result.tokens / elapsedSeconds,
      };
      result.steps.push(info);
      callbacks.onStep?.(info);
      // Let queued output (live charts, progress) reach the notebook between steps.
      await yieldToEventLoop();
      const last = step === c.steps - 1;
      if (c.evalBatches > 0 && ((c.evalInterval > 0 && (step + 1) % c.evalInterval === 0) || last)) {
        if (evaluate(step + 1)) break;
      }
    }
  } finally {
    optimizer.dispose();
  }
  result.seconds = (performance.now() - started) / 1000;
  result.flops = flopsPerToken(model.config) * result.tokens;
  return result;
}
