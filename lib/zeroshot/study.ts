// Lesson 05's study of composition: how far behind seen pairs are pairs never seen, for two model
// sizes and two amounts of data, over several generated worlds and training seeds. One run takes
// about a minute at full scale and the grid has 36, so the full study is trained once by
// `npm run compose-study -- --grid full`, stored in datasets/zeroshot/, and the lesson trains a
// slice of it live beside the stored runs.
import { rmSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";

import { checkNumber, checkObject, checkPositiveInteger, checkThat, shown } from "../core/checks";
import { fingerprint, readResults, resultId, stamp, storedBackend, upgradeResults, type RunContext, type StampedResult } from "../core/results";
import { cpuDescription } from "../core/machine";
import { meanInterval, type MeanInterval } from "../core/numerics";
import { projectRoot } from "../core/paths";
import { parseScale, type Scale } from "../core/scale";
import { StudyFile } from "../core/study";
import type { GPTConfig } from "../gpt/model";
import { buildConceptWorld, generateCorpus, type ConceptWorld, type ConceptWorldOptions } from "./corpus";
import { headAndTail, summarizeScores, type ZeroShotSummary } from "./evaluate";
import { pretrainAndEvaluate, type ConceptRun } from "./pretrain";

export type ModelSize = "small" | "larger";
export type DataSize = "half" | "all";

export interface CompositionDesign {
  name: string;
  /** Seeds of the generated worlds; world w's corpus is drawn with seed w + 1. */
  worlds: number[];
  /** Training seeds (weights and batches) per world. */
  seeds: number[];
  world: Omit<ConceptWorldOptions, "seed">;
  sentences: number;
  exponent: number;
  models: Record<ModelSize, Omit<GPTConfig, "vocabSize">>;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** The rarest fraction of seen concepts is the tail. */
  tailFraction: number;
}

const shape = { dropout: 0, bias: true, tieWeights: true };

/** The design the lesson and the stored study share. */
export function compositionDesign(scale: Scale): CompositionDesign {
  parseScale(scale, "compositionDesign: scale");
  if (scale === "smoke") {
    return {
      name: "smoke", worlds: [1, 2], seeds: [1], world: { attributes: 5, objects: 5, heldOutFraction: 0.25 }, sentences: 800, exponent: 1.25,
      models: { small: { blockSize: 56, nLayer: 1, nHead: 1, nEmbd: 8, ...shape }, larger: { blockSize: 56, nLayer: 1, nHead: 2, nEmbd: 16, ...shape } },
      epochs: 0.3, batchSize: 8, learningRate: 1e-2, tailFraction: 0.2,
    };
  }
  return {
    name: "concepts-composition", worlds: [1, 2, 3], seeds: [1, 2, 3], world: { attributes: 24, objects: 24, heldOutFraction: 0.25 }, sentences: 40_000,
    exponent: 1.25,
    models: { small: { blockSize: 56, nLayer: 1, nHead: 2, nEmbd: 32, ...shape }, larger: { blockSize: 56, nLayer: 2, nHead: 4, nEmbd: 64, ...shape } },
    epochs: 1, batchSize: 32, learningRate: 1e-2, tailFraction: 0.2,
  };
}

/** One cell of the grid for one world and seed. */
export interface CompositionRunSpec {
  world: number;
  seed: number;
  model: ModelSize;
  data: DataSize;
}

export interface CompositionResult extends CompositionRunSpec, StampedResult {
  parameters: number;
  lines: number;
  seenConcepts: number;
  heldOutConcepts: number;
  /** Percent right: texture and colour of seen pairs, of the rarest seen, of held-out pairs; the gap seen − held out. */
  traitsSeen: number;
  traitsTail: number;
  traitsHeldOut: number;
  gap: number;
  /** Percent of seen pairs whose place is right, asked in a phrasing never seen with the pair, and in one seen. */
  place: number;
  placeRecall: number;
  /** Per concept, in order: "1" where texture and colour were right, "0" where not. */
  traitsRight: string;
  finalLoss: number;
  seconds: number;
  cpu: string;
}

const REQUIRED: (keyof CompositionResult)[] = ["world", "seed", "model", "data", "traitsSeen", "traitsHeldOut", "gap", "traitsRight"];

/** The command that writes the stored study, named in errors about its file. */
const STUDY_COMMAND = "npm run compose-study -- --grid full";

/** Reads a study's results file; a damaged, old or incomplete line is an error naming the line and the repair. */
export function readCompositionResults(path: string, command = STUDY_COMMAND): CompositionResult[] {
  return readResults<CompositionResult>(path, REQUIRED, command);
}

const MODEL_SIZES: readonly ModelSize[] = ["small", "larger"];
const DATA_SIZES: readonly DataSize[] = ["half", "all"];

/** Throws unless the design has worlds and seeds to run (finite seeds) and a model for each size. */
function checkCompositionDesign(fn: string, design: CompositionDesign): void {
  if (design == null || typeof design !== "object") throw new Error(`${fn}: design must be a CompositionDesign (from compositionDesign); got ${shown(design)}`);
  for (const key of ["worlds", "seeds"] as const) {
    const values = design[key];
    if (!Array.isArray(values) || values.length === 0) throw new Error(`${fn}: design.${key} must be a non-empty array of seeds; got ${shown(values)}`);
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) throw new Error(`${fn}: design.${key}[${i}] must be a finite number; got ${shown(v)}`);
    });
  }
  for (const size of MODEL_SIZES) {
    if (design.models?.[size] == null) throw new Error(`${fn}: design.models.${size} must be a model config; got ${shown(design.models?.[size])}`);
  }
}

