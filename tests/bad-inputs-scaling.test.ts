// Bad inputs at the doors of lib/scaling and lib/zeroshot: each must be refused with an error that
// names the function, the argument and its value, never answered with a silently wrong result,
// a raw TypeError, an error of an inner helper, or an allocation that cannot fit in memory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { Random } from "../lib/core/random";
import {
  analyseIsoflop, budgetOf, isoflopPoints, isoflopSeries, lossAtTokens, lossComputeFrontier, powerLawWithInterval, regimes, seedNoise, stopEarlyComparison,
} from "../lib/scaling/analysis";
import { bootstrapChinchilla } from "../lib/scaling/bootstrap";
import { fitOffsetPowerLaw, percentileInterval, quantile } from "../lib/core/numerics";
import { chinchillaData, chinchillaLoss, chinchillaObjective, fitChinchilla } from "../lib/scaling/chinchilla";
import { computeOptimal } from "../lib/scaling/compute";
import { isoflopFit } from "../lib/scaling/isoflop";
import { fitKaplanJoint, kaplanLoss } from "../lib/scaling/kaplan";
import { minimizeLbfgs } from "../lib/core/lbfgs";
import { ngramBaseline, ngramCrossEntropy } from "../lib/core/ngram";
import { readSweepResults, runSweep, scalingSweep, strayResults } from "../lib/scaling/sweep";
import { learningRateRuns, scalingDesign, shapeName, sweepContext, tuneLearningRates, type SweepResult } from "../lib/scaling/sweepDesign";
import { isoflopDesign, logSpace, sampleLosses } from "../lib/scaling/synthetic";
import { ConceptMatcher, countConcepts } from "../lib/zeroshot/count";
import { allConceptSentences, buildConceptWorld, conceptSentence, generateCorpus } from "../lib/zeroshot/corpus";
import { compareAccuracyCurves, headAndTail, summarizeScores, type ConceptScore } from "../lib/zeroshot/evaluate";
import { answersLogLikelihood, frequencyForAccuracy, logLinearAt, sigmoidAt, sigmoidFrequencyFor, sigmoidLinearRange } from "../lib/zeroshot/loglinear";
import {
  binomialStandardError, compositionData, compositionDesign, compositionRuns, compositionStudy, gapStandardError, pairedGapDifference, summarizeComposition,
  trainCompositionRun, type CompositionResult,
} from "../lib/zeroshot/study";
import { zipfProbabilities, ZipfSampler } from "../lib/zeroshot/zipf";
import { randomIds } from "./tiny";

const bad = <T>(value: unknown) => value as T;
const dir = mkdtempSync(join(tmpdir(), "bad-inputs-scaling-"));

