import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { CharTokenizer } from "../lib/core/data";
import { LoRA } from "../lib/gpt/lora";
import { GPT, type GPTConfig } from "../lib/gpt/model";
import { train } from "../lib/gpt/train";
import { classMeans, continuationLogLikelihood, predictFromScores, zeroShotPredict, zeroShotScores } from "../lib/gpt/zeroShot";
import { ClassifierHead, evaluateClassifier, fineTune, type LabeledSequences } from "../lib/reuse/transfer";
import { Random } from "../lib/core/random";

const TINY: GPTConfig = { vocabSize: 9, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0, bias: true, tieWeights: true };

function randomIds(n: number, vocab: number, seed: number): Int32Array {
  const r = new Random(seed);
  return Int32Array.from({ length: n }, () => r.int(vocab));
}

function logits(model: GPT, ids: Int32Array, B: number, T: number, lora?: LoRA): Float32Array {
  return tf.tidy(() => model.forward(ids, B, T, { adapters: lora }).logits.dataSync() as Float32Array);
}

/** Label = whether token 0 occurs in the sequence: needs the whole context, linear enough to learn fast. */
function containsZeroTask(n: number, seed: number): LabeledSequences {
  const T = TINY.blockSize;
  const ids = randomIds(n * T, TINY.vocabSize - 1, seed).map((v) => v + 1);
  const labels = new Int32Array(n);
  const r = new Random(seed + 1);
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) ids[i * T + r.int(T)] = 0;
    labels[i] = ids.subarray(i * T, i * T + T).includes(0) ? 1 : 0;
  }
  return { ids, labels, length: T, classes: ["absent", "present"] };
}

beforeAll(async () => {
  await chooseBackend("wasm");
});

