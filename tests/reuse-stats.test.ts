import { describe, expect, it } from "vitest";

import { ladderRate } from "../lib/core/rateSweep";
import { Random } from "../lib/core/random";
import {
  chooseOnValidation, compareMethods, correctness, formatDifference, pairedBootstrap, summarizeRuns, testStandardError, verdict, type MethodRun,
} from "../lib/reuse/analysis";
import {
  accuracy, argmaxRows, auroc, characterCounts, fitLogistic, fitLogisticCV, fitThreshold, logisticProbabilities, majorityClass, newlineRule,
} from "../lib/reuse/baselines";
import { chooseRates, chosenRateRows, tuningStepRuns, reportedRuns, reuseDesign, studyRunId, TASKS, tuningRuns, type StudyResult, type TaskName } from "../lib/reuse/study";

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

describe("summaries and comparisons", () => {
  const labels = [0, 1, 1, 0, 1, 0, 0, 1];
  /** A run whose stored predictions are right on exactly the test examples in `right`. */
  const run = (method: string, seed: number, right: number[], validationAccuracy = 0.5, extra: Partial<MethodRun> = {}): MethodRun => ({
    task: "t", method, perClass: 4, seed, validationAccuracy, testAccuracy: right.length / labels.length,
    testPredictions: labels.map((l, i) => (right.includes(i) ? l : 1 - l)).join(""), trainableParams: 10, ...extra,
  });

  it("summarises runs per task, label count and method: mean validation and test accuracy, seeds and single-class runs", () => {
    const runs = [
      run("a", 1, [0, 1, 2, 3], 0.6, { testPredictedCounts: [8, 0] }), run("a", 2, [0, 1, 2, 3, 4, 5], 0.7), run("a", 3, [0, 1, 2, 3, 4, 5, 6, 7], 0.8),
      run("a", 1, [0], 0.3, { perClass: 8 }), run("b", 1, [0, 1], 0.4, { testPredictedCounts: [3, 5] }),
    ];
    const summary = summarizeRuns(runs);
    expect(summary.map((s) => [s.method, s.perClass, s.seeds, s.singleClassRuns])).toEqual([["a", 4, 3, 1], ["a", 8, 1, 0], ["b", 4, 1, 0]]);
    expect(summary[0].validation).toBeCloseTo(0.7, 12);
    expect(summary[0].test).toBeCloseTo((0.5 + 0.75 + 1) / 3, 12);
    expect(() => summarizeRuns([runs[0], { ...runs[1], validationAccuracy: NaN }])).toThrow(
      'summarizeRuns: runs[1] (a on "t", 4 per class, seed 2) has validation accuracy NaN and test accuracy 0.75; expected fractions in [0, 1]',
    );
  });

  it("scores stored predictions against the labels, and compares two methods over the seeds both ran", () => {
    expect(Array.from(correctness(run("a", 1, [1, 4, 7]), labels))).toEqual([0, 1, 0, 0, 1, 0, 0, 1]);
    expect(() => correctness(run("a", 1, []), labels.slice(1))).toThrow("correctness: 8 stored predictions for 7 test labels; the run was scored on another test set");
    // a ran seeds 1 to 3, b seeds 2 to 4: only seeds 2 and 3 pair.
    const runs = [run("a", 1, [0]), run("a", 2, [0, 1, 2, 3, 4, 5]), run("a", 3, [0, 1, 2, 3, 4]), run("b", 2, [0, 1]), run("b", 3, [5, 6, 7]), run("b", 4, [])];
    const d = compareMethods(runs, labels, "t", 4, "a", "b");
    expect(d).toMatchObject({ seeds: 2, examples: 8 });
    expect(d.mean).toBeCloseTo((100 * ((6 - 2) / 8 + (5 - 3) / 8)) / 2, 10);
    expect(() => compareMethods(runs, labels, "t", 4, "a", "c")).toThrow('compareMethods: no runs of "c" on "t" with 4 per class; have a, b');
    expect(() => compareMethods(runs, labels, "t", 8, "a", "b")).toThrow('compareMethods: no runs of "a" on "t" with 8 per class; have none');
    expect(() => compareMethods([run("a", 1, []), run("b", 2, [])], labels, "t", 4, "a", "b")).toThrow('compareMethods: "a" and "b" on "t" with 4 per class share no seed');
  });

  it("reads an interval: above zero, below zero, or containing zero; and formats it in signed points", () => {
    const d = (mean: number, low: number, high: number) => ({ mean, low, high, seeds: 3, examples: 100 });
    expect(verdict(d(5, 1, 9))).toBe("higher");
    expect(verdict(d(-5, -9, -1))).toBe("lower");
    expect(verdict(d(1, -1, 3))).toBe("not distinguishable");
    expect(verdict(d(0, 0, 0))).toBe("not distinguishable");
    expect(() => verdict(d(0, 1, 2))).toThrow("verdict: an interval must hold its mean; got low 1, mean 0, high 2");
    expect(formatDifference(d(12.34, -1.24, 20))).toBe("+12.3 (−1.2 to +20.0)");
    expect(testStandardError(0.5, 625)).toBeCloseTo(2, 12);
  });

  it("chooses on validation accuracy, never on test; a tie goes to the fewer trainable parameters", () => {
    const summary = summarizeRuns([
      run("x", 1, [0, 1], 0.9), run("y", 1, [0, 1, 2, 3, 4, 5, 6, 7], 0.8), // y: the best test accuracy, which must not matter
      run("z", 1, [0], 0.9, { trainableParams: 3 }),
    ]);
    expect(chooseOnValidation(summary, "t", 4, () => true)?.method).toBe("z");
    expect(chooseOnValidation(summary, "t", 4, (m) => m !== "z")?.method).toBe("x");
    expect(chooseOnValidation(summary, "t", 8, () => true)).toBeUndefined();
  });
});

