// The methods that train no network weight, at every label count and seed: the trivial
// baselines, zero-shot questions to the language model, and linear probes on the frozen model
// before and after pretraining. The model's outputs are computed once per task; each seed and
// label count only refits what is fitted on its labelled examples. Every choice (a probe's layer,
// readout and L2; the bag's L2) is made on the seed's validation examples, never on test, and
// every run keeps its test predictions, so that differences can be bootstrapped over test examples.
import type { GPT } from "../gpt/model";
import { classMeans, predictFromScores } from "../gpt/zeroShot";
import { accuracy, argmaxRows, characterCounts, fitLogistic, fitThreshold, logisticProbabilities, majorityClass, newlineRule, selectRows } from "./baselines";
import { speakerScores, typicality } from "./methods";
import { encodeTask, pickExamples } from "./tasks";
import { layerFeatures, type LayerReadouts } from "./transfer";
import { seedSample, type ReuseData, type ReuseDesign, type Readout, type StudyTask, type TaskName } from "./study";

/** One method without network training on one task, at one label count and seed. */
export interface FrozenRun {
  task: TaskName;
  method: string;
  /** Labelled training examples per class. */
  perClass: number;
  seed: number;
  validationAccuracy: number;
  testAccuracy: number;
  /** The class predicted for every test example, one digit each, in the test set's order. */
  testPredictions: string;
  /** Numbers fitted on the task's labels (0 for a rule or a question). */
  trainableParams: number;
  /** What was chosen on the validation examples. */
  chosen?: { layer?: number; readout?: Readout; l2?: number };
}

/** The test predictions as runs store them: one digit per example. */
export const predictionString = (predicted: ArrayLike<number>) => Array.from(predicted).join("");

/** 1 where a run's stored prediction is the label, else 0: a row for pairedBootstrap. */
export function correctness(run: { testPredictions: string }, labels: ArrayLike<number>): Uint8Array {
  if (run.testPredictions.length !== labels.length) {
    throw new Error(`correctness: ${run.testPredictions.length} stored predictions for ${labels.length} test labels; the run was scored on another test set`);
  }
  return Uint8Array.from(labels, (label, i) => (Number(run.testPredictions[i]) === label ? 1 : 0));
}

/**
 * A model's frozen features for a task: of the pool examples at `poolIndices` (all of them by
 * default) and of every test example.
 */
export interface TaskFeatures {
  pool: LayerReadouts;
  test: LayerReadouts;
  /** Pool position → row of `pool` (−1: not computed). */
  rowOf: Int32Array;
}

