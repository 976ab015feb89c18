// The methods that train no network weight, at every label count and seed: the trivial
// baselines, zero-shot questions to the language model, and linear probes on the frozen model
// before and after pretraining. The model's outputs are computed once per task; each seed and
// label count only refits what is fitted on its labelled examples. Every choice (a probe's layer,
// readout and L2; the bag's L2) is made on the seed's validation examples, never on test, and
// every run keeps its test predictions, so that differences can be bootstrapped over test examples.
import { rmSync } from "node:fs";
import { join } from "node:path";

import type { GPT } from "../gpt/model";
import { projectRoot } from "../core/paths";
import { parseScale, type Scale } from "../core/scale";
import { classMeans, predictFromScores } from "../gpt/zeroShot";
import { accuracy, argmaxRows, characterCounts, fitLogistic, fitThreshold, logisticProbabilities, majorityClass, newlineRule, selectRows } from "./baselines";
import { speakerScores, typicality } from "./methods";
import { encodeTask, pickExamples } from "./tasks";
import { layerFeatures, type LayerReadouts } from "./transfer";
import { cpuDescription } from "../core/machine";
import { readResults, resultId, stamp, storedBackend, type StampedResult } from "../core/results";
import { StudyFile } from "../core/study";
import type { MethodRun } from "./analysis";
import { dataSettings, labelCounts, seedSample, studyContext, type ReuseData, type ReuseDesign, type Readout, type StudyTask, type TaskName } from "./study";

/** One method without network training on one task, at one label count and seed. */
export interface FrozenRun extends MethodRun {
  task: TaskName;
  /** What was chosen on the validation examples. */
  chosen?: { layer?: number; readout?: Readout; l2?: number };
}

/** The test predictions as runs store them: one digit per example. */
export const predictionString = (predicted: ArrayLike<number>) => Array.from(predicted).join("");

/** A model's frozen features for a task's test set and for the pool examples they were computed for. */
export interface TaskFeatures {
  pool: LayerReadouts;
  test: LayerReadouts;
}

/** Rows of one layer's features in a readout ("mean+max": the two side by side), as float64; `idx` are rows of `features`. */
export function readoutRows(features: LayerReadouts, readout: Readout, layer: number, idx: readonly number[]): Float64Array {
  const parts = readout === "mean+max" ? [features.mean[layer], features.max[layer]] : [features[readout][layer]];
  const C = features.width, P = parts.length;
  const out = new Float64Array(idx.length * C * P);
  idx.forEach((i, r) => parts.forEach((x, p) => {
    for (let j = 0; j < C; j++) out[(r * P + p) * C + j] = x[i * C + j];
  }));
  return out;
}

/** What a fitted probe or baseline reports for one seed's labelled set. */
interface Fitted {
  validationAccuracy: number;
  testPredicted: Int32Array;
  chosen?: FrozenRun["chosen"];
}

/**
 * A linear probe on a seed's training examples. The layer and readout are chosen first, by
 * validation accuracy with the middle L2 of the grid (on a tie the later readout, then the deeper
 * layer), then the L2 for them (on a tie the stronger): 3 × layers + grid fits rather than all
 * their combinations.
 */