describe("paired bootstrap", () => {
  /** A row of n answers, each right with probability p. */
  const answers = (n: number, p: number, random: Random) => Array.from({ length: n }, () => (random.next() < p ? 1 : 0));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  /** The population standard deviation: the spread the bootstrap resamples from. */
  const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
  const half = (d: { low: number; high: number }) => (d.high - d.low) / 2;

  it("reports the mean of a − b over every seed and example, in points", () => {
    const r = new Random(1);
    const a = [0, 1, 2].map(() => answers(50, 0.7, r)), b = [0, 1, 2].map(() => answers(50, 0.6, r));
    let sum = 0;
    for (let s = 0; s < 3; s++) for (let i = 0; i < 50; i++) sum += a[s][i] - b[s][i];
    const d = pairedBootstrap(a, b);
    expect(d.mean).toBeCloseTo((100 * sum) / 150, 10);
    expect(d).toMatchObject({ seeds: 3, examples: 50 });
    expect(d.low).toBeLessThan(d.mean);
    expect(d.high).toBeGreaterThan(d.mean);
  });

  it("with one seed, gives the paired difference's normal interval: ±1.96 standard errors of the mean difference", () => {
    const r = new Random(2);
    const a = answers(400, 0.8, r), b = answers(400, 0.7, r);
    const diffs = a.map((x, i) => x - b[i]);
    const d = pairedBootstrap([a], [b], { resamples: 4000 });
    const closed = (1.96 * 100 * sd(diffs)) / Math.sqrt(400);
    expect(half(d) / closed).toBeGreaterThan(0.85);
    expect(half(d) / closed).toBeLessThan(1.15);
    expect((d.low + d.high) / 2).toBeCloseTo(d.mean, -0.5); // centred within a point
  });

  it("where a − b is the same on every example of a seed, the width is the seeds' spread alone, however many examples", () => {
    // 24 of 40 seeds: a right and b wrong everywhere (+100 points); 16: the two agree (0 points).
    const seedDifference = Array.from({ length: 40 }, (_, s) => (s < 24 ? 1 : 0));
    const closed = (1.96 * 100 * sd(seedDifference)) / Math.sqrt(40);
    for (const N of [1, 300]) {
      const r = new Random(N);
      const a = seedDifference.map((c) => (c === 1 ? Array(N).fill(1) : answers(N, 0.5, r)));
      const b = seedDifference.map((c, s) => (c === 1 ? Array(N).fill(0) : a[s]));
      const d = pairedBootstrap(a, b, { resamples: 4000 });
      expect(d.mean).toBeCloseTo(60, 10);
      expect(half(d) / closed, `${N} examples`).toBeGreaterThan(0.85);
      expect(half(d) / closed, `${N} examples`).toBeLessThan(1.15);
    }
  });

  it("draws test examples once for all seeds: copies of one seed give that seed's interval, not a narrower one", () => {
    // Were examples drawn afresh for every seed, 9 identical seeds would narrow the interval threefold.
    const r = new Random(3);
    const a = answers(300, 0.75, r), b = answers(300, 0.65, r);
    const one = pairedBootstrap([a], [b], { resamples: 4000 });
    const nine = pairedBootstrap(Array(9).fill(a), Array(9).fill(b), { resamples: 4000 });
    expect(nine.mean).toBeCloseTo(one.mean, 10);
    expect(half(nine) / half(one)).toBeGreaterThan(0.85);
    expect(half(nine) / half(one)).toBeLessThan(1.15);
  });

  it("gives identical methods a difference of exactly 0 with no width", () => {
    const r = new Random(4);
    const a = [0, 1, 2, 3].map(() => answers(80, 0.6, r));
    expect(pairedBootstrap(a, a.map((row) => row.slice()))).toEqual({ mean: 0, low: 0, high: 0, seeds: 4, examples: 80 });
  });

  it("is reproducible for a seed, and another seed draws other resamples", () => {
    const r = new Random(5);
    const a = [0, 1, 2].map(() => answers(100, 0.7, r)), b = [0, 1, 2].map(() => answers(100, 0.6, r));
    const first = pairedBootstrap(a, b, { seed: 7 });
    expect(pairedBootstrap(a, b, { seed: 7 })).toEqual(first);
    const other = pairedBootstrap(a, b, { seed: 8 });
    expect(other.mean).toBe(first.mean);
    expect([other.low, other.high]).not.toEqual([first.low, first.high]);
    // Typed rows read the same as arrays.
    expect(pairedBootstrap(a.map((row) => Uint8Array.from(row)), b.map((row) => Uint8Array.from(row)), { seed: 7 })).toEqual(first);
  });

  it("names bad input: ragged rows, answers other than 0 and 1, seed counts that differ", () => {
    expect(() => pairedBootstrap([[1, 0, 1], [1, 0]], [[1, 0, 1], [1, 0, 1]])).toThrow(
      "pairedBootstrap: correctA[1] must be a row of 3 values (one per test example, like correctA[0]); got [1,0]",
    );
    expect(() => pairedBootstrap([[1, 0]], [[1, 0, 0]])).toThrow("pairedBootstrap: correctB[0] must be a row of 2 values");
    expect(() => pairedBootstrap([[1, 0.5]], [[1, 0]])).toThrow("pairedBootstrap: correctA[0][1] must be 0 or 1 (wrong or right); got 0.5");
    expect(() => pairedBootstrap([[1, 0]], [[2, 0]])).toThrow("pairedBootstrap: correctB[0][0] must be 0 or 1 (wrong or right); got 2");
    expect(() => pairedBootstrap([[1, 0], [0, 1]], [[1, 0]])).toThrow("pairedBootstrap: correctB must be an array of 2 rows (one per seed of correctA); got [[1,0]]");
    expect(() => pairedBootstrap([], [])).toThrow("pairedBootstrap: correctA must be a non-empty array, one row of 0/1 per seed; got []");
    expect(() => pairedBootstrap([[1]], [[0]], { resamples: 10 })).toThrow("pairedBootstrap: options.resamples must be an integer ≥ 100; got 10");
  });
});

