import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { GPT } from "../lib/gpt/model";
import { classMeans, predictFromScores } from "../lib/gpt/zeroShot";
import { accuracy, argmaxRows, fitLogistic, logisticProbabilities, newlineRule } from "../lib/reuse/baselines";
import { fitProbe, frozenRuns, liveFrozenUnit, prepareTask, readoutRows } from "../lib/reuse/frozen";
import { speakerScores } from "../lib/reuse/methods";
import { encodeTask, type TextTask } from "../lib/reuse/tasks";
import { layerFeatures, type LayerReadouts } from "../lib/reuse/transfer";
import { reuseData, reuseDesign, seedSample, taskNamed, type StudyTask } from "../lib/reuse/study";

const design = reuseDesign("smoke");
const data = reuseData(design);
let model: GPT, initial: GPT;
beforeAll(async () => {
  await chooseBackend("wasm");
  model = GPT.create({ ...design.model, vocabSize: data.tokenizer.vocabSize }, 3);
  initial = GPT.create({ ...design.model, vocabSize: data.tokenizer.vocabSize }, 4);
});

describe("frozen features", () => {
  it("reads every layer three ways: the mean and maximum over positions and the last position, as the hidden states give them", async () => {
    const task = data.tasks[0];
    const ids = encodeTask(task.test, data.tokenizer);
    const features = await layerFeatures(model, ids, 3); // batches of 3: the rows must not depend on the batching
    const { nLayer, nEmbd: C } = model.config;
    const T = ids.length, n = ids.labels.length;
    expect([features.examples, features.width, features.mean.length]).toEqual([n, C, nLayer + 2]);
    const { hidden, final } = model.forward(ids.ids, n, T, { keepHidden: true });
    const states = [...(await Promise.all(hidden.map((h) => h.array()))), await tf.reshape(final, [n, T, C]).array() as number[][][]];
    tf.dispose([...hidden, final]);
    states.forEach((layer, l) => {
      for (const i of [0, n - 1]) {
        for (const j of [0, C - 1]) {
          const column = layer[i].map((position) => position[j]);
          expect(features.mean[l][i * C + j]).toBeCloseTo(column.reduce((a, b) => a + b, 0) / T, 5);
          expect(features.max[l][i * C + j]).toBeCloseTo(Math.max(...column), 6);
          expect(features.last[l][i * C + j]).toBeCloseTo(column[T - 1], 6);
        }
      }
    });
  });

  it("puts mean and maximum side by side for the mean+max readout", () => {
    const f: LayerReadouts = {
      examples: 2, width: 2, mean: [Float32Array.of(1, 2, 3, 4)], max: [Float32Array.of(5, 6, 7, 8)], last: [Float32Array.of(9, 10, 11, 12)],
    };
    expect(Array.from(readoutRows(f, "mean+max", 0, [1, 0]))).toEqual([3, 4, 7, 8, 1, 2, 5, 6]);
    expect(Array.from(readoutRows(f, "last", 0, [1]))).toEqual([11, 12]);
  });
});

/** A task whose label sits in one channel of one layer's maximum only: a probe must find that layer and readout on validation. */
function plantedTask(): { task: StudyTask; features: { pool: LayerReadouts; test: LayerReadouts } } {
  const n = 120, C = 4, layers = 3;
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  const text: TextTask = { name: "planted", classes: ["a", "b"], texts: labels.map(() => "x"), labels, groups: labels.map((_, i) => i) };
  const make = (ys: number[], seed: number): LayerReadouts => {
    let s = seed;
    const noise = () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
    const array = (signal: (y: number) => number) => Float32Array.from({ length: ys.length * C }, (_, k) => (k % C === 2 ? signal(ys[Math.floor(k / C)]) : 0) + noise());
    const none = () => Array.from({ length: layers }, () => array(() => 0));
    const max = none();
    max[1] = array((y) => 3 * y);
    return { examples: ys.length, width: C, mean: none(), last: none(), max };
  };
  const task = { name: "real or scrambled", classes: text.classes, all: text, pool: text, test: text, testIds: encodeTask({ ...text, texts: labels.map(() => "a") }, data.tokenizer) } as unknown as StudyTask;
  return { task, features: { pool: make(labels, 7), test: make(labels, 11) } };
}