export function fitProbe(
  features: TaskFeatures, task: StudyTask, sample: { train: number[]; val: number[] }, rowOf: PoolRows, readouts: readonly Readout[], l2Grid: readonly number[],
): Fitted {
  const K = task.classes.length;
  const train = rowOf(sample.train), val = rowOf(sample.val);
  const yTrain = sample.train.map((i) => task.pool.labels[i]), yVal = sample.val.map((i) => task.pool.labels[i]);
  const fit = (readout: Readout, layer: number, l2: number) => {
    const model = fitLogistic(readoutRows(features.pool, readout, layer, train), yTrain, K, l2, { tolerance: 1e-4 });
    const predicted = argmaxRows(logisticProbabilities(model, readoutRows(features.pool, readout, layer, val)), K);
    return { model, readout, layer, l2, validation: accuracy(predicted, yVal) };
  };
  const middle = l2Grid[Math.floor(l2Grid.length / 2)];
  let best = fit(readouts[0], 0, middle);
  for (const readout of readouts) {
    for (let layer = 0; layer < features.pool.mean.length; layer++) {
      if (readout === readouts[0] && layer === 0) continue;
      const f = fit(readout, layer, middle);
      if (f.validation >= best.validation) best = f;
    }
  }
  for (const l2 of [...l2Grid].sort((a, b) => b - a)) {
    if (l2 === middle) continue;
    const f = fit(best.readout, best.layer, l2);
    if (f.validation > best.validation || (f.validation === best.validation && l2 > best.l2)) best = f;
  }
  const all = Array.from({ length: features.test.examples }, (_, i) => i);
  const testPredicted = argmaxRows(logisticProbabilities(best.model, readoutRows(features.test, best.readout, best.layer, all)), K);
  return { validationAccuracy: best.validation, testPredicted, chosen: { layer: best.layer, readout: best.readout, l2: best.l2 } };
}

/** A logistic regression on character shares, its L2 chosen on the validation examples (on a tie the stronger). */
function fitBag(
  x: { train: Float64Array; val: Float64Array; test: Float64Array }, V: number, yTrain: number[], yVal: number[], K: number, l2Grid: readonly number[],
): Fitted {
  let best: { model: ReturnType<typeof fitLogistic>; validation: number } | undefined;
  for (const l2 of [...l2Grid].sort((a, b) => b - a)) {
    const model = fitLogistic(x.train, yTrain, K, l2, { tolerance: 1e-4 });
    const validation = accuracy(argmaxRows(logisticProbabilities(model, x.val), K), yVal);
    if (!best || validation > best.validation) best = { model, validation };
  }
  return { validationAccuracy: best!.validation, testPredicted: argmaxRows(logisticProbabilities(best!.model, x.test), K), chosen: { l2: best!.model.l2 } };
}

/** A question's answers, its threshold or calibration fitted on a seed's training inputs. */
type ZeroShot = { method: string; trainableParams: number; fit: (sample: { train: number[]; val: number[] }) => Fitted };

/**
 * Where each pool example's values are among those computed for a subset of the pool: the study
 * computes them for the whole pool, a lesson's live slice for one sample's examples only.
 */
export type PoolRows = (poolIndices: readonly number[]) => number[];

function poolRows(task: StudyTask, computed: readonly number[]): PoolRows {
  const rowOf = new Int32Array(task.pool.labels.length).fill(-1);
  computed.forEach((i, r) => { rowOf[i] = r; });
  return (indices) => indices.map((i) => {
    if (!(rowOf[i] >= 0)) throw new Error(`pool example ${i} of "${task.name}" was not computed; prepare the task with every example its samples use`);
    return rowOf[i];
  });
}

/**
 * The zero-shot questions a task can be asked, from the model's scores of its test texts and of
 * the pool examples `computed`. Speaker: which speaker's name makes the window likeliest, raw, and
 * calibrated by subtracting each speaker's mean score over the seed's training inputs (their labels
 * unused). Real or altered: the text's mean surprise per character, altered above a threshold
 * fitted on the seed's labelled training examples. Verse or prose has no natural question.
 */
