// Training the scaling study (its design: lib/scaling/sweepDesign.ts): each run of the grid, in
// this thread or side by side in worker threads, kept as one JSON line in a results file that the
// shared loop of lib/core/study.ts rewrites after every run, so a sweep killed at any moment
// leaves only complete lines and a rerun trains only what is missing (ids and the file's format:
// lib/core/results.ts). Also the stored study the lessons read, and the upgrade of old files.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";

import { checkInteger, checkNumber, checkObject, checkPositiveInteger, checkThat, shown } from "../core/checks";
import { cpuDescription } from "../core/machine";
import { projectRoot } from "../core/paths";
import { readResults, stamp, storedBackend, upgradeResults, type RunContext } from "../core/results";
import { untilSettled } from "../core/rateSweep";
import { parseScale, type Scale } from "../core/scale";
import { linesOutside, StudyFile, type PlannedRun } from "../core/study";
import { parseRegisteredForecast, type RegisteredForecast } from "./forecast";
import { countParameters, GPT } from "../gpt/model";
import { heldOutLoss, train } from "../gpt/train";
import {
  checkDesign, checkSweepData, isoflopRun, isoflopRunsOf, learningRateRunsOf, learningRateStepRunsOf, runId, runSettings, scalingDesign, shapeRunsOf, shapeStepRunsOf,
  shapeTuningRunsOf, sweepContext, tuneLearningRatesOf, tuneShapesOf,
  type ScalingDesign, type ScalingSweep, type SweepData, type SweepResult, type SweepRun, type TunedRate,
} from "./sweepDesign";

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

/** A whole study's options: a sweep's, and what to do with the file's lines that are no run of the design. */
export interface ScalingSweepOptions extends Omit<SweepOptions, "evalTokens"> {
  /** Called once the study is complete, if lines trained on this backend are no run of the design (kept, never used). */
  onStrays?: (strays: SweepResult[]) => void;
}

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
  return linesOutside(readSweepResults(path, command), ids);
}

/** The counts of a sweep's options, checked before any run trains (a bad one would fail only after training, or under another name). */
function checkSweepOptions(fn: string, options: Omit<SweepOptions, "path" | "evalTokens"> & { evalTokens?: number }): void {
  for (const key of ["evalTokens", "curvePoints", "jobs"] as const) {
    if (options[key] !== undefined) checkPositiveInteger(fn, `options.${key}`, options[key]!);
  }
  if (options.evalBatches !== undefined) checkInteger(fn, "options.evalBatches", options.evalBatches, 0);
}

/** The backend is part of every run's id: a sweep must train on the one it was told. */
function checkSweepBackend(fn: string, backend: string): void {
  if (backend !== tf.getBackend()) throw new Error(`${fn}: options.backend is ${backend} but tfjs runs ${tf.getBackend()}; the backend is part of every run's id`);
}

/** A run's numbers, and whether its model can be scored on the evaluation tokens at all. */
function checkSweepRun(fn: string, run: SweepRun, i: number, options: SweepOptions): void {
  if (run == null || typeof run !== "object") throw new Error(`${fn}: runs[${i}] must be a sweep run; got ${shown(run)}`);
  const where = `${fn}: runs[${i}] (${shown(run.label)})`;
  const positive = (v: number) => typeof v === "number" && Number.isFinite(v) && v > 0;
  checkThat(positive(run.tokens), where, "tokens", run.tokens, "a positive number");
  checkPositiveInteger(where, "batchSize", run.batchSize);
  checkThat(positive(run.learningRate), where, "learningRate", run.learningRate, "a positive number");
  checkNumber(where, "seed", run.seed);
  // The model's config itself is checked as the run starts (GPT.create), naming the run, after the runs before it are kept.
  checkObject(where, "model", run.model, "a GPTConfig");
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
  checkSweepBackend(fn, options.backend);
  checkSweepData(fn, options.data, "options.data");
  const file = new StudyFile(options.path, (path) => readSweepResults(path, options.command)); // a folder or a damaged file fails here, before any training
  if (options.evalTokens === undefined) throw new Error(`${fn}: options.evalTokens is required: the validation and test tokens each model is scored on`);
  checkSweepOptions(fn, options);
  if (!Array.isArray(runs)) throw new Error(`${fn}: runs must be an array of sweep runs; got ${shown(runs)}`);
  return sweepPhase(fn, file, runs, options);
}

/** runSweep on a results file already read and options already checked: one phase of a study that may have several. */
async function sweepPhase(fn: string, file: StudyFile<SweepResult>, runs: SweepRun[], options: SweepOptions): Promise<SweepResult[]> {
  runs.forEach((run, i) => checkSweepRun(fn, run, i, options));
  const context = sweepContext(options.data, options.backend);
  const jobs = options.jobs ?? 1;
  const job = (run: SweepRun): SweepJob => ({
    run, context, data: options.data, curvePoints: options.curvePoints ?? 8,
    evalBatches: options.evalBatches ?? 10, evalTokens: options.evalTokens, workers: jobs > 1 ? 1 : "auto",
  });
  const planned: PlannedRun<SweepRun>[] = runs.map((run) => ({ run, id: runId(run, context) }));
  return file.resume("runSweep", planned, {
    describe: (run) => `"${run.label}"`, jobs,
    train: (run) => trainSweepRun(job(run)),
    worker: { module: "scaling/sweepWorker.ts", input: job, describe: (run) => `sweep run "${run.label}"` },
    onRunStart: options.onRunStart,
    onRunEnd: options.onRunEnd && ((result, i, _, total) => options.onRunEnd!(result, i, total)),
  });
}

