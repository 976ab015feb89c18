// Bad inputs at the doors of lib/, one table per area: each must be refused with an error that
// names the function, the argument and its value, never answered with a silently wrong result.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
import { ClassifierHead, zeroShotPredict, zeroShotScores } from "../lib/gpt/transfer";
import { CharTokenizer } from "../lib/core/data";
import { keptCount } from "../lib/pruning/select";
import { quantile } from "../lib/scaling/bootstrap";
import { chinchillaLoss, fitChinchilla } from "../lib/scaling/chinchilla";
import { bootstrapChinchilla } from "../lib/scaling/bootstrap";
import { fitKaplanJoint } from "../lib/scaling/kaplan";
import { flashAttention, naiveAttention } from "../lib/efficiency/attention";
import { data, quiet, TINY } from "./tiny";

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
  ["learningRateAt, step NaN", () => learningRateAt(NaN, schedule), "learningRateAt: step must be a non-negative integer; got NaN"],
  ["ClassifierHead.create, width 0", () => ClassifierHead.create(0, 2), "ClassifierHead: width must be a positive integer (the features' size); got 0"],
  ["keptCount, fraction 2", () => keptCount(10, 2), "keptCount: fraction must be in (0, 1]; got 2"],
  ["keptCount, n 0", () => keptCount(0, 0.5), "keptCount: n must be a positive integer; got 0"],
  ["quantile, q 1.5", () => quantile([1, 2, 3], 1.5), "quantile: q must be in [0, 1]; got 1.5"],
  ["chinchillaLoss, negative N", () => chinchillaLoss(params, -1e6, 1e9), "chinchillaLoss: N (parameters) must be a positive number; got -1000000"],
  ["chinchillaLoss, D NaN", () => chinchillaLoss(params, 1e6, NaN), "chinchillaLoss: D (tokens) must be a positive number; got NaN"],
  ["chart, height NaN", () => chart([{ x: [1], y: [1] }], { title: "t", x: "x", y: "y", height: NaN }), "chart: height must be a positive number of pixels; got NaN"],
  ["GPT.create, nEmbd NaN (shown as NaN, not null)", () => GPT.create({ ...TINY, nEmbd: NaN }), "GPTConfig.nEmbd must be a positive integer; got NaN"],
  ["GPT.create, a model too large to hold, refused before allocating", () => GPT.create({ ...TINY, nLayer: 4, nEmbd: 12800, nHead: 4 }),
    /^GPT\.create: a model of 7,865,\d{3},\d{3} parameters needs about 58\.\d GiB, more than (the wasm backend's 4 GiB address space|this machine's [\d.]+ GiB of RAM); choose a smaller size$/],
  ["fitChinchilla, identical points", () => fitChinchilla(identical), "fitChinchilla: the points have 1 distinct N, 1 distinct D and 1 distinct (N, D) runs; fitting 5 parameters"],
  ["fitChinchilla, one model size", () => fitChinchilla(oneSize), "fitChinchilla: the points have 1 distinct N, 6 distinct D and 6 distinct (N, D) runs"],
  ["fitKaplanJoint, identical points", () => fitKaplanJoint(identical), "fitKaplanJoint: the points have 1 distinct N, 1 distinct D and 1 distinct (N, D) runs; fitting 4 parameters"],
  ["bootstrapChinchilla, identical points", () => bootstrapChinchilla(identical, { resamples: 10, seed: 1 }), "bootstrapChinchilla: the points have 1 distinct N"],
  ["naiveAttention, a NaN query", () => naiveAttention(Float32Array.of(1, NaN, 0, 1), Float32Array.of(1, 0, 0, 1), Float32Array.of(1, 0, 0, 1), 2, 2),
    "naiveAttention: q[0, 1] is NaN; attention needs finite inputs"],
  ["flashAttention, an infinite value", () => flashAttention(Float32Array.of(1, 0, 0, 1), Float32Array.of(1, 0, 0, 1), Float32Array.of(1, 0, 0, Infinity), 2, 2),
    "flashAttention: v[1, 1] is Infinity; attention needs finite inputs"],
];

describe("bad inputs are refused at the door, naming the argument and its value", () => {
  for (const [what, call, message] of synchronous) {
    it(what, () => expect(call).toThrow(message));
  }

  it("train: decaySteps and initialLossScale that would have been misread", async () => {
    const model = GPT.create(TINY, 1);
    await expect(train(model, data, { ...quiet, steps: 2, decaySteps: -1 })).rejects.toThrow("TrainConfig.decaySteps must be a positive integer (or left out: steps); got -1");
    await expect(train(model, data, { ...quiet, steps: 2, decaySteps: NaN })).rejects.toThrow("TrainConfig.decaySteps must be a positive integer (or left out: steps); got NaN");
    await expect(train(model, data, { ...quiet, steps: 2, initialLossScale: NaN })).rejects.toThrow("TrainConfig.initialLossScale must be a positive number; got NaN");
    await expect(estimateLoss(model, data.val, 0, 4, new Random(1))).rejects.toThrow("estimateLoss: batches must be a positive integer; got 0");
    await expect(estimateLoss(model, data.val, 2, 0, new Random(1))).rejects.toThrow("estimateLoss: batchSize must be a positive integer; got 0");
    await expect(train(model, data, { ...quiet, steps: 1, batchSize: 1e7 })).rejects.toThrow(
      /^train: a batch of 10000000 sequences of 8 tokens through this model needs about \d+\.\d GiB, more than /,
    );
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

    // A NaN weight written by the course's own writer (so the checksum agrees) is still refused.
    writeTensorFile(join(dir, "nan.ckpt"), { config: TINY }, new Map([["w", { shape: [2], values: Float32Array.of(1, NaN) }]]));
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
