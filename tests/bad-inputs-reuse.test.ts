// Bad inputs at the doors of lib/reuse: each must be refused with an error that names the
// function, the argument and its value, never answered with a silently wrong result.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { CharTokenizer } from "../lib/core/data";
import { GPT } from "../lib/gpt/model";
import {
  agreementRows, compareMethods, describeComparison, pairedBootstrap, summarizeRuns, testStandardError, verdict, type MethodRun,
} from "../lib/reuse/analysis";
import {
  argmaxRows, auroc, fitLogistic, fitLogisticCV, fitThreshold, logisticProbabilities, majorityClass, selectRows,
} from "../lib/reuse/baselines";
import { frozenStudy, readFrozenResults } from "../lib/reuse/frozen";
import { measureSwitching, speakerPrompt, tuneClassifier, typicality } from "../lib/reuse/methods";
import { pretrain } from "../lib/reuse/pretrain";
import { chooseRates, readStudyResults, reportedRuns, reuseDesign, reuseStudy, runOf, tuningRuns } from "../lib/reuse/study";
import {
  encodeTask, labelledSample, parseSpeeches, pickExamples, realOrAlteredTask, realOrScrambledTask, scrambleWords, shuffleWordsInLines,
  speakerTask, splitPoolAndTest, verseProseTask, type TextTask,
} from "../lib/reuse/tasks";
import { data, quiet, TINY } from "./tiny";

beforeAll(async () => {
  await chooseBackend("wasm");
});

const dir = mkdtempSync(join(tmpdir(), "course-bad-reuse-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const speeches = parseSpeeches([
  "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east.",
  "JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father.",
].join("\n\n"));
const textTask = (): TextTask => ({ name: "t", classes: ["x", "y"], texts: ["abcdefgh", "bcdefghi", "cdefghij", "defghija"], labels: [0, 1, 0, 1], groups: [1, 2, 3, 4] });
const X = Float64Array.of(0, 1, 1, 0, 0.5, 0.2, 0.9, 0.1), Y = [0, 1, 0, 1];
const run = (method: string, seed: number, testAccuracy: number, testPredictions = "01"): MethodRun => ({
  task: "t", method, perClass: 4, seed, validationAccuracy: 0.5, testAccuracy, testPredictions, trainableParams: 0,
});
const smoke = reuseDesign("smoke");
const labeled = { ids: Int32Array.from({ length: 32 }, (_, i) => i % 11), labels: Int32Array.of(0, 1, 0, 1), length: 8, classes: ["a", "b"] };