beforeAll(async () => {
  await chooseBackend("wasm");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Fixtures.
const chin = { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28 };
const kap = { Nc: 8.8e13, Dc: 5.4e13, alphaN: 0.076, alphaD: 0.095 };
const tinyGrid = { alpha: [0.5], beta: [0.5], e: [0], a: [5], b: [5] };
const points = sampleLosses((N, D) => chinchillaLoss(chin, N, D), isoflopDesign([1e18, 1e19, 1e20], 5), { seed: 1, noise: 0.005 });
const budgeted = points.map((p, i) => ({ ...p, C: [1e18, 1e19, 1e20][Math.floor(i / 5)] }));
const quad = (x: Float64Array, g: Float64Array) => { g[0] = 2 * x[0]; return x[0] * x[0]; };
const T = { vocabSize: 11, blockSize: 8, nLayer: 1, nHead: 1, nEmbd: 8, dropout: 0, bias: true, tieWeights: true };
const sweepResult = (params: number, tokens: number, loss: number, extra: Record<string, unknown> = {}) => bad<SweepResult>({
  id: `r${params}-${tokens}`, label: `N${params}`, model: T, params, tokens, flops: 6 * params * tokens, trainLoss: loss,
  valLoss: loss, validationLoss: loss, testLoss: loss, evalTokens: 100, curve: [{ tokens: tokens / 2, valLoss: loss + 0.1 }, { tokens, valLoss: loss }],
  seconds: 1, format: 2, dataHash: "x", backend: "wasm", seed: 1, batchSize: 2, learningRate: 1e-3, dataset: "x", cpu: "x", ...extra,
});
const smoke = scalingDesign("smoke");
const sweepData = () => ({ train: randomIds(400, 11, 1), val: randomIds(100, 11, 2), test: randomIds(100, 11, 3) });
const sweepOptions = (name: string, extra: Record<string, unknown> = {}) => ({
  path: join(dir, name), data: sweepData(), backend: "wasm", evalTokens: 50, curvePoints: 1, evalBatches: 1, ...extra,
});
const sweepRun = (extra: Record<string, unknown> = {}) => ({ label: "tiny", model: T, tokens: 32, batchSize: 2, learningRate: 1e-3, seed: 1, dataset: "x", ...extra });
const world = buildConceptWorld({ attributes: 3, objects: 3, heldOutFraction: 0.2, templates: 2, seed: 1 });
const scores: ConceptScore[] = world.concepts.map((c, i) => ({
  concept: i, name: c.name, heldOut: c.heldOut, frequency: c.heldOut ? 0 : 1 + 10 * i, placeCorrect: c.heldOut ? null : i % 2 === 0,
  placeRecallCorrect: c.heldOut ? null : true, traitsCorrect: i % 3 !== 0,
}));
const line = { intercept: 10, slope: 5, r2: 1, n: 3 };
const sig = { midpoint: 1, steepness: 2, chance: 0.125, logLikelihood: 0, n: 10 };
const comp = (gap: number, w = 1, extra: Record<string, unknown> = {}) => bad<CompositionResult>({
  world: w, seed: 1, model: "small", data: "all", parameters: 1, traitsSeen: 50, traitsHeldOut: 40, gap, seenConcepts: 10, heldOutConcepts: 5, ...extra,
});
const compDesign = () => ({ ...compositionDesign("smoke"), worlds: [1], seeds: [1] });

/** [what is called, the call, the error it must give]. */
const synchronous: [string, () => unknown, string | RegExp][] = [
  // L-BFGS options, checked at the door of the fit that passes them on.
  ["fitOffsetPowerLaw, lbfgs.gradientTolerance NaN", () => fitOffsetPowerLaw([1, 2, 4, 8], [4, 3, 2.5, 2.2], { lbfgs: { gradientTolerance: NaN } }),
    "fitOffsetPowerLaw: lbfgs.gradientTolerance must be a finite number ≥ 0; got NaN"],
  ["fitChinchilla, lbfgs.maxIterations 2.5", () => fitChinchilla(points, { grid: tinyGrid, lbfgs: { maxIterations: 2.5 } }),
    "fitChinchilla: lbfgs.maxIterations must be an integer ≥ 0, or Infinity for no cap; got 2.5"],
  ["fitKaplanJoint, lbfgs.relativeTolerance NaN", () => fitKaplanJoint(points, { lbfgs: { relativeTolerance: NaN } }),
    "fitKaplanJoint: lbfgs.relativeTolerance must be a finite number ≥ 0; got NaN"],
  ["minimizeLbfgs, relativeTolerance -1", () => minimizeLbfgs(quad, [1], { relativeTolerance: -1 }), "minimizeLbfgs: relativeTolerance must be a finite number ≥ 0; got -1"],
  ["minimizeLbfgs, f a string", () => minimizeLbfgs(bad("quad"), [1]), 'minimizeLbfgs: f must be a function (x, grad) => f(x); got "quad"'],
  // Bootstrap and percentiles.
  ["bootstrapChinchilla, a given fit with E NaN", () => bootstrapChinchilla(points, { resamples: 2, seed: 1, grid: tinyGrid, fit: { ...chin, E: NaN, loss: 0, starts: 1, evaluations: 1 } }),
    "bootstrapChinchilla: options.fit.E must be a finite positive number; got NaN"],
  ["percentileInterval, level 2", () => percentileInterval(1, [1, 2, 3], 2), "percentileInterval: level must be between 0 and 1 (e.g. 0.9 for 5–95%); got 2"],
  ["percentileInterval, level NaN", () => percentileInterval(1, [1, 2, 3], NaN), "percentileInterval: level must be between 0 and 1 (e.g. 0.9 for 5–95%); got NaN"],
  ["percentileInterval, a value NaN", () => percentileInterval(1, [1, NaN, 3], 0.9), "percentileInterval: values[1] must be a number; got NaN"],
  ["quantile, unsorted values", () => quantile([3, 1, 2], 0), "quantile: sorted[1] must be ≥ sorted[0] = 3 (the values sorted ascending); got 1"],
  ["quantile, a value NaN", () => quantile([1, NaN, 3], 0.5), "quantile: sorted[1] must be a number; got NaN"],
  // The laws.
  ["chinchillaLoss, E NaN", () => chinchillaLoss({ ...chin, E: NaN }, 1e8, 1e9), "chinchillaLoss: params.E must be a finite number; got NaN"],
  ["chinchillaLoss, params {}", () => chinchillaLoss(bad({}), 1e8, 1e9), "chinchillaLoss: params.E must be a finite number; got undefined"],
  ["chinchillaData, N negative", () => chinchillaData([{ N: -1, D: 1, loss: 1 }]), "chinchillaData: points[0].N must be a finite positive number; got -1"],
  ["chinchillaObjective, theta of 3 values", () => chinchillaObjective(chinchillaData(points), [1, 2, 3], null),
    "chinchillaObjective: theta must be 5 values [a, b, e, alpha, beta]; got 3 values"],
  ["computeOptimal, params null", () => computeOptimal(bad(null), 1e20), "computeOptimal: params must be {E, A, B, alpha, beta}; got null"],
  ["isoflopFit, budgets []", () => isoflopFit(points, { budgets: [] }), "isoflopFit: options.budgets must be a non-empty array of compute budgets (or left out to group the runs by cost); got []"],
  ["kaplanLoss, N 0", () => kaplanLoss(kap, 0, 1e9), "kaplanLoss: N must be a finite positive number; got 0"],
  ["kaplanLoss, N -1", () => kaplanLoss(kap, -1, 1e9), "kaplanLoss: N must be a finite positive number; got -1"],
  ["kaplanLoss, params {}", () => kaplanLoss(bad({}), 1e8, 1e9), "kaplanLoss: params.Nc must be a finite positive number; got undefined"],
  ["kaplanLoss, alphaD 0", () => kaplanLoss({ ...kap, alphaD: 0 }, 1e8, 1e9), "kaplanLoss: params.alphaD must be a finite positive number; got 0"],
  // n-gram baselines.
  ["ngramCrossEntropy, k Infinity", () => ngramCrossEntropy(Int32Array.of(0, 1), Int32Array.of(0, 1), 2, 1, Infinity),
    "ngramCrossEntropy: the smoothing k must be > 0 and finite (at 0 a test sequence unseen in training has probability 0; at Infinity every one is NaN); got Infinity"],
  ["ngramCrossEntropy, vocabSize NaN", () => ngramCrossEntropy(Int32Array.of(0, 1), Int32Array.of(0, 1), NaN, 1, 1), "ngramCrossEntropy: vocabSize must be a positive integer; got NaN"],
  ["ngramBaseline, ks [-1]", () => ngramBaseline(Int32Array.of(0, 1, 0, 1), Int32Array.of(0, 1), 2, 1, [-1]), "ngramBaseline: the smoothing ks[0] must be > 0 and finite"],
  ["ngramBaseline, 5 training tokens for n = 3", () => ngramBaseline(Int32Array.of(0, 1, 0, 1, 0), Int32Array.of(0, 1, 0, 1), 2, 3),
    "ngramBaseline: train has 5 tokens; its last tenth (1 tokens), on which k is chosen, needs at least n = 3: give more training tokens"],
  // Synthetic runs.
  ["isoflopDesign, centre NaN", () => isoflopDesign([1e18], 2, { centre: () => NaN }), "isoflopDesign: centre(budgets[0]) must be a finite positive number; got NaN"],
  ["isoflopDesign, centre -5", () => isoflopDesign([1e18], 2, { centre: () => -5 }), "isoflopDesign: centre(budgets[0]) must be a finite positive number; got -5"],
  ["isoflopDesign, 2e8 models per budget (refused before allocating)", () => isoflopDesign([1e18], 2e8),
    "isoflopDesign: 1 budget(s) × modelsPerBudget = 200000000 make 200000000 runs; at most 1,000,000 are supported"],
  ["logSpace, a billion values (refused before allocating)", () => logSpace(1, 10, 1e9), "logSpace: count must be at most the 1,000,000 values supported; got 1000000000"],
  ["sampleLosses, the law returns NaN", () => sampleLosses(() => NaN, [{ N: 1, D: 1 }], { seed: 1 }),
    "sampleLosses: law(N, D) at design[0] (N = 1, D = 1) must be a finite positive number; got NaN"],
  ["sampleLosses, outlierScale -2", () => sampleLosses(() => 1, [{ N: 1, D: 1 }], { seed: 1, outliers: 1, outlierScale: -2 }),
    "sampleLosses: outlierScale must be a finite number > −1 (an outlier's loss is multiplied by 1 + outlierScale, which must stay positive); got -2"],
  ["sampleLosses, options omitted", () => sampleLosses(() => 1, [{ N: 1, D: 1 }], bad(undefined)), "sampleLosses: options must be { seed }; got undefined"],
  // Reading a study.
  ["budgetOf, flops 0", () => budgetOf(smoke, sweepResult(10, 0, 2, { flops: 0 })), "budgetOf: run.flops must be a finite positive number; got 0"],
  ["budgetOf, no budgets", () => budgetOf({ ...smoke, budgets: [] }, sweepResult(10, 100, 2)), "budgetOf: design.budgets must be a non-empty array of budgets; got []"],
  ["isoflopPoints, a run without testLoss", () => isoflopPoints(smoke, [sweepResult(10, 100, 2, { testLoss: undefined })]),
    "isoflopPoints: runs[0].testLoss must be a finite positive number; got undefined"],
  ["seedNoise, a test loss NaN", () => seedNoise([sweepResult(10, 100, NaN), sweepResult(10, 100, 2)]), "seedNoise: the loss of runs[0] (N10) must be a finite number; got NaN"],
  ["analyseIsoflop, points without C", () => analyseIsoflop(points, { resamples: 2, seed: 1 }),
    "analyseIsoflop: points[0].C must be a finite positive number: the budget the run was planned at (isoflopPoints sets it); got undefined"],
  ["analyseIsoflop, level 2", () => analyseIsoflop(budgeted, { resamples: 2, seed: 1, level: 2 }), "analyseIsoflop: level must be between 0 and 1 (e.g. 0.9 for 5–95%); got 2"],
  ["powerLawWithInterval, resamples -1", () => powerLawWithInterval([1, 2, 4], [3, 2, 1], { resamples: -1, seed: 1 }), "powerLawWithInterval: resamples must be a positive integer; got -1"],
  ["powerLawWithInterval, resamples NaN", () => powerLawWithInterval([1, 2, 4], [3, 2, 1], { resamples: NaN, seed: 1 }), "powerLawWithInterval: resamples must be a positive integer; got NaN"],
  ["powerLawWithInterval, level 0", () => powerLawWithInterval([1, 2, 4], [3, 2, 1], { resamples: 5, seed: 1, level: 0 }), "powerLawWithInterval: level must be between 0 and 1 (e.g. 0.9 for 5–95%); got 0"],
  ["regimes, tokensPerParameter -1", () => regimes([sweepResult(10, 100, 2)], -1), "regimes: tokensPerParameter must be a finite positive number; got -1"],
  ["regimes, margin 0", () => regimes([sweepResult(10, 100, 2)], 20, 0), "regimes: margin must be a finite number ≥ 1 (below 1 the data-rich and model-rich runs overlap); got 0"],
  ["stopEarlyComparison, a run with an empty curve", () => stopEarlyComparison(smoke, [sweepResult(10, 1e7 / 60, 2, { curve: [] })]),
    'stopEarlyComparison: runs[0] ("N10") has no curve ([])'],
  ["lossAtTokens, D NaN", () => lossAtTokens([sweepResult(10, 100, 2), sweepResult(10, 200, 1.5)], NaN), "lossAtTokens: D must be a finite positive number; got NaN"],
  ["isoflopSeries, points of no fitted budget", () => isoflopSeries(isoflopFit(points), [{ N: 1, D: 1, loss: 1, C: 5 }]), "isoflopSeries: no point has C = "],
  // Sweeps.
  ["scalingDesign, an unknown scale", () => scalingDesign(bad("medium")), 'scalingDesign: scale must be one of smoke, full; got "medium"'],
  ["shapeName, no fields", () => shapeName(bad({})), "shapeName: shape.nLayer must be a positive integer; got undefined"],
  ["readSweepResults, a folder", () => readSweepResults(dir), `${dir} is a folder; expected a results file (one JSON line per run) written by \`npm run sweep -- --grid full\``],
  ["strayResults, ids a number", () => strayResults(join(dir, "none.jsonl"), bad(5)), "strayResults: ids must be the ids of the runs to keep (an array or set of strings); got 5"],
  ["learningRateRuns, trainTokens 0", () => learningRateRuns(smoke, 65, 0), 'learningRateRuns: design "kjv-smoke": trainTokens must be a positive integer; got 0'],
  ["learningRateRuns, a design with no model sizes (no run to train)", () => learningRateRuns({ ...smoke, ladder: [] }, 65, 1e6),
    "learningRateRuns: design.ladder must be a non-empty array of model shapes; got []"],
  ["tuneLearningRates, context omitted", () => tuneLearningRates(smoke, 65, 1e6, [], bad(undefined)), "tuneLearningRates: context must be the { dataHash, backend }"],
  ["sweepContext, data without test", () => sweepContext(bad({ train: randomIds(10, 3, 1), val: randomIds(10, 3, 2) }), "wasm"),
    "sweepContext: data.test must be an Int32Array of token ids; got undefined"],
  ["lossComputeFrontier, a result without curve", () => lossComputeFrontier([bad({ label: "a", params: 1 })]),
    'lossComputeFrontier: results[0] ("a"): curve must be an array of { tokens, valLoss }; got undefined'],
  ["lossComputeFrontier, a valLoss NaN", () => lossComputeFrontier([sweepResult(10, 100, NaN)]), 'lossComputeFrontier: results[0] ("N10"): curve[0].valLoss must be a finite number; got NaN'],
  // Zipf.
  ["zipfProbabilities, n = 1e9 (refused before allocating)", () => zipfProbabilities(1e9, 1),
    "zipfProbabilities: the vocabulary size n must be at most the 33,554,432 items supported (it would need 14.9 GiB of tables); got 1000000000"],
  ["ZipfSampler.sample, random null", () => new ZipfSampler(5, 1).sample(bad(null)), "ZipfSampler.sample: random must be a Random (new Random(seed)); got null"],
  ["ZipfSampler.sampleMany, 2^29 ranks (refused before allocating)", () => new ZipfSampler(5, 1).sampleMany(2 ** 29, new Random(1)),
    "ZipfSampler.sampleMany: count must be at most 268,435,456 ranks per call (it would need 2.0 GiB); got 536870912"],
  // Counting concepts.
  ["ConceptMatcher, a phrase that is a number", () => new ConceptMatcher(bad([5])), "ConceptMatcher: phrase 0 must be a string; got 5"],
  ["ConceptMatcher.count, text a number", () => new ConceptMatcher(["wet dog"]).count(bad(5)), "ConceptMatcher.count: text must be a string or an array of strings; got 5"],
  ["ConceptMatcher.mentions, text null", () => new ConceptMatcher(["null"]).mentions(bad(null)), "ConceptMatcher.mentions: text must be a string; got null"],
  ["countConcepts, a corpus line that is a number", () => countConcepts(bad(["a wet dog", 5]), ["wet dog"]), "countConcepts: corpus[1] must be a string; got 5"],
  // The concept world.
  ["allConceptSentences, world.templates 9", () => allConceptSentences({ ...world, templates: 9 }), "allConceptSentences: world.templates must be an integer in [2, 4]; got 9"],
  ["conceptSentence, world.templates 9", () => conceptSentence({ ...world, templates: 9 }, 0, 5), "conceptLineParts: world.templates must be an integer in [2, 4]; got 9"],
  ["generateCorpus, 1e8 sentences (refused before allocating)", () => generateCorpus(world, { sentences: 1e8, exponent: 1 }),
    "generateCorpus: sentences must be at most the 10,000,000 lines a corpus in memory is built for; got 100000000"],
  // Summaries and curves.
  ["headAndTail, a frequency NaN", () => headAndTail(world, [NaN, ...new Array(8).fill(1)]), "headAndTail: frequency[0] must be a finite number ≥ 0; got NaN"],
  ["summarizeScores, split index 999", () => summarizeScores(scores, { head: [999], middle: [], tail: [0] }), "summarizeScores: split.head[0] must be one of the 9 scores [0, 9); got 999"],
  ["summarizeScores, split {}", () => summarizeScores(scores, bad({})), "summarizeScores: split.head must be an array of concept indices (from headAndTail); got undefined"],
  ["compareAccuracyCurves, chance 1.5", () => compareAccuracyCurves(scores, line, 1.5), "compareAccuracyCurves: chance must be in [0, 1) (1/8 for one of eight answers); got 1.5"],
  ["logLinearAt, fit {}", () => logLinearAt(bad({}), 10), "logLinearAt: fit.intercept must be a finite number; got undefined"],
  ["frequencyForAccuracy, intercept NaN", () => frequencyForAccuracy({ ...line, intercept: NaN }, 50), "frequencyForAccuracy: fit.intercept must be a finite number; got NaN"],
  ["sigmoidAt, chance 2", () => sigmoidAt({ ...sig, chance: 2 }, 10), "sigmoidAt: fit.chance must be in [0, 1); got 2"],
  ["sigmoidAt, steepness NaN", () => sigmoidAt({ ...sig, steepness: NaN }, 10), "sigmoidAt: fit.steepness must be a finite number; got NaN"],
  ["sigmoidFrequencyFor, steepness 0", () => sigmoidFrequencyFor({ ...sig, steepness: 0 }, 50), "sigmoidFrequencyFor: fit.steepness must be non-zero (0 is a flat line at chance); got 0"],
  ["sigmoidLinearRange, steepness 0", () => sigmoidLinearRange({ ...sig, steepness: 0 }), "sigmoidLinearRange: fit.steepness must be non-zero (0 is a flat line at chance); got 0"],
  ["sigmoidLinearRange, steepness NaN", () => sigmoidLinearRange({ ...sig, steepness: NaN }), "sigmoidLinearRange: fit.steepness must be a finite number; got NaN"],
  ["answersLogLikelihood, 3 frequencies and 1 answer", () => answersLogLikelihood([1, 2, 3], [true], () => 0.5),
    "answersLogLikelihood: right must be 3 values long, one per value of frequency; got 1"],
  ["answersLogLikelihood, p returns NaN", () => answersLogLikelihood([1, 2], [true, false], () => NaN), "answersLogLikelihood: p(frequency[0] = 1) is NaN; it must return a probability"],
  // The composition study.
  ["binomialStandardError, percent 150", () => binomialStandardError(150, 10), "binomialStandardError: percent must be in [0, 100]; got 150"],
  ["gapStandardError, seenConcepts 0", () => gapStandardError(comp(10, 1, { seenConcepts: 0 })), "gapStandardError: r (world 1, seed 1, small/all): seenConcepts must be a positive integer; got 0"],
  ["summarizeComposition, a gap NaN", () => summarizeComposition([comp(NaN), comp(5, 2)]), "summarizeComposition: results[0] (world 1, seed 1, small/all): gap must be a finite number; got NaN"],
  ["pairedGapDifference, a gap NaN", () => pairedGapDifference([comp(NaN), comp(5, 1, { model: "larger" })], { model: "small", data: "all" }, { model: "larger", data: "all" }),
    "pairedGapDifference: results[0] (world 1, seed 1, small/all): gap must be a finite number; got NaN"],
  ["compositionDesign, an unknown scale", () => compositionDesign(bad("medium")), 'compositionDesign: scale must be one of smoke, full; got "medium"'],
  ["compositionRuns, design.worlds missing", () => compositionRuns({ ...compDesign(), worlds: bad(undefined) }), "compositionRuns: design.worlds must be a non-empty array of seeds; got undefined"],
  ["compositionData, an unknown data size", () => compositionData(compDesign(), 1, bad("most")), 'compositionData: data must be one of half, all; got "most"'],
];

/** [what is called, the call, the error it must give]; each call returns a promise that must reject. */
const asynchronous: [string, () => Promise<unknown>, string | RegExp][] = [
  ["runSweep, a run's tokens NaN", () => runSweep([sweepRun({ tokens: NaN })], sweepOptions("tokens.jsonl")), 'runSweep: runs[0] ("tiny"): tokens must be a positive number; got NaN'],
  ["runSweep, evalTokens 0", () => runSweep([sweepRun()], sweepOptions("eval0.jsonl", { evalTokens: 0 })), "runSweep: options.evalTokens must be a positive integer; got 0"],
  ["runSweep, evalTokens shorter than one window", () => runSweep([sweepRun()], sweepOptions("eval5.jsonl", { evalTokens: 5 })),
    'runSweep: runs[0] ("tiny"): scoring takes the first min(evalTokens 5, validation 100, test 100) = 5 tokens, fewer than one window of blockSize 8 + 1 = 9'],
  ["runSweep, curvePoints 0", () => runSweep([sweepRun()], sweepOptions("curve0.jsonl", { curvePoints: 0 })), "runSweep: options.curvePoints must be a positive integer; got 0"],
  ["runSweep, data without test", () => runSweep([sweepRun()], sweepOptions("notest.jsonl", { data: { train: randomIds(400, 11, 1), val: randomIds(100, 11, 2) } })),
    "runSweep: options.data.test must be an Int32Array of token ids; got undefined"],
  ["scalingSweep, an unknown scale (no run starts)", () => scalingSweep(bad("medium"), 65, {
    data: { train: new Int32Array(4_000_000), val: randomIds(100, 11, 2), test: randomIds(100, 11, 3) }, backend: "wasm",
    onRunStart: (run) => { throw new Error(`started ${run.label}`); },
  }), 'scalingSweep: scale must be one of smoke, full; got "medium"'],
  ["trainCompositionRun, an unknown model size", () => trainCompositionRun(compDesign(), { world: 1, seed: 1, model: bad("huge"), data: "all" }),
    'trainCompositionRun: spec.model must be one of small, larger; got "huge"'],
  ["compositionStudy, an unknown scale", () => compositionStudy(bad("medium"), compDesign(), { onRunStart: () => { throw new Error("started a run"); } }),
    'compositionStudy: scale must be one of smoke, full; got "medium"'],
];

describe("scaling and zero-shot: bad inputs are refused at the door, naming the argument and its value", () => {
  for (const [what, call, message] of synchronous) {
    it(what, () => expect(call).toThrow(message));
  }
  for (const [what, call, message] of asynchronous) {
    it(what, async () => {
      await expect(call()).rejects.toThrow(message);
    });
  }
});
