// Sweeps for the scaling lessons: train a grid of models (sizes × token budgets, and shapes at
// a fixed size) and keep one JSON line per finished run. The results file is rewritten whole
// (temporary file, then rename) after every run, so a sweep killed at any moment leaves only
// complete lines, and a rerun skips the runs already there.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

import { writeFileAtomic } from "../core/files";
import { BABY_GPT, countParameters, GPT, type GPTConfig } from "../gpt/model";
import { heldOutLoss, train } from "../gpt/train";
import { projectRoot } from "../core/paths";
import type { Scale } from "../core/scale";
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
}

export interface SweepResult {
  /** Stable id of the run's settings: a rerun with the same settings is skipped. */
  id: string;
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
  /** Validation loss on every position of the validation split's first `finalEvalTokens` tokens (sweeps that ask for it). */
  heldOutLoss?: number;
  heldOutTokens?: number;
  /** Validation loss along the way, for loss-against-compute curves. */
  curve: { tokens: number; valLoss: number }[];
  seconds: number;
  backend: string;
  seed: number;
  batchSize: number;
  learningRate: number;
}

export function runId(run: SweepRun): string {
  const { model, tokens, batchSize, learningRate, seed } = run;
  return createHash("sha256").update(JSON.stringify({ model, tokens, batchSize, learningRate, seed })).digest("hex").slice(0, 16);
}

const REQUIRED: (keyof SweepResult)[] = ["id", "label", "model", "params", "tokens", "flops", "trainLoss", "valLoss", "curve", "seconds", "backend", "seed"];

/** Reads a results file; a line that is not a complete result is an error naming the line. */
export function readSweepResults(path: string): SweepResult[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "").map((line, i) => {
    let parsed: SweepResult;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(`${path}, line ${i + 1}: not JSON (${line.slice(0, 60)}…); each line must be one finished run`);
    }
    const missing = REQUIRED.filter((k) => parsed[k] === undefined);
    if (missing.length) throw new Error(`${path}, line ${i + 1}: missing ${missing.join(", ")}`);
    return parsed;
  });
}