describe("choosing learning rates", () => {
  // The full design with three rates per method, two tuning seeds and two tuned label counts, no steps beyond the grid (tested on their own below).
  const full = reuseDesign("full");
  const design = {
    ...full, methods: full.methods.map((m) => ({ ...m, rates: m.rates.slice(0, 3) })), tuningSeeds: [1, 2], tuning: { ...full.tuning, perClass: [64, 256] }, rateSteps: 0,
  };
  const method = design.methods[0];
  const row = (learningRate: number, seed: number, validationAccuracy: number, testAccuracy: number, validationLoss = 0.5, perClass = 64): StudyResult => ({
    id: `${learningRate}-${seed}-${perClass}`, task: "speaker", method: method.name, perClass, learningRate, seed, validationAccuracy, validationLoss, testAccuracy,
    testPredictions: "01", testPredictedCounts: [1, 1], diverged: false, trainableParams: 1, bytesPerTask: 4, seconds: 1, pretrained: "p", backend: "wasm", cpu: "c",
    format: 2, dataHash: "d",
  });
  // Every other task, method and label count: the same made-up results, so chooseRates has all it needs.
  const filler = (rows: StudyResult[]) => {
    const given = new Set(rows.map((r) => r.perClass));
    return design.tuning.perClass.flatMap((perClass) => design.methods.flatMap((m) => TASKS.flatMap((task: TaskName) =>
      task === "speaker" && m.name === method.name && given.has(perClass) ? [] : m.rates.flatMap((lr) => design.tuningSeeds.map((seed) => ({
        ...row(lr, seed, 0.5, 0.5, 0.5, perClass), task, method: m.name,
      }))))))
      .concat(rows);
  };

  it("sweeps every task, tuned label count, method and rate for the tuning seeds, each run once", () => {
    const runs = tuningRuns(design);
    const key = (task: string, perClass: number, method: string, rate: number, seed: number) => JSON.stringify([task, perClass, method, rate, seed]);
    const expected = new Set<string>();
    for (const task of TASKS) for (const perClass of [64, 256]) for (const m of design.methods) for (const rate of m.rates) for (const seed of [1, 2]) expected.add(key(task, perClass, m.name, rate, seed));
    expect(runs).toHaveLength(5 * 2 * 9 * 2);
    expect(new Set(runs.map((r) => key(r.task, r.perClass, r.method.name, r.learningRate, r.seed)))).toEqual(expected);
  });

  it("chooses on mean validation accuracy over the tuning seeds, never on test accuracy", () => {
    const [low, mid, high] = method.rates;
    const rows = filler([
      row(low, 1, 0.6, 0.99), row(low, 2, 0.6, 0.99), // the best test accuracy: must not matter
      row(mid, 1, 0.8, 0.5), row(mid, 2, 0.7, 0.5),
      row(high, 1, 0.75, 0.5), row(high, 2, 0.75, 0.5), // same mean validation as mid, higher loss
    ].map((r) => (r.learningRate === high ? { ...r, validationLoss: 0.9 } : r)));
    const chosen = chooseRates(design, rows).find((c) => c.task === "speaker" && c.method === method.name && c.perClass === 64)!;
    expect(chosen.learningRate).toBe(mid);
    expect(chosen.atEdge).toBe(false);
    expect(chosen.validationByRate.map((v) => v.accuracy)).toEqual([0.6, 0.75, 0.75]);
    const rateRow = chosenRateRows([chosen])[0];
    expect(rateRow["mean validation accuracy by rate"]).toBe(`${low}: 0.600, ${mid}: 0.750 ◀, ${high}: 0.750`);
  });

  it("chooses a rate per label count, and reports every seed at the rate of its own label count", () => {
    const [low, , high] = method.rates;
    const rates = method.rates;
    // At 64 per class the lowest rate is best, at 256 the highest.
    const rows = filler(rates.flatMap((lr) => [1, 2].flatMap((seed) => [
      row(lr, seed, lr === low ? 0.9 : 0.5, 0.5, 0.5, 64), row(lr, seed, lr === high ? 0.9 : 0.5, 0.5, 0.5, 256),
    ])));
    const chosen = chooseRates(design, rows);
    expect(chosen).toHaveLength(5 * 2 * 3);
    const mine = chosen.filter((c) => c.task === "speaker" && c.method === method.name);
    expect(mine.map((c) => [c.perClass, c.learningRate])).toEqual([[64, low], [256, high]]);
    const reported = reportedRuns(design, mine);
    expect(reported.map((r) => [r.perClass, r.learningRate, r.seed])).toEqual(
      [[64, low], [256, high]].flatMap(([perClass, lr]) => design.seeds.map((seed) => [perClass, lr, seed])),
    );
  });

  it("never chooses a rate whose run diverged, and says when every rate did or runs are missing", () => {
    const [low, mid, high] = method.rates;
    const diverged = (r: StudyResult) => ({ ...r, diverged: true, validationAccuracy: NaN, testAccuracy: NaN });
    const rows = filler([row(low, 1, 0.6, 0.5), row(low, 2, 0.6, 0.5), diverged(row(mid, 1, 0, 0)), row(mid, 2, 0.9, 0.5), diverged(row(high, 1, 0, 0)), diverged(row(high, 2, 0, 0))]);
    const chosen = chooseRates(design, rows).find((c) => c.task === "speaker" && c.method === method.name && c.perClass === 64)!;
    expect(chosen.learningRate).toBe(low);
    expect(chosen.atEdge).toBe(true);
    const allDiverged = filler([low, mid, high].flatMap((lr) => [diverged(row(lr, 1, 0, 0)), diverged(row(lr, 2, 0, 0))]));
    expect(() => chooseRates(design, allDiverged)).toThrow(`chooseRates: every rate of ${method.name} on "speaker" diverged; add lower rates`);
    expect(() => chooseRates(design, filler([row(low, 1, 0.6, 0.5)]))).toThrow(`chooseRates: 1 of 2 tuning runs of ${method.name} on "speaker" (64 per class) at rate ${low}`);
  });

  it("steps one rate of the 1–3 ladder beyond an edge at a time, up to rateSteps, and chooses among every rate tried", () => {
    const stepping = { ...design, rateSteps: 2 };
    const [low, mid, high] = method.rates;
    // Every other task, method and label count best at its middle rate: no steps there.
    const settled = (rows: StudyResult[]) => filler(rows).map((r) => (rows.includes(r) || r.learningRate !== design.methods.find((m) => m.name === r.method)!.rates[1]
      ? r : { ...r, validationAccuracy: 0.6 }));
    const both = (lr: number, acc: number) => [row(lr, 1, acc, 0.5), row(lr, 2, acc, 0.5)];
    const speaker64 = (runs: { task: string; method: { name: string }; perClass: number; learningRate: number }[]) =>
      runs.filter((r) => r.task === "speaker" && r.method.name === method.name && r.perClass === 64);
    // The highest rate is best: one step above it is needed, for both tuning seeds, and nothing else.
    let rows = settled([...both(low, 0.5), ...both(mid, 0.6), ...both(high, 0.7)]);
    const above = ladderRate(high, 1);
    expect(tuningStepRuns(stepping, rows).map((r) => [r.task, r.method.name, r.perClass, r.learningRate, r.seed])).toEqual(
      [1, 2].map((seed) => ["speaker", method.name, 64, above, seed]),
    );
    expect(() => chooseRates(stepping, rows)).toThrow(`the rate beyond it, ${above}, has no tuning runs`);
    // Better again one step up: a second step; then worse: the sweep stops inside, at the first step.
    rows = [...rows, ...both(above, 0.8)];
    const twoAbove = ladderRate(above, 1);
    expect(speaker64(tuningStepRuns(stepping, rows)).map((r) => r.learningRate)).toEqual([twoAbove, twoAbove]);
    rows = [...rows, ...both(twoAbove, 0.75)];
    expect(tuningStepRuns(stepping, rows)).toEqual([]);
    const chosen = chooseRates(stepping, rows).find((c) => c.task === "speaker" && c.method === method.name && c.perClass === 64)!;
    expect([chosen.learningRate, chosen.atEdge]).toEqual([above, false]);
    expect(chosen.validationByRate.map((v) => [v.learningRate, v.accuracy])).toEqual([[low, 0.5], [mid, 0.6], [high, 0.7], [above, 0.8], [twoAbove, 0.75]]);
    // Still best at the top after rateSteps steps: chosen there, marked as at the edge.
    const capped = settled([...both(low, 0.5), ...both(mid, 0.6), ...both(high, 0.7), ...both(above, 0.8), ...both(twoAbove, 0.9)]);
    expect(tuningStepRuns(stepping, capped)).toEqual([]);
    const top = chooseRates(stepping, capped).find((c) => c.task === "speaker" && c.method === method.name && c.perClass === 64)!;
    expect([top.learningRate, top.atEdge]).toEqual([twoAbove, true]);
    // Best at the bottom: the step goes down.
    expect(speaker64(tuningStepRuns(stepping, settled([...both(low, 0.9), ...both(mid, 0.6), ...both(high, 0.7)]))).map((r) => r.learningRate))
      .toEqual([ladderRate(low, -1), ladderRate(low, -1)]);
  });

  it("gives every setting that decides a run's result its own id, data and backend included", () => {
    const run = { task: "speaker" as const, method, perClass: 64, learningRate: 1e-3, seed: 1 };
    const context = { dataHash: "d", backend: "wasm" };
    const id = studyRunId(design, "ckpt", run, context);
    expect(studyRunId(design, "ckpt", { ...run }, { ...context })).toBe(id);
    const variants = [
      studyRunId(design, "other-ckpt", run, context), studyRunId(design, "ckpt", { ...run, seed: 2 }, context),
      studyRunId(design, "ckpt", { ...run, learningRate: 3e-4 }, context), studyRunId(design, "ckpt", { ...run, perClass: 256 }, context),
      studyRunId(design, "ckpt", { ...run, task: "verse or prose" }, context), studyRunId(design, "ckpt", { ...run, method: design.methods[1] }, context),
      studyRunId({ ...design, tuning: { ...design.tuning, steps: 99 } }, "ckpt", run, context),
      studyRunId({ ...design, sizes: { ...design.sizes, speaker: { ...design.sizes.speaker, testPerClass: 31 } } }, "ckpt", run, context),
      studyRunId({ ...design, sizes: { ...design.sizes, "real or n-gram": { ...design.sizes["real or n-gram"], valPerClass: 51 } } }, "ckpt", run, context),
      studyRunId({ ...design, ngramOrder: 4 }, "ckpt", run, context),
      studyRunId(design, "ckpt", run, { ...context, dataHash: "e" }), studyRunId(design, "ckpt", run, { ...context, backend: "webgpu" }),
    ];
    expect(new Set([id, ...variants]).size).toBe(variants.length + 1);
    // The run's own label count is in its id, not the list of counts tuned: adding one keeps the runs already stored.
    expect(studyRunId({ ...design, tuning: { ...design.tuning, perClass: [64, 256, 1024] } }, "ckpt", run, context)).toBe(id);
  });
});
