// Bad inputs at the doors of lib/, one table per area: each must be refused with an error that
// names the function, the argument and its value, never answered with a silently wrong result.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { chart } from "../lib/core/chart";
import { staleTempFiles, writeFileAtomic } from "../lib/core/files";
import { chooseBackend } from "../lib/core/backend";
import { Random } from "../lib/core/random";
import { loadCheckpoint, readTensorFile, saveCheckpoint, writeTensorFile } from "../lib/gpt/checkpoint";
import { GPT } from "../lib/gpt/model";
import { sampleFromLogits } from "../lib/gpt/sample";
import { estimateLoss, learningRateAt, train } from "../lib/gpt/train";
import { zeroShotPredict, zeroShotScores } from "../lib/gpt/zeroShot";
import { ClassifierHead } from "../lib/reuse/transfer";
import { CharTokenizer } from "../lib/core/data";
import { keptCount } from "../lib/pruning/select";
import { quantile } from "../lib/core/numerics";
import { chinchillaLoss, fitChinchilla } from "../lib/scaling/chinchilla";
import { bootstrapChinchilla } from "../lib/scaling/bootstrap";
import { fitKaplanJoint } from "../lib/scaling/kaplan";
import { budgetSizes, scalingDesign } from "../lib/scaling/sweepDesign";
import { analyseIsoflop } from "../lib/scaling/analysis";
import { displayBundle, plot } from "../lib/core/display";
import { initBackend } from "../lib/core/backend";
import { flashAttention, naiveAttention } from "../lib/efficiency/attention";
import { data, quiet, TINY } from "./tiny";
import * as tf from "@tensorflow/tfjs";
import { chooseBackend as choose } from "../lib/core/backend";
import { movingAverage } from "../lib/core/chart";
import { loadDataset, sampleBatch, splitTrainVal, splitTrainValTest } from "../lib/core/data";
import { progress, tableBundle } from "../lib/core/display";
import { measureMatmul } from "../lib/core/machine";
import { atScale, type Scale } from "../lib/core/scale";
import { usefulThreads } from "../lib/core/threads";
import { AdamW } from "../lib/gpt/adamw";
import { castHalf, allFinite } from "../lib/gpt/precision";
import { LoRA } from "../lib/gpt/lora";
import { generate } from "../lib/gpt/sample";
import { DEFAULT_TRAIN, heldOutLoss, modelParameters } from "../lib/gpt/train";
import { findStoredRun, trainCached, trainingKey } from "../lib/gpt/cache";
import { classMeans, continuationLogLikelihood, predictFromScores } from "../lib/gpt/zeroShot";
import { evaluateClassifier, fineTune, layerFeatures } from "../lib/reuse/transfer";

beforeAll(async () => {
  await chooseBackend("wasm");
});

const schedule = { learningRate: 1e-3, minLearningRate: 1e-4, warmupSteps: 2, steps: 10 };
const params = { E: 1.7, A: 400, B: 410, alpha: 0.34, beta: 0.28 };
const identical = Array.from({ length: 8 }, () => ({ N: 1e6, D: 1e9, loss: 3 }));
const oneSize = [1, 2, 4, 8, 16, 32].map((k) => ({ N: 1e6, D: k * 1e8, loss: chinchillaLoss(params, 1e6, k * 1e8) }));

