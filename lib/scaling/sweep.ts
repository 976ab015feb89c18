// Sweeps for the scaling lessons: train a grid of models and keep one JSON line per finished
// run. The results file is rewritten whole (temporary file, then rename) after every run, so a
// sweep killed at any moment leaves only complete lines, and a rerun skips the runs already there
// (ids and the file's format: lib/core/results.ts).
import { rmSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";

import { writeJsonLines } from "../core/files";
import { fingerprint, readResults, resultId, stamp, storedBackend, upgradeResults, type RunContext, type StampedResult } from "../core/results";
import { countParameters, GPT, validateConfig, type GPTConfig } from "../gpt/model";
import { shown } from "../core/checks";
import { cpuDescription } from "../core/machine";
import { heldOutLoss, train } from "../gpt/train";
import { projectRoot } from "../core/paths";
import { parseScale, type Scale } from "../core/scale";
import { mapInWorkers } from "../core/threads";

export interface SweepRun {
  /** A label for tables and charts, e.g. "L2 W64". */
  label: string;
  model: GPTConfig;
  /** Training tokens D (rounded up to whole steps). */
  tokens: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** The text and split trained on, e.g. "kjv.txt 90/5/5": part of the run's identity. */
  dataset: string;
}

/** A finished run; its stamp (id, format, dataHash, backend) says what it was trained on and by. */
export interface SweepResult extends StampedResult {
  label: string;
  model: GPTConfig;
  /** Non-embedding parameters (Kaplan's N). */
  params: number;
  /** Tokens trained on. */
  tokens: number;
  /** Training compute C ≈ 6·N·D. */
  flops: number;
  trainLoss: number;
  /** Validation loss estimated on `evalBatches` random batches at the end of training. */
  valLoss: number;
  /** Loss on every position of the validation part's first `evalTokens` tokens: for choosing hyper-parameters. */
  validationLoss: number;
  /** The same on the test part: for reporting. */
  testLoss: number;
  evalTokens: number;
  /** Validation loss along the way, for loss-against-compute curves. */
  curve: { tokens: number; valLoss: number }[];
  seconds: number;
  seed: number;
  batchSize: number;
  learningRate: number;
  dataset: string;
  /** The machine that trained it. */
  cpu: string;
}

/** What decides a run's result: its settings (the label only names it). */
function runSettings(run: SweepRun) {
  const { model, tokens, batchSize, learningRate, seed, dataset } = run;
  return { model, tokens, batchSize, learningRate, seed, dataset };
}

/** The run's id on this data and backend: a rerun with the same id is skipped. */
export function runId(run: SweepRun, context: RunContext): string {
  return resultId(runSettings(run), context);
}

/** Throws unless `data` holds the train, val and test token arrays, naming it as `label` in `fn`'s error. */
function checkSweepData(fn: string, data: SweepData, label: string): void {
  if (data == null || typeof data !== "object") throw new Error(`${fn}: ${label} must be { train, val, test } token arrays; got ${shown(data)}`);
  for (const part of ["train", "val", "test"] as const) {
    if (!(data[part] instanceof Int32Array)) throw new Error(`${fn}: ${label}.${part} must be an Int32Array of token ids; got ${shown(data[part])}`);
  }
}

/** The data and backend a sweep's runs are trained on. */
export function sweepContext(data: SweepData, backend: string): RunContext {
  checkSweepData("sweepContext", data, "data");
  return { dataHash: fingerprint(data.train, data.val, data.test), backend };
}

const REQUIRED: (keyof SweepResult)[] = [
  "label", "model", "params", "tokens", "flops", "trainLoss", "valLoss", "validationLoss", "testLoss", "curve", "seconds", "seed",
];

/** The command that writes the stored study, named in errors about its file. */
const SWEEP_COMMAND = "npm run sweep -- --grid full";

/** Reads a results file; a damaged, old or incomplete line is an error naming the line and the repair. */
export function readSweepResults(path: string, command = SWEEP_COMMAND): SweepResult[] {
  return readResults<SweepResult>(path, REQUIRED, command);
}

export interface SweepOptions {
  /** Where results go, one JSON line per run. */
  path: string;
  data: SweepData;
  /** The backend in use (`initBackend().name`); part of every run's id. */
  backend: string;
  /** The command that writes `path`, named in errors about it (default: the stored study's). */
  command?: string;
  /** Loss estimates along each run, on random validation batches (default 8). */
  curvePoints?: number;
  evalBatches?: number;
  /** Each trained model is scored on this many tokens of the validation and of the test part. */
  evalTokens: number;
  /**
   * Runs trained side by side, each in its own worker thread with its own backend (default 1:
   * one after another, in this thread). Results are still written by this thread alone.
   */
  jobs?: number;
  onRunStart?: (run: SweepRun, index: number, total: number) => void;
  onRunEnd?: (result: SweepResult, index: number, total: number) => void;
}

/** Training text, validation text (choosing), test text (reporting). */
export type SweepData = { train: Int32Array; val: Int32Array; test: Int32Array };

/** What one run needs, whether it trains here or in a worker (lib/scaling/sweepWorker.ts). */
export interface SweepJob {
  run: SweepRun;
  context: RunContext;
  data: SweepData;
  curvePoints: number;
  evalBatches: number;
  evalTokens: number;
  /** Training threads for this run (1 when runs already share the cores). */
  workers: number | "auto";
}

/** Trains one run of a sweep and returns its result line. */
export async function trainSweepRun(job: SweepJob): Promise<SweepResult> {
  const { run } = job;
  const steps = Math.max(1, Math.ceil(run.tokens / (run.batchSize * run.model.blockSize)));
  const model = GPT.create(run.model, run.seed);
  try {
    const r = await train(model, job.data, {
      steps, batchSize: run.batchSize, learningRate: run.learningRate, minLearningRate: run.learningRate / 10,
      warmupSteps: Math.min(100, Math.ceil(steps / 10)), evalInterval: Math.max(1, Math.floor(steps / job.curvePoints)),
      evalBatches: job.evalBatches, seed: run.seed, workers: job.workers,
    });
    const last = r.evals.at(-1)!;
    const params = countParameters(run.model).nonEmbedding;
    return stamp(runSettings(run), job.context, {
      label: run.label, model: run.model, params, tokens: r.tokens, flops: 6 * params * r.tokens,
      trainLoss: last.trainLoss, valLoss: last.valLoss,
      validationLoss: await heldOutLoss(model, job.data.val, job.evalTokens), testLoss: await heldOutLoss(model, job.data.test, job.evalTokens),
      evalTokens: Math.min(job.evalTokens, job.data.val.length, job.data.test.length),
      curve: r.evals.map((e) => ({ tokens: e.tokens, valLoss: e.valLoss })),
      seconds: r.seconds, seed: run.seed, batchSize: run.batchSize, learningRate: run.learningRate,
      dataset: run.dataset, cpu: cpuDescription(),
    });
  } finally {
    model.dispose();
  }
}

/** Lines of a results file whose id is none of `ids` (left by another grid or an older design): to report, never to use. */
export function strayResults(path: string, ids: Iterable<string>, command = SWEEP_COMMAND): SweepResult[] {
  if (typeof (ids as { [Symbol.iterator]?: unknown } | null)?.[Symbol.iterator] !== "function") {
    throw new Error(`strayResults: ids must be the ids of the runs to keep (an array or set of strings); got ${shown(ids)}`);
  }
  const kept = new Set(ids);
  return readSweepResults(path, command).filter((r) => !kept.has(r.id));
}

/** The counts of a sweep's options, checked before any run trains (a bad one would fail only after training, or under another name). */
function checkSweepOptions(fn: string, options: Omit<SweepOptions, "path" | "evalTokens"> & { evalTokens?: number }): void {
  const positive = (label: string, v: unknown) => {
    if (!(Number.isInteger(v) && (v as number) >= 1)) throw new Error(`${fn}: options.${label} must be a positive integer; got ${shown(v)}`);
  };
  if (options.evalTokens !== undefined) positive("evalTokens", options.evalTokens);
  if (options.curvePoints !== undefined) positive("curvePoints", options.curvePoints);
  if (options.jobs !== undefined) positive("jobs", options.jobs);
  if (options.evalBatches !== undefined && !(Number.isInteger(options.evalBatches) && options.evalBatches >= 0)) {
    throw new Error(`${fn}: options.evalBatches must be a non-negative integer; got ${shown(options.evalBatches)}`);
  }
}

/** A run's numbers, and whether its model can be scored on the evaluation tokens at all. */
function checkSweepRun(fn: string, run: SweepRun, i: number, options: SweepOptions): void {
  if (run == null || typeof run !== "object") throw new Error(`${fn}: runs[${i}] must be a sweep run; got ${shown(run)}`);
  const where = `${fn}: runs[${i}] (${shown(run.label)})`;
  if (!(typeof run.tokens === "number" && Number.isFinite(run.tokens) && run.tokens > 0)) throw new Error(`${where}: tokens must be a positive number; got ${shown(run.tokens)}`);
  if (!(Number.isInteger(run.batchSize) && run.batchSize >= 1)) throw new Error(`${where}: batchSize must be a positive integer; got ${shown(run.batchSize)}`);
  if (!(typeof run.learningRate === "number" && Number.isFinite(run.learningRate) && run.learningRate > 0)) {
    throw new Error(`${where}: learningRate must be a positive number; got ${shown(run.learningRate)}`);
  }
  if (!Number.isFinite(run.seed)) throw new Error(`${where}: seed must be a finite number; got ${shown(run.seed)}`);
  // The model's config itself is checked as the run starts (GPT.create), naming the run, after the runs before it are kept.
  if (run.model == null || typeof run.model !== "object") throw new Error(`${where}: model must be a GPTConfig; got ${shown(run.model)}`);
  const scored = Math.min(options.evalTokens, options.data.val.length, options.data.test.length);
  if (scored < run.model.blockSize + 1) {
    throw new Error(`${where}: scoring takes the first min(evalTokens ${options.evalTokens}, validation ${options.data.val.length}, test ${options.data.test.length}) = ${scored} tokens, `
      + `fewer than one window of blockSize ${run.model.blockSize} + 1 = ${run.model.blockSize + 1}`);
  }
}

/** Trains every run not yet in the results file; returns all results for `runs`, in order. */
export async function runSweep(runs: SweepRun[], options: SweepOptions): Promise<SweepResult[]> {
  const fn = "runSweep";
  if (options == null) throw new Error(`${fn}: options { path, data, backend, evalTokens } are required; got ${shown(options)}`);
  if (options.backend !== tf.getBackend()) {
    throw new Error(`runSweep: options.backend is ${options.backend} but tfjs runs ${tf.getBackend()}; the backend is part of every run's id`);
  }
  checkSweepData(fn, options.data, "options.data");
  const results = readSweepResults(options.path, options.command); // a folder or a damaged file fails here, before any training
  if (options.evalTokens === undefined) throw new Error(`${fn}: options.evalTokens is required: the validation and test tokens each model is scored on`);
  checkSweepOptions(fn, options);
  if (!Array.isArray(runs)) throw new Error(`${fn}: runs must be an array of sweep runs; got ${shown(runs)}`);
  runs.forEach((run, i) => checkSweepRun(fn, run, i, options));
  const context = sweepContext(options.data, options.backend);
  const ids = runs.map((run) => runId(run, context));
  const duplicate = ids.findIndex((id, i) => ids.indexOf(id) !== i);
  if (duplicate >= 0) throw new Error(`runSweep: run ${duplicate} ("${runs[duplicate].label}") repeats the settings of run ${ids.indexOf(ids[duplicate])}`);
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`runSweep: jobs must be a positive integer; got ${jobs}`);
  const done = new Map(results.map((r) => [r.id, r]));
  const todo = runs.map((run, i) => ({ run, i })).filter(({ i }) => !done.has(ids[i]));
  const job = (run: SweepRun, i: number): SweepJob => ({
    run, context, data: options.data, curvePoints: options.curvePoints ?? 8,
    evalBatches: options.evalBatches ?? 10, evalTokens: options.evalTokens, workers: jobs > 1 ? 1 : "auto",
  });
  // Only this thread writes the file, whole and atomically, after each finished run.
  const record = (result: SweepResult, i: number) => {
    results.push(result);
    done.set(result.id, result);
    writeJsonLines(options.path, results);
    options.onRunEnd?.(result, i, runs.length);
  };
  if (jobs === 1) {
    for (const { run, i } of todo) {
      options.onRunStart?.(run, i, runs.length);
      record(await trainSweepRun(job(run, i)), i);
    }
  } else {
    await mapInWorkers<SweepJob, SweepResult>("scaling/sweepWorker.ts", todo.map(({ run, i }) => job(run, i)), jobs, {
      describe: (j) => `sweep run "${j.run.label}"`,
      onStart: (j, k) => options.onRunStart?.(j.run, todo[k].i, runs.length),
      onResult: (result, k) => record(result, todo[k].i),
    });
  }
  return ids.map((id) => done.get(id)!);
}

