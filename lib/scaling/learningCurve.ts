// Hestness et al. (2017)'s learning curve: one fixed model trained on more and more data. With
// few examples it can do no better than a best guess (a small-data region); then its loss falls
// as a power law in the training-set size D (the power-law region); then it flattens at a floor
// (the irreducible region; for a fixed model the floor is also the model's own limit). Each
// training set is a prefix of the training text, each run stops early on validation batches and
// keeps its best weights, and the three regions are fitted with one curve,
//
//     L(D) = γ + (L_guess − γ)·(1 + D/D_s)^(−β),
//
// flat at the best guess for D ≪ D_s, a power law of exponent β beyond it, and γ at the end.
import { rmSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";

import { checkNonEmpty, checkPositive, checkPositiveInteger, shown } from "../core/checks";
import { cpuDescription } from "../core/machine";
import { ngramCrossEntropy } from "../core/ngram";
import { projectRoot } from "../core/paths";
import { fingerprint, readResults, resultId, stamp, storedBackend, type RunContext, type StampedResult } from "../core/results";
import { parseScale, type Scale } from "../core/scale";
import { StudyFile } from "../core/study";
import { GPT, type GPTConfig } from "../gpt/model";
import { heldOutLoss, train } from "../gpt/train";
import type { SweepData } from "./sweepDesign";

export interface LearningCurveDesign {
  /** Names the stored study: datasets/sweeps/<name>.jsonl. */
  name: string;
  corpus: string;
  /** The text and split, recorded with every run, e.g. "kjv.txt 90/5/5". */
  dataset: string;
  model: Omit<GPTConfig, "vocabSize">;
  /** Training-set sizes D in characters: prefixes of the training text, ascending. */
  dataSizes: number[];
  batchSize: number;
  learningRate: number;
  /** At most this many steps (the cosine schedule spans them all); a run stops earlier once `patience` evaluations bring no new best. */
  maxSteps: number;
  evalInterval: number;
  evalBatches: number;
  patience: number;
  /** Each run's best weights are scored on this many validation and test tokens. */
  evalTokens: number;
  seeds: number[];
}

export function learningCurveDesign(scale: Scale): LearningCurveDesign {
  parseScale(scale, "learningCurveDesign: scale");
  const common = { corpus: "kjv.txt", dataset: "kjv.txt 90/5/5" };
  if (scale === "smoke") {
    return {
      ...common, name: "kjv-learning-curve-smoke", model: { blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0, bias: true, tieWeights: true },
      dataSizes: [100, 300, 1_000, 3_000, 10_000], batchSize: 4, learningRate: 1e-2, maxSteps: 60, evalInterval: 10, evalBatches: 2, patience: 2,
      evalTokens: 1024, seeds: [1, 2],
    };
  }
  // The sweep's L2 H4 W32 (25k non-embedding parameters) at the rate its sweep chose; D from a
  // thousand characters (16 windows) to the whole training text, 3.6 decades.
  return {
    ...common, name: "kjv-learning-curve", model: { blockSize: 64, nLayer: 2, nHead: 4, nEmbd: 32, dropout: 0, bias: true, tieWeights: true },
    dataSizes: [1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000, 3_725_813], batchSize: 16, learningRate: 1.6e-2, maxSteps: 4000,
    // Evaluations every 25 steps find the best point of a tiny set, which is past within a hundred steps; a
    // patience of 1,000 steps outlasts the noise of 8 validation batches on the largest ones.
    evalInterval: 25, evalBatches: 8, patience: 40, evalTokens: 100_000, seeds: [1, 2],
  };
}

export interface CurveRun {
  tokens: number;
  seed: number;
}

export interface CurveResult extends StampedResult, CurveRun {
  /** Where the best validation estimate was, and how many steps ran. */
  bestStep: number;
  steps: number;
  /** Passes over the training set up to the best step. */
  epochs: number;
  validationLoss: number;
  testLoss: number;
  seconds: number;
  cpu: string;
}

const REQUIRED: (keyof CurveResult)[] = ["tokens", "seed", "bestStep", "steps", "validationLoss", "testLoss"];
const CURVE_COMMAND = "npm run learning-curve -- --grid full";

export function readCurveResults(path: string, command = CURVE_COMMAND): CurveResult[] {
  return readResults<CurveResult>(path, REQUIRED, command);
}

function checkCurveDesign(fn: string, design: LearningCurveDesign, trainTokens: number): void {
  checkNonEmpty(fn, "design.dataSizes", design.dataSizes, "a non-empty array of training-set sizes");
  checkNonEmpty(fn, "design.seeds", design.seeds);
  design.dataSizes.forEach((D, i) => {
    checkPositiveInteger(fn, `design.dataSizes[${i}]`, D);
    if (D <= design.model.blockSize) throw new Error(`${fn}: design.dataSizes[${i}] = ${D} holds no window of blockSize ${design.model.blockSize} + 1 characters`);
    if (D > trainTokens) throw new Error(`${fn}: design.dataSizes[${i}] = ${D} is more than the ${trainTokens} training tokens`);
  });
  for (const key of ["batchSize", "maxSteps", "evalInterval", "evalBatches", "patience", "evalTokens"] as const) checkPositiveInteger(fn, `design.${key}`, design[key]);
  checkPositive(fn, "design.learningRate", design.learningRate);
}

function curveSettings(design: LearningCurveDesign, run: CurveRun) {
  const { model, batchSize, learningRate, maxSteps, evalInterval, evalBatches, patience, evalTokens, dataset } = design;
  return { model, batchSize, learningRate, maxSteps, evalInterval, evalBatches, patience, evalTokens, dataset, ...run };
}

export function curveContext(data: SweepData, backend: string): RunContext {
  return { dataHash: fingerprint(data.train, data.val, data.test), backend };
}

/** Every run: each size for each seed, the largest first so that the longest runs start early. */
export function curveRuns(design: LearningCurveDesign): CurveRun[] {
  return design.seeds.flatMap((seed) => [...design.dataSizes].sort((a, b) => b - a).map((tokens) => ({ tokens, seed })));
}

/**
 * Trains one run on the first `run.tokens` training tokens (the sweep's schedule: warm-up, then a
 * cosine decay to a tenth over maxSteps), stops once `patience` evaluations on validation batches
 * bring no new best, and scores the best weights on the held-out validation and test tokens.
 */
export async function trainCurveRun(design: LearningCurveDesign, data: SweepData, vocabSize: number, run: CurveRun, context: RunContext): Promise<CurveResult> {
  const started = performance.now();
  const model = GPT.create({ ...design.model, vocabSize }, run.seed);
  const best = { loss: Infinity, step: 0, weights: null as Map<string, tf.Tensor> | null };
  try {
    const result = await train(model, { train: data.train.subarray(0, run.tokens), val: data.val }, {
      steps: design.maxSteps, batchSize: design.batchSize, learningRate: design.learningRate, minLearningRate: design.learningRate / 10,
      warmupSteps: Math.min(100, Math.ceil(design.maxSteps / 10)), evalInterval: design.evalInterval, evalBatches: design.evalBatches,
      seed: run.seed, workers: 1,
    }, {
      onEval: (e) => {
        if (e.valLoss >= best.loss) return;
        best.weights?.forEach((t) => t.dispose());
        best.weights = new Map([...model.params].map(([name, v]) => [name, tf.clone(v)]));
        best.loss = e.valLoss;
        best.step = e.step;
      },
      shouldStop: (e) => e.step - best.step >= design.patience * design.evalInterval,
    });
    best.weights?.forEach((t, name) => model.params.get(name)!.assign(t));
    const steps = result.evals.at(-1)?.step ?? design.maxSteps;
    return stamp(curveSettings(design, run), context, {
      ...run, bestStep: best.step, steps, epochs: (best.step * design.batchSize * design.model.blockSize) / run.tokens,
      validationLoss: await heldOutLoss(model, data.val, design.evalTokens), testLoss: await heldOutLoss(model, data.test, design.evalTokens),
      seconds: (performance.now() - started) / 1000, cpu: cpuDescription(),
    });
  } finally {
    best.weights?.forEach((t) => t.dispose());
    model.dispose();
  }
}

export interface CurveStudyOptions {
  path: string;
  data: SweepData;
  vocabSize: number;
  backend: string;
  command?: string;
  jobs?: number;
  onRunEnd?: (r: CurveResult, done: number, total: number) => void;
}

/** Trains every run not yet in the file (rewritten after each); returns the design's results in curveRuns order. */
export async function runLearningCurve(design: LearningCurveDesign, options: CurveStudyOptions): Promise<CurveResult[]> {
  checkCurveDesign("runLearningCurve", design, options.data.train.length);
  const context = curveContext(options.data, options.backend);
  const file = new StudyFile(options.path, (path) => readCurveResults(path, options.command));
  const describe = (run: CurveRun) => `D ${run.tokens}, seed ${run.seed}`;
  return file.resume("runLearningCurve", curveRuns(design).map((run) => ({ run, id: resultId(curveSettings(design, run), context) })), {
    describe, jobs: options.jobs,
    train: (run) => trainCurveRun(design, options.data, options.vocabSize, run, context),
    worker: { module: "scaling/learningCurveWorker.ts", input: (run) => ({ design, data: options.data, vocabSize: options.vocabSize, run, context }), describe },
    onRunEnd: options.onRunEnd && ((line, _, done, total) => options.onRunEnd!(line, done, total)),
  });
}

/** Where the full study is stored, produced by `npm run learning-curve -- --grid full`. */
export function storedCurvePath(design: LearningCurveDesign): string {
  return `datasets/sweeps/${design.name}.jsonl`;
}

/**
 * The stored study's results, in curveRuns order, read with the backend it was stored with (its
 * first line's; `backend` for an empty file); an error names what is missing and the command.
 */
export function storedCurveResults(design: LearningCurveDesign, path: string, data: SweepData, backend: string): CurveResult[] {
  checkCurveDesign("storedCurveResults", design, data.train.length);
  const file = new StudyFile(path, (p) => readCurveResults(p));
  const context = curveContext(data, storedBackend(file.results, backend));
  return file.find(curveRuns(design).map((run) => ({ run, id: resultId(curveSettings(design, run), context) })), {
    file: storedCurvePath(design), backend: context.backend, command: CURVE_COMMAND, describe: (run) => `D ${run.tokens}, seed ${run.seed}`,
  });
}

/**
 * The study for the lesson: at full scale the stored runs (trained once by `npm run learning-curve
 * -- --grid full`; an error names what is missing), at smoke scale the smoke design trained now
 * into a scratch file that is removed afterwards.
 */
export async function learningCurveStudy(
  scale: Scale, data: SweepData, vocabSize: number, backend: string, onRunEnd?: (r: CurveResult, done: number, total: number) => void,
): Promise<CurveResult[]> {
  const design = learningCurveDesign(scale);
  if (scale === "full") {
    const path = join(projectRoot(), storedCurvePath(design));
    return storedCurveResults(design, path, data, backend);
  }
  const path = join(projectRoot(), "build", "sweeps", `curve-smoke-${process.pid}.jsonl`);
  rmSync(path, { force: true });
  try {
    return await runLearningCurve(design, { path, data, vocabSize, backend, onRunEnd });
  } finally {
    rmSync(path, { force: true });
  }
}

/** The best guess: the training text's character frequencies, scored on the validation text (nats per character). */
export function bestGuessLoss(data: SweepData, vocabSize: number): number {
  return ngramCrossEntropy(data.train, data.val, vocabSize, 1, 0.01);
}

export interface ThreeRegionFit {
  /** The fixed plateau: the best guess's loss. */
  guess: number;
  /** The floor γ, the knee D_s and the exponent β. */
  floor: number;
  knee: number;
  exponent: number;
  /** Root mean squared error of the fit, in nats. */
  rmse: number;
}

/** L(D) of a fit. */
export const threeRegionLoss = (fit: Pick<ThreeRegionFit, "guess" | "floor" | "knee" | "exponent">, D: number) =>
  fit.floor + (fit.guess - fit.floor) * (1 + D / fit.knee) ** -fit.exponent;

/**
 * Fits γ, D_s and β of L(D) = γ + (L_guess − γ)(1 + D/D_s)^(−β) by least squares: a grid over β
 * (0.01 … 2) and D_s (1 … 10¹⁰), each point with its best γ in closed form (L is linear in γ),
 * then the grid refined twice around its best point.
 */
export function fitThreeRegions(D: readonly number[], loss: readonly number[], guess: number): ThreeRegionFit {
  const fn = "fitThreeRegions";
  if (D.length !== loss.length || D.length < 4) throw new Error(`fitThreeRegions: needs at least 4 (D, loss) pairs of equal length; got ${D.length} and ${loss.length}`);
  checkPositive(fn, "guess", guess);
  const sse = (knee: number, exponent: number) => {
    // L = γ(1 − g) + guess·g with g = (1 + D/D_s)^(−β): least squares in γ alone.
    let num = 0, den = 0;
    const g = D.map((d) => (1 + d / knee) ** -exponent);
    g.forEach((gi, i) => { num += (1 - gi) * (loss[i] - guess * gi); den += (1 - gi) ** 2; });
    const floor = den > 0 ? num / den : guess;
    const err = g.reduce((s, gi, i) => s + (floor * (1 - gi) + guess * gi - loss[i]) ** 2, 0);
    return { floor, err };
  };
  let best = { knee: 1, exponent: 0.01, floor: guess, err: Infinity };
  let [logKnee, logExp, kneeSpan, expSpan] = [5, Math.log10(0.14), 5, 1.15]; // log10 ranges: D_s 1e0…1e10, β 0.01…2
  for (let round = 0; round < 3; round++) {
    const steps = 200;
    for (let i = 0; i <= steps; i++) {
      const knee = 10 ** (logKnee - kneeSpan + (2 * kneeSpan * i) / steps);
      for (let j = 0; j <= steps; j++) {
        const exponent = 10 ** (logExp - expSpan + (2 * expSpan * j) / steps);
        const { floor, err } = sse(knee, exponent);
        if (err < best.err) best = { knee, exponent, floor, err };
      }
    }
    [logKnee, logExp, kneeSpan, expSpan] = [Math.log10(best.knee), Math.log10(best.exponent), kneeSpan / 20, expSpan / 20];
  }
  return { guess, floor: best.floor, knee: best.knee, exponent: best.exponent, rmse: Math.sqrt(best.err / D.length) };
}

/**
 * The regions' boundaries: the small-data region ends at D_s, where the power law's straight line
 * meets the best-guess plateau; the irreducible region begins where the loss still to gain,
 * (L_guess − γ)(1 + D/D_s)^(−β), falls to `noise` (the seed-to-seed standard deviation: a run
 * cannot tell less apart).
 */
export function regionBoundaries(fit: ThreeRegionFit, noise: number): { smallData: number; irreducible: number } {
  checkPositive("regionBoundaries", "noise", noise);
  const gap = fit.guess - fit.floor;
  return { smallData: fit.knee, irreducible: gap > noise ? fit.knee * ((gap / noise) ** (1 / fit.exponent) - 1) : fit.knee };
}

/** Per data size, the mean test loss over seeds and the largest seed-to-seed difference. */
export function curvePoints(results: readonly CurveResult[]): { tokens: number; loss: number; spread: number; runs: CurveResult[] }[] {
  if (results.length === 0) throw new Error(`curvePoints: results must hold at least one run; got ${shown(results)}`);
  const sizes = [...new Set(results.map((r) => r.tokens))].sort((a, b) => a - b);
  return sizes.map((tokens) => {
    const runs = results.filter((r) => r.tokens === tokens);
    const losses = runs.map((r) => r.testLoss);
    return { tokens, loss: losses.reduce((s, l) => s + l, 0) / losses.length, spread: Math.max(...losses) - Math.min(...losses), runs };
  });
}

/** The seed-to-seed standard deviation, pooled over the data sizes measured with more than one seed. */
export function pooledSeedSd(points: readonly { runs: readonly CurveResult[] }[]): number {
  let squares = 0, degrees = 0;
  for (const { runs } of points) {
    if (runs.length < 2) continue;
    const mean = runs.reduce((t, r) => t + r.testLoss, 0) / runs.length;
    squares += runs.reduce((t, r) => t + (r.testLoss - mean) ** 2, 0);
    degrees += runs.length - 1;
  }
  if (degrees === 0) throw new Error("pooledSeedSd: needs a data size measured with at least 2 seeds");
  return Math.sqrt(squares / degrees);
}