/** [what is called, the call, the error it must give]. */
const synchronous: [string, () => unknown, string | RegExp][] = [
  ["sampleFromLogits, negative temperature", () => sampleFromLogits(Float32Array.of(1, 2), -1, undefined, new Random(1)), "sampleFromLogits: temperature must be a positive number; got -1"],
  ["sampleFromLogits, topK 0", () => sampleFromLogits(Float32Array.of(1, 2), 1, 0, new Random(1)), "sampleFromLogits: topK must be a positive integer (or undefined for all); got 0"],
  ["sampleFromLogits, no logits", () => sampleFromLogits(new Float32Array(0), 1, undefined, new Random(1)), "sampleFromLogits: no logits to sample from"],
  ["learningRateAt, negative decaySteps", () => learningRateAt(3, { ...schedule, decaySteps: -5 }), "learningRateAt: decaySteps must be a positive integer; got -5"],
  ["learningRateAt, step NaN", () => learningRateAt(NaN, schedule), "learningRateAt: step must be an integer ≥ 0; got NaN"],
  ["ClassifierHead.create, width 0", () => ClassifierHead.create(0, 2), "ClassifierHead: width must be a positive integer (the features' size); got 0"],
  ["keptCount, fraction 2", () => keptCount(10, 2), "keptCount: fraction must be in (0, 1]; got 2"],
  ["keptCount, n 0", () => keptCount(0, 0.5), "keptCount: n must be a positive integer; got 0"],
  ["quantile, q 1.5", () => quantile([1, 2, 3], 1.5), "quantile: q must be a finite number in [0, 1]; got 1.5"],
  ["chinchillaLoss, negative N", () => chinchillaLoss(params, -1e6, 1e9), "chinchillaLoss: N (parameters) must be a finite positive number; got -1000000"],
  ["chinchillaLoss, D NaN", () => chinchillaLoss(params, 1e6, NaN), "chinchillaLoss: D (tokens) must be a finite positive number; got NaN"],
  ["chart, height NaN", () => chart([{ x: [1], y: [1] }], { title: "t", x: "x", y: "y", height: NaN }), "chart: height must be a positive number of pixels; got NaN"],
  ["GPT.create, nEmbd NaN (shown as NaN, not null)", () => GPT.create({ ...TINY, nEmbd: NaN }), "GPT.create: config.nEmbd must be a positive integer; got NaN"],
  ["GPT.create, a model too large to hold, refused before allocating", () => GPT.create({ ...TINY, nLayer: 4, nEmbd: 12800, nHead: 4 }),
    /^GPT\.create: a model of 7,865,\d{3},\d{3} parameters needs about 58\.\d GiB, more than (the wasm backend's 4 GiB address space|this machine's [\d.]+ GiB of RAM); choose a smaller size$/],
  ["fitChinchilla, identical points", () => fitChinchilla(identical), "fitChinchilla: points must be spread over at least 2 distinct N, 2 distinct D and 5 distinct (N, D) runs to fit 5 parameters (E, A, B, alpha, beta); got 1 distinct N, 1 distinct D and 1 distinct (N, D) runs"],
  ["fitChinchilla, one model size", () => fitChinchilla(oneSize), "fitChinchilla: points must be spread over at least 2 distinct N, 2 distinct D and 5 distinct (N, D) runs to fit 5 parameters (E, A, B, alpha, beta); got 1 distinct N, 6 distinct D and 6 distinct (N, D) runs"],
  ["fitKaplanJoint, identical points", () => fitKaplanJoint(identical), "fitKaplanJoint: points must be spread over at least 2 distinct N, 2 distinct D and 4 distinct (N, D) runs to fit 4 parameters (Nc, Dc, alphaN, alphaD); got 1 distinct N, 1 distinct D and 1 distinct (N, D) runs"],
  ["bootstrapChinchilla, identical points", () => bootstrapChinchilla(identical, { resamples: 10, seed: 1 }), "bootstrapChinchilla: points must be spread over at least 2 distinct N, 2 distinct D and 5 distinct (N, D) runs to fit 5 parameters (E, A, B, alpha, beta); got 1 distinct N"],
  ["chart, an infinite y", () => chart([{ name: "loss", x: [1, 2], y: [1, Infinity] }], { title: "t", x: "x", y: "y" }),
    'chart: series "loss": y[1] is Infinity; plot finite values (NaN leaves a gap)'],
  ["chart, an unknown mode", () => chart([{ x: [1], y: [1], mode: "bars" as "lines" }], { title: "t", x: "x", y: "y" }),
    'chart: series 0: mode must be one of lines, markers, lines+markers; got "bars"'],
  ["chart, an unknown look", () => chart([{ x: [1], y: [1], look: "bold" as "main" }], { title: "t", x: "x", y: "y" }),
    'chart: series 0: look must be one of reference, main, faint; got "bold"'],
  ["chart, yRange with NaN", () => chart([{ x: [1], y: [1] }], { title: "t", x: "x", y: "y", yRange: [NaN, 1] }),
    "chart: yRange must be [low, high], two finite numbers with low < high (log10 units on a log axis); got [null,1]"],
  ["chart, a mark at a negative x on a log axis", () => chart([{ x: [1], y: [1] }], { title: "t", x: "x", y: "y", logX: true, markX: { at: -5, label: "m" } }),
    "chart: markX.at must be a finite number > 0 on a log axis; got -5"],
  ["movingAverage, a NaN", () => movingAverage([1, NaN, 3], 2), "movingAverage: xs[1] must be a finite number; got NaN"],
  ["CharTokenizer, a token of two characters", () => new CharTokenizer(["ab", "c"]), 'CharTokenizer: every token must be one character; token 0 is "ab"'],
  ["loadDataset, a path outside datasets/", () => loadDataset("../package.json"), 'loadDataset: "../package.json" is outside datasets/'],
  ["splitTrainVal, no tokens", () => splitTrainVal(new Int32Array(0)), "splitTrainVal: 0 tokens leave one part empty at trainFraction 0.9"],
  ["splitTrainValTest, one token", () => splitTrainValTest(Int32Array.of(1)), "splitTrainValTest: 1 tokens leave a part empty at trainFraction 0.9"],
  ["sampleBatch, a batch too large to hold", () => sampleBatch(data.train, 3e8, 8, new Random(1)), "sampleBatch: 300000000 × 8 = 2400000000 tokens per batch is more than 2^28"],
  ["Random.int, n 0", () => new Random(1).int(0), "Random.int: n must be a positive integer (draws lie in [0, n)); got 0"],
  ["Random.int, n negative", () => new Random(1).int(-5), "Random.int: n must be a positive integer (draws lie in [0, n)); got -5"],
  ["Random.normals, n negative", () => new Random(1).normals(-1, 1), "Random.normals: n must be an integer ≥ 0; got -1"],
  ["Random.normals, std NaN", () => new Random(1).normals(3, NaN), "Random.normals: std must be a finite number ≥ 0; got NaN"],
  ["atScale, no choice for the current scale", () => atScale({ nothing: 1 } as unknown as Record<Scale, number>), /^atScale: no choice for the current scale "(smoke|full)"/],
  ["usefulThreads, an unknown backend", () => usefulThreads("bogus"), /^usefulThreads: backend must be one of .*wasm.*; got "bogus"$/],
  ["tableBundle, digits 0", () => tableBundle({ columns: ["a"], values: [[1.5]] }, { digits: 0 }), "table: digits must be an integer from 1 to 21 (significant digits); got 0"],
  ["tableBundle, a table without columns", () => tableBundle({ columns: [], values: [] }), "table: columns must be a non-empty array of column names; got []"],
  ["tableBundle, no records", () => tableBundle([]), "table: rows must be a non-empty array of records with at least one key (the columns); got []"],
  ["tableBundle, an index shorter than the rows", () => tableBundle({ columns: ["loss"], values: [[2], [1]], index: ["small"] }),
    'table: index must be an array of one label per row (2); got ["small"]'],
  ["progress.update, a negative step", () => progress("p").update({ step: -5, total: 10 }),
    'progress "p": step must be a number in [0, total] and total a positive number; got step -5 of 10'],
  ["castHalf, an unknown format", () => castHalf(tf.zeros([2]), "fp8" as "fp16"), 'roundToHalf: format must be one of fp16, bf16; got "fp8"'],
  ["learningRateAt, learningRate NaN", () => learningRateAt(3, { ...schedule, learningRate: NaN }), "learningRateAt: learningRate must be a finite number ≥ 0; got NaN"],
  ["learningRateAt, negative warmup", () => learningRateAt(3, { ...schedule, warmupSteps: -3 }), "learningRateAt: warmupSteps must be an integer ≥ 0; got -3"],
  ["sampleFromLogits, a logit +Infinity", () => sampleFromLogits(Float32Array.of(1, Infinity), 1, undefined, new Random(1)),
    "sampleFromLogits: logits[1] must be finite, or -Infinity for a token that cannot be drawn; got Infinity"],
  ["classMeans, ragged scores", () => classMeans([Float64Array.of(1, 2), Float64Array.of(1)]), "classMeans: example 1 has 1 class scores, example 0 has 2"],
  ["predictFromScores, a NaN score", () => predictFromScores([Float64Array.of(NaN, 1)]), "predictFromScores: example 0, class 0: the score is NaN"],
  ["predictFromScores, a bias of the wrong length", () => predictFromScores([Float64Array.of(0, 1, 2)], Float64Array.of(1)), "predictFromScores: bias has 1 values for 3 classes"],
  ["budgetSizes, a NaN budget", () => budgetSizes({ ...scalingDesign("smoke"), budgets: [1e7, NaN] }, 11, 5000),
    'budgetSizes: design "kjv-smoke": budgets[1] must be a positive number; got NaN'],
  ["budgetSizes, a shape whose width does not split into its heads", () => budgetSizes({ ...scalingDesign("smoke"), ladder: [{ nLayer: 1, nHead: 3, nEmbd: 8 }] }, 11, 5000),
    "validateConfig: config.nEmbd must be divisible by nHead (3); got 8"],
  ["naiveAttention, a NaN query", () => naiveAttention(Float32Array.of(1, NaN, 0, 1), Float32Array.of(1, 0, 0, 1), Float32Array.of(1, 0, 0, 1), 2, 2),
    "naiveAttention: q[0, 1] must be a finite number (attention needs finite inputs); got NaN"],
  ["flashAttention, an infinite value", () => flashAttention(Float32Array.of(1, 0, 0, 1), Float32Array.of(1, 0, 0, 1), Float32Array.of(1, 0, 0, Infinity), 2, 2),
    "flashAttention: v[1, 1] must be a finite number (attention needs finite inputs); got Infinity"],
];