export type Shape = { nLayer: number; nHead: number; nEmbd: number };

/**
 * A scaling study in the manner of Hoffmann et al.'s approach 2: at each compute budget C, every
 * model size that fits is trained on D = C/(6N) tokens, each run's cosine schedule ending at its
 * own D; the learning rate is tuned per size first, on validation text.
 */
export interface ScalingDesign {
  /** Names the results file (datasets/sweeps/<name>.jsonl at full scale). */
  name: string;
  corpus: string;
  /** The text and split, recorded with every run, e.g. "kjv.txt 90/5/5". */
  dataset: string;
  base: Omit<GPTConfig, "nEmbd" | "nLayer" | "nHead" | "vocabSize">;
  batchSize: number;
  /** Model shapes, smallest first, about 2× apart in non-embedding parameters N. */
  ladder: Shape[];
  /** IsoFLOP budgets (FLOPs), ascending. */
  budgets: number[];
  /** The budgets a "start small" prediction may be fitted on; the others are held out to test it. */
  fitBudgets: number[];
  /** Learning rates tried for every size, at its tuning budget; the best on validation text is used. */
  rates: number[];
  /** Every size at this budget is trained with each of `seeds`: the seed-to-seed noise band. */
  seedBudget: number;
  seeds: number[];
  /** Shapes of about one size, trained at `seedBudget` with one learning rate. */
  shapes: Shape[];
  /** A run may pass over the training text at most this many times (Muennighoff et al. 2023). */
  maxEpochs: number;
  /** Runs shorter than this are left out: warm-up and decay need room. */
  minSteps: number;
  /** Each model is scored on this many validation and this many test tokens. */
  evalTokens: number;
}

