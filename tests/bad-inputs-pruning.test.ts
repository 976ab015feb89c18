// Bad inputs at the doors of lib/pruning and lib/generalization: each must be refused with an
// error that names the function, the argument and its value, never answered with a silently
// wrong result. Sizes too large to hold are chosen past what a typed array can be (> 2^32
// elements) so that, unguarded, they fail fast instead of filling the machine's memory.
import { describe, expect, it } from "vitest";

import {
  argmax, crossover, el2nScores, exampleFlops, fasterThan, ForgettingCounter, forgettingCounts, hebbianStudent, kMeans, learningCurve,
  makeTeacher, normalCdf, permutation, powerLawsByFraction, principalComponents, probeSeeds, prototypeScores, pruningCurve,
  pruningExperiment, randomScores, scoreAgreement, scoringFlops, SoftmaxClassifier, studentFlops, teacherStudentData, trainClassifier,
  type Examples, type PruningRow,
} from "../lib/pruning";
import { randomFeaturesCurve, randomFeaturesSampleCurve, randomFeaturesTestError, ridgeWeights } from "../lib/generalization/doubleDescent";
import { solveSpd } from "../lib/core/numerics";
import { Random } from "../lib/core/random";

/** 40 examples of dim 5, 2 classes. */
const examples = (): Examples => {
  const r = new Random(7);
  return { x: Float64Array.from({ length: 200 }, () => r.normal()), labels: Int32Array.from({ length: 40 }, (_, i) => i % 2), dim: 5, classes: 2 };
};
const config = { inputDim: 5, classes: 2, hidden: 0 };
const sgd = { epochs: 1, batchSize: 4, learningRate: 0.1, seed: 1 };
const probe = { hidden: 0, epochs: 1, batchSize: 4, learningRate: 0.1, runs: 1, seed: 1 };
const scoring = { probe, forgettingEpochs: 2, prototypeComponents: 2, prototypeClusters: 2 };
const points = Float64Array.of(0, 0, 1, 1, 2, 2, 10, 10);
const teacher = () => makeTeacher(5, 1);
const curve = { teacher: teacher(), clusterSeparation: 0, poolSizes: [10], seeds: [1], student: (d: Examples) => ({ weights: hebbianStudent(d), bias: 0 }) };
const experiment = {
  teacher: teacher(), clusterSeparation: 0, poolSizes: [20], fractions: [1, 0.5], keeps: ["hard"] as ("hard" | "easy" | "random")[],
  scores: ["random"] as "random"[], scoring, student: { epochs: 1, batchSize: 4, learningRate: 0.1 }, seeds: [1],
};
const row = (keep: "hard" | "easy", fraction: number, poolSize: number, testError: number): PruningRow => ({
  score: "random", keep, fraction, poolSize, kept: Math.round(fraction * poolSize), testError, testErrorSe: 0, testErrors: [testError], validationError: testError, mislabeled: 0, trainingFlops: poolSize, scoringFlops: 0,
});
const rows = [row("hard", 1, 10, 0.3), row("hard", 1, 20, 0.2), row("hard", 0.5, 10, 0.35), row("hard", 0.5, 20, 0.25), row("easy", 0.5, 10, 0.3), row("easy", 0.5, 20, 0.3)];
const doubleDescent = { nTrain: 10, nTest: 10, inputDim: 3, noise: 0.1, lambda: 1e-6, seed: 1 };
const spd = Float64Array.of(2, 1, 1, 2);
const tooLarge = /would hold [\d,]+ float64 values \([\d.]+ GiB\), more than the 268,435,456 \(2 GiB\) allowed; choose smaller sizes$/;