/** Values of the wrong type: tslab's type checker refuses these before a cell runs, and so does the function if one slips through (a cast, plain JavaScript). */
const untyped = <T>(value: unknown) => value as T;
const wrongTypes: [string, () => unknown, string | RegExp][] = [
  ["chart, options left out", () => chart([], untyped(undefined)), "chart: options must be { title, x, y, ... }; got undefined"],
  ["movingAverage, null", () => movingAverage(untyped(null), 2), "movingAverage: xs must be an array of numbers; got null"],
  ["CharTokenizer, null", () => new CharTokenizer(untyped(null)), "CharTokenizer: chars must be an array of one-character strings; got null"],
  ["splitTrainVal, null", () => splitTrainVal(untyped(null)), "splitTrainVal: ids must be an Int32Array of token ids; got null"],
  ["sampleBatch, no Random", () => sampleBatch(data.train, 2, 4, untyped(null)), "sampleBatch: random.int (a Random) must be a function; got undefined"],
  ["tableBundle, no values", () => tableBundle(untyped({ columns: ["a"] })), "table: values must be an array of rows; got undefined"],
  ["plot, null", () => plot(untyped(null)), "plot: figure must be a Plotly figure { data: [traces], layout } (chart() builds one); got null"],
  ["tableBundle, a record that is not an object", () => tableBundle(untyped([{ a: 1 }, 7])), 'table: rows[1] must be a record such as { model: "tiny", loss: 2.1 }; got 7'],
  ["displayBundle, null", () => displayBundle(untyped(null)), 'displayBundle: data must be a MIME bundle such as { "text/plain": "…" }; got null'],
  ["sampleFromLogits, no Random", () => sampleFromLogits(Float32Array.of(1), 1, undefined, untyped(null)), "sampleFromLogits: random.next (a Random) must be a function; got undefined"],
  ["AdamW, no config", () => new AdamW([{ variable: untyped({}), decay: false }], untyped(undefined)), "AdamW: config must be { beta1, beta2, eps, weightDecay, gradClip }; got undefined"],
  ["initBackend, log not a function", () => initBackend(untyped("print")), 'initBackend: log must be a function; got "print"'],
  ["GPT.forward, float ids", () => GPT.create(TINY, 1).forward(untyped(Float32Array.of(0.5, 2.7)), 1, 2), "GPT.forward: ids must be an Int32Array of token ids; got Float32Array"],
  ["analyseIsoflop, no points", () => analyseIsoflop([], { resamples: 10, seed: 1 }), "analyseIsoflop: points must be the runs of the IsoFLOP study (isoflopPoints); got []"],
];

