import { describe, expect, it } from "vitest";

import { Random } from "../lib/core/random";
import {
  bestMethod, describeDifference, intervalRows, liveBesideStored, pairedDifference, summarizeRuns, testStandardError, verdict,
  type MethodRun,
} from "../lib/reuse/analysis";
import {
  accuracy, argmaxRows, auroc, characterCounts, fitLogistic, fitLogisticCV, fitThreshold, logisticProbabilities, majorityClass, newlineRule,
} from "../lib/reuse/baselines";
import { chooseRates, chosenRateRows, reuseDesign, studyRunId, type StudyResult } from "../lib/reuse/study";

/** n points in `dims` dimensions, class c centred at `separation` along axis c (plus noise). */
function clusters(n: number, dims: number, classes: number, separation: number, seed: number) {
  const r = new Random(seed);
  const x = new Float64Array(n * dims), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    for (let d = 0; d < dims; d++) x[i * dims + d] = r.normal() + (d === y[i] ? separation : 0);
  }
  return { x, y };
}

/** The regularised objective fitLogistic minimises, written out directly from its definition. */
function objective(w: Float64Array, z: Float64Array, y: Int32Array, dims: number, K: number, l2: number): number {
  const n = y.length, D = dims + 1;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const logits = Array.from({ length: K }, (_, k) => {
      let s = 0;
      for (let j = 0; j < D; j++) s += z[i * D + j] * w[j * K + k];
      return s;
    });
    loss += Math.log(logits.reduce((a, v) => a + Math.exp(v), 0)) - logits[y[i]];
  }
  let penalty = 0;
  for (let j = 0; j < dims; j++) for (let k = 0; k < K; k++) penalty += w[j * K + k] ** 2;
  return loss / n + l2 * penalty;
}

describe("logistic regression", () => {
  it("reaches the minimum of its objective: every finite-difference slope is zero", () => {
    const dims = 3, K = 3, l2 = 0.05;
    const { x, y } = clusters(60, dims, K, 1.5, 1);
    const model = fitLogistic(x, y, K, l2);
    const z = new Float64Array(60 * (dims + 1));
    for (let i = 0; i < 60; i++) {
      for (let j = 0; j < dims; j++) z[i * (dims + 1) + j] = (x[i * dims + j] - model.mean[j]) / model.scale[j];
      z[i * (dims + 1) + dims] = 1;
    }
    const h = 1e-5;
    for (let p = 0; p < model.weights.length; p++) {
      const up = Float64Array.from(model.weights), down = Float64Array.from(model.weights);
      up[p] += h;
      down[p] -= h;
      expect(Math.abs((objective(up, z, y, dims, K, l2) - objective(down, z, y, dims, K, l2)) / (2 * h))).toBeLessThan(1e-5);
    }
    // Standardisation used the training set's own mean and (population) spread.
    expect(model.mean[0]).toBeCloseTo(x.filter((_, i) => i % dims === 0).reduce((a, b) => a + b, 0) / 60, 12);
  });

  it("separates separable classes, predicts probabilities that sum to one, and stays near chance on random labels", () => {
    const train = clusters(150, 5, 3, 3, 1), test = clusters(150, 5, 3, 3, 2);
    const model = fitLogistic(train.x, train.y, 3, 1e-3);
    const p = logisticProbabilities(model, test.x);
    for (let i = 0; i < 150; i++) expect(p[3 * i] + p[3 * i + 1] + p[3 * i + 2]).toBeCloseTo(1, 12);
    expect(accuracy(argmaxRows(p, 3), test.y)).toBeGreaterThan(0.95);
    const noise = clusters(150, 5, 3, 0, 3), noiseTest = clusters(600, 5, 3, 0, 4);
    expect(accuracy(argmaxRows(logisticProbabilities(fitLogistic(noise.x, noise.y, 3, 1e-3), noiseTest.x), 3), noiseTest.y)).toBeLessThan(0.45);
  });

  it("cross-validation prefers a strong penalty on noise and a weak one where only a precise direction separates the classes", () => {
    const noise = clusters(40, 30, 2, 0, 5);
    const cvNoise = fitLogisticCV(noise.x, noise.y, 2, { grid: [1e-4, 1], seed: 1 });
    // x₁ = y + u and x₂ = u with a large shared u: only x₁ − x₂ separates, and a strong penalty
    // pulls the weights towards x₁ alone (the difference of the class means), which u swamps.
    const r = new Random(6);
    const y = Int32Array.from({ length: 200 }, (_, i) => i % 2);
    const x = new Float64Array(400);
    y.forEach((label, i) => {
      const u = 3 * r.normal();
      x[2 * i] = label + u + 0.05 * r.normal();
      x[2 * i + 1] = u;
    });
    const cvSignal = fitLogisticCV(x, y, 2, { grid: [1e-4, 10], seed: 1 });
    expect(cvSignal.cvAccuracy[0]).toBeGreaterThan(0.95);
    expect(cvSignal.cvAccuracy[1]).toBeLessThan(0.8);
    expect(cvSignal.l2).toBe(1e-4);
    // On pure noise both are near chance; a tie goes to the stronger penalty.
    expect(cvNoise.cvAccuracy.every((a) => a < 0.75)).toBe(true);
    expect(cvNoise.l2 === 1 || cvNoise.cvAccuracy[0] > cvNoise.cvAccuracy[1]).toBe(true);
  });

  it("names bad input", () => {
    expect(() => fitLogistic(new Float64Array(5), Int32Array.from([0, 1]), 2, 1)).toThrow("fitLogistic: 5 feature values is not a whole number of rows for 2 examples");
    expect(() => fitLogistic(new Float64Array(4), Int32Array.from([0, 2]), 2, 1)).toThrow("fitLogistic: y[1] must be a label in [0, 2); got 2");
    expect(() => fitLogistic(Float64Array.from([1, NaN]), Int32Array.from([0, 1]), 2, 1)).toThrow("fitLogistic: x[1] must be a finite feature value; got NaN");
    expect(() => fitLogistic(new Float64Array(2), Int32Array.from([0, 1]), 2, 0)).toThrow("fitLogistic: l2 must be a positive number; got 0");
  });
});