/**
 * Character-level GPTs on the King James Bible (4.1M characters, 90% training, 5% validation,
 * 5% test). Full: eleven sizes from 252 to 448k non-embedding parameters, six budgets from 3e9 to
 * 1e12 FLOPs (the prediction is fitted on the first four), six learning rates per size, three
 * seeds at 3e10, and three more shapes of ~7k parameters beside the ladder's L2 H2 W16. Smoke:
 * four tiny sizes at three tiny budgets, one rate.
 */
export function scalingDesign(scale: Scale): ScalingDesign {
  parseScale(scale, "scalingDesign: scale");
  const common = { corpus: "kjv.txt", dataset: "kjv.txt 90/5/5", maxEpochs: 4 };
  const base = { dropout: 0, bias: true, tieWeights: true };
  if (scale === "smoke") {
    return {
      ...common, name: "kjv-smoke", base: { ...base, blockSize: 16 }, batchSize: 4,
      ladder: [4, 6, 8, 16].map((nEmbd) => ({ nLayer: 1, nHead: 2, nEmbd })),
      budgets: [1e7, 2e7, 4e7], fitBudgets: [1e7, 2e7], rates: [1e-2], seedBudget: 2e7, seeds: [1, 2],
      shapes: [{ nLayer: 2, nHead: 2, nEmbd: 6 }], minSteps: 20, evalTokens: 2048,
    };
  }
  return {
    ...common, name: "kjv-isoflop", base: { ...base, blockSize: 64 }, batchSize: 16,
    ladder: [
      ...[4, 6, 8, 12, 16].map((nEmbd) => ({ nLayer: 1, nHead: 2, nEmbd })),
      { nLayer: 2, nHead: 2, nEmbd: 16 }, { nLayer: 2, nHead: 2, nEmbd: 24 }, { nLayer: 2, nHead: 4, nEmbd: 32 },
      { nLayer: 2, nHead: 4, nEmbd: 48 }, { nLayer: 3, nHead: 4, nEmbd: 64 }, { nLayer: 4, nHead: 4, nEmbd: 96 },
    ],
    budgets: [3e9, 1e10, 3e10, 1e11, 3e11, 1e12], fitBudgets: [3e9, 1e10, 3e10, 1e11],
    rates: [1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2], seedBudget: 3e10, seeds: [1, 2, 3],
    shapes: [{ nLayer: 1, nHead: 2, nEmbd: 24 }, { nLayer: 4, nHead: 2, nEmbd: 12 }, { nLayer: 8, nHead: 2, nEmbd: 8 }],
    minSteps: 100, evalTokens: 100_000,
  };
}