describe("bad inputs are refused at the door, naming the argument and its value", () => {
  for (const [what, call, message] of wrongTypes) {
    it(`${what} (a type error in a notebook)`, () => expect(call).toThrow(message));
  }

  for (const [what, call, message] of synchronous) {
    it(what, () => expect(call).toThrow(message));
  }

  it("train: decaySteps and initialLossScale that would have been misread", async () => {
    const model = GPT.create(TINY, 1);
    await expect(train(model, data, { ...quiet, steps: 2, decaySteps: -1 })).rejects.toThrow("train: config.decaySteps must be a positive integer (or left out: steps); got -1");
    await expect(train(model, data, { ...quiet, steps: 2, decaySteps: NaN })).rejects.toThrow("train: config.decaySteps must be a positive integer (or left out: steps); got NaN");
    await expect(train(model, data, { ...quiet, steps: 2, initialLossScale: NaN })).rejects.toThrow("train: config.initialLossScale must be a finite positive number; got NaN");
    await expect(estimateLoss(model, data.val, 0, 4, new Random(1))).rejects.toThrow("estimateLoss: batches must be a positive integer; got 0");
    await expect(estimateLoss(model, data.val, 2, 0, new Random(1))).rejects.toThrow("estimateLoss: batchSize must be a positive integer; got 0");
    await expect(train(model, data, { ...quiet, steps: 1, batchSize: 1e7 })).rejects.toThrow(
      /^train: a batch of 10000000 sequences of 8 tokens through this model needs about \d+\.\d GiB, more than /,
    );
    model.dispose();
  });

  it("the engine: backends, models, optimizers, sampling, classifiers", async () => {
    await expect(choose("" as "wasm")).rejects.toThrow('chooseBackend: requested must be one of tensorflow-gpu, webgpu, tensorflow, wasm, cpu; got ""');
    await expect(choose("gpu" as "wasm")).rejects.toThrow('chooseBackend: requested must be one of');
    await choose("wasm");
    await expect(measureMatmul(40_000)).rejects.toThrow(/^measureMatmul: three 40000 × 40000 matrices needs about 17\.9 GiB, more than /);
    const model = GPT.create(TINY, 1);
    expect(() => model.forward(new Int32Array(0), 0, 8)).toThrow("GPT.forward: batchSize must be a positive integer; got 0");
    expect(() => model.forward(new Int32Array(12), 1.5, 8)).toThrow("GPT.forward: batchSize must be a positive integer; got 1.5");
    await expect(train(model, data, { ...quiet, steps: 1, lerningRate: 5 } as object)).rejects.toThrow(
      'train: unknown option "lerningRate" (did you mean "learningRate"?); known: steps,',
    );
    await expect(train(model, data, { ...quiet, steps: 1, weightDecay: Infinity })).rejects.toThrow("train: config.weightDecay must be a finite number ≥ 0; got Infinity");
    await expect(heldOutLoss(model, data.val, 100, 0)).rejects.toThrow("heldOutLoss: batchSize must be a positive integer; got 0");
    await expect(heldOutLoss(model, data.val, NaN)).rejects.toThrow("heldOutLoss: maxTokens must be a positive integer (or Infinity: all of ids); got NaN");
    const adam = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClip: 0 };
    expect(() => new AdamW(modelParameters(model), { ...adam, beta1: NaN })).toThrow("AdamW: beta1 must be in [0, 1); got NaN");
    const optimizer = new AdamW(modelParameters(model), adam);
    await expect(optimizer.step(new Float32Array(optimizer.size), NaN)).rejects.toThrow("AdamW.step: learningRate must be a finite number ≥ 0; got NaN");
    await expect(generate(model, Int32Array.of(1), { maxNewTokens: 1e10 })).rejects.toThrow(
      "generate: maxNewTokens must be an integer from 0 to 1,000,000 (one model call each); got 10000000000",
    );
    await expect(continuationLogLikelihood(model, Int32Array.of(1, 2), 1, 1)).rejects.toThrow(
      "continuationLogLikelihood: length must be an integer ≥ 2 (a token of context and one to score); got 1",
    );
    await expect(continuationLogLikelihood(model, Int32Array.of(1, 2), 2, 1, 0)).rejects.toThrow("continuationLogLikelihood: batchSize must be a positive integer; got 0");
    const labelled = { ids: Int32Array.of(1, 2, 3, 4), labels: Int32Array.of(0, 1), length: 2, classes: ["a", "b"] };
    const head = ClassifierHead.create(TINY.nEmbd, 2);
    await expect(evaluateClassifier(model, head, labelled, undefined, 0)).rejects.toThrow("evaluateClassifier: batchSize must be a positive integer; got 0");
    await expect(evaluateClassifier(model, ClassifierHead.create(TINY.nEmbd, 3), labelled)).rejects.toThrow("evaluateClassifier: the head has 3 classes but the data 2 (a, b)");
    await expect(layerFeatures(model, labelled, 0)).rejects.toThrow("layerFeatures: batchSize must be a positive integer; got 0");
    await expect(fineTune({ model, head, data: labelled, trainable: [{ variable: head.w, decay: true }, { variable: head.b, decay: false }], steps: 1, batchSize: 0, learningRate: 1e-3 })).rejects.toThrow(
      "fineTune: batchSize must be a positive integer; got 0",
    );
    await expect(fineTune({ model, head, data: labelled, trainable: [{ variable: head.w, decay: true }, { variable: head.b, decay: false }], steps: 1, batchSize: 2, learningRate: -1 })).rejects.toThrow(
      "fineTune: learningRate must be a finite positive number; got -1",
    );
    await expect(train(model, untyped({ train: data.train }), quiet)).rejects.toThrow("train: data.val must be an Int32Array of token ids; got undefined");
    await expect(train(model, data, quiet, untyped({ onStep: "log" }))).rejects.toThrow('train: callbacks.onStep must be a function (or left out); got "log"');
    await expect(generate(model, Int32Array.of(1), untyped(undefined))).rejects.toThrow("generate: options must be { maxNewTokens, temperature?, topK?, seed? }; got undefined");
    expect(() => LoRA.create(model, untyped({ rank: 1 }))).toThrow('LoRA: targets must be an array such as ["attn", "mlp"]; got undefined');
    expect(() => modelParameters(untyped(null))).toThrow("modelParameters: model must be a GPT; got null");
    const tokenizer = CharTokenizer.fromText("abcdefghijk");
    await expect(zeroShotScores(model, tokenizer, ["ab"], 2, untyped(() => undefined))).rejects.toThrow(
      "zeroShotScores: render(example 0, class 0) must return { prompt, continuation } as strings; got undefined",
    );
    const lora = LoRA.create(model, { rank: 1, targets: ["mlp"] });
    const saved = await lora.weights();
    const [first] = saved.keys();
    const poisoned = new Map(saved);
    poisoned.set(first, saved.get(first)!.map((v, i) => (i === 0 ? NaN : v)));
    expect(() => lora.load(poisoned)).toThrow(`LoRA.load: ${first}[0] is NaN; adapter weights must be finite`);
    expect(await allFinite([])).toBe(true);
    tf.dispose([head.w, head.b]);
    lora.dispose();
    model.dispose();
  });

  it("zero-shot questions with no classes to choose from", async () => {
    const model = GPT.create({ ...TINY, vocabSize: 3 }, 1);
    const tokenizer = CharTokenizer.fromText("abc");
    const render = (t: string, c: number) => ({ prompt: t, continuation: "abc"[c] });
    await expect(zeroShotPredict(model, tokenizer, ["ab"], 0, render)).rejects.toThrow("zeroShotPredict: classes must be an integer ≥ 2 (a choice needs two answers); got 0");
    await expect(zeroShotScores(model, tokenizer, ["ab"], 0, render)).rejects.toThrow("zeroShotScores: classes must be a positive integer; got 0");
    model.dispose();
  });
});