describe("baselines", () => {
  it("counts characters as shares of the text, takes the majority, and applies the newline rule", () => {
    const counts = characterCounts(["aab", "bbbb"], ["a", "b", "c"]);
    expect(Array.from(counts)).toEqual([2 / 3, 1 / 3, 0, 0, 1, 0]);
    expect(() => characterCounts(["ax"], ["a"])).toThrow('characterCounts: text 0 has "x", not in the vocabulary');
    expect(majorityClass([1, 0, 1, 2], 3)).toBe(1);
    expect(majorityClass([2, 0], 3)).toBe(0);
    expect(newlineRule("A verse line,\nAnd the next")).toBe(0);
    expect(newlineRule("prose that runs\non and on")).toBe(1);
    expect(newlineRule("no line break at all")).toBe(0);
  });

  it("AUROC equals the share of positive-negative pairs ranked right, ties counting half", () => {
    const r = new Random(2);
    for (let trial = 0; trial < 20; trial++) {
      const n = 5 + r.int(30);
      const labels = Array.from({ length: n }, (_, i) => (i < 2 ? i : r.int(2)));
      const scores = labels.map((l) => Math.round((r.normal() + l) * 2) / 2); // coarse: many ties
      let pairs = 0, right = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (labels[i] !== 1 || labels[j] !== 0) continue;
          pairs++;
          right += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
        }
      }
      expect(auroc(scores, labels)).toBeCloseTo(right / pairs, 12);
    }
    expect(() => auroc([1, 2], [1, 1])).toThrow("auroc: needs both classes; got 2 positive and 0 negative");
  });

  it("fits the threshold that gets the most training examples right, as a search over every cut finds", () => {
    const r = new Random(3);
    for (let trial = 0; trial < 20; trial++) {
      const n = 4 + r.int(40);
      const labels = Array.from({ length: n }, () => r.int(2));
      const scores = labels.map((l) => Math.round((r.normal() + 1.5 * l) * 4) / 4);
      const right = (t: number) => scores.filter((s, i) => (s >= t ? 1 : 0) === labels[i]).length;
      const cuts = [-Infinity, ...[...new Set(scores)].sort((a, b) => a - b).map((s, k, all) => (k + 1 < all.length ? (s + all[k + 1]) / 2 : Infinity))];
      const best = Math.max(...cuts.map(right));
      expect(right(fitThreshold(scores, labels))).toBe(best);
    }
  });
});