async function zeroShotQuestions(model: GPT, data: ReuseData, task: StudyTask, computed: number[], rowOf: PoolRows): Promise<ZeroShot[]> {
  const labelsOf = (idx: number[]) => idx.map((i) => task.pool.labels[i]);
  const poolTexts = computed.map((i) => task.pool.texts[i]);
  if (task.name === "speaker") {
    const pool = await speakerScores(model, data.tokenizer, poolTexts, task.classes);
    const test = await speakerScores(model, data.tokenizer, task.test.texts, task.classes);
    const scoresOf = (idx: number[]) => rowOf(idx).map((r) => pool[r]);
    const answer = (sample: { val: number[] }, bias?: Float64Array): Fitted => ({
      validationAccuracy: accuracy(predictFromScores(scoresOf(sample.val), bias), labelsOf(sample.val)),
      testPredicted: predictFromScores(test, bias),
    });
    return [
      { method: "zero-shot, raw", trainableParams: 0, fit: (sample) => answer(sample) },
      { method: "zero-shot, calibrated", trainableParams: task.classes.length, fit: (sample) => answer(sample, classMeans(scoresOf(sample.train))) },
    ];
  }
  if (task.name === "verse or prose") return [];
  // Surprise (minus the mean log-likelihood per character): higher for altered text, class 1.
  const surprise = async (ids: ReturnType<typeof encodeTask>) => (await typicality(model, ids)).map((v) => -v);
  const pool = await surprise(encodeTask(pickExamples(task.pool, computed), data.tokenizer)), test = await surprise(task.testIds);
  const scoresOf = (idx: number[]) => rowOf(idx).map((r) => pool[r]);
  return [{
    method: "zero-shot, typicality", trainableParams: 1,
    fit: (sample) => {
      const threshold = fitThreshold(scoresOf(sample.train), labelsOf(sample.train));
      const predict = (scores: ArrayLike<number>) => Int32Array.from(scores, (x) => (x >= threshold ? 1 : 0));
      return { validationAccuracy: accuracy(predict(scoresOf(sample.val)), labelsOf(sample.val)), testPredicted: predict(test) };
    },
  }];
}

/** A task with every model output its methods need, computed once for all its label counts and seeds. */
export interface PreparedTask {
  task: StudyTask;
  /** The frozen models probed (the first is the pretrained one, which also answers the zero-shot questions). */
  models: { name: string; width: number }[];
  features: TaskFeatures[];
  questions: ZeroShot[];
  counts: { pool: Float64Array; test: Float64Array; vocabulary: number };
  rowOf: PoolRows;
  /** Seconds it took. */
  seconds: number;
}

/**
 * Runs every model over the task's test set and the pool examples `poolIndices` (all of them by
 * default): features for the probes, scores for the zero-shot questions; and counts characters.
 */