describe("tensor files refuse corruption, naming the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "course-bad-files-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a flipped byte, a NaN weight, a corrupted header and a truncated file", async () => {
    const model = GPT.create(TINY, 3);
    const path = join(dir, "good.ckpt");
    await saveCheckpoint(path, model);
    model.dispose();
    const good = readFileSync(path);
    expect(readTensorFile(path).tensors.size).toBeGreaterThan(0);

    const flipped = Buffer.from(good);
    flipped[flipped.length - 3] ^= 0x40; // a float's exponent byte: the weight becomes huge or tiny
    writeFileSync(join(dir, "flipped.ckpt"), flipped);
    expect(() => loadCheckpoint(join(dir, "flipped.ckpt"))).toThrow(/flipped\.ckpt is corrupted: its tensors' SHA-256 is [0-9a-f]{12}…, the header says [0-9a-f]{12}…/);

    // The writer refuses a NaN weight; a file holding one with a checksum that agrees (made by hand
    // here: the last float set to NaN and the header's SHA-256 set to match) is refused when read.
    expect(() => writeTensorFile(join(dir, "nan.ckpt"), { config: TINY }, new Map([["w", { shape: [2], values: Float32Array.of(1, NaN) }]])))
      .toThrow(`writeTensorFile: w[1] is NaN; saved weights must be finite (${join(dir, "nan.ckpt")} not written)`);
    writeTensorFile(join(dir, "nan.ckpt"), { config: TINY }, new Map([["w", { shape: [2], values: Float32Array.of(1, 2) }]]));
    const withNaN = readFileSync(join(dir, "nan.ckpt"));
    const payload = withNaN.subarray(withNaN.length - 8);
    const oldSha = createHash("sha256").update(payload).digest("hex");
    payload.writeFloatLE(NaN, 4);
    const at = withNaN.indexOf(oldSha);
    withNaN.write(createHash("sha256").update(payload).digest("hex"), at, "ascii");
    writeFileSync(join(dir, "nan.ckpt"), withNaN);
    expect(() => readTensorFile(join(dir, "nan.ckpt"))).toThrow(/nan\.ckpt: tensor w holds NaN at index 1; a saved model's weights must be finite/);

    const header = Buffer.from(good);
    header.write("{{{{", 12, "utf8");
    writeFileSync(join(dir, "header.ckpt"), header);
    expect(() => readTensorFile(join(dir, "header.ckpt"))).toThrow(/header\.ckpt has a corrupted header \(/);

    writeFileSync(join(dir, "short.ckpt"), good.subarray(0, 14));
    expect(() => readTensorFile(join(dir, "short.ckpt"))).toThrow(/short\.ckpt is truncated: its header claims \d+ bytes, the file has 2/);
  });

  it("a write removes the temp files of writers that died mid-write, and keeps a live writer's", () => {
    const path = join(dir, "runs.jsonl");
    // A process id that is not running: the largest possible id, checked.
    let dead = 4_194_304;
    while (dead > 1) {
      try {
        process.kill(dead, 0);
        dead--;
      } catch {
        break;
      }
    }
    const orphan = `${path}.${dead}.1700000000000.tmp`, live = `${path}.${process.pid}.1700000000000.tmp`, other = join(dir, "other.jsonl.12.3.tmp");
    for (const f of [orphan, live, other]) writeFileSync(f, "half a line");
    expect(staleTempFiles(path)).toEqual([orphan]);
    writeFileAtomic(path, "{}\n");
    expect(readFileSync(path, "utf8")).toBe("{}\n");
    expect([orphan, live, other].map((f) => existsSync(f))).toEqual([false, true, true]);
  });
});

