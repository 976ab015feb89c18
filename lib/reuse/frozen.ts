// The methods that train no network weight, for every seed: the trivial baselines, zero-shot
// questions to the language model, and linear probes on the frozen model before and after
// pretraining. The model's outputs are computed once per task; each seed only refits what is
// fitted on its small labelled set, so all of them run live in the lesson.
import type { GPT } from "../gpt/model";
import { classMeans, predictFromScores } from "../gpt/zeroShot";
import type { MethodRun } from "./analysis";
import {
  accuracy, argmaxRows, auroc, characterCounts, fitLogisticCV, fitThreshold, logisticProbabilities, majorityClass, newlineRule, selectRows,
} from "./baselines";
import { fitProbes, speakerScores, taskFeatures, typicality, type ProbeFit } from "./methods";
import { encodeTask, labelledSample, splitPoolAndTest } from "./tasks";
import { seedSample, type ReuseData, type ReuseDesign, type StudyTask } from "./study";

/**
 * Majority class, a logistic regression on character counts (its L2 by cross-validation on the
 * seed's training examples), and for verse or prose the newline rule, on every seed.
 */
export function baselineRuns(design: ReuseDesign, data: ReuseData, seeds: number[]): MethodRun[] {
  const vocabulary = Array.from({ length: data.tokenizer.vocabSize }, (_, i) => data.tokenizer.decode([i]));
  return data.tasks.flatMap((task) => {
    const K = task.classes.length, V = vocabulary.length;
    const pool = characterCounts(task.pool.texts, vocabulary), test = characterCounts(task.test.texts, vocabulary);
    return seeds.flatMap((seed) => {
      const { train } = seedSample(design, task, seed);
      const y = train.map((i) => task.pool.labels[i]);
      const majority = majorityClass(y, K);
      const bag = fitLogisticCV(selectRows(pool, V, train), y, K, { seed });
      const runs: MethodRun[] = [
        { task: task.name, method: "majority class", seed, testAccuracy: accuracy(task.test.labels.map(() => majority), task.test.labels), trainableParams: 0 },
        {
          task: task.name, method: "bag of characters", seed, trainableParams: (V + 1) * K,
          testAccuracy: accuracy(argmaxRows(logisticProbabilities(bag, test), K), task.test.labels),
        },
      ];
      if (task.name === "verse or prose") {
        runs.push({ task: task.name, method: "newline rule", seed, testAccuracy: accuracy(task.test.texts.map(newlineRule), task.test.labels), trainableParams: 0 });
      }
      return runs;
    });
  });
}

export interface ZeroShotResult {
  runs: MethodRun[];
  /** Threshold-free quality of the typicality score on the test set (scrambled as the positive class). */
  typicalityAuroc: number;
}

/**
 * Asks the language model, no weight trained. Speaker: which speaker's name makes the window
 * likeliest, raw, and calibrated by subtracting each speaker's mean score over the seed's
 * training inputs (their labels unused). Real or scrambled: the text's mean log-likelihood per
 * character, with a threshold fitted on the seed's labelled training examples.
 */
export async function zeroShotRuns(model: GPT, design: ReuseDesign, data: ReuseData, seeds: number[]): Promise<ZeroShotResult> {
  const runs: MethodRun[] = [];
  const speaker = taskNamed(data, "speaker");
  const poolScores = await speakerScores(model, data.tokenizer, speaker.pool.texts, speaker.classes);
  const testScores = await speakerScores(model, data.tokenizer, speaker.test.texts, speaker.classes);
  const rawAccuracy = accuracy(predictFromScores(testScores), speaker.test.labels);
  const real = taskNamed(data, "real or scrambled");
  // Surprise (minus the log-likelihood): higher for scrambled text, class 1.
  const surprise = (ll: Float64Array) => ll.map((v) => -v);
  const poolSurprise = surprise(await typicality(model, encodeTask(real.pool, data.tokenizer)));
  const testSurprise = surprise(await typicality(model, real.testIds));
  for (const seed of seeds) {
    const { train } = seedSample(design, speaker, seed);
    const bias = classMeans(train.map((i) => poolScores[i]));
    runs.push(
      { task: speaker.name, method: "zero-shot, raw", seed, testAccuracy: rawAccuracy, trainableParams: 0 },
      { task: speaker.name, method: "zero-shot, calibrated", seed, testAccuracy: accuracy(predictFromScores(testScores, bias), speaker.test.labels), trainableParams: 0 },
    );
    const sample = seedSample(design, real, seed).train;
    const threshold = fitThreshold(sample.map((i) => poolSurprise[i]), sample.map((i) => real.pool.labels[i]));
    const predicted = Array.from(testSurprise, (s) => (s >= threshold ? 1 : 0));
    runs.push({ task: real.name, method: "zero-shot, typicality", seed, testAccuracy: accuracy(predicted, real.test.labels), trainableParams: 1 });
  }
  return { runs, typicalityAuroc: auroc(testSurprise, real.test.labels) };
}

