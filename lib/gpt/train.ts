// Pretraining loop: AdamW with decoupled weight decay, linear warmup then cosine decay,
// global-norm clipping, gradient accumulation, periodic validation, seeded batches.
// Forward and backward passes run on the chosen backend, driven by one loop (trainLoop) through a
// step runner. On CPU backends (HostSteps) they are split over threads by lib/gpt/parallel.ts
// (one thread: no workers), gradients travel as plain arrays and AdamW runs in loops, a slice of
// the weights per thread. On a GPU (DeviceSteps) the update stays on the device (DeviceAdamW) and
// losses are read a few steps at a time, so the GPU is not stalled every step.
import * as tf from "@tensorflow/tfjs";

import { activeBackendIsGpu } from "../core/backend";
import { checkBatchInputs, drawBatch, type Batch } from "../core/data";
import { interruptWatch } from "../core/interrupt";
import { Random } from "../core/random";
import { allFinite, LossScaler, type HalfFormat } from "./precision";
import { checkMoments, DeviceAdamW, type OptimizerMoments } from "./adamw";
import { flopsPerToken, modelParameters, trainingBytes, type GPT } from "./model";
import { checkMemory } from "../core/machine";
import { batchLoss, DataParallel, resolveWorkers, type ShardSettings } from "./parallel";
import { checkFunction, checkIds, checkInteger, checkKnownKeys, checkNumber, checkObject, checkPositiveInteger, checkRules, type ConfigRule, integerFrom, refuse, rulesFor, shown } from "../core/checks";

export { AdamW, DeviceAdamW, type AdamWConfig } from "./adamw";
export { modelParameters } from "./model";

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
  /** Format of the weights between steps: "fp32" master weights, or (to show why they exist) fp16 or bf16. */
  masterWeights: "fp32" | HalfFormat;
  /**
   * Threads that share each batch (data parallelism, lib/gpt/parallel.ts): a number, or "auto"
   * (COURSE_WORKERS if set, else one per core on the wasm and cpu backends for runs long enough
   * to pay for starting them). The result equals one thread's up to float rounding, except that
   * dropout masks are drawn per shard.
   */
  workers: number | "auto";
  /**
   * Where AdamW runs: "host" (plain loops in JavaScript, the gradient read back every step),
   * "device" (tensor ops beside the weights, losses read every few steps), or "auto": the
   * device on GPU backends (webgpu, tensorflow with CUDA), the host otherwise.
   */
  optimizer: "auto" | "host" | "device";
}

/** Steps whose losses are read back together on the device path. */
export const DEVICE_READ_EVERY = 16;

export const DEFAULT_TRAIN: TrainConfig = {
  steps: 2000, batchSize: 12, gradAccumSteps: 1, learningRate: 1e-3, minLearningRate: 1e-4, warmupSteps: 100,
  weightDecay: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, gradClip: 1.0, evalInterval: 250, evalBatches: 20, seed: 1337,
  precision: "fp32", lossScale: 1, initialLossScale: 2 ** 15, masterWeights: "fp32", workers: "auto", optimizer: "auto",
};

const rule = rulesFor<TrainConfig>();
const finiteFrom0 = (v: number) => v >= 0 && v < Infinity;
const inUnitInterval = (v: number) => v >= 0 && v < 1;
const FORMATS = '"fp32", "fp16" or "bf16"';

/** The rules of a TrainConfig, one row per field, in the order they are checked. */
const TRAIN_RULES: readonly ConfigRule<TrainConfig>[] = [
  rule("steps", integerFrom(1), "a positive integer"),
  rule("batchSize", integerFrom(1), "a positive integer"),
  rule("gradAccumSteps", integerFrom(1), "a positive integer"),
  rule("warmupSteps", integerFrom(0), "an integer ≥ 0"),
  rule("evalInterval", integerFrom(0), "an integer ≥ 0"),
  rule("evalBatches", integerFrom(0), "an integer ≥ 0"),
  rule("learningRate", (v) => v > 0 && v < Infinity, "a finite positive number"),
  rule("minLearningRate", (v, c) => v >= 0 && v <= c.learningRate, (c) => `in [0, learningRate = ${c.learningRate}]`),
  rule("beta1", inUnitInterval, "in [0, 1)"),
  rule("beta2", inUnitInterval, "in [0, 1)"),
  rule("weightDecay", finiteFrom0, "a finite number ≥ 0"),
  rule("gradClip", finiteFrom0, "a finite number ≥ 0"),
  rule("eps", (v) => v > 0, "a positive number"),
  rule("precision", (v) => ["fp32", "fp16", "bf16"].includes(v), FORMATS),
  rule("masterWeights", (v) => ["fp32", "fp16", "bf16"].includes(v), FORMATS),
  rule("workers", (v) => v === "auto" || integerFrom(1)(v), 'a positive integer or "auto"'),
  rule("decaySteps", (v) => v === undefined || integerFrom(1)(v), "a positive integer (or left out: steps)"),
  rule("initialLossScale", (v) => Number.isFinite(v) && v > 0, "a finite positive number"),
  rule("optimizer", (v) => ["auto", "host", "device"].includes(v), '"auto", "host" or "device"'),
  rule("lossScale", (v) => v === "dynamic" || v > 0, '"dynamic" or a positive number'),
];