describe("LoRA", () => {
  it("changes nothing before training (B = 0) and counts r·(in + out) parameters per layer", async () => {
    const model = GPT.create(TINY, 1);
    const lora = LoRA.create(model, { rank: 2, targets: ["attn", "mlp"] });
    const ids = randomIds(2 * 8, TINY.vocabSize, 3);
    expect(logits(model, ids, 2, 8, lora)).toEqual(logits(model, ids, 2, 8));
    const C = TINY.nEmbd;
    const perLayer = 2 * (C + 3 * C) + 2 * (C + C) + 2 * (C + 4 * C) + 2 * (4 * C + C);
    expect(lora.parameterCount).toBe(TINY.nLayer * perLayer);
    expect(lora.layerNames).toHaveLength(4 * TINY.nLayer);
    lora.dispose();
    model.dispose();
  });

  it("starts A at Kaiming's scale, so x·A has unit variance whatever the layer's width or the rank", async () => {
    const model = GPT.create({ ...TINY, nEmbd: 64 }, 1);
    for (const rank of [1, 8]) {
      const lora = LoRA.create(model, { rank, targets: ["mlp"] }, 3);
      // Every layer's update comes from x·A; with unit-scale x its variance is d_in · var(A) = 1.
      const matrices = [...(await lora.weights())].filter(([name]) => name.endsWith(".lora_a"));
      expect(matrices).toHaveLength(2 * TINY.nLayer); // fc and proj of every block
      for (const [name, values] of matrices) {
        const nIn = values.length / rank;
        const variance = values.reduce((s, v) => s + v * v, 0) / values.length;
        // Within about 3 standard errors of 1 for the smallest sample (64 draws: ±0.18 each).
        expect(variance * nIn, `${name}, rank ${rank}`).toBeGreaterThan(0.5);
        expect(variance * nIn, `${name}, rank ${rank}`).toBeLessThan(1.6);
      }
      lora.dispose();
    }
    model.dispose();
  });

  it("merged into the weights gives the same outputs as applied on the side", async () => {
    const model = GPT.create(TINY, 1);
    const lora = LoRA.create(model, { rank: 3, alpha: 6, targets: ["h.0.attn.c_attn.weight", "mlp"] });
    // Give B non-zero values so that the update matters.
    for (const v of lora.variables) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, "float32", v.size)));
    const ids = randomIds(3 * 8, TINY.vocabSize, 4);
    const side = logits(model, ids, 3, 8, lora);
    const merged = await lora.merge(model);
    const inWeights = logits(merged, ids, 3, 8);
    expect(Math.max(...side.map((v, i) => Math.abs(v - inWeights[i])))).toBeLessThan(1e-4);
    expect(Math.max(...side.map((v, i) => Math.abs(v - logits(model, ids, 3, 8)[i])))).toBeGreaterThan(1e-3);
    merged.dispose();
    lora.dispose();
    model.dispose();
  });

  it("trains only the adapters and the head: the pretrained weights stay bit-identical", async () => {
    const model = GPT.create(TINY, 1);
    const before = await model.weights();
    const lora = LoRA.create(model, { rank: 2, targets: ["attn", "mlp"] });
    const head = ClassifierHead.create(TINY.nEmbd, 2);
    const data = containsZeroTask(64, 5);
    const adapterBefore = lora.variables.map((v) => v.dataSync().slice());
    await fineTune({
      model, head, adapters: lora, data, steps: 5, batchSize: 16, learningRate: 1e-2,
      trainable: [...lora.variables, head.w, head.b].map((variable) => ({ variable, decay: false })),
    });
    for (const [name, values] of await model.weights()) expect(values, name).toEqual(before.get(name));
    expect(lora.variables.some((v, i) => v.dataSync().some((x, j) => x !== adapterBefore[i][j]))).toBe(true);
    head.dispose();
    lora.dispose();
    model.dispose();
  });

  it("rejects ranks outside [1, min(in, out)] and unknown targets, saying what is allowed", async () => {
    const model = GPT.create(TINY, 1);
    expect(() => LoRA.create(model, { rank: 0, targets: ["attn"] })).toThrow("LoRA: rank must be an integer in [1, 16] for h.0.attn.c_attn.weight ([16, 48]); got 0");
    expect(() => LoRA.create(model, { rank: 17, targets: ["mlp"] })).toThrow("LoRA: rank must be an integer in [1, 16] for h.0.mlp.c_fc.weight ([16, 64]); got 17");
    expect(() => LoRA.create(model, { rank: 2, targets: ["h.9.attn.c_attn.weight"] })).toThrow(
      `LoRA: unknown target "h.9.attn.c_attn.weight"; expected "attn", "mlp" or one of h.0.attn.c_attn.weight`,
    );
    expect(() => LoRA.create(model, { rank: 2, targets: [] })).toThrow("LoRA: no targets");
    model.dispose();
  });
});

describe("fine-tuning and probes", () => {
  it("fine-tuning all weights learns a task the initial model cannot do", async () => {
    const model = GPT.create(TINY, 2);
    const head = ClassifierHead.create(TINY.nEmbd, 2, 3);
    // 512 training examples: with 256, this 16-wide model ends at 0.83–0.94 held-out accuracy
    // depending on the seed and on float rounding (fused multiply-add or not); with 512, at 0.86–0.93.
    const trainSet = containsZeroTask(512, 7), testSet = containsZeroTask(128, 8);
    const before = (await evaluateClassifier(model, head, testSet)).accuracy;
    const trainable = [...model.params.values(), head.w, head.b].map((variable) => ({ variable, decay: false }));
    const losses = await fineTune({ model, head, data: trainSet, trainable, steps: 150, batchSize: 32, learningRate: 3e-3 });
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    expect(before).toBeLessThan(0.7);
    const after = await evaluateClassifier(model, head, testSet);
    expect(after.accuracy).toBeGreaterThan(0.8); // chance is 0.5; 128 held-out examples give a standard error of ~0.03
    expect(after.accuracy).toBe(after.predicted.filter((p, i) => p === testSet.labels[i]).length / testSet.labels.length);
    expect(after.loss).toBeLessThan(Math.log(2));
    head.dispose();
    model.dispose();
  });

  it("checks labelled data at the door", async () => {
    const model = GPT.create(TINY, 2);
    const head = ClassifierHead.create(TINY.nEmbd, 2);
    const bad = { ids: new Int32Array(16), labels: Int32Array.from([0, 2]), length: 8, classes: ["a", "b"] };
    await expect(evaluateClassifier(model, head, bad)).rejects.toThrow("evaluateClassifier: labels[1] must be a class in [0, 2) (a, b); got 2");
    await expect(evaluateClassifier(model, head, { ...bad, labels: Int32Array.from([0, 1, 1]) })).rejects.toThrow(
      "evaluateClassifier: 16 token ids for 3 examples of length 8 (expected 24)",
    );
    head.dispose();
    model.dispose();
  });
});