describe("paired differences", () => {
  it("summarises runs per task and method, counts single-class runs, and pairs differences by seed", () => {
    const run = (method: string, seed: number, testAccuracy: number, counts?: number[]): MethodRun => ({
      task: "t", method, seed, testAccuracy, trainableParams: 10, testPredictedCounts: counts,
    });
    const runs = [
      run("a", 1, 0.8, [5, 5]), run("a", 2, 0.7, [10, 0]), run("a", 3, 0.9, [4, 6]),
      run("b", 1, 0.7), run("b", 2, 0.62), run("b", 3, 0.78),
    ];
    const [a, b] = summarizeRuns(runs);
    expect(a).toMatchObject({ task: "t", method: "a", n: 3, singleClassRuns: 1 });
    expect(a.mean).toBeCloseTo(0.8, 12);
    expect(b.singleClassRuns).toBe(0);
    const d = pairedDifference(runs, "t", "a", "b");
    // Differences 10, 8 and 12 points: mean 10, s = 2.
    expect(d.mean).toBeCloseTo(10, 12);
    expect(d.high - d.mean).toBeCloseTo((4.303 * 2) / Math.sqrt(3), 10);
    expect(verdict(d)).toBe("higher");
    expect(verdict({ mean: 0, low: -1, high: 1, n: 3 })).toBe("not distinguishable");
    expect(() => pairedDifference(runs, "t", "a", "c")).toThrow('pairedDifference: no runs of "c" on "t"; have a, b');
    expect(testStandardError(0.5, 625)).toBeCloseTo(2, 12);
  });

  it("reads a difference, the best method, a live seed against the stored ones, and rows for tables", () => {
    const run = (method: string, seed: number, testAccuracy: number): MethodRun => ({ task: "t", method, seed, testAccuracy, trainableParams: 0 });
    const runs = [run("a", 1, 0.8), run("a", 2, 0.82), run("a", 3, 0.79), run("b", 1, 0.7), run("b", 2, 0.71), run("b", 3, 0.7)];
    expect(describeDifference(runs, "t", "a", "b")).toMatch(/^t: a − b = \+10\.0 points \(95% interval \+\d\.\d to \+\d+\.\d, 3 seeds\): a is higher$/);
    expect(describeDifference(runs, "t", "b", "a")).toMatch(/: b is lower$/);
    const summary = summarizeRuns(runs);
    expect(bestMethod(summary, "t").method).toBe("a");
    expect(bestMethod(summary, "t", ["b"]).method).toBe("b");
    expect(() => bestMethod(summary, "u")).toThrow('bestMethod: no summary for task "u"');
    expect(intervalRows(summary)[0]).toMatchObject({ task: "t", method: "a", seeds: 3, "single-class runs": 0 });
    expect(intervalRows(summarizeRuns([run("c", 1, 0.5)]))[0]["95% interval"]).toBe("one seed");
    expect(liveBesideStored([run("a", 6, 0.9)], runs)).toEqual([{
      task: "t", method: "a", "seed 6 (live)": 0.9, "stored: mean": (0.8 + 0.82 + 0.79) / 3, "stored: lowest": 0.79, "stored: highest": 0.82, "stored seeds": 3,
    }]);
    expect(() => liveBesideStored([run("z", 6, 0.9)], runs)).toThrow('liveBesideStored: no stored run of z on "t"');
  });
});