/** `c` if every field passes its rule in TRAIN_RULES; otherwise an error naming `fn`, the field and its value. */
export function validateTrainConfig(c: TrainConfig, fn = "train"): TrainConfig {
  checkKnownKeys(fn, c, { ...DEFAULT_TRAIN, decaySteps: undefined });
  checkRules(fn, "config.", c, TRAIN_RULES);
  return c;
}

type Schedule = Pick<TrainConfig, "learningRate" | "minLearningRate" | "warmupSteps" | "decaySteps" | "steps">;

/** Refuses a learning-rate schedule learningRateAt cannot follow, naming `fn` and the field. */
function checkSchedule(fn: string, c: Schedule): void {
  checkNumber(fn, "learningRate", c.learningRate, 0);
  checkNumber(fn, "minLearningRate", c.minLearningRate, 0, c.learningRate);
  checkInteger(fn, "warmupSteps", c.warmupSteps, 0);
  checkPositiveInteger(fn, "steps", c.steps);
  if (c.decaySteps !== undefined) checkPositiveInteger(fn, "decaySteps", c.decaySteps);
}

/** Linear warmup from 0 to the peak, then cosine decay to the minimum (nanoGPT's get_lr). */
export function learningRateAt(step: number, c: Schedule): number {
  checkInteger("learningRateAt", "step", step, 0);
  checkSchedule("learningRateAt", c);
  return scheduledLearningRate(step, c);
}

/**
 * learningRateAt without its checks, for the training loops: they check the schedule once before
 * the first step (train through validateTrainConfig, fineTune by building it from checked values)
 * rather than at every step.
 */
export function scheduledLearningRate(step: number, c: Schedule): number {
  const decaySteps = c.decaySteps ?? c.steps;
  if (step < c.warmupSteps) return (c.learningRate * (step + 1)) / (c.warmupSteps + 1);
  if (step >= decaySteps) return c.minLearningRate;
  const progress = (step - c.warmupSteps) / Math.max(1, decaySteps - c.warmupSteps);
  return c.minLearningRate + 0.5 * (1 + Math.cos(Math.PI * progress)) * (c.learningRate - c.minLearningRate);
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
  /**
   * Every `every` steps (after the step's evaluation, if one is due), the run's state: save it with
   * the model's weights, and `train(…, { resume })` from them continues the run exactly. Training
   * waits for `save` to finish.
   */
  checkpoint?: { every: number; save: (state: TrainingState) => Promise<void> | void };
}

/**
 * Everything besides the weights that decides how a run continues: with the weights as they were,
 * a resumed run takes the same batches, learning rates and updates as the run that was saved
 * (the same numbers on the same backend and threads; float rounding apart otherwise).
 */
export interface TrainingState {
  /** Steps finished. */
  step: number;
  /** AdamW's moments and update count, over the weights laid end to end in the model's parameter order. */
  optimizer: OptimizerMoments;
  /** The batch and evaluation generators' states (Random.saved()). */
  random: { batches: number; evals: number };
  /** The loss scaler's scale and good-step count. */
  lossScale: { scale: number; goodSteps: number };
  /** The record so far: every step, every evaluation, tokens and seconds. */
  result: Pick<TrainResult, "steps" | "evals" | "tokens" | "seconds">;
}

export interface TrainResult {
  steps: StepInfo[];
  evals: EvalInfo[];
  tokens: number;
  seconds: number;
  /** Training FLOPs by the 6N + attention estimate (flopsPerToken × tokens). */
  flops: number;
  /** Threads that trained (1: the main thread alone). */
  workers: number;
}