describe("zero-shot scoring", () => {
  it("sums the same log-probabilities as scoring each position separately", async () => {
    const model = GPT.create(TINY, 3);
    const ids = randomIds(2 * 6, TINY.vocabSize, 9);
    const fast = await continuationLogLikelihood(model, ids, 6, 2);
    for (let s = 0; s < 2; s++) {
      let reference = 0;
      for (let t = 2; t < 6; t++) {
        // Brute force: run the prefix alone and read the last position's distribution.
        const prefix = ids.slice(s * 6, s * 6 + t);
        const logp = tf.tidy(() => tf.logSoftmax(model.forward(prefix, 1, t).logits).dataSync());
        reference += logp[(t - 1) * TINY.vocabSize + ids[s * 6 + t]];
      }
      expect(fast[s]).toBeCloseTo(reference, 4);
    }
    await expect(continuationLogLikelihood(model, ids, 6, 0)).rejects.toThrow("continuationLogLikelihood: scoreFrom must be in [1, 5]");
    model.dispose();
  });

  it("picks the continuation a trained language model expects", async () => {
    const tokenizer = CharTokenizer.fromText("abc");
    const model = GPT.create({ ...TINY, vocabSize: 3 }, 4);
    const ids = tokenizer.encode("abc".repeat(200));
    await train(model, { train: ids, val: ids }, { steps: 60, batchSize: 8, learningRate: 1e-2, warmupSteps: 5, evalBatches: 0 });
    const examples = ["abcab", "bcabc", "cabca"];
    const predicted = await zeroShotPredict(model, tokenizer, examples, 3, (text, c) => ({ prompt: text, continuation: "abc"[c] }));
    expect(Array.from(predicted)).toEqual([2, 0, 1]); // c after "…ab", a after "…bc", b after "…ca"
    model.dispose();
  });
});

describe("zero-shot calibration", () => {
  it("removes a class prior that raw likelihoods cannot overcome", async () => {
    // After "x", "a" is far more frequent overall; "b" follows only "yx", and only sometimes.
    const tokenizer = CharTokenizer.fromText("abxy");
    const model = GPT.create({ ...TINY, vocabSize: 4 }, 6);
    const text = Array.from({ length: 400 }, (_, i) => (i % 10 === 0 ? "yxb" : i % 2 ? "yxa" : "xxa")).join("");
    const ids = tokenizer.encode(text);
    await train(model, { train: ids, val: ids }, { steps: 150, batchSize: 16, learningRate: 1e-2, warmupSteps: 10, evalBatches: 0 });
    const examples = ["xxaxx", "xxayx", "yxaxx", "xxayx"]; // "b" is likelier than usual when the last two are "yx"
    const render = (t: string, c: number) => ({ prompt: t, continuation: "ab"[c] });
    expect(Array.from(await zeroShotPredict(model, tokenizer, examples, 2, render, { calibrate: false }))).toEqual([0, 0, 0, 0]); // the prior wins
    expect(Array.from(await zeroShotPredict(model, tokenizer, examples, 2, render))).toEqual([0, 1, 0, 1]);
    // The same bias measured on other unlabelled inputs (a training set's) calibrates new ones alike.
    const bias = classMeans(await zeroShotScores(model, tokenizer, ["xxaxx", "yxaxx", "xxayx", "xxaxx", "xxayx"], 2, render));
    expect(Array.from(predictFromScores(await zeroShotScores(model, tokenizer, examples, 2, render), bias))).toEqual([0, 1, 0, 1]);
    model.dispose();
  });
});