/**
 * The learning-rate sweeps: the ladder's grid runs and steps beyond its edges until none is
 * needed, then the shapes' grids (centred on the ladder's rates) the same way; `results` trains or
 * looks up runs. Returns every tuning run, and the rates chosen for the ladder and the shapes.
 */
async function tuneRates(
  fn: string, design: ScalingDesign, vocabSize: number, trainTokens: number, context: RunContext, results: (runs: SweepRun[]) => SweepResult[] | Promise<SweepResult[]>,
): Promise<{ tuning: SweepResult[]; rates: TunedRate[]; shapeRates: TunedRate[] }> {
  const ladder = await untilSettled(
    learningRateRunsOf(fn, design, vocabSize, trainTokens), (done) => learningRateStepRunsOf(fn, design, vocabSize, trainTokens, done, context), results,
  );
  const rates = tuneLearningRatesOf(fn, design, vocabSize, trainTokens, ladder, context);
  const shapes = await untilSettled(shapeTuningRunsOf(design, vocabSize, rates), (done) => shapeStepRunsOf(fn, design, vocabSize, rates, done, context), results);
  return { tuning: [...ladder, ...shapes], rates, shapeRates: tuneShapesOf(fn, design, vocabSize, rates, shapes, context) };
}

/** The learning-rate sweep (steps beyond the grid's edges included), then the IsoFLOP runs at the rates it chose; resumable like runSweep. */
export async function runScalingSweep(design: ScalingDesign, vocabSize: number, options: ScalingSweepOptions): Promise<ScalingSweep> {
  const fn = "runScalingSweep";
  if (options == null) throw new Error(`${fn}: options { path, data, backend } are required; got ${shown(options)}`);
  checkSweepData(fn, options.data, "options.data");
  checkDesign(fn, design, vocabSize, options.data.train.length);
  checkSweepOptions(fn, options);
  return scalingSweepOf(fn, design, vocabSize, options);
}

/** runScalingSweep on a design and options already checked by `fn`. */
async function scalingSweepOf(fn: string, design: ScalingDesign, vocabSize: number, options: ScalingSweepOptions): Promise<ScalingSweep> {
  checkSweepBackend("runSweep", options.backend);
  const file = new StudyFile(options.path, (path) => readSweepResults(path, options.command));
  const trainTokens = options.data.train.length;
  const sweep = { ...options, evalTokens: design.evalTokens };
  const phase = (runs: SweepRun[]) => sweepPhase("runSweep", file, runs, sweep);
  const { tuning, rates, shapeRates } = await tuneRates(fn, design, vocabSize, trainTokens, sweepContext(options.data, options.backend), phase);
  const runs = [...(await phase(isoflopRunsOf(design, vocabSize, trainTokens, rates))), ...(await phase(shapeRunsOf(design, vocabSize, shapeRates)))];
  const strays = file.strays(options.backend);
  if (strays.length > 0) options.onStrays?.(strays);
  return { design, rates, shapeRates, tuning, runs };
}

/** Where a design's results are kept at full scale, produced by `npm run sweep -- --grid full`. */
export function storedSweepPath(design: ScalingDesign): string {
  return `datasets/sweeps/${design.name}.jsonl`;
}

/**
 * The forecast written down before the held-out budgets' runs existed (datasets/sweeps/<name>-prediction.md),
 * or null where the design has none (smoke scale).
 */
export function registeredForecast(design: ScalingDesign): RegisteredForecast | null {
  const path = join(projectRoot(), "datasets", "sweeps", `${design.name}-prediction.md`);
  return existsSync(path) ? parseRegisteredForecast(readFileSync(path, "utf8"), path) : null;
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
    const file = new StudyFile(join(projectRoot(), stored), (path) => readSweepResults(path));
    // The runs the study was stored with, whichever backend runs the lesson.
    const context = sweepContext(options.data, storedBackend(file.results, options.backend));
    const otherData = file.results.some((r) => r.dataHash !== context.dataHash) ? "; some of its runs were trained on other data than this corpus" : "";
    const lookup = (runs: SweepRun[]) => file.find(runs.map((run) => ({ run, id: runId(run, context) })), {
      file: stored, backend: context.backend, command: SWEEP_COMMAND, describe: (run) => run.label, note: otherData,
    });
    const trainTokens = options.data.train.length;
    const { tuning, rates, shapeRates } = await tuneRates(fn, design, vocabSize, trainTokens, context, lookup);
    return { design, rates, shapeRates, tuning, runs: lookup([...isoflopRunsOf(design, vocabSize, trainTokens, rates), ...shapeRunsOf(design, vocabSize, shapeRates)]) };
  }
  const path = join(projectRoot(), "build", "sweeps", `smoke-${process.pid}.jsonl`);
  rmSync(path, { force: true });
  try {
    return await scalingSweepOf(fn, design, vocabSize, { ...options, path });
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