export function shapeName(s: Shape): string {
  if (s == null || typeof s !== "object") throw new Error(`shapeName: shape must be { nLayer, nHead, nEmbd }; got ${shown(s)}`);
  for (const key of ["nLayer", "nHead", "nEmbd"] as const) {
    if (!(Number.isInteger(s[key]) && s[key] >= 1)) throw new Error(`shapeName: shape.${key} must be a positive integer; got ${shown(s[key])}`);
  }
  return `L${s.nLayer} H${s.nHead} W${s.nEmbd}`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.nLayer === b.nLayer && a.nHead === b.nHead && a.nEmbd === b.nEmbd;
}

/** Whole steps that D = C/(6N) tokens make. */
function stepsAt(design: ScalingDesign, N: number, C: number): number {
  return Math.round(C / (6 * N) / (design.batchSize * design.base.blockSize));
}

/** Why a size cannot be trained at budget C (too few steps, too many epochs), or null if it can. */
function excluded(design: ScalingDesign, N: number, C: number, trainTokens: number): string | null {
  const steps = stepsAt(design, N, C);
  if (steps < design.minSteps) return `${steps} steps < ${design.minSteps}`;
  const epochs = (steps * design.batchSize * design.base.blockSize) / trainTokens;
  return epochs > design.maxEpochs ? `${epochs.toFixed(1)} epochs > ${design.maxEpochs}` : null;
}