export class TrainingDivergedError extends Error {}

/** A macrotask boundary: lets I/O queued by callbacks (kernel messages) go out. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `batches` random batches of `batchSize` windows for a loss estimate; the caller checked them (checkBatchInputs). */
function drawBatches(ids: Int32Array, batches: number, batchSize: number, T: number, random: Random): Batch[] {
  return Array.from({ length: batches }, () => drawBatch(ids, batchSize, T, random));
}

function mean(values: number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * Every parameter's gradient of the loss on one batch, flattened into one array (in the
 * model's parameter order): a sample of the values mixed precision must represent.
 */
export async function parameterGradients(model: GPT, batch: { x: Int32Array; y: Int32Array }, batchSize: number): Promise<Float32Array> {
  if (batch.x.length !== batchSize * model.config.blockSize) {
    throw new Error(`parameterGradients: a batch of ${batchSize} × ${model.config.blockSize} tokens has ${batchSize * model.config.blockSize} inputs; got ${batch.x.length}`);
  }
  const { value, grads } = tf.variableGrads(() => model.loss(batch.x, batch.y, batchSize, model.config.blockSize));
  value.dispose();
  try {
    return laidEndToEnd(await Promise.all([...model.params.keys()].map((name) => grads[model.params.get(name)!.name].data() as Promise<Float32Array>)));
  } finally {
    tf.dispose(Object.values(grads));
  }
}

/**
 * The gradients of the loss on one batch with respect to every activation a matmul reads (the
 * inputs of the linear layers, queries, keys, values, attention weights and the head's input),
 * laid end to end: what mixed precision stores in 16 bits on the way back, and what loss scaling
 * must keep inside fp16's range (Micikevicius et al. 2018, figure 3).
 */
export async function activationGradients(model: GPT, batch: { x: Int32Array; y: Int32Array }, batchSize: number): Promise<Float32Array> {
  if (batch.x.length !== batchSize * model.config.blockSize) {
    throw new Error(`activationGradients: a batch of ${batchSize} × ${model.config.blockSize} tokens has ${batchSize * model.config.blockSize} inputs; got ${batch.x.length}`);
  }
  const kept: tf.Tensor[] = [];
  try {
    const { value, grads } = tf.variableGrads(() => model.loss(batch.x, batch.y, batchSize, model.config.blockSize, { probe: (g) => kept.push(g) }));
    tf.dispose([value, ...Object.values(grads)]);
    return laidEndToEnd(await Promise.all(kept.map((t) => t.data() as Promise<Float32Array>)));
  } finally {
    tf.dispose(kept);
  }
}

function laidEndToEnd(parts: Float32Array[]): Float32Array {
  const flat = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    flat.set(p, offset);
    offset += p.length;
  }
  return flat;
}

/**
 * Mean loss over every position of the first `maxTokens` tokens of `ids`, read as consecutive
 * windows of the model's context: the same tokens every time, no sampling, so two models (or two
 * runs) are compared on exactly the same text.
 */
export async function heldOutLoss(model: GPT, ids: Int32Array, maxTokens: number, batchSize = 16): Promise<number> {
  if (!(maxTokens === Infinity || (Number.isInteger(maxTokens) && maxTokens >= 1))) {
    throw new Error(`heldOutLoss: maxTokens must be a positive integer (or Infinity: all of ids); got ${shown(maxTokens)}`);
  }
  checkPositiveInteger("heldOutLoss", "batchSize", batchSize);
  const T = model.config.blockSize;
  const windows = Math.floor((Math.min(maxTokens, ids.length) - 1) / T);
  if (windows < 1) throw new Error(`heldOutLoss: needs at least ${T + 1} tokens for one window of ${T}; got ${Math.min(maxTokens, ids.length)}`);
  let total = 0;
  for (let first = 0; first < windows; first += batchSize) {
    const rows = Math.min(batchSize, windows - first);
    const x = new Int32Array(rows * T), y = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++) {
      const start = (first + r) * T;
      x.set(ids.subarray(start, start + T), r * T);
      y.set(ids.subarray(start + 1, start + T + 1), r * T);
    }
    total += (await batchLoss(model, { x, y, batchSize: rows, blockSize: T })) * rows; // a batch's loss is its mean over rows
  }
  return total / windows;
}