export async function taskFeatures(model: GPT, data: ReuseData, task: StudyTask, poolIndices?: readonly number[]): Promise<TaskFeatures> {
  const indices = poolIndices ? [...poolIndices].sort((a, b) => a - b) : task.pool.labels.map((_, i) => i);
  const rowOf = new Int32Array(task.pool.labels.length).fill(-1);
  indices.forEach((i, r) => { rowOf[i] = r; });
  const pool = await layerFeatures(model, encodeTask(pickExamples(task.pool, indices), data.tokenizer));
  return { pool, test: await layerFeatures(model, task.testIds), rowOf };
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
export function fitProbe(features: TaskFeatures, task: StudyTask, sample: { train: number[]; val: number[] }, readouts: readonly Readout[], l2Grid: readonly number[]): Fitted {
  const K = task.classes.length;
  const rows = (idx: number[]) => idx.map((i) => {
    const r = features.rowOf[i];
    if (r < 0) throw new Error(`fitProbe: pool example ${i} of "${task.name}" has no features; compute them for every example the sample uses`);
    return r;
  });
  const train = rows(sample.train), val = rows(sample.val);
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
function fitBag(counts: { pool: Float64Array; test: Float64Array }, V: number, task: StudyTask, sample: { train: number[]; val: number[] }, l2Grid: readonly number[]): Fitted {
  const K = task.classes.length;
  const yTrain = sample.train.map((i) => task.pool.labels[i]), yVal = sample.val.map((i) => task.pool.labels[i]);
  let best: { model: ReturnType<typeof fitLogistic>; validation: number } | undefined;
  for (const l2 of [...l2Grid].sort((a, b) => b - a)) {
    const model = fitLogistic(selectRows(counts.pool, V, sample.train), yTrain, K, l2, { tolerance: 1e-4 });
    const validation = accuracy(argmaxRows(logisticProbabilities(model, selectRows(counts.pool, V, sample.val)), K), yVal);
    if (!best || validation > best.validation) best = { model, validation };
  }
  return { validationAccuracy: best!.validation, testPredicted: argmaxRows(logisticProbabilities(best!.model, counts.test), K), chosen: { l2: best!.model.l2 } };
}

/** A question's answers, threshold or calibration fitted on a seed's training inputs. */
type ZeroShot = { method: string; fit: (sample: { train: number[]; val: number[] }) => Fitted; trainableParams: number };

/**
 * The zero-shot questions a task can be asked, from the model's scores of its pool and test
 * texts. Speaker: which speaker's name makes the window likeliest, raw, and calibrated by
 * subtracting each speaker's mean score over the seed's training inputs (their labels unused).
 * Real or altered: the text's mean surprise per character, altered above a threshold fitted on
 * the seed's labelled training examples. Verse or prose has no natural question.
 */
export async function zeroShotQuestions(model: GPT, data: ReuseData, task: StudyTask): Promise<ZeroShot[]> {
  const labelsOf = (idx: number[]) => idx.map((i) => task.pool.labels[i]);
  if (task.name === "speaker") {
    const pool = await speakerScores(model, data.tokenizer, task.pool.texts, task.classes);
    const test = await speakerScores(model, data.tokenizer, task.test.texts, task.classes);
    const answer = (bias?: Float64Array) => (sample: { val: number[] }) => ({
      validationAccuracy: accuracy(predictFromScores(sample.val.map((i) => pool[i]), bias), labelsOf(sample.val)),
      testPredicted: predictFromScores(test, bias),
    });
    return [
      { method: "zero-shot, raw", trainableParams: 0, fit: answer() },
      { method: "zero-shot, calibrated", trainableParams: task.classes.length, fit: (sample) => answer(classMeans(sample.train.map((i) => pool[i])))(sample) },
    ];
  }
  if (task.name === "verse or prose") return [];
  // Surprise (minus the mean log-likelihood per character): higher for altered text, class 1.
  const surprise = async (ids: ReturnType<typeof encodeTask>) => (await typicality(model, ids)).map((v) => -v);
  const pool = await surprise(encodeTask(task.pool, data.tokenizer)), test = await surprise(task.testIds);
  return [{
    method: "zero-shot, typicality", trainableParams: 1,
    fit: (sample) => {
      const threshold = fitThreshold(sample.train.map((i) => pool[i]), labelsOf(sample.train));
      const predict = (scores: ArrayLike<number>) => Int32Array.from(scores, (s) => (s >= threshold ? 1 : 0));
      return { validationAccuracy: accuracy(predict(sample.val.map((i) => pool[i])), labelsOf(sample.val)), testPredicted: predict(test) };
    },
  }];
}

/**
 * Every method without network training on one task, at each of `perClass` label counts and
 * `seeds`: the majority class, the bag of characters, the newline rule (verse or prose), the
 * zero-shot questions of the pretrained model, and linear probes of each frozen model.
 */
export async function frozenTaskRuns(
  models: { name: string; model: GPT }[], design: ReuseDesign, data: ReuseData, task: StudyTask,
  options: { perClass: number[]; seeds: number[]; features?: TaskFeatures[] },
): Promise<FrozenRun[]> {
  const vocabulary = Array.from({ length: data.tokenizer.vocabSize }, (_, i) => data.tokenizer.decode([i]));
  const V = vocabulary.length, K = task.classes.length;
  const counts = { pool: characterCounts(task.pool.texts, vocabulary), test: characterCounts(task.test.texts, vocabulary) };
  const features = options.features ?? await Promise.all(models.map(({ model }) => taskFeatures(model, data, task)));
  const questions = await zeroShotQuestions(models[0].model, data, task);
  const runs: FrozenRun[] = [];
  for (const perClass of options.perClass) {
    for (const seed of options.seeds) {
      const sample = seedSample(design, task, seed, perClass);
      const record = (method: string, trainableParams: number, f: Fitted) => runs.push({
        task: task.name, method, perClass, seed, validationAccuracy: f.validationAccuracy,
        testAccuracy: accuracy(f.testPredicted, task.test.labels), testPredictions: predictionString(f.testPredicted), trainableParams,
        ...(f.chosen ? { chosen: f.chosen } : {}),
      });
      const yTrain = sample.train.map((i) => task.pool.labels[i]), yVal = sample.val.map((i) => task.pool.labels[i]);
      const majority = majorityClass(yTrain, K);
      record("majority class", 0, { validationAccuracy: accuracy(yVal.map(() => majority), yVal), testPredicted: new Int32Array(task.test.labels.length).fill(majority) });
      record("bag of characters", (V + 1) * K, fitBag(counts, V, task, sample, design.l2Grid));
      if (task.name === "verse or prose") {
        const rule = (texts: string[]) => Int32Array.from(texts, newlineRule);
        record("newline rule", 0, { validationAccuracy: accuracy(rule(sample.val.map((i) => task.pool.texts[i])), yVal), testPredicted: rule(task.test.texts) });
      }
      for (const q of questions) record(q.method, q.trainableParams, q.fit(sample));
      models.forEach(({ name, model }, k) => {
        const fitted = fitProbe(features[k], task, sample, design.readouts, design.l2Grid);
        const width = model.config.nEmbd * (fitted.chosen?.readout === "mean+max" ? 2 : 1);
        record(`linear probe, ${name}`, (width + 1) * K, fitted);
      });
    }
  }
  return runs;
}