describe("choosing learning rates", () => {
  // The full design with three rates per method.
  const full = reuseDesign("full");
  const design = { ...full, methods: full.methods.map((m) => ({ ...m, rates: m.rates.slice(0, 3) })) };
  const method = design.methods[0];
  const row = (learningRate: number, seed: number, validationAccuracy: number, testAccuracy: number, validationLoss = 0.5): StudyResult => ({
    id: `${learningRate}-${seed}`, task: "speaker", method: method.name, learningRate, seed, validationAccuracy, validationLoss, testAccuracy,
    testPredictedCounts: [1, 1], diverged: false, trainableParams: 1, bytesPerTask: 4, seconds: 1, pretrained: "p", backend: "wasm", cpu: "c",
    format: 2, dataHash: "d",
  });
  // Every other task and method: the same made-up results, so chooseRates has all it needs.
  const filler = (rows: StudyResult[]) => design.methods.flatMap((m) => ["speaker", "verse or prose", "real or scrambled"].flatMap((task) =>
    task === "speaker" && m.name === method.name ? [] : m.rates.flatMap((lr) => design.tuningSeeds.map((seed) => ({ ...row(lr, seed, 0.5, 0.5), task, method: m.name, learningRate: lr })))))
    .concat(rows);

  it("chooses on mean validation accuracy over the tuning seeds, never on test accuracy", () => {
    const [low, mid, high] = method.rates;
    const rows = filler([
      row(low, 1, 0.6, 0.99), row(low, 2, 0.6, 0.99), // the best test accuracy: must not matter
      row(mid, 1, 0.8, 0.5), row(mid, 2, 0.7, 0.5),
      row(high, 1, 0.75, 0.5), row(high, 2, 0.75, 0.5), // same mean validation as mid, higher loss
    ].map((r) => (r.learningRate === high ? { ...r, validationLoss: 0.9 } : r)));
    const chosen = chooseRates(design, rows).find((c) => c.task === "speaker" && c.method === method.name)!;
    expect(chosen.learningRate).toBe(mid);
    expect(chosen.atEdge).toBe(false);
    expect(chosen.validationByRate.map((v) => v.accuracy)).toEqual([0.6, 0.75, 0.75]);
    const rateRow = chosenRateRows([chosen])[0];
    expect(rateRow["mean validation accuracy by rate"]).toBe(`${low}: 0.600, ${mid}: 0.750 ◀, ${high}: 0.750`);
  });

  it("never chooses a rate whose run diverged, and says when every rate did or runs are missing", () => {
    const [low, mid, high] = method.rates;
    const diverged = (r: StudyResult) => ({ ...r, diverged: true, validationAccuracy: NaN, testAccuracy: NaN });
    const rows = filler([row(low, 1, 0.6, 0.5), row(low, 2, 0.6, 0.5), diverged(row(mid, 1, 0, 0)), row(mid, 2, 0.9, 0.5), diverged(row(high, 1, 0, 0)), diverged(row(high, 2, 0, 0))]);
    const chosen = chooseRates(design, rows).find((c) => c.task === "speaker" && c.method === method.name)!;
    expect(chosen.learningRate).toBe(low);
    expect(chosen.atEdge).toBe(true);
    const allDiverged = filler([low, mid, high].flatMap((lr) => [diverged(row(lr, 1, 0, 0)), diverged(row(lr, 2, 0, 0))]));
    expect(() => chooseRates(design, allDiverged)).toThrow(`chooseRates: every rate of ${method.name} on "speaker" diverged; add lower rates`);
    expect(() => chooseRates(design, filler([row(low, 1, 0.6, 0.5)]))).toThrow(`chooseRates: 1 of 2 tuning runs of ${method.name} on "speaker" at rate ${low}`);
  });

  it("gives every setting that decides a run's result its own id, data and backend included", () => {
    const run = { task: "speaker", method, learningRate: 1e-3, seed: 1 };
    const context = { dataHash: "d", backend: "wasm" };
    const id = studyRunId(design, "ckpt", run, context);
    expect(studyRunId(design, "ckpt", { ...run }, { ...context })).toBe(id);
    const variants = [
      studyRunId(design, "other-ckpt", run, context), studyRunId(design, "ckpt", { ...run, seed: 2 }, context),
      studyRunId(design, "ckpt", { ...run, learningRate: 3e-4 }, context),
      studyRunId(design, "ckpt", { ...run, task: "verse or prose" }, context), studyRunId(design, "ckpt", { ...run, method: design.methods[1] }, context),
      studyRunId({ ...design, tuning: { ...design.tuning, steps: 99 } }, "ckpt", run, context),
      studyRunId({ ...design, sizes: { ...design.sizes, trainPerClass: 31 } }, "ckpt", run, context),
      studyRunId(design, "ckpt", run, { ...context, dataHash: "e" }), studyRunId(design, "ckpt", run, { ...context, backend: "webgpu" }),
    ];
    expect(new Set([id, ...variants]).size).toBe(variants.length + 1);
  });
});