/** [what is called, the call, the error it must give]. */
const synchronous: [string, () => unknown, string | RegExp][] = [
  // tasks
  ["parseSpeeches, a number", () => parseSpeeches(123 as unknown as string), "parseSpeeches: corpus must be a string (the corpus's text); got 123"],
  ["speakerTask, no speakers", () => speakerTask(speeches, { speakers: [], length: 8 }), "speakerTask: speakers must name at least 2 speakers (a task needs two classes); got []"],
  ["speakerTask, a repeated speaker", () => speakerTask(speeches, { speakers: ["ROMEO", "ROMEO"], length: 8 }),
    'speakerTask: speakers[1] repeats "ROMEO"; every speaker must be a class of its own'],
  ["verseProseTask, no window fits", () => verseProseTask(speeches, { length: 100000 }), "verseProseTask: no window of 100000 characters in the speeches of two lines or more"],
  ["realOrScrambledTask, no window fits", () => realOrScrambledTask(speeches, { length: 100000, seed: 1, exclude: ["JULIET"] }),
    "realOrAlteredTask (real or scrambled): no window of 100000 characters in the speeches (excluding JULIET) that the alteration changes"],
  ["realOrAlteredTask, an alteration that changes the length", () => realOrAlteredTask(speeches, { name: "x", altered: "y", length: 8, seed: 1, alter: (w) => w + "!" }),
    "realOrAlteredTask (x): alter turned a window of 8 characters into 9; it must keep the length"],
  ["scrambleWords, no random", () => scrambleWords("hello there friend", null as never), "scrambleWords: random must be a Random; got null"],
  ["shuffleWordsInLines, no random", () => shuffleWordsInLines("hello there friend", null as never), "shuffleWordsInLines: random must be a Random; got null"],
  ["speakerTask, a stride longer than the window", () => speakerTask(speeches, { speakers: ["ROMEO", "JULIET"], length: 8, stride: 9 }),
    "speakerTask: stride must be an integer in [1, length = 8]; got 9"],
  ["splitPoolAndTest, groups missing", () => splitPoolAndTest({ ...textTask(), groups: undefined as never }, { testPerClass: 1, seed: 1 }),
    'splitPoolAndTest: task "t" has 4 texts and undefined groups; expected one per text'],
  ["splitPoolAndTest, a label outside the classes", () => splitPoolAndTest({ ...textTask(), labels: [0, 1, 2, 1] }, { testPerClass: 1, seed: 1 }),
    'splitPoolAndTest: task "t" labels[2] must be an integer in [0, 2) (its 2 classes); got 2'],
  ["splitPoolAndTest, every speech taken by the test set", () => splitPoolAndTest(textTask(), { testPerClass: 2, seed: 1 }),
    'splitPoolAndTest: task "t" has no speech left for the labelled pool once the test set has 2 examples per class'],
  ["pickExamples, index 999", () => pickExamples(textTask(), [0, 999]), 'pickExamples: indices[1] must be an integer in [0, 4) (the examples of "t"); got 999'],
  ["pickExamples, index -1", () => pickExamples(textTask(), [-1]), 'pickExamples: indices[0] must be an integer in [0, 4) (the examples of "t"); got -1'],
  ["labelledSample, 4 texts and 2 labels", () => labelledSample({ ...textTask(), labels: [0, 1] }, { trainPerClass: 1, valPerClass: 1, seed: 1 }),
    'labelledSample: task "t" has 4 texts and 2 labels; expected one per text'],
  ["encodeTask, 4 texts and 2 labels", () => encodeTask({ ...textTask(), labels: [0, 1] }, CharTokenizer.fromText("abcdefghij")),
    'encodeTask: task "t" has 4 texts and 2 labels; expected one per text'],
  // baselines
  ["fitLogisticCV, folds 0", () => fitLogisticCV(X, Y, 2, { folds: 0 }), "fitLogisticCV: folds must be an integer ≥ 2; got 0"],
  ["fitLogisticCV, folds 1", () => fitLogisticCV(X, Y, 2, { folds: 1 }), "fitLogisticCV: folds must be an integer ≥ 2; got 1"],
  ["fitLogisticCV, one example of each class", () => fitLogisticCV(X.subarray(0, 4), [0, 1], 2),
    "fitLogisticCV: no class has more than one of the 2 examples, so cross-validation would train on nothing; needs at least 2 examples of some class"],
  ["fitLogisticCV, an empty grid", () => fitLogisticCV(X, Y, 2, { grid: [] }), "fitLogisticCV: grid must be at least one l2 to choose from; got []"],
  ["fitLogisticCV, a negative l2 in the grid", () => fitLogisticCV(X, Y, 2, { grid: [1, -1] }), "fitLogisticCV: grid[1] must be a positive number (an l2 strength); got -1"],
  ["logisticProbabilities, a NaN feature", () => logisticProbabilities(fitLogistic(X, Y, 2, 1), [1, 2, 3, NaN]),
    "logisticProbabilities: x[3] (row 1, feature 1) must be a finite feature value; got NaN"],
  ["argmaxRows, classes 0", () => argmaxRows(Float64Array.of(0.1, 0.9), 0), "argmaxRows: classes must be a positive integer; got 0"],
  ["argmaxRows, 4 values for 3 classes", () => argmaxRows(Float64Array.of(0.1, 0.9, 0.2, 0.3), 3), "argmaxRows: 4 values is not a whole number of rows of 3 classes"],
  ["argmaxRows, a NaN score", () => argmaxRows(Float64Array.of(0.1, 0.9, NaN, 0.3), 2), "argmaxRows: p[2] (row 1, class 0) must be a score (every class needs one); got NaN"],
  ["selectRows, row 99 of 4", () => selectRows(X, 2, [1, 99]), "selectRows: idx[1] must be an integer in [0, 4) (the matrix's rows); got 99"],
  ["selectRows, 8 values in rows of 3", () => selectRows(X, 3, [0]), "selectRows: 8 values is not a whole number of rows of 3 columns"],
  ["majorityClass, a label outside the classes", () => majorityClass([5, 5], 2), "majorityClass: labels[0] must be an integer in [0, 2); got 5"],
  ["majorityClass, no labels", () => majorityClass([], 2), "majorityClass: no labels"],
  ["majorityClass, classes 0", () => majorityClass([0], 0), "majorityClass: classes must be a positive integer; got 0"],
  ["auroc, a NaN score", () => auroc([NaN, 1, 2, 3], [1, 0, 1, 0]), "auroc: scores[0] must be a number that can be ordered; got NaN"],
  ["fitThreshold, label 2", () => fitThreshold([1, 2, 3], [0, 2, 1]), "fitThreshold: labels[1] must be 0 or 1; got 2"],
  ["fitThreshold, a NaN score", () => fitThreshold([NaN, 2, 3], [0, 1, 1]), "fitThreshold: scores[0] must be a number that can be ordered; got NaN"],
  // analysis
  ["summarizeRuns, a NaN accuracy", () => summarizeRuns([run("m", 1, NaN), run("m", 2, 0.5)]),
    'summarizeRuns: runs[0] (m on "t", 4 per class, seed 1) has validation accuracy 0.5 and test accuracy NaN; expected fractions in [0, 1]'],
  ["compareMethods, a method that never ran", () => compareMethods([run("a", 1, 0.5)], [0, 1], "t", 4, "a", "b"),
    'compareMethods: no runs of "b" on "t" with 4 per class; have a'],
  ["compareMethods, no shared seed", () => compareMethods([run("a", 1, 0.5), run("b", 2, 0.5)], [0, 1], "t", 4, "a", "b"),
    'compareMethods: "a" and "b" on "t" with 4 per class share no seed'],
  ["compareMethods, predictions for another test set", () => compareMethods([run("a", 1, 0.5, "011"), run("b", 1, 0.5)], [0, 1], "t", 4, "a", "b"),
    "correctness: 3 stored predictions for 2 test labels; the run was scored on another test set"],
  ["pairedBootstrap, a 2", () => pairedBootstrap([[0, 2]], [[0, 1]]), "pairedBootstrap: correctA[0][1] must be 0 or 1 (wrong or right); got 2"],
  ["verdict, an interval without its mean", () => verdict({ mean: 5, low: 0, high: 1, seeds: 1, examples: 2 }),
    "verdict: an interval must hold its mean; got low 0, mean 5, high 1"],
  ["agreementRows, a live run without a stored twin", () => agreementRows([run("a", 9, 0.5)], [run("a", 1, 0.5)]),
    'agreementRows: no stored run of a on "t" with 4 per class, seed 9'],
  ["testStandardError, p 1.5", () => testStandardError(1.5, 10), "testStandardError: p must be an accuracy in [0, 1]; got 1.5"],
  ["testStandardError, n 0", () => testStandardError(0.5, 0), "testStandardError: n must be a positive integer (test examples); got 0"],
  // methods
  ["speakerPrompt, no speakers", () => speakerPrompt([], 32), "speakerPrompt: speakers must name at least one speaker; got []"],
  ["speakerPrompt, length NaN", () => speakerPrompt(["ROMEO"], NaN), "speakerPrompt: length must be a positive integer (the model's window); got NaN"],
  // study
  ["reuseDesign, an unknown scale", () => reuseDesign("medium" as never), 'reuseDesign: scale must be one of smoke, full; got "medium"'],
  ["reportedRuns, a chosen method the design lacks",
    () => reportedRuns(smoke, [{ task: "speaker", method: "nope", perClass: 8, learningRate: 1, validationByRate: [], atEdge: false }], [1]),
    'reportedRuns: chosen[0].method "nope" is not a method of design "tinyshakespeare-reuse-smoke"; have fine-tune (all weights), LoRA r=1, from scratch'],
  ["tuningRuns, no methods", () => tuningRuns({ ...smoke, methods: [] }), 'tuningRuns: design "tinyshakespeare-reuse-smoke" has no methods; expected at least one'],
  ["chooseRates, no tuning seeds", () => chooseRates({ ...smoke, tuningSeeds: [] }, []), 'chooseRates: design "tinyshakespeare-reuse-smoke" has no tuningSeeds; expected at least one'],
  ["chooseRates, a method without rates", () => chooseRates({ ...smoke, methods: [{ ...smoke.methods[0], rates: [] }] }, []),
    'chooseRates: method "fine-tune (all weights)" of design "tinyshakespeare-reuse-smoke" has no rates; expected at least one'],
  ["runOf, a method the design lacks", () => runOf(smoke, { task: "speaker", method: "nope", perClass: 8, learningRate: 1, seed: 1 }),
    'runOf: "nope" is not a method of design "tinyshakespeare-reuse-smoke"; have fine-tune (all weights), LoRA r=1, from scratch'],
  ["readStudyResults, a folder", () => readStudyResults(dir), `${dir} is a folder; expected a results file (one JSON line per run) written by \`npm run reuse-study -- --grid full\``],
  ["readFrozenResults, a folder", () => readFrozenResults(dir), `${dir} is a folder; expected a results file (one JSON line per run) written by \`npm run reuse-study -- --grid full\``],
];