/** Mean loss over `batches` random batches, without dropout or gradients. */
export async function estimateLoss(model: GPT, ids: Int32Array, batches: number, batchSize: number, random: Random): Promise<number> {
  checkPositiveInteger("estimateLoss", "batches", batches);
  checkPositiveInteger("estimateLoss", "batchSize", batchSize);
  checkBatchInputs("estimateLoss", ids, batchSize, model.config.blockSize, random);
  const losses: number[] = [];
  for (const b of drawBatches(ids, batches, batchSize, model.config.blockSize, random)) losses.push(await batchLoss(model, b));
  return mean(losses);
}

/**
 * Trains `model` in place on token ids. Deterministic for a given seed and backend.
 * Throws TrainingDivergedError, naming the step, if the loss becomes NaN or infinite.
 */
export async function train(
  model: GPT, data: { train: Int32Array; val: Int32Array }, config: Partial<TrainConfig> = {}, callbacks: TrainCallbacks = {},
  options: { resume?: TrainingState } = {},
): Promise<TrainResult> {
  model.checkUsable("train");
  checkObject("train", "data", data, "{ train, val }: token ids to train on and to validate with");
  checkIds("train", "data.train", data.train);
  checkIds("train", "data.val", data.val);
  for (const k of ["onStep", "onEval", "shouldStop"] as const) checkFunction("train", `callbacks.${k}`, callbacks[k], true);
  if (callbacks.checkpoint !== undefined) {
    checkPositiveInteger("train", "callbacks.checkpoint.every", callbacks.checkpoint?.every);
    checkFunction("train", "callbacks.checkpoint.save", callbacks.checkpoint.save);
  }
  const c = validateTrainConfig({ ...DEFAULT_TRAIN, ...config });
  const resume = options.resume;
  if (resume !== undefined) checkTrainingState(resume, c, model.parameterCount.total);
  checkMemory("train", `a batch of ${c.batchSize} sequences of ${model.config.blockSize} tokens through this model`, trainingBytes(model.config, c.batchSize));
  const T = model.config.blockSize;
  const { vocabSize } = model.config;
  for (const [name, ids] of Object.entries(data)) {
    if (ids.length < T + 1) throw new Error(`train: the ${name} split has ${ids.length} tokens; a batch needs at least blockSize + 1 = ${T + 1}`);
    // Once here: the steps then compute their losses without scanning each batch again.
    const bad = ids.findIndex((id) => !(id >= 0 && id < vocabSize));
    if (bad >= 0) refuse("train", `data.${name}[${bad}]`, ids[bad], `a token id in [0, ${vocabSize}), the model's vocabulary`);
  }
  const batchRandom = resume ? Random.resume(resume.random.batches) : new Random(c.seed);
  // Checked here once; every step and loss estimate then draws its batches unchecked.
  checkBatchInputs("train", data.train, c.batchSize, T, batchRandom);
  const evalRandom = resume ? Random.resume(resume.random.evals) : new Random(c.seed + 1);
  const tokensPerStep = c.batchSize * c.gradAccumSteps * T;
  const precision = c.precision === "fp32" ? undefined : c.precision;
  // Growth every 200 good steps (PyTorch waits 2000): the course's runs are short.
  const scaler = new LossScaler(c.lossScale === "dynamic" ? { kind: "dynamic", initialScale: c.initialLossScale, growthInterval: 200 } : { kind: "static", scale: c.lossScale });
  if (resume) scaler.restore(resume.lossScale);
  // A resumed run's clock goes on from the seconds it had trained.
  const started = performance.now() - 1000 * (resume?.result.seconds ?? 0);
  const onDevice = optimizerOnDevice(c);
  if (onDevice && (resume || callbacks.checkpoint)) {
    throw new Error("train: saving and resuming a run needs AdamW on the host (config.optimizer: \"host\"); on a GPU backend it runs on the device");
  }
  const workers = onDevice ? 1 : resolveWorkers(c.workers, { batchSize: c.batchSize, flops: flopsPerToken(model.config) * tokensPerStep * c.steps });
  const before = resume?.result;
  const result: TrainResult = { steps: [...(before?.steps ?? [])], evals: [...(before?.evals ?? [])], tokens: before?.tokens ?? 0, seconds: 0, flops: 0, workers };
  const run: RunState = { model, data, c, callbacks, result, started, scaler, precision, tokensPerStep, batchRandom, evalRandom, firstStep: resume?.step ?? 0 };
  await trainLoop(run, onDevice ? new DeviceSteps(model, c) : await HostSteps.start(model, workers, c, resume?.optimizer));
  result.seconds = (performance.now() - started) / 1000;
  result.flops = flopsPerToken(model.config) * result.tokens;
  return result;
}