/** Throws unless the cell names a world and seed (finite numbers), a model size and a data size of the design. */
function checkSpec(fn: string, spec: CompositionRunSpec): void {
  if (spec == null || typeof spec !== "object") throw new Error(`${fn}: spec must be { world, seed, model, data }; got ${shown(spec)}`);
  if (!Number.isFinite(spec.world)) throw new Error(`${fn}: spec.world must be a finite number; got ${shown(spec.world)}`);
  if (!Number.isFinite(spec.seed)) throw new Error(`${fn}: spec.seed must be a finite number; got ${shown(spec.seed)}`);
  if (!MODEL_SIZES.includes(spec.model)) throw new Error(`${fn}: spec.model must be one of ${MODEL_SIZES.join(", ")}; got ${shown(spec.model)}`);
  if (!DATA_SIZES.includes(spec.data)) throw new Error(`${fn}: spec.data must be one of ${DATA_SIZES.join(", ")}; got ${shown(spec.data)}`);
}

/** Every run of the design: worlds × seeds × model sizes × data sizes. */
export function compositionRuns(design: CompositionDesign): CompositionRunSpec[] {
  checkCompositionDesign("compositionRuns", design);
  return design.worlds.flatMap((world) => design.seeds.flatMap((seed) =>
    (["small", "larger"] as const).flatMap((model) => (["half", "all"] as const).map((data) => ({ world, seed, model, data })))));
}

/** What decides a run's result besides the generated text: the design's settings and the cell. */
function compositionSettings(design: CompositionDesign, run: CompositionRunSpec) {
  const { world, sentences, exponent, models, epochs, batchSize, learningRate, tailFraction } = design;
  return { world, sentences, exponent, model: models[run.model], epochs, batchSize, learningRate, tailFraction, run };
}

/** A run's identity: its settings, the text its world generates (so a change to the generator is a new run) and the backend, hashed. */
export function compositionRunId(design: CompositionDesign, run: CompositionRunSpec, backend: string): string {
  return resultId(compositionSettings(design, run), compositionContext(design, run, backend));
}

/** Fingerprints of generated corpora, by what generates them: each is made once per process. */
const textFingerprints = new Map<string, string>();

function compositionContext(design: CompositionDesign, run: CompositionRunSpec, backend: string): RunContext {
  const key = JSON.stringify([design.world, design.sentences, design.exponent, run.world, run.data]);
  if (!textFingerprints.has(key)) textFingerprints.set(key, fingerprint(compositionData(design, run.world, run.data).sentences.join("\n")));
  return { dataHash: textFingerprints.get(key)!, backend };
}

/**
 * Upgrades a results file of `design` written in format 1 (ids of the settings alone): each line is
 * matched to its run and given the fingerprint of the text that run's world generates now. The
 * caller vouches that the generator has not changed since the file was written.
 */
export function upgradeCompositionResults(path: string, design: CompositionDesign): number {
  return upgradeResults(path, compositionRuns(design).map((run) => ({
    settings: compositionSettings(design, run), dataHash: compositionContext(design, run, "").dataHash,
  })));
}

/** The world and its corpus (half or all of it) for one run. */
export function compositionData(design: CompositionDesign, world: number, data: DataSize): { world: ConceptWorld; sentences: string[] } {
  if (design == null || typeof design !== "object") throw new Error(`compositionData: design must be a CompositionDesign (from compositionDesign); got ${shown(design)}`);
  if (!Number.isFinite(world)) throw new Error(`compositionData: world must be a finite number (the world's seed); got ${shown(world)}`);
  if (!DATA_SIZES.includes(data)) throw new Error(`compositionData: data must be one of ${DATA_SIZES.join(", ")}; got ${shown(data)}`);
  const w = buildConceptWorld({ ...design.world, seed: world });
  const sentences = generateCorpus(w, { sentences: design.sentences, exponent: design.exponent, seed: world + 1 });
  return { world: w, sentences: data === "all" ? sentences : sentences.slice(0, Math.floor(sentences.length / 2)) };
}