function writeSweepResults(path: string, results: SweepResult[]): void {
  writeFileAtomic(path, results.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

export interface SweepOptions {
  /** Where results go, one JSON line per run. */
  path: string;
  data: { train: Int32Array; val: Int32Array };
  backend: string;
  /** Loss estimates along each run (default 8). */
  curvePoints?: number;
  evalBatches?: number;
  /** Also score each trained model on this many validation tokens, every position (heldOutLoss). */
  finalEvalTokens?: number;
  /**
   * Runs trained side by side, each in its own worker thread with its own backend (default 1:
   * one after another, in this thread). Results are still written by this thread alone.
   */
  jobs?: number;
  onRunStart?: (run: SweepRun, index: number, total: number) => void;
  onRunEnd?: (result: SweepResult, index: number, total: number) => void;
}

/** What one run needs, whether it trains here or in a worker (lib/scaling/sweepWorker.ts). */
export interface SweepJob {
  run: SweepRun;
  id: string;
  data: { train: Int32Array; val: Int32Array };
  backend: string;
  curvePoints: number;
  evalBatches: number;
  finalEvalTokens?: number;
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
    const heldOut = job.finalEvalTokens
      ? { heldOutLoss: heldOutLoss(model, job.data.val, job.finalEvalTokens), heldOutTokens: Math.min(job.finalEvalTokens, job.data.val.length) }
      : {};
    return {
      ...heldOut,
      id: job.id, label: run.label, model: run.model, params, tokens: r.tokens, flops: 6 * params * r.tokens,
      trainLoss: last.trainLoss, valLoss: last.valLoss, curve: r.evals.map((e) => ({ tokens: e.tokens, valLoss: e.valLoss })),
      seconds: r.seconds, backend: job.backend, seed: run.seed, batchSize: run.batchSize, learningRate: run.learningRate,
    };
  } finally {
    model.dispose();
  }
}

/** Trains every run not yet in the results file; returns all results for `runs`, in order. */
export async function runSweep(runs: SweepRun[], options: SweepOptions): Promise<SweepResult[]> {
  const ids = runs.map(runId);
  const duplicate = ids.findIndex((id, i) => ids.indexOf(id) !== i);
  if (duplicate >= 0) throw new Error(`runSweep: run ${duplicate} ("${runs[duplicate].label}") repeats the settings of run ${ids.indexOf(ids[duplicate])}`);
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`runSweep: jobs must be a positive integer; got ${jobs}`);
  const results = readSweepResults(options.path);
  const done = new Map(results.map((r) => [r.id, r]));
  const todo = runs.map((run, i) => ({ run, i })).filter(({ i }) => !done.has(ids[i]));
  const job = (run: SweepRun, i: number): SweepJob => ({
    run, id: ids[i], data: options.data, backend: options.backend, curvePoints: options.curvePoints ?? 8,
    evalBatches: options.evalBatches ?? 10, finalEvalTokens: options.finalEvalTokens, workers: jobs > 1 ? 1 : "auto",
  });
  // Only this thread writes the file, whole and atomically, after each finished run.
  const record = (result: SweepResult, i: number) => {
    results.push(result);
    done.set(result.id, result);
    writeSweepResults(options.path, results);
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

type Shape = { nLayer: number; nHead: number; nEmbd: number };

/** The sweep's learning rate by width: smaller models tolerate larger steps (as in Kaplan et al.'s and nanoGPT's settings). */
export function widthLearningRate(shape: Shape): number {
  return shape.nEmbd <= 64 ? 2e-3 : 1e-3;
}

/** Models of increasing width at a fixed shape ratio, each trained on each token budget. */
export function sizeByDataGrid(base: Omit<GPTConfig, "nEmbd" | "nLayer" | "nHead">, shapes: Shape[], tokenBudgets: number[], seed = 1): SweepRun[] {
  if (shapes.length === 0 || tokenBudgets.length === 0) throw new Error("sizeByDataGrid: needs at least one shape and one token budget");
  return shapes.flatMap((shape) => tokenBudgets.map((tokens) => ({
    label: `L${shape.nLayer} W${shape.nEmbd} D${tokens}`, model: { ...base, ...shape }, tokens, batchSize: 12,
    learningRate: widthLearningRate(shape), seed,
  })));
}

/**
 * The scaling lessons' grid of character-level GPTs on Tiny Shakespeare. Full: five sizes
 * (25k to 790k non-embedding parameters) × three token budgets, and three shapes at ~200k
 * parameters; smoke: nine tiny runs.
 */
export function shakespeareGrid(scale: Scale, vocabSize: number): SweepRun[] {
  if (scale === "smoke") {
    const base = { ...BABY_GPT, vocabSize, blockSize: 32 };
    // Nine points: enough for the five-parameter Chinchilla fit, also on the two smaller sizes alone.
    return sizeByDataGrid(base, [{ nLayer: 1, nHead: 2, nEmbd: 8 }, { nLayer: 1, nHead: 2, nEmbd: 16 }, { nLayer: 1, nHead: 2, nEmbd: 32 }], [1024, 2048, 4096]);
  }
  const base = { ...BABY_GPT, vocabSize };
  const shapes = [
    { nLayer: 2, nHead: 2, nEmbd: 32 }, { nLayer: 2, nHead: 4, nEmbd: 48 }, { nLayer: 3, nHead: 4, nEmbd: 64 },
    { nLayer: 4, nHead: 4, nEmbd: 96 }, { nLayer: 4, nHead: 4, nEmbd: 128 },
  ];
  return [...sizeByDataGrid(base, shapes, [100_000, 200_000, 400_000]), ...sizeByDataGrid(base, SHAPES_AT_FIXED_N, [200_000])];
}

/** Character-GPT shapes of growing size, about 2× apart in non-embedding parameters N at context 64. */
export const SIZE_LADDER = [
  { nLayer: 1, nHead: 2, nEmbd: 16 }, { nLayer: 2, nHead: 2, nEmbd: 16 }, { nLayer: 2, nHead: 2, nEmbd: 24 },
  { nLayer: 2, nHead: 4, nEmbd: 32 }, { nLayer: 2, nHead: 4, nEmbd: 48 }, { nLayer: 3, nHead: 4, nEmbd: 64 },
  { nLayer: 4, nHead: 4, nEmbd: 96 }, { nLayer: 4, nHead: 4, nEmbd: 128 },
];

export interface IsoflopGridOptions {
  base: Omit<GPTConfig, "nEmbd" | "nLayer" | "nHead">;
  /** Tokens the training split holds: a run may pass over it at most `maxEpochs` times. */
  trainTokens: number;
  maxEpochs?: number;
  /** Runs shorter than this many steps are left out (warm-up and decay need room). */
  minSteps?: number;
  batchSize?: number;
  learningRate: (shape: Shape) => number;
  seeds?: number[];
  ladder?: Shape[];
}

/**
 * Hoffmann et al.'s approach 2 on real models: at each compute budget C, every ladder size N
 * trained on D = C/(6N) tokens (rounded to whole steps), each with its own schedule ending at its
 * own D. Sizes that would need fewer than `minSteps` steps, or more than `maxEpochs` passes over
 * the training text, are left out and listed in `skipped`.
 */
export function isoflopGrid(budgets: number[], o: IsoflopGridOptions): { runs: SweepRun[]; skipped: { C: number; label: string; why: string }[] } {
  const { maxEpochs = 4, minSteps = 100, batchSize = 12, seeds = [1], ladder = SIZE_LADDER } = o;
  const runs: SweepRun[] = [];
  const skipped: { C: number; label: string; why: string }[] = [];
  const perStep = batchSize * o.base.blockSize;
  for (const C of budgets) {
    if (!(C > 0)) throw new Error(`isoflopGrid: budgets must be positive FLOPs; got ${C}`);
    for (const shape of ladder) {
      const model = { ...o.base, ...shape };
      const N = countParameters(model).nonEmbedding;
      const steps = Math.round(C / (6 * N) / perStep);
      const label = `C${C.toExponential(0).replace("+", "")} L${shape.nLayer} W${shape.nEmbd}`;
      if (steps < minSteps) skipped.push({ C, label, why: `${steps} steps < ${minSteps}` });
      else if (steps * perStep > maxEpochs * o.trainTokens) skipped.push({ C, label, why: `${((steps * perStep) / o.trainTokens).toFixed(1)} epochs > ${maxEpochs}` });
      else for (const seed of seeds) runs.push({ label: seeds.length > 1 ? `${label} s${seed}` : label, model, tokens: steps * perStep, batchSize, learningRate: o.learningRate(shape), seed });
    }
  }
  return { runs, skipped };
}

/** Shape at (nearly) fixed size in the full grid: ~200k non-embedding parameters as 1 wide layer … 8 narrow ones. */
export const SHAPES_AT_FIXED_N = [{ nLayer: 1, nHead: 4, nEmbd: 128 }, { nLayer: 2, nHead: 4, nEmbd: 96 }, { nLayer: 8, nHead: 4, nEmbd: 48 }];

/** A sweep's results as its two parts: the size × data grid, and the shape runs at a fixed size (full grid only). */
export function splitSweep(results: SweepResult[]): { grid: SweepResult[]; shapes: SweepResult[] } {
  const isShape = (r: SweepResult) => SHAPES_AT_FIXED_N.some((s) => s.nLayer === r.model.nLayer && s.nHead === r.model.nHead && s.nEmbd === r.model.nEmbd);
  return { grid: results.filter((r) => !isShape(r)), shapes: results.filter(isShape) };
}

/** One run per model size, the one on the largest token budget, smallest model first. */
export function longestRunPerSize(results: SweepResult[]): SweepResult[] {
  const maxTokens = Math.max(...results.map((r) => r.tokens));
  return results.filter((r) => r.tokens === maxTokens).sort((a, b) => a.params - b.params);
}

/** A run's validation loss at the last evaluation within `flops` of training compute (6·N·tokens), or Infinity before its first. */
export function lossAtCompute(run: SweepResult, flops: number): number {
  const within = run.curve.filter((p) => 6 * run.params * p.tokens <= flops);
  return within.length ? within.at(-1)!.valLoss : Infinity;
}


/** Where the full grid's results are kept, produced by `npm run sweep -- --grid full --out <this path>`. */
export const FULL_SWEEP_RESULTS = "datasets/sweeps/shakespeare-char.jsonl";

/**
 * The grid's results for a lesson: at full scale the stored results of the full grid (hours of
 * training, done once by the sweep command); at smoke scale the smoke grid, trained now (into
 * `smokePath`, or a scratch file removed afterwards).
 */
export async function shakespeareSweep(
  scale: Scale, options: Omit<SweepOptions, "path"> & { vocabSize: number; smokePath?: string },
): Promise<SweepResult[]> {
  const runs = shakespeareGrid(scale, options.vocabSize);
  if (scale === "full") {
    const path = join(projectRoot(), FULL_SWEEP_RESULTS);
    const byId = new Map(readSweepResults(path).map((r) => [r.id, r]));
    const missing = runs.filter((r) => !byId.has(runId(r)));
    if (missing.length) {
      throw new Error(`${FULL_SWEEP_RESULTS} lacks ${missing.length} of the grid's ${runs.length} runs (first: ${missing[0].label}); run \`npm run sweep -- --grid full --out ${FULL_SWEEP_RESULTS}\` (it resumes)`);
    }
    return runs.map((r) => byId.get(runId(r))!);
  }
  // The smoke grid is trained afresh into a scratch file of this process's own.
  const smokePath = options.smokePath ?? join(projectRoot(), "build", "sweeps", `smoke-${process.pid}.jsonl`);
  rmSync(smokePath, { force: true });
  try {
    return await runSweep(runs, { ...options, path: smokePath });
  } finally {
    if (!options.smokePath) rmSync(smokePath, { force: true });
  }
}

/** Tokens after which a run's validation curve first reaches `loss` (linear in log tokens between points), or null if it never does. */
export function tokensToReach(curve: { tokens: number; valLoss: number }[], loss: number): number | null {
  for (let i = 0; i < curve.length; i++) {
    if (curve[i].valLoss > loss) continue;
    if (i === 0) return curve[0].tokens;
    const a = curve[i - 1], b = curve[i];
    const t = (a.valLoss - loss) / (a.valLoss - b.valLoss);
    return Math.exp(Math.log(a.tokens) + t * (Math.log(b.tokens) - Math.log(a.tokens)));
  }
  return null;
}

/**
 * The compute-efficient frontier of a sweep: every point (C = 6·N·tokens, validation loss) along
 * every run's curve, keeping those no cheaper point beats. Kaplan et al.'s L(C_min).
 */
export function lossComputeFrontier(results: SweepResult[]): { flops: number; valLoss: number; label: string }[] {
  // Cheapest first; at equal compute the lower loss first, so only it can enter.
  const points = results.flatMap((r) => r.curve.map((c) => ({ flops: 6 * r.params * c.tokens, valLoss: c.valLoss, label: r.label })))
    .sort((a, b) => a.flops - b.flops || a.valLoss - b.valLoss);
  const frontier: typeof points = [];
  for (const p of points) if (frontier.length === 0 || p.valLoss < frontier.at(-1)!.valLoss) frontier.push(p);
  return frontier;
}