/** Whether AdamW runs on the device for this config and backend (config.optimizer: "auto" means on a GPU). */
export function optimizerOnDevice(c: Pick<TrainConfig, "optimizer">): boolean {
  return c.optimizer === "device" || (c.optimizer === "auto" && activeBackendIsGpu());
}

/** What both training loops share. */
interface RunState {
  model: GPT;
  data: { train: Int32Array; val: Int32Array };
  c: TrainConfig;
  callbacks: TrainCallbacks;
  result: TrainResult;
  started: number;
  scaler: LossScaler;
  precision: HalfFormat | undefined;
  tokensPerStep: number;
  batchRandom: Random;
  evalRandom: Random;
  /** The step the loop starts at (a resumed run's). */
  firstStep: number;
}

/** Refuses a saved state that does not fit this run: its step, moments, generators or record. */
function checkTrainingState(s: TrainingState, c: TrainConfig, parameters: number): void {
  checkObject("train", "options.resume", s, "a TrainingState (what callbacks.checkpoint saved)");
  checkInteger("train", "options.resume.step", s.step, 1, c.steps - 1);
  checkMoments("train (options.resume.optimizer)", s.optimizer, parameters);
  for (const key of ["batches", "evals"] as const) checkInteger("train", `options.resume.random.${key}`, s.random?.[key], 0, 0xffffffff);
  const r = s.result;
  if (!(Array.isArray(r?.steps) && r.steps.length === s.step && Array.isArray(r.evals))) {
    throw new Error(`train: options.resume.result must record the ${s.step} steps finished (steps and evals); got ${Array.isArray(r?.steps) ? `${r.steps.length} steps` : shown(r)}`);
  }
  checkNumber("train", "options.resume.result.seconds", r.seconds, 0);
}

/** Records a finished step (or throws, naming it, if its loss is not finite) and tells the callbacks. */
function recordStep(r: RunState, s: { step: number; loss: number; lossScale: number; skipped: boolean; learningRate: number; gradNorm: number }): void {
  if (!Number.isFinite(s.loss)) {
    throw new TrainingDivergedError(
      `training diverged at step ${s.step}: the loss is ${s.loss} (learning rate ${s.learningRate.toExponential(2)}); lower the learning rate, warm up longer or clip gradients`,
    );
  }
  r.result.tokens += r.tokensPerStep;
  const elapsedSeconds = (performance.now() - r.started) / 1000;
  const info: StepInfo = { ...s, tokens: r.result.tokens, elapsedSeconds, tokensPerSecond: r.result.tokens / elapsedSeconds };
  r.result.steps.push(info);
  r.callbacks.onStep?.(info);
}

/** Estimates train and validation loss; returns whether the callbacks ask to stop. */
async function evaluateRun(r: RunState, step: number, losses: (batches: Batch[]) => Promise<number[]>): Promise<boolean> {
  const T = r.model.config.blockSize;
  const estimate = async (ids: Int32Array) => mean(await losses(drawBatches(ids, r.c.evalBatches, r.c.batchSize, T, r.evalRandom)));
  const trainLoss = await estimate(r.data.train);
  const valLoss = await estimate(r.data.val);
  const info: EvalInfo = { step, trainLoss, valLoss, tokens: r.result.tokens, elapsedSeconds: (performance.now() - r.started) / 1000 };
  r.result.evals.push(info);
  r.callbacks.onEval?.(info);
  return r.callbacks.shouldStop?.(info) ?? false;
}

function evaluationDue(c: TrainConfig, step: number): boolean {
  return c.evalBatches > 0 && ((c.evalInterval > 0 && (step + 1) % c.evalInterval === 0) || step === c.steps - 1);
}

/**
 * The steps of a run, in order, as both loops below take them: each checks for an interrupt first
 * (the weights stay as the last finished step left them), then gets its learning rate, the loss
 * scale in force, and its micro-batches, each with the seed of its dropout masks.
 */