describe("linear probes", () => {
  it("choose the layer and readout that carry the label on validation examples, then the L2", () => {
    const { task, features } = plantedTask();
    const sample = { train: Array.from({ length: 40 }, (_, i) => i), val: Array.from({ length: 40 }, (_, i) => 40 + i) };
    const rows = (idx: readonly number[]) => [...idx];
    const fit = fitProbe(features, task, sample, rows, ["mean", "last", "mean+max"], [1e-2, 1e-1, 1]);
    expect(fit.chosen?.layer).toBe(1);
    expect(fit.chosen?.readout).toBe("mean+max");
    expect(fit.validationAccuracy).toBeGreaterThan(0.9);
    // The reported predictions are the chosen probe's, refitted here independently.
    const y = sample.train.map((i) => task.pool.labels[i]);
    const probe = fitLogistic(readoutRows(features.pool, "mean+max", 1, sample.train), y, 2, fit.chosen!.l2!, { tolerance: 1e-4 });
    const all = task.test.labels.map((_, i) => i);
    expect(Array.from(fit.testPredicted)).toEqual(Array.from(argmaxRows(logisticProbabilities(probe, readoutRows(features.test, "mean+max", 1, all)), 2)));
  });
});

describe("every method without network training, at a label count and seed", () => {
  it("baselines score as their definitions say; zero-shot calibrates on the seed's training inputs only; each probe at its chosen layer", async () => {
    for (const name of ["speaker", "verse or prose", "real or word-shuffled"]) {
      const task = taskNamed(data, name);
      const prepared = await prepareTask([{ name: "pretrained", model }, { name: "before pretraining", model: initial }], data, task);
      const runs = frozenRuns(prepared, design, 4, 1);
      const get = (method: string) => runs.find((r) => r.method === method)!;
      const K = task.classes.length;
      expect(get("majority class").testAccuracy).toBeCloseTo(1 / K, 12); // the test sets are balanced
      expect(get("bag of characters").trainableParams).toBe((data.tokenizer.vocabSize + 1) * K);
      for (const r of runs) {
        expect(r.testPredictions).toHaveLength(task.test.labels.length);
        expect(r.testAccuracy).toBeCloseTo(accuracy([...r.testPredictions].map(Number), task.test.labels), 12);
      }
      if (name === "verse or prose") expect(get("newline rule").testAccuracy).toBe(accuracy(task.test.texts.map(newlineRule), task.test.labels));
      if (name === "speaker") {
        const sample = seedSample(design, task, 1, 4);
        const pool = await speakerScores(model, data.tokenizer, task.pool.texts, task.classes);
        const test = await speakerScores(model, data.tokenizer, task.test.texts, task.classes);
        expect(get("zero-shot, calibrated").testPredictions).toBe(predictFromScores(test, classMeans(sample.train.map((i) => pool[i]))).join(""));
        expect(get("zero-shot, raw").testPredictions).toBe(predictFromScores(test).join(""));
      }
      if (name === "real or word-shuffled") expect(get("zero-shot, typicality").trainableParams).toBe(1);
      expect(runs.filter((r) => r.method.startsWith("linear probe")).map((r) => r.method)).toEqual(["linear probe, pretrained", "linear probe, before pretraining"]);
    }
  });

  it("a live unit, computed from its own examples only, reproduces the unit computed from the whole pool", async () => {
    const task = taskNamed(data, "real or n-gram");
    const models = [{ name: "pretrained", model }, { name: "before pretraining", model: initial }];
    const whole = frozenRuns(await prepareTask(models, data, task), design, 8, 2);
    const live = await liveFrozenUnit(models, design, data, task, 8, 2);
    expect(live.runs.map((r) => [r.method, r.testPredictions, r.validationAccuracy])).toEqual(whole.map((r) => [r.method, r.testPredictions, r.validationAccuracy]));
  });
});