export interface ProbeResults {
  runs: MethodRun[];
  /** Per task and model, every seed's probe fit (test accuracy by layer, the layer chosen on validation). */
  fits: { task: string; model: string; seeds: ProbeFit[] }[];
}

/**
 * Linear probes on every layer of each frozen model, for every seed: its L2 by cross-validation
 * on the seed's training examples, its layer by the seed's validation examples.
 */
export async function probeRuns(models: { name: string; model: GPT }[], design: ReuseDesign, data: ReuseData, seeds: number[]): Promise<ProbeResults> {
  const runs: MethodRun[] = [];
  const fits: ProbeResults["fits"] = [];
  for (const task of data.tasks) {
    const pool = encodeTask(task.pool, data.tokenizer);
    for (const { name, model } of models) {
      const features = await taskFeatures(model, pool, task.testIds);
      const K = task.classes.length;
      const bySeed = seeds.map((seed) => fitProbes(features, { pool: task.pool.labels, test: task.test.labels }, seedSample(design, task, seed), K));
      bySeed.forEach((fit, k) => runs.push({
        task: task.name, method: `linear probe, ${name}`, seed: seeds[k], testAccuracy: fit.testAccuracy, trainableParams: (model.config.nEmbd + 1) * K,
      }));
      fits.push({ task: task.name, model: name, seeds: bySeed });
    }
  }
  return { runs, fits };
}

export interface LabelCurvePoint {
  task: string;
  method: string;
  perClass: number;
  /** Test accuracy of every seed. */
  accuracies: number[];
}

/**
 * The probes' learning curve: test accuracy against the number of labelled examples per class,
 * for linear probes on each frozen model (layer chosen on validation examples) and the bag of
 * characters. The tasks are split again with a pool large enough for the largest size, so the
 * curve has a test set of its own (disjoint by speech from its pool, as always).
 */
export async function probeCurve(models: { name: string; model: GPT }[], design: ReuseDesign, data: ReuseData, tasks: string[]): Promise<LabelCurvePoint[]> {
  const { perClass, seeds } = design.curve;
  const { valPerClass, testPerClass, seed } = design.sizes;
  const vocabulary = Array.from({ length: data.tokenizer.vocabSize }, (_, i) => data.tokenizer.decode([i]));
  const V = vocabulary.length;
  // A shorter L2 grid than the study's probes: the curve fits many more of them.
  const grid = [1e-3, 1e-2, 1e-1];
  const points: LabelCurvePoint[] = [];
  for (const name of tasks) {
    const task = taskNamed(data, name);
    const K = task.classes.length;
    const { pool, test } = splitPoolAndTest(task.all, { poolPerClass: Math.max(...perClass) + valPerClass, testPerClass, seed: seed + 1 });
    const poolIds = encodeTask(pool, data.tokenizer), testIds = encodeTask(test, data.tokenizer);
    const features: Awaited<ReturnType<typeof taskFeatures>>[] = [];
    for (const { model } of models) features.push(await taskFeatures(model, poolIds, testIds));
    const poolCounts = characterCounts(pool.texts, vocabulary), testCounts = characterCounts(test.texts, vocabulary);
    for (const n of perClass) {
      const samples = seeds.map((s) => labelledSample(pool, { trainPerClass: n, valPerClass, seed: 1000 * s + n }));
      models.forEach((m, k) => points.push({
        task: name, method: `linear probe, ${m.name}`, perClass: n,
        accuracies: samples.map((sample) => fitProbes(features[k], { pool: pool.labels, test: test.labels }, sample, K, grid).testAccuracy),
      }));
      points.push({
        task: name, method: "bag of characters", perClass: n,
        accuracies: samples.map((sample) => {
          const bag = fitLogisticCV(selectRows(poolCounts, V, sample.train), sample.train.map((i) => pool.labels[i]), K, { grid });
          return accuracy(argmaxRows(logisticProbabilities(bag, testCounts), K), test.labels);
        }),
      });
    }
  }
  return points;
}

function taskNamed(data: ReuseData, name: string): StudyTask {
  const task = data.tasks.find((t) => t.name === name);
  if (!task) throw new Error(`no task "${name}"; have ${data.tasks.map((t) => t.name).join(", ")}`);
  return task;
}