function modelOf(design: ScalingDesign, shape: Shape, vocabSize: number): GPTConfig {
  return { ...design.base, ...shape, vocabSize };
}

/** Non-embedding parameters of a shape in this design (Kaplan's N). */
function paramsOf(design: ScalingDesign, shape: Shape, vocabSize: number): number {
  return countParameters(modelOf(design, shape, vocabSize)).nonEmbedding;
}

/** The run of `shape` at budget C (tokens rounded to whole steps) with one rate and seed. */
function isoflopRun(design: ScalingDesign, shape: Shape, vocabSize: number, C: number, learningRate: number, seed: number): SweepRun {
  const model = modelOf(design, shape, vocabSize);
  const tokens = stepsAt(design, paramsOf(design, shape, vocabSize), C) * design.batchSize * design.base.blockSize;
  const label = `C${C.toExponential(0).replace("+", "")} ${shapeName(shape)} lr${learningRate.toExponential()} s${seed}`;
  return { label, model, tokens, batchSize: design.batchSize, learningRate, seed, dataset: design.dataset };
}

/** Refuses a design whose numbers would make every later step fail under another name. */
function checkDesign(fn: string, design: ScalingDesign, vocabSize: number, trainTokens: number): void {
  const where = `${fn}: design ${shown(design.name)}`;
  const positive = (label: string, values: readonly number[]) => values.forEach((v, i) => {
    if (!(typeof v === "number" && Number.isFinite(v) && v > 0)) throw new Error(`${where}: ${label}[${i}] must be a positive number; got ${shown(v)}`);
  });
  positive("budgets", design.budgets);
  positive("rates", design.rates);
  positive("fitBudgets", design.fitBudgets);
  for (const [label, v] of [["batchSize", design.batchSize], ["minSteps", design.minSteps], ["evalTokens", design.evalTokens], ["vocabSize", vocabSize],
    ["trainTokens", trainTokens]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${where}: ${label} must be a positive integer; got ${shown(v)}`);
  }
  if (!(design.maxEpochs > 0)) throw new Error(`${where}: maxEpochs must be a positive number; got ${shown(design.maxEpochs)}`);
  const missing = design.fitBudgets.find((C) => !design.budgets.includes(C));
  if (missing !== undefined) throw new Error(`${where}: fitBudgets holds ${missing}, which is not one of the budgets`);
  if (!design.budgets.includes(design.seedBudget)) throw new Error(`${where}: seedBudget ${shown(design.seedBudget)} is not one of the budgets`);
  for (const shape of [...design.ladder, ...design.shapes]) validateConfig(modelOf(design, shape, vocabSize));
}

/** The ladder sizes trainable at each budget, and those left out with the reason. */
export function budgetSizes(design: ScalingDesign, vocabSize: number, trainTokens: number) {
  checkDesign("budgetSizes", design, vocabSize, trainTokens);
  return sizesAtBudgets(design, vocabSize, trainTokens);
}

/** budgetSizes on a design already checked (by the public function that names itself in the error). */
function sizesAtBudgets(design: ScalingDesign, vocabSize: number, trainTokens: number) {
  return design.budgets.map((C) => {
    const sizes: Shape[] = [];
    const skipped: { shape: Shape; why: string }[] = [];
    for (const shape of design.ladder) {
      const why = excluded(design, paramsOf(design, shape, vocabSize), C, trainTokens);
      if (why) skipped.push({ shape, why });
      else sizes.push(shape);
    }
    return { C, sizes, skipped };
  });
}

/** Each size's tuning budget: of the budgets it is trained at, the one nearest their middle (in log C), the cheaper on a tie. */
function tuningBudgets(fn: string, design: ScalingDesign, vocabSize: number, trainTokens: number): { shape: Shape; C: number }[] {
  checkDesign(fn, design, vocabSize, trainTokens);
  const table = sizesAtBudgets(design, vocabSize, trainTokens);
  return design.ladder.map((shape) => {
    const at = table.filter((b) => b.sizes.some((s) => sameShape(s, shape))).map((b) => b.C);
    if (at.length === 0) {
      const why = table.map((b) => `C ${b.C.toExponential(0)}: ${b.skipped.find((k) => sameShape(k.shape, shape))?.why}`).join("; ");
      throw new Error(`${fn}: scaling design ${design.name}: ${shapeName(shape)} fits no budget (${why}) with ${trainTokens} training tokens; remove it from the ladder`);
    }
    const middle = (Math.log(at[0]) + Math.log(at.at(-1)!)) / 2;
    const C = at.reduce((best, c) => (Math.abs(Math.log(c) - middle) < Math.abs(Math.log(best) - middle) - 1e-9 ? c : best));
    return { shape, C };
  });
}

/** The learning-rate sweep: every size at its tuning budget with every rate, the costliest budgets first. */
export function learningRateRuns(design: ScalingDesign, vocabSize: number, trainTokens: number): SweepRun[] {
  return tuningBudgets("learningRateRuns", design, vocabSize, trainTokens).sort((a, b) => b.C - a.C)
    .flatMap(({ shape, C }) => design.rates.map((rate) => isoflopRun(design, shape, vocabSize, C, rate, 1)));
}

export interface TunedRate {
  shape: Shape;
  /** Non-embedding parameters. */
  N: number;
  /** The budget it was tuned at. */
  C: number;
  /** The rate with the lowest validation loss. */
  rate: number;
  losses: { rate: number; validationLoss: number }[];
  /** The best rate is the grid's smallest or largest: a better one may lie beyond it. */
  atEdge: boolean;
}

/** Picks each size's learning rate from the tuning runs (trained in `context`), by validation loss (never test loss). */
export function tuneLearningRates(design: ScalingDesign, vocabSize: number, trainTokens: number, results: SweepResult[], context: RunContext): TunedRate[] {
  const fn = "tuneLearningRates";
  if (!Array.isArray(results)) throw new Error(`${fn}: results must be an array of sweep results; got ${shown(results)}`);
  if (context == null || typeof context.dataHash !== "string" || typeof context.backend !== "string") {
    throw new Error(`${fn}: context must be the { dataHash, backend } the tuning runs were trained in (sweepContext(data, backend)); got ${shown(context)}`);
  }
  const byId = new Map(results.map((r) => [r.id, r]));
  return tuningBudgets(fn, design, vocabSize, trainTokens).map(({ shape, C }) => {
    const losses = design.rates.map((rate) => {
      const run = isoflopRun(design, shape, vocabSize, C, rate, 1);
      const result = byId.get(runId(run, context));
      if (!result) throw new Error(`tuneLearningRates: no result for the tuning run ${run.label}; run the learning-rate sweep first`);
      return { rate, validationLoss: result.validationLoss };
    });
    const best = losses.reduce((a, b) => (b.validationLoss < a.validationLoss ? b : a));
    const N = paramsOf(design, shape, vocabSize);
    const atEdge = best.rate === Math.min(...design.rates) || best.rate === Math.max(...design.rates);
    return { shape, N, C, rate: best.rate, losses, atEdge };
  });
}

/**
 * The IsoFLOP runs with tuned rates: every trainable size at every budget (seed 1), the other
 * seeds at `seedBudget`, and the shapes at `seedBudget` with the rate tuned for the ladder size
 * nearest them in N. Cheapest budgets first, so the small budgets a prediction is fitted on
 * finish before the large ones it predicts.
 */
export function isoflopRuns(design: ScalingDesign, vocabSize: number, trainTokens: number, tuned: TunedRate[]): SweepRun[] {
  checkDesign("isoflopRuns", design, vocabSize, trainTokens);
  if (!Array.isArray(tuned)) throw new Error(`isoflopRuns: tuned must be the rates tuneLearningRates chose; got ${shown(tuned)}`);
  const rateOf = (shape: Shape) => {
    const t = tuned.find((r) => sameShape(r.shape, shape));
    if (!t) throw new Error(`isoflopRuns: no tuned learning rate for ${shapeName(shape)}`);
    return t.rate;
  };
  const runs: SweepRun[] = [];
  for (const { C, sizes } of sizesAtBudgets(design, vocabSize, trainTokens)) {
    const seeds = C === design.seedBudget ? design.seeds : [1];
    for (const seed of seeds) for (const shape of sizes) runs.push(isoflopRun(design, shape, vocabSize, C, rateOf(shape), seed));
  }
  for (const shape of design.shapes) {
    const N = paramsOf(design, shape, vocabSize);
    const nearest = tuned.reduce((a, b) => (Math.abs(Math.log(b.N / N)) < Math.abs(Math.log(a.N / N)) ? b : a));
    runs.push(isoflopRun(design, shape, vocabSize, design.seedBudget, nearest.rate, 1));
  }
  return runs;
}

export interface ScalingSweep {
  design: ScalingDesign;
  rates: TunedRate[];
  /** The learning-rate sweep's runs. */
  tuning: SweepResult[];
  /** The IsoFLOP runs (with tuned rates), seeds and shapes. */
  runs: SweepResult[];
}

/** The learning-rate sweep, then the IsoFLOP runs at the rates it chose; resumable like runSweep. */
export async function runScalingSweep(design: ScalingDesign, vocabSize: number, options: Omit<SweepOptions, "evalTokens">): Promise<ScalingSweep> {
  const fn = "runScalingSweep";
  if (options == null) throw new Error(`${fn}: options { path, data, backend } are required; got ${shown(options)}`);
  checkSweepData(fn, options.data, "options.data");
  checkDesign(fn, design, vocabSize, options.data.train.length);
  checkSweepOptions(fn, options);
  const trainTokens = options.data.train.length;
  const sweep = { ...options, evalTokens: design.evalTokens };
  const tuning = await runSweep(learningRateRuns(design, vocabSize, trainTokens), sweep);
  const rates = tuneLearningRates(design, vocabSize, trainTokens, tuning, sweepContext(options.data, options.backend));
  const runs = await runSweep(isoflopRuns(design, vocabSize, trainTokens, rates), sweep);
  return { design, rates, tuning, runs };
}

/** Where a design's results are kept at full scale, produced by `npm run sweep -- --grid full`. */
export function storedSweepPath(design: ScalingDesign): string {
  return `datasets/sweeps/${design.name}.jsonl`;
}

/**
 * The scaling study for a lesson: at full scale the stored results (about an hour of training,
 * done once by `npm run sweep -- --grid full`); at smoke scale the smoke design, trained now into
 * a scratch file that is removed afterwards.
 */
export async function scalingSweep(scale: Scale, vocabSize: number, options: Omit<SweepOptions, "evalTokens" | "path">): Promise<ScalingSweep> {
  const fn = "scalingSweep";
  parseScale(scale, `${fn}: scale`);
  if (options == null) throw new Error(`${fn}: options { data, backend } are required; got ${shown(options)}`);
  checkSweepData(fn, options.data, "options.data");
  const design = scalingDesign(scale);
  checkDesign(fn, design, vocabSize, options.data.train.length);
  checkSweepOptions(fn, options);
  if (scale === "full") {
    const stored = storedSweepPath(design);
    const results = readSweepResults(join(projectRoot(), stored));
    // The runs the study was stored with, whichever backend runs the lesson.
    const context = sweepContext(options.data, storedBackend(results, options.backend));
    const byId = new Map(results.map((r) => [r.id, r]));
    const lookup = (runs: SweepRun[]) => {
      const missing = runs.filter((r) => !byId.has(runId(r, context)));
      if (missing.length) {
        const otherData = results.some((r) => r.dataHash !== context.dataHash) ? "; some of its runs were trained on other data than this corpus" : "";
        throw new Error(`${stored} lacks ${missing.length} of ${runs.length} runs on ${context.backend} (first: ${missing[0].label})${otherData}; `
          + `run \`${SWEEP_COMMAND}\` (it resumes)`);
      }
      return runs.map((r) => byId.get(runId(r, context))!);
    };
    const trainTokens = options.data.train.length;
    const tuning = lookup(learningRateRuns(design, vocabSize, trainTokens));
    const rates = tuneLearningRates(design, vocabSize, trainTokens, tuning, context);
    return { design, rates, tuning, runs: lookup(isoflopRuns(design, vocabSize, trainTokens, rates)) };
  }
  const path = join(projectRoot(), "build", "sweeps", `smoke-${process.pid}.jsonl`);
  rmSync(path, { force: true });
  try {
    return await runScalingSweep(design, vocabSize, { ...options, path });
  } finally {
    rmSync(path, { force: true });
  }
}