describe("models, checkpoints and cached runs that cannot be used say so (or are retrained)", () => {
  const dirs = () => {
    const root = mkdtempSync(join(tmpdir(), "course-cache-"));
    return { dir: join(root, "cache"), storedDir: join(root, "stored") };
  };
  const settings = { ...quiet, steps: 2, batchSize: 2 };
  /** The file trainCached keeps `model`'s run in, for these settings. */
  const runFile = async (where: string, model: GPT) => join(where, `run-${(await trainingKey(model, data, { ...DEFAULT_TRAIN, ...settings })).slice(0, 16)}.ckpt`);

  /** [what is done, the call, the error it must give]. */
  const rows: [string, () => Promise<unknown>, string | RegExp][] = [
    ["GPT.forward on a disposed model", async () => { const m = GPT.create(TINY); m.dispose(); m.forward(Int32Array.of(1, 2), 1, 2); },
      "GPT.forward: the model was disposed (its weights are freed); create or load it again"],
    ["train on a disposed model", async () => { const m = GPT.create(TINY); m.dispose(); await train(m, data, settings); },
      "train: the model was disposed (its weights are freed); create or load it again"],
    ["train, a validation id outside the vocabulary, refused before the first step (the steps scan no batch)", async () => {
      const val = data.val.slice();
      val[5] = TINY.vocabSize;
      await train(GPT.create(TINY), { train: data.train, val }, settings);
    }, `train: data.val[5] must be a token id in [0, ${TINY.vocabSize}), the model's vocabulary; got ${TINY.vocabSize}`],
    ["GPT.weights of a disposed model", async () => { const m = GPT.create(TINY); m.dispose(); await m.weights(); },
      "GPT.weights: the model was disposed"],
    ["loadCheckpoint, a header whose step is not a number", async () => {
      const m = GPT.create(TINY), path = join(dirs().dir + "-step.ckpt");
      const weights = await m.weights();
      writeTensorFile(path, { config: TINY, step: "twelve", meta: {} }, new Map([...weights].map(([name, values]) => [name, { shape: m.params.get(name)!.shape, values }])));
      loadCheckpoint(path, TINY);
    }, /loadCheckpoint: .*-step\.ckpt: header\.step must be a whole number of steps ≥ 0; got "twelve"/],
    ["trainCached, a stored run without its training record", async () => {
      const d = dirs(), m = GPT.create(TINY);
      mkdirSync(d.storedDir, { recursive: true });
      await saveCheckpoint(await runFile(d.storedDir, m), m); // weights, but no meta.result
      await trainCached("run", m, data, settings, {}, d);
    }, /^trainCached: the stored run .*run-[0-9a-f]{16}\.ckpt is damaged \(it holds no training record \(meta\.result with steps and evals\); got meta \{\}\); restore it with `git checkout -- /],
    ["findStoredRun, the same", async () => {
      const d = dirs(), m = GPT.create(TINY);
      mkdirSync(d.storedDir, { recursive: true });
      await saveCheckpoint(await runFile(d.storedDir, m), m);
      await findStoredRun("run", m, data, settings, d.storedDir);
    }, /^findStoredRun: the stored run .* is damaged \(it holds no training record/],
  ];
  for (const [what, call, message] of rows) it(what, async () => { await expect(call()).rejects.toThrow(message); });

  for (const damage of ["no training record", "a flipped byte"] as const) {
    it(`trainCached trains a run again when this machine's cached copy has ${damage}`, async () => {
      const d = dirs();
      const first = await trainCached("run", GPT.create(TINY), data, settings, {}, d);
      expect(first.source).toBe("trained");
      const model = GPT.create(TINY);
      const file = await runFile(d.dir, model);
      expect(file).toBe(first.checkpoint);
      if (damage === "no training record") await saveCheckpoint(file, model);
      else { const bytes = readFileSync(file); bytes[bytes.length - 3] ^= 0x40; writeFileSync(file, bytes); }
      const again = await trainCached("run", model, data, settings, {}, d);
      expect(again.source).toBe("trained");
      expect(again.steps.map((s) => s.loss)).toEqual(first.steps.map((s) => s.loss));
      // Replaced: the next identical run loads it.
      expect((await trainCached("run", GPT.create(TINY), data, settings, {}, d)).source).toBe("cache");
    });
  }
});

describe("an input error's traceback", () => {
  it("starts at the function called wrongly: the check helpers' own frames are left out", () => {
    let stack = "";
    try {
      keptCount(0, 0.5);
    } catch (err) {
      stack = (err as Error).stack ?? "";
    }
    expect(stack).toMatch(/^Error: keptCount: n must be a positive integer; got 0\n\s+at keptCount \(.*select\.ts:\d+:\d+\)/);
    expect(stack).not.toMatch(/checks\.ts/);
  });
});