/** What is stored of a run. */
export function compositionResult(design: CompositionDesign, spec: CompositionRunSpec, world: ConceptWorld, run: ConceptRun, lines: number): CompositionResult {
  const s: ZeroShotSummary = summarizeScores(run.scores, headAndTail(world, run.frequency, design.tailFraction));
  return stamp(compositionSettings(design, spec), compositionContext(design, spec, tf.getBackend()), {
    ...spec, parameters: run.parameters, lines,
    seenConcepts: world.popularity.length, heldOutConcepts: world.heldOut.length,
    traitsSeen: s.traitsSeen, traitsTail: s.traitsTail, traitsHeldOut: s.traitsHeldOut, gap: s.compositionalGap,
    place: s.place, placeRecall: s.placeRecall,
    traitsRight: run.scores.map((x) => (x.traitsCorrect ? "1" : "0")).join(""),
    finalLoss: run.finalLoss, seconds: run.trainSeconds + run.evalSeconds, cpu: cpuDescription(),
  });
}

/** Trains one run of the design. */
export async function trainCompositionRun(
  design: CompositionDesign, spec: CompositionRunSpec, onStep?: (step: number, total: number) => void,
): Promise<{ result: CompositionResult; run: ConceptRun; world: ConceptWorld }> {
  checkCompositionDesign("trainCompositionRun", design);
  checkSpec("trainCompositionRun", spec);
  const { world, sentences } = compositionData(design, spec.world, spec.data);
  const run = await pretrainAndEvaluate({
    world, sentences, model: design.models[spec.model], epochs: design.epochs, batchSize: design.batchSize, learningRate: design.learningRate,
    seed: spec.seed, onStep: onStep ? (info, total) => onStep(info.step + 1, total) : undefined,
  });
  return { result: compositionResult(design, spec, world, run, sentences.length), run, world };
}

export interface CompositionStudyOptions {
  /** Where results go, one JSON line per run (rewritten whole after each, so an interrupt loses at most the run under way). */
  path: string;
  /** The command that writes `path`, named in errors about it (default: the stored study's). */
  command?: string;
  onRunStart?: (spec: CompositionRunSpec, index: number, total: number) => void;
  onStep?: (step: number, total: number) => void;
  onRunEnd?: (result: CompositionResult, done: number, total: number) => void;
  /** Called once the study is complete, if lines trained on this backend are no run of the design (kept, never used). */
  onStrays?: (strays: CompositionResult[]) => void;
}

/** A run in errors. */
const describeSpec = (s: CompositionRunSpec) => `world ${s.world}, seed ${s.seed}, ${s.model} model, ${s.data} data`;

/** Trains every run of the design not yet in the results file; returns all of them, in design order. */
export async function runCompositionStudy(design: CompositionDesign, options: CompositionStudyOptions): Promise<CompositionResult[]> {
  checkCompositionDesign("runCompositionStudy", design);
  const backend = tf.getBackend();
  const runs = compositionRuns(design).map((run) => ({ run, id: compositionRunId(design, run, backend) }));
  const file = new StudyFile(options.path, (path) => readCompositionResults(path, options.command));
  const results = await file.resume("runCompositionStudy", runs, {
    describe: describeSpec,
    train: async (spec) => (await trainCompositionRun(design, spec, options.onStep)).result,
    onRunStart: options.onRunStart,
    onRunEnd: options.onRunEnd && ((result, _, done, total) => options.onRunEnd!(result, done, total)),
  });
  const strays = file.strays(backend);
  if (strays.length > 0) options.onStrays?.(strays);
  return results;
}

/** Where the full study is stored, produced by `npm run compose-study -- --grid full`. */
export function storedCompositionPath(design: CompositionDesign): string {
  return `datasets/zeroshot/${design.name}.jsonl`;
}

/**
 * The study for the lesson: at full scale the stored runs (an error names what is missing and
 * the command that trains it); at smoke scale trained now into a scratch file removed afterwards.
 */
export async function compositionStudy(scale: Scale, design: CompositionDesign, options: Omit<CompositionStudyOptions, "path"> = {}): Promise<CompositionResult[]> {
  parseScale(scale, "compositionStudy: scale");
  checkCompositionDesign("compositionStudy", design);
  if (scale === "full") {
    const stored = storedCompositionPath(design);
    const file = new StudyFile(join(projectRoot(), stored), (path) => readCompositionResults(path));
    // The runs the study was stored with, whichever backend runs the lesson.
    const backend = storedBackend(file.results, tf.getBackend());
    const runs = compositionRuns(design).map((run) => ({ run, id: compositionRunId(design, run, backend) }));
    return file.find(runs, { file: stored, backend, command: STUDY_COMMAND, describe: describeSpec });
  }
  const path = join(projectRoot(), "build", "zeroshot", `smoke-${process.pid}.jsonl`);
  rmSync(path, { force: true });
  try {
    return await runCompositionStudy(design, { ...options, path });
  } finally {
    rmSync(path, { force: true });
  }
}