/**
 * Upgrades a results file of `design` written in format 1 (ids of the settings alone): every run
 * the design could contain — any size and shape at any budget, rate and seed — is matched by its
 * old id and given its id on `data`. The caller vouches that the runs were trained on `data`.
 */
export function upgradeSweepResults(path: string, design: ScalingDesign, vocabSize: number, data: SweepData): number {
  checkSweepData("upgradeSweepResults", data, "data");
  checkDesign("upgradeSweepResults", design, vocabSize, data.train.length);
  const seeds = [...new Set([1, ...design.seeds])];
  const candidates = [...design.ladder, ...design.shapes].flatMap((shape) => design.budgets.flatMap((C) => design.rates.flatMap((rate) =>
    seeds.map((seed) => runSettings(isoflopRun(design, shape, vocabSize, C, rate, seed))))));
  const { dataHash } = sweepContext(data, "");
  return upgradeResults(path, candidates.map((settings) => ({ settings, dataHash })));
}

/**
 * The compute-efficient frontier of a sweep: every point (C = 6·N·tokens, validation loss) along
 * every run's curve, keeping those no cheaper point beats. Kaplan et al.'s L(C_min), which stops
 * runs early rather than finishing each one's schedule.
 */
export function lossComputeFrontier(results: SweepResult[]): { flops: number; valLoss: number; label: string }[] {
  const fn = "lossComputeFrontier";
  if (!Array.isArray(results)) throw new Error(`${fn}: results must be an array of sweep results; got ${shown(results)}`);
  results.forEach((r, i) => {
    const where = `${fn}: results[${i}] (${shown(r?.label)})`;
    if (!(typeof r?.params === "number" && Number.isFinite(r.params) && r.params > 0)) throw new Error(`${where}: params must be a positive number; got ${shown(r?.params)}`);
    if (!Array.isArray(r.curve)) throw new Error(`${where}: curve must be an array of { tokens, valLoss }; got ${shown(r.curve)}`);
    r.curve.forEach((c, j) => {
      if (!(Number.isFinite(c?.tokens) && c.tokens >= 0)) throw new Error(`${where}: curve[${j}].tokens must be a finite number ≥ 0; got ${shown(c?.tokens)}`);
      if (!Number.isFinite(c.valLoss)) throw new Error(`${where}: curve[${j}].valLoss must be a finite number; got ${shown(c.valLoss)}`);
    });
  });
  // Cheapest first; at equal compute the lower loss first, so only it can enter.
  const points = results.flatMap((r) => r.curve.map((c) => ({ flops: 6 * r.params * c.tokens, valLoss: c.valLoss, label: r.label })))
    .sort((a, b) => a.flops - b.flops || a.valLoss - b.valLoss);
  const frontier: typeof points = [];
  for (const p of points) if (frontier.length === 0 || p.valLoss < frontier.at(-1)!.valLoss) frontier.push(p);
  return frontier;
}