function* scheduledSteps(r: RunState, interrupt: { check(progress: string): void }) {
  const { c } = r;
  for (let step = r.firstStep; step < c.steps; step++) {
    interrupt.check(`before step ${step + 1} of ${c.steps}`);
    const microBatches = function* () {
      for (let micro = 0; micro < c.gradAccumSteps; micro++) {
        yield { ...drawBatch(r.data.train, c.batchSize, r.model.config.blockSize, r.batchRandom), first: micro === 0, dropoutSeed: c.seed + step * c.gradAccumSteps + micro };
      }
    };
    yield { step, lr: scheduledLearningRate(step, c), lossScale: r.scaler.scale, microBatches };
  }
}

/**
 * Where a run's steps execute, as the loop below drives them: threads on the host (DataParallel:
 * every value known when the step ends) or the device (values read a few steps later).
 */
interface StepRunner {
  /** Steps whose results are read together (1: every step). */
  readonly readEvery: number;
  /** Adds one micro-batch's gradient, divided by `divisor`, to the step's sum; `first` starts it afresh. */
  accumulate(b: MicroBatch, divisor: number, shard: ShardSettings): Promise<void>;
  /** Whether every entry of the summed gradient is finite (read only under loss scaling, where it decides the update). */
  finite(): Promise<boolean>;
  /** Ends the step: the update with learning rate `lr`, or none (null); returns how to read its loss and gradient norm. */
  endStep(lr: number | null): Promise<StepReading>;
  batchLosses(batches: Batch[]): Promise<number[]>;
  close(): Promise<void>;
}

/** A micro-batch of a step; `first` starts the step's gradient sum afresh. */
type MicroBatch = { x: Int32Array; y: Int32Array; first: boolean };

interface StepReading {
  read(): Promise<{ loss: number; gradNorm: number }>;
  /** Frees what was kept for the reading (a reading not taken, after an error). */
  dispose(): void;
}

/** CPU backends: batches split over threads (lib/gpt/parallel.ts), gradients in plain arrays, AdamW in loops. */
class HostSteps implements StepRunner {
  readonly readEvery = 1;
  private lossSum = 0;
  private allFinite = true;

  private constructor(private readonly team: DataParallel, private readonly c: TrainConfig) {}

  static async start(model: GPT, workers: number, c: TrainConfig, moments?: OptimizerMoments): Promise<HostSteps> {
    // One thread is the same path with no workers: the gradient goes through plain arrays either way.
    return new HostSteps(await DataParallel.start(model, workers, c, moments), c);
  }

  moments(): OptimizerMoments {
    return this.team.moments();
  }

  async accumulate(b: MicroBatch, divisor: number, shard: ShardSettings): Promise<void> {
    const r = await this.team.accumulate(b.x, b.y, this.c.batchSize, b.first, divisor, shard);
    this.lossSum = (b.first ? 0 : this.lossSum) + r.loss;
    this.allFinite = r.finite;
  }

  async finite(): Promise<boolean> {
    return this.allFinite;
  }

  async endStep(lr: number | null): Promise<StepReading> {
    const loss = this.lossSum / this.c.gradAccumSteps;
    // The loss is known here: a non-finite one stops the run (recordStep) before it can spoil the weights.
    const gradNorm = lr !== null && Number.isFinite(loss) ? await this.team.step(lr) : NaN;
    return { read: async () => ({ loss, gradNorm }), dispose: () => {} };
  }

  batchLosses(batches: Batch[]): Promise<number[]> {
    return this.team.batchLosses(batches);
  }

  close(): Promise<void> {
    return this.team.close();
  }
}

/**
 * GPU backends: AdamW as tensor ops beside the weights (DeviceAdamW), and each step's loss and
 * norm kept as tensors and read DEVICE_READ_EVERY steps at a time, so the device never waits for
 * the host between steps.
 */
class DeviceSteps implements StepRunner {
  readonly readEvery = DEVICE_READ_EVERY;
  private readonly vars: tf.Variable[];
  private readonly optimizer: DeviceAdamW;
  private grads: tf.Tensor[] | null = null;
  private lossSum: tf.Scalar | null = null;

  constructor(private readonly model: GPT, private readonly c: TrainConfig) {
    const params = modelParameters(model);
    this.vars = params.map((p) => p.variable);
    this.optimizer = new DeviceAdamW(params, c);
  }