export interface CompositionCell {
  model: ModelSize;
  data: DataSize;
  parameters: number;
  /** Over the runs (worlds × seeds), each with its 95% t-interval, in points. */
  traitsSeen: MeanInterval;
  traitsHeldOut: MeanInterval;
  gap: MeanInterval;
  /** Runs whose gap exceeds two of its own binomial standard errors. */
  clearGaps: number;
}

/** One binomial standard error, in points, of a percentage p (0 to 100) measured on n items. */
export function binomialStandardError(percent: number, n: number): number {
  if (!(typeof percent === "number" && percent >= 0 && percent <= 100)) throw new Error(`binomialStandardError: percent must be in [0, 100]; got ${shown(percent)}`);
  if (!(n >= 1)) throw new Error(`binomialStandardError: n must be at least 1; got ${shown(n)}`);
  return Math.sqrt((percent * (100 - percent)) / n);
}

/** A run's gap against its own noise: the two binomial standard errors combined. */
export function gapStandardError(r: CompositionResult): number {
  checkResultNumbers("gapStandardError", r, "r", false);
  return Math.hypot(binomialStandardError(r.traitsSeen, r.seenConcepts), binomialStandardError(r.traitsHeldOut, r.heldOutConcepts));
}

/**
 * Throws unless a result's percentages are in [0, 100], its gap finite (if `gap`) and its concept counts at
 * least 1 (a world without held-out pairs has no gap to measure), naming the run as `label`.
 */
function checkResultNumbers(fn: string, r: CompositionResult, label: string, gap = true): void {
  checkObject(fn, label, r, "a composition result");
  const where = `${fn}: ${label} (world ${shown(r.world)}, seed ${shown(r.seed)}, ${String(r.model)}/${String(r.data)})`;
  for (const key of ["traitsSeen", "traitsHeldOut"] as const) checkThat(typeof r[key] === "number" && r[key] >= 0 && r[key] <= 100, where, key, r[key], "a percentage in [0, 100]");
  if (gap) checkNumber(where, "gap", r.gap);
  for (const key of ["seenConcepts", "heldOutConcepts"] as const) checkPositiveInteger(where, key, r[key]);
}

/** Each model × data cell over its runs: mean seen, held-out and gap with 95% intervals. */
export function summarizeComposition(results: readonly CompositionResult[]): CompositionCell[] {
  if (!Array.isArray(results)) throw new Error(`summarizeComposition: results must be an array of composition results; got ${shown(results)}`);
  results.forEach((r, i) => checkResultNumbers("summarizeComposition", r, `results[${i}]`));
  const cells: CompositionCell[] = [];
  for (const model of ["small", "larger"] as const) {
    for (const data of ["half", "all"] as const) {
      const runs = results.filter((r) => r.model === model && r.data === data);
      if (runs.length === 0) continue;
      cells.push({
        model, data, parameters: runs[0].parameters,
        traitsSeen: meanInterval(runs.map((r) => r.traitsSeen)), traitsHeldOut: meanInterval(runs.map((r) => r.traitsHeldOut)),
        gap: meanInterval(runs.map((r) => r.gap)), clearGaps: runs.filter((r) => r.gap > 2 * gapStandardError(r)).length,
      });
    }
  }
  return cells;
}

/**
 * The difference in gap between two cells, paired by world and seed (the same world and
 * initial weights on both sides), with its 95% interval: a − b.
 */
export function pairedGapDifference(results: readonly CompositionResult[], a: Pick<CompositionRunSpec, "model" | "data">, b: Pick<CompositionRunSpec, "model" | "data">): MeanInterval {
  if (!Array.isArray(results)) throw new Error(`pairedGapDifference: results must be an array of composition results; got ${shown(results)}`);
  results.forEach((r, i) => checkResultNumbers("pairedGapDifference", r, `results[${i}]`));
  const key = (r: CompositionRunSpec) => `${r.world}/${r.seed}`;
  const of = (c: Pick<CompositionRunSpec, "model" | "data">) => new Map(results.filter((r) => r.model === c.model && r.data === c.data).map((r) => [key(r), r.gap]));
  const left = of(a), right = of(b);
  const shared = [...left.keys()].filter((k) => right.has(k));
  if (shared.length === 0) throw new Error(`pairedGapDifference: no world and seed has runs of both ${a.model}/${a.data} and ${b.model}/${b.data}`);
  return meanInterval(shared.map((k) => left.get(k)! - right.get(k)!));
}