describe("lib/reuse refuses bad inputs at the door, naming the argument and its value", () => {
  for (const [what, call, message] of synchronous) {
    it(what, () => expect(call).toThrow(message));
  }

  it("describeComparison of a method that never ran says so instead of comparing", () => {
    expect(describeComparison([run("a", 1, 0.5)], [0, 1], "t", 4, "a", "b")).toBe("t, 4 per class: no runs of b, so no comparison");
  });

  // Every call refuses before touching the model or data, so one model serves them all.
  let model: GPT;
  beforeAll(() => { model = GPT.create(TINY, 1); });
  afterAll(() => model.dispose());
  const tune = { train: labeled, val: labeled, test: labeled };
  const none = {} as never;
  const asynchronous: [string, () => Promise<unknown>, string][] = [
    ["tuneClassifier, an unknown method", () => tuneClassifier({ method: "bogus" } as never, model, tune, { steps: 2, batchSize: 2, learningRate: 1e-2, seed: 1 }),
      'tuneClassifier: kind.method must be "fine-tune", "lora" or "scratch"; got "bogus"'],
    ["measureSwitching, repeats 0", () => measureSwitching(model, 1, ["attn"], 0), "measureSwitching: repeats must be a positive integer; got 0"],
    ["typicality, sequences of one token", () => typicality(model, { ...labeled, ids: Int32Array.of(1, 2), labels: Int32Array.of(0, 1), length: 1 }),
      "typicality: data.length must be an integer ≥ 2 (a first token of context and at least one to score); got 1"],
    ["pretrain, options omitted", () => pretrain("p", model, data, { ...quiet, steps: 2 }, undefined as never), "pretrain: liveSteps must be a positive integer; got undefined"],
    ["reuseStudy, an unknown scale", () => reuseStudy("medium" as never, smoke, none, none, { backend: "wasm" }), 'reuseStudy: scale must be one of smoke, full; got "medium"'],
    ["reuseStudy, a design with no methods", () => reuseStudy("smoke", { ...smoke, methods: [] }, none, none, { backend: "wasm" }),
      'reuseStudy: design "tinyshakespeare-reuse-smoke" has no methods; expected at least one'],
    ["frozenStudy, an unknown scale", () => frozenStudy("medium" as never, smoke, none, [], "x.ckpt", { backend: "wasm" }), 'frozenStudy: scale must be one of smoke, full; got "medium"'],
  ];
  for (const [what, call, message] of asynchronous) {
    it(what, async () => { await expect(call()).rejects.toThrow(message); });
  }
});