  async accumulate(b: MicroBatch, divisor: number, shard: ShardSettings): Promise<void> {
    if (b.first) this.release();
    const T = this.model.config.blockSize;
    const { value, grads: g } = tf.variableGrads(
      () => tf.mul(this.model.trainingLoss(b.x, b.y, this.c.batchSize, T, { training: true, dropoutSeed: shard.dropoutSeed, precision: shard.precision }), shard.scale) as tf.Scalar,
      this.vars,
    );
    const scaled = this.vars.map((v) => g[v.name]);
    const sums = this.grads;
    const next = tf.tidy(() => scaled.map((x, i) => (sums ? tf.add(sums[i], tf.div(x, divisor)) : tf.div(x, divisor))));
    const total = tf.tidy(() => tf.add(this.lossSum ?? tf.scalar(0), tf.div(value, divisor)) as tf.Scalar);
    this.release();
    tf.dispose([value, ...scaled]);
    this.grads = next;
    this.lossSum = total;
  }

  finite(): Promise<boolean> {
    return allFinite(this.grads!);
  }

  async endStep(lr: number | null): Promise<StepReading> {
    const loss = this.lossSum!;
    const norm = lr === null ? null : this.optimizer.step(this.grads!, lr);
    tf.dispose(this.grads!);
    this.grads = this.lossSum = null;
    const kept = norm ? [loss, norm] : [loss];
    return {
      read: async () => {
        const [l, n] = await Promise.all(kept.map((t) => t.data()));
        tf.dispose(kept);
        return { loss: l[0], gradNorm: n ? n[0] : NaN };
      },
      dispose: () => tf.dispose(kept),
    };
  }

  async batchLosses(batches: Batch[]): Promise<number[]> {
    const losses: number[] = [];
    for (const b of batches) losses.push(await batchLoss(this.model, b));
    return losses;
  }

  private release(): void {
    tf.dispose([...(this.grads ?? []), ...(this.lossSum ? [this.lossSum] : [])]);
    this.grads = this.lossSum = null;
  }

  async close(): Promise<void> {
    this.release();
    this.optimizer.dispose();
  }
}

/** The run's state after `step` steps, for callbacks.checkpoint (copies: the run goes on). */
function trainingState(r: RunState, step: number, optimizer: OptimizerMoments): TrainingState {
  const { steps, evals, tokens } = r.result;
  return {
    step, optimizer, random: { batches: r.batchRandom.saved(), evals: r.evalRandom.saved() }, lossScale: r.scaler.saved(),
    result: { steps: steps.slice(), evals: evals.slice(), tokens, seconds: (performance.now() - r.started) / 1000 },
  };
}

/**
 * The training loop, shaped like nanoGPT's train.py, on either runner: micro-batches accumulate
 * into one gradient; under loss scaling an overflow (inf or NaN) skips the update; losses are
 * recorded as the runner reads them; validation runs when due.
 */
async function trainLoop(r: RunState, runner: StepRunner): Promise<void> {
  const { c, scaler, precision } = r;
  const pending: { step: number; lossScale: number; skipped: boolean; learningRate: number; reading: StepReading }[] = [];
  const flush = async () => {
    const done = pending.splice(0);
    const values = await Promise.all(done.map((p) => p.reading.read()));
    done.forEach(({ reading, ...p }, k) => recordStep(r, { ...p, ...values[k] }));
    // Let queued output (live charts, progress) reach the notebook.
    await yieldToEventLoop();
  };
  const interrupt = interruptWatch("training");
  try {
    for (const { step, lr, lossScale, microBatches } of scheduledSteps(r, interrupt)) {
      for (const b of microBatches()) await runner.accumulate(b, c.gradAccumSteps * lossScale, { dropoutSeed: b.dropoutSeed, scale: lossScale, precision });
      const apply = c.lossScale === 1 || scaler.record(!(await runner.finite()));
      pending.push({ step, lossScale, skipped: !apply, learningRate: lr, reading: await runner.endStep(apply ? lr : null) });
      const due = evaluationDue(c, step);
      if (pending.length >= runner.readEvery || c.lossScale !== 1 || due || step === c.steps - 1) await flush();
      if (due && (await evaluateRun(r, step + 1, (batches) => runner.batchLosses(batches)))) break;
      const save = r.callbacks.checkpoint;
      if (save && (step + 1) % save.every === 0 && step < c.steps - 1 && runner instanceof HostSteps) {
        await flush();
        await save.save(trainingState(r, step + 1, runner.moments()));
      }
    }
    await flush();
  } finally {
    for (const p of pending) p.reading.dispose();
    interrupt.dispose();
    await runner.close();
  }
}