/** [what is called, the call, the error it must give]. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const bad = (value: unknown) => value as any; // a wrong-typed value, as a notebook cell without types could pass
const synchronous: [string, () => unknown, string | RegExp][] = [
  // classifier
  ["permutation, n -1", () => permutation(-1, new Random(1)), "permutation: n must be an integer ≥ 0; got -1"],
  ["permutation, n 2.5", () => permutation(2.5, new Random(1)), "permutation: n must be an integer ≥ 0; got 2.5"],
  ["permutation, n past an Int32Array", () => permutation(2 ** 33, new Random(1)), "permutation: n must be ≤ 2^28 (it would need an Int32Array of 32.0 GiB); got 8589934592"],
  ["permutation, random null", () => permutation(5, bad(null)), "permutation: random must be a Random (from lib/core/random); got null"],
  ["argmax, no values", () => argmax([]), "argmax: values must be at least one value; got []"],
  ["argmax, a NaN first", () => argmax([NaN, 1]), "argmax: values[0] must be a number; got NaN"],
  ["argmax, a NaN later", () => argmax([0, NaN, 1]), "argmax: values[1] must be a number; got NaN"],
  ["SoftmaxClassifier, params holding NaN", () => new SoftmaxClassifier(config, new Float64Array(12).fill(NaN)), "SoftmaxClassifier: params[0] is NaN; every parameter must be a finite number"],
  ["SoftmaxClassifier, too many parameters to hold", () => new SoftmaxClassifier({ ...config, inputDim: 10, hidden: 1e9 }),
    /^SoftmaxClassifier: the parameters of inputDim 10, hidden 1000000000, classes 2 would hold 13,000,000,002 float64 values \(96\.9 GiB\), more than the 268,435,456 \(2 GiB\) allowed; choose smaller sizes$/],
  ["SoftmaxClassifier.init, too many parameters to hold", () => SoftmaxClassifier.init({ ...config, inputDim: 10, hidden: 1e9 }, 1), tooLarge],
  ["errorRate, parameters turned NaN", () => { const m = new SoftmaxClassifier(config); m.params[3] = NaN; return m.errorRate(examples()); },
    "errorRate: params[3] is NaN; the classifier's parameters must be finite (did training diverge? lower the learning rate)"],
  ["accumulateGradient, row 99 of 40", () => SoftmaxClassifier.init(config, 1).accumulateGradient(examples().x, 99, 0, new Float64Array(12)),
    "accumulateGradient: row must be a row of x in [0, 40) (x holds 40 rows of inputDim 5); got 99"],
  ["accumulateGradient, label 5", () => SoftmaxClassifier.init(config, 1).accumulateGradient(examples().x, 0, 5, new Float64Array(12)),
    "accumulateGradient: label must be a class in [0, 2); got 5"],
  ["accumulateGradient, grad of the wrong length", () => SoftmaxClassifier.init(config, 1).accumulateGradient(examples().x, 0, 1, new Float64Array(3)),
    "accumulateGradient: grad must be a Float64Array of 12 values (one per parameter); got 3"],
  ["probabilitiesInto, row NaN", () => SoftmaxClassifier.init(config, 1).probabilitiesInto(examples().x, NaN, new Float64Array(2)),
    "probabilitiesInto: row must be a row of x in [0, 40) (x holds 40 rows of inputDim 5); got NaN"],
  ["trainClassifier, options omitted", () => trainClassifier(new SoftmaxClassifier(config), examples(), bad(undefined)),
    "trainClassifier: options must be {epochs, batchSize, learningRate, seed}; got undefined"],
  ["trainClassifier, onPresented a string", () => trainClassifier(new SoftmaxClassifier(config), examples(), { ...sgd, onPresented: bad("log") }),
    'trainClassifier: onPresented must be a function (or left out); got "log"'],
  ["trainClassifier, a learning rate that diverges", () => trainClassifier(SoftmaxClassifier.init(config, 1), examples(), { ...sgd, learningRate: 1e308 }),
    /^trainClassifier: (params\[\d+\] is (NaN|-?Infinity)|a logit of example \d+ became (NaN|-?Infinity)); training diverged in epoch 0; lower learningRate \(1e\+308\)$/],
  ["exampleFlops, an unknown pass", () => exampleFlops(config, bad("backward")), 'exampleFlops: pass must be "forward and backward" or "forward"; got "backward"'],
  ["exampleFlops, inputDim -1", () => exampleFlops({ ...config, inputDim: -1 }, "forward"), "exampleFlops: inputDim must be a positive integer; got -1"],
  // kmeans
  ["kMeans, options omitted", () => kMeans(points, 2, bad(undefined)), "kMeans: options must be {k, seed}; got undefined"],
  ["principalComponents, a covariance too large to hold", () => principalComponents(new Float64Array(100_000), 100_000, 1, 1),
    /^principalComponents: the covariance of dim 100000 \(100000×100000\) would hold 10,000,000,000 float64 values \(74\.5 GiB\)/],
  // scores
  ["el2nScores, options omitted", () => el2nScores(examples(), bad(undefined)), "el2nScores: options must be {hidden, epochs, batchSize, learningRate, runs, seed}; got undefined"],
  ["ForgettingCounter.record, correct a string", () => new ForgettingCounter(1).record(0, bad("no")), 'ForgettingCounter.record: correct must be true or false; got "no"'],
  ["ForgettingCounter, too many examples to hold", () => new ForgettingCounter(1e10), /^ForgettingCounter: the counts of 10000000000 examples would hold/],
  ["forgettingCounts, a row that is not an array", () => forgettingCounts(bad([[true], "x"])), 'forgettingCounts: history[1] must be an array of true/false presentations; got "x"'],
  ["forgettingCounts, a history of 1s and 0s", () => forgettingCounts(bad([[1, 0, 1]])), "forgettingCounts: history[0][0] must be true or false; got 1"],
  ["prototypeScores, options omitted", () => prototypeScores(points, 2, bad(undefined)), "prototypeScores: options must be {k, seed}; got undefined"],
  ["probeSeeds, runs -1", () => probeSeeds(1, -1), "probeSeeds: runs must be a positive integer; got -1"],
  ["randomScores, too many to hold", () => randomScores(1e10, 1), /^randomScores: the scores of 10000000000 examples would hold/],
  // teacher
  ["makeTeacher, too large to hold", () => makeTeacher(1e10, 1), /^makeTeacher: a teacher of inputDim 10000000000 would hold/],
  ["teacherStudentData, inputs too large to hold", () => teacherStudentData(teacher(), { n: 2e9, seed: 1 }), /^teacherStudentData: the inputs of 2000000000 examples of dim 5 would hold 10,000,000,000/],
  ["normalCdf, NaN", () => normalCdf(NaN), "normalCdf: x must be a number (±Infinity give 0 and 1); got NaN"],
  // learning curves
  ["learningCurve, a pool size 0", () => learningCurve({ ...curve, poolSizes: [10, 0] }), "learningCurve: poolSizes[1] must be a positive integer; got 0"],
  ["learningCurve, student a string", () => learningCurve({ ...curve, student: bad("hebbian") }), 'learningCurve: student must be a function (examples, seed) → {weights, bias}; got "hebbian"'],
  // experiment
  ["scoringFlops, poolSize NaN", () => scoringFlops("EL2N", { poolSize: NaN, inputDim: 5, classes: 2 }, scoring), "scoringFlops: poolSize must be a positive integer; got NaN"],
  ["scoringFlops, probe.runs -1", () => scoringFlops("EL2N", { poolSize: 10, inputDim: 5, classes: 2 }, { ...scoring, probe: { ...probe, runs: -1 } }),
    "scoringFlops: probe.runs must be a positive integer; got -1"],
  ["studentFlops, kept -5", () => studentFlops(-5, { inputDim: 5, classes: 2 }, 10), "studentFlops: kept must be a finite number ≥ 0; got -5"],
  ["studentFlops, epochs NaN", () => studentFlops(5, { inputDim: 5, classes: 2 }, NaN), "studentFlops: epochs must be an integer ≥ 0; got NaN"],
  ["pruningExperiment, an unknown keep rule", () => pruningExperiment({ ...experiment, keeps: bad(["bogus"]), fractions: [1] }),
    'pruningExperiment: keep must be one of hard, easy, random; got "bogus"'],
  ["pruningExperiment, a pool size 0", () => pruningExperiment({ ...experiment, poolSizes: [0] }), "pruningExperiment: poolSizes[0] must be a positive integer; got 0"],
  // analysis
  ["pruningCurve, an unknown keep rule", () => pruningCurve(rows, bad("bogus"), 0.5), 'pruningCurve: keep must be one of hard, easy, random; got "bogus"'],
  ["crossover, no pool sizes", () => crossover(rows, 0.5, []), "crossover: poolSizes is empty; give the pool sizes to compare keep-hard and keep-easy at"],
  ["powerLawsByFraction, lo > hi", () => powerLawsByFraction(rows, [0.5], { lo: 20, hi: 5 }), 'powerLawsByFraction: range must have finite lo and hi with 0 < lo ≤ hi; got {"lo":20,"hi":5}'],
  ["fasterThan, alpha NaN", () => fasterThan(rows, 0.5, NaN), "fasterThan: alpha must be a finite number (the exponent to compare with); got NaN"],
  ["scoreAgreement, 5 scores and 3 margins", () => scoreAgreement([1, 2, 3, 4, 5], [1, 2, 3]), "scoreAgreement: teacherMargin must be 5 values long, one per value of scores; got 3"],
  ["scoreAgreement, fraction 0", () => scoreAgreement([1, 2, 3], [1, 2, 3], 0), "scoreAgreement: fraction must be in (0, 1]; got 0"],
  // generalization
  ["solveSpd, a NaN in the matrix", () => solveSpd(Float64Array.of(NaN, 1, 1, 2), Float64Array.of(1, 1), 2), "solveSpd: a[0] must be a finite number; got NaN"],
  ["solveSpd, a NaN in b", () => solveSpd(spd, Float64Array.of(1, NaN), 2), "solveSpd: b[1] must be a finite number; got NaN"],
  ["ridgeWeights, lambda Infinity", () => ridgeWeights(Float64Array.of(1, 0, 0, 1, 1, 1), Float64Array.of(1, 2, 3), 3, 2, Infinity),
    "ridgeWeights: lambda must be positive and finite (use a tiny one for the minimum-norm limit); got Infinity"],
  ["ridgeWeights, a NaN in Φ", () => ridgeWeights(Float64Array.of(1, 0, NaN, 1, 1, 1), Float64Array.of(1, 2, 3), 3, 2, 1e-3), "ridgeWeights: Φ[2] must be a finite number; got NaN"],
  ["randomFeaturesTestError, noise Infinity", () => randomFeaturesTestError([5], { ...doubleDescent, noise: Infinity }), "randomFeaturesTestError: noise must be a finite number ≥ 0; got Infinity"],
  ["randomFeaturesTestError, lambda 0", () => randomFeaturesTestError([5], { ...doubleDescent, lambda: 0 }),
    "randomFeaturesTestError: lambda must be positive and finite (use a tiny one for the minimum-norm limit); got 0"],
  ["randomFeaturesTestError, no feature counts", () => randomFeaturesTestError([], doubleDescent), "randomFeaturesTestError: featureCounts must be at least one number of features; got []"],
  ["randomFeaturesTestError, options omitted", () => randomFeaturesTestError([5], bad(undefined)),
    "randomFeaturesTestError: options must be {nTrain, nTest, inputDim, noise, lambda, seed}; got undefined"],
  ["randomFeaturesTestError, inputs too large to hold", () => randomFeaturesTestError([5], { ...doubleDescent, nTrain: 1e9, inputDim: 10 }),
    /^randomFeaturesTestError: the training inputs \(nTrain 1000000000 × inputDim 10\) would hold 10,000,000,000 float64 values/],
  ["randomFeaturesCurve, onSeed a string", () => randomFeaturesCurve([5], doubleDescent, 1, bad("log")), 'randomFeaturesCurve: onSeed must be a function (done, total) or omitted; got "log"'],
  ["randomFeaturesCurve, no feature counts", () => randomFeaturesCurve([], doubleDescent, 1), "randomFeaturesCurve: featureCounts must be a non-empty array of positive integers; got []"],
  ["randomFeaturesSampleCurve, no train counts", () => randomFeaturesSampleCurve([], 5, doubleDescent, 1), "randomFeaturesSampleCurve: trainCounts must be a non-empty array of positive integers; got []"],
  ["randomFeaturesSampleCurve, a train count 0", () => randomFeaturesSampleCurve([5, 0], 5, doubleDescent, 1), "randomFeaturesSampleCurve: trainCounts[1] must be a positive integer; got 0"],
];

describe("bad inputs to pruning and double descent are refused at the door, naming the argument and its value", () => {
  for (const [what, call, message] of synchronous) {
    it(what, () => expect(call).toThrow(message));
  }

  it("principalComponents of identical points gives unit directions of variance 0", () => {
    const { directions, variances, projected } = principalComponents(Float64Array.of(1, 1, 1, 1, 1, 1), 2, 1, 1);
    expect(Math.hypot(...directions)).toBeCloseTo(1, 12);
    expect(variances[0]).toBe(0);
    expect(Array.from(projected)).toEqual([0, 0, 0]);
  });

  it("makeTeacher of a dimension too long to spread into Math.hypot is still a unit vector", () => {
    const u = makeTeacher(500_000, 1);
    let norm = 0;
    for (const v of u) norm += v * v;
    expect(u.length).toBe(500_000);
    expect(Math.sqrt(norm)).toBeCloseTo(1, 12);
  });
});