export async function prepareTask(models: { name: string; model: GPT }[], data: ReuseData, task: StudyTask, poolIndices?: readonly number[]): Promise<PreparedTask> {
  const started = performance.now();
  const computed = poolIndices ? [...new Set(poolIndices)].sort((a, b) => a - b) : task.pool.labels.map((_, i) => i);
  const rowOf = poolRows(task, computed);
  const poolIds = encodeTask(pickExamples(task.pool, computed), data.tokenizer);
  const features: TaskFeatures[] = [];
  for (const { model } of models) features.push({ pool: await layerFeatures(model, poolIds), test: await layerFeatures(model, task.testIds) });
  const vocabulary = Array.from({ length: data.tokenizer.vocabSize }, (_, i) => data.tokenizer.decode([i]));
  return {
    task, models: models.map(({ name, model }) => ({ name, width: model.config.nEmbd })), features, rowOf,
    questions: await zeroShotQuestions(models[0].model, data, task, computed, rowOf),
    counts: { pool: characterCounts(computed.map((i) => task.pool.texts[i]), vocabulary), test: characterCounts(task.test.texts, vocabulary), vocabulary: vocabulary.length },
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Every method without network training on a prepared task for one seed's labelled set of
 * `perClass` examples per class: the majority class, the bag of characters, the newline rule
 * (verse or prose), the zero-shot questions, and a linear probe of each frozen model.
 */
export function frozenRuns(prepared: PreparedTask, design: ReuseDesign, perClass: number, seed: number): FrozenRun[] {
  const { task, counts, rowOf } = prepared;
  const K = task.classes.length, V = counts.vocabulary;
  const sample = seedSample(design, task, seed, perClass);
  const runs: FrozenRun[] = [];
  const record = (method: string, trainableParams: number, f: Fitted) => runs.push({
    task: task.name, method, perClass, seed, validationAccuracy: f.validationAccuracy,
    testAccuracy: accuracy(f.testPredicted, task.test.labels), testPredictions: predictionString(f.testPredicted), trainableParams,
    ...(f.chosen ? { chosen: f.chosen } : {}),
  });
  const yTrain = sample.train.map((i) => task.pool.labels[i]), yVal = sample.val.map((i) => task.pool.labels[i]);
  const majority = majorityClass(yTrain, K);
  record("majority class", 0, { validationAccuracy: accuracy(yVal.map(() => majority), yVal), testPredicted: new Int32Array(task.test.labels.length).fill(majority) });
  const bagRows = (idx: number[]) => selectRows(counts.pool, V, rowOf(idx));
  record("bag of characters", (V + 1) * K, fitBag({ train: bagRows(sample.train), val: bagRows(sample.val), test: counts.test }, V, yTrain, yVal, K, design.l2Grid));
  if (task.name === "verse or prose") {
    const rule = (texts: string[]) => Int32Array.from(texts, newlineRule);
    record("newline rule", 0, { validationAccuracy: accuracy(rule(sample.val.map((i) => task.pool.texts[i])), yVal), testPredicted: rule(task.test.texts) });
  }
  for (const q of prepared.questions) record(q.method, q.trainableParams, q.fit(sample));
  prepared.models.forEach(({ name, width }, k) => {
    const fitted = fitProbe(prepared.features[k], task, sample, rowOf, design.readouts, design.l2Grid);
    record(`linear probe, ${name}`, (width * (fitted.chosen?.readout === "mean+max" ? 2 : 1) + 1) * K, fitted);
  });
  return runs;
}

/** One stored unit of the frozen study: every method without network training on a task at one label count and seed. */
export interface FrozenLine extends StampedResult {
  task: TaskName;
  perClass: number;
  seed: number;
  runs: FrozenRun[];
  /** The pretrained checkpoint probed and asked (its name carries its run's fingerprint). */
  pretrained: string;
  cpu: string;
}

/** The command that writes the stored frozen study, named in errors about its file. */
const FROZEN_COMMAND = "npm run reuse-study -- --grid full";

/** Where the full frozen study is stored. */
export function frozenStudyPath(design: ReuseDesign): string {
  return `datasets/reuse/${design.name}-frozen.jsonl`;
}

export function readFrozenResults(path: string, command = FROZEN_COMMAND): FrozenLine[] {
  return readResults<FrozenLine>(path, ["task", "perClass", "seed", "runs", "pretrained"], command);
}

/** A unit of the frozen study: a task at a label count and seed. */
export interface FrozenUnit {
  task: StudyTask;
  perClass: number;
  seed: number;
}

/** Every task at every label count its pool allows, for every seed of the design, task by task. */
export function frozenUnits(design: ReuseDesign, data: ReuseData): FrozenUnit[] {
  return data.tasks.flatMap((task) => labelCounts(design, task).flatMap((perClass) => design.labels.seeds.map((seed) => ({ task, perClass, seed }))));
}

const describeUnit = (u: FrozenUnit) => `"${u.task.name}" with ${u.perClass} per class, seed ${u.seed}`;

/** What decides a unit's result besides the data: the design's data and probe settings, the checkpoint, the unit. */
function frozenSettings(design: ReuseDesign, pretrained: string, u: FrozenUnit) {
  const { modelSeed, readouts, l2Grid } = design;
  return { ...dataSettings(design), modelSeed, readouts, l2Grid, pretrained, task: u.task.name, perClass: u.perClass, seed: u.seed };
}

const checkpointName = (checkpoint: string) => checkpoint.split(/[\\/]/).at(-1)!;

/**
 * Computes every unit of the frozen study not yet in `options.path` (rewritten after each, so a
 * killed study resumes), a task's model outputs once for all its units; returns every run.
 * `models`: the pretrained model first, then the controls (the same network before pretraining).
 */
export async function runFrozenStudy(
  design: ReuseDesign, data: ReuseData, models: { name: string; model: GPT }[], checkpoint: string,
  options: {
    path: string; backend: string; command?: string;
    /** Only these tasks' units (default: all); the ids are those of the whole study, so files of different tasks concatenate. */
    tasks?: string[];
    onTaskReady?: (task: StudyTask, seconds: number) => void; onUnitEnd?: (line: FrozenLine, done: number, total: number) => void;
  },
): Promise<FrozenRun[]> {
  const file = new StudyFile(options.path, (path) => readFrozenResults(path, options.command));
  const context = studyContext(data, options.backend);
  const name = checkpointName(checkpoint);
  let prepared: PreparedTask | undefined;
  const units = frozenUnits(design, data).filter((u) => !options.tasks || options.tasks.includes(u.task.name));
  const lines = await file.resume<FrozenUnit, FrozenRun[]>("runFrozenStudy", units.map((u) => ({ run: u, id: resultId(frozenSettings(design, name, u), context) })), {
    describe: describeUnit,
    train: async (u) => {
      if (prepared?.task !== u.task) {
        prepared = undefined; // the previous task's features are freed before this one's are computed
        prepared = await prepareTask(models, data, u.task);
        options.onTaskReady?.(u.task, prepared.seconds);
      }
      return frozenRuns(prepared, design, u.perClass, u.seed);
    },
    line: (runs, u) => stamp(frozenSettings(design, name, u), context, { task: u.task.name, perClass: u.perClass, seed: u.seed, runs, pretrained: name, cpu: cpuDescription() }),
    onRunEnd: options.onUnitEnd && ((line, _, done, total) => options.onUnitEnd!(line, done, total)),
  });
  return lines.flatMap((l) => l.runs);
}

/**
 * The frozen study for the lesson: at full scale the stored results (computed once by
 * `npm run reuse-study -- --grid full`; an error names what is missing), at smoke scale computed
 * now into a scratch file that is removed afterwards.
 */
export async function frozenStudy(
  scale: Scale, design: ReuseDesign, data: ReuseData, models: { name: string; model: GPT }[], checkpoint: string, options: { backend: string },
): Promise<FrozenRun[]> {
  parseScale(scale, "frozenStudy: scale");
  if (scale === "full") {
    const stored = frozenStudyPath(design);
    const file = new StudyFile(join(projectRoot(), stored), (path) => readFrozenResults(path));
    // The units the study was stored with, whichever backend runs the lesson.
    const context = studyContext(data, storedBackend(file.results, options.backend));
    const name = checkpointName(checkpoint);
    const units = frozenUnits(design, data).map((u) => ({ run: u, id: resultId(frozenSettings(design, name, u), context) }));
    return file.find(units, { file: stored, backend: context.backend, command: FROZEN_COMMAND, describe: describeUnit }).flatMap((l) => l.runs);
  }
  const path = join(projectRoot(), "build", "reuse", `frozen-smoke-${process.pid}.jsonl`);
  rmSync(path, { force: true });
  try {
    return await runFrozenStudy(design, data, models, checkpoint, { path, backend: options.backend });
  } finally {
    rmSync(path, { force: true });
  }
}

/**
 * One unit of the frozen study computed now, from the models' outputs on just the examples it
 * uses (its seed's training and validation examples and the test set): a live slice to set beside
 * the stored unit, which it should reproduce.
 */
export async function liveFrozenUnit(
  models: { name: string; model: GPT }[], design: ReuseDesign, data: ReuseData, task: StudyTask, perClass: number, seed: number,
): Promise<{ runs: FrozenRun[]; seconds: number }> {
  const sample = seedSample(design, task, seed, perClass);
  const prepared = await prepareTask(models, data, task, [...sample.train, ...sample.val]);
  const started = performance.now();
  const runs = frozenRuns(prepared, design, perClass, seed);
  return { runs, seconds: prepared.seconds + (performance.now() - started) / 1000 };
}
