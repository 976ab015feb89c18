import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { loadCheckpoint, saveCheckpoint } from "../lib/gpt/checkpoint";
import { BABY_GPT, countParameters, flopsPerToken, GPT, type GPTConfig } from "../lib/gpt/model";
import { matMul2d, sumTensors } from "../lib/gpt/ops";
import { generate, sampleFromLogits } from "../lib/gpt/sample";
import { Random } from "../lib/core/random";

const TINY: GPTConfig = { vocabSize: 7, blockSize: 5, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0, bias: true, tieWeights: true };

function randomIds(n: number, vocab: number, seed: number): Int32Array {
  const r = new Random(seed);
  return Int32Array.from({ length: n }, () => r.int(vocab));
}

function logitsOf(model: GPT, ids: Int32Array, B: number, T: number): Float32Array {
  return tf.tidy(() => model.forward(ids, B, T).logits.dataSync() as Float32Array);
}

const dir = mkdtempSync(join(tmpdir(), "gpt-test-"));
beforeAll(async () => {
  await chooseBackend("wasm");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("GPT sizes", () => {
  it("counts parameters as the closed form V·C + T·C + L·(12C² + 13C) + 2C", () => {
    const V = 65, C = 128, T = 64, L = 4;
    const { total, nonEmbedding } = countParameters({ ...BABY_GPT, vocabSize: V });
    expect(total).toBe(V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C);
    expect(total).toBe(809_856);
    expect(nonEmbedding).toBe(total - V * C - T * C);
    // Without biases each layer loses 2C (LayerNorms) + 9C (linears) and the final LayerNorm loses C.
    expect(countParameters({ ...BABY_GPT, vocabSize: V, bias: false }).total).toBe(V * C + T * C + L * (12 * C * C + 2 * C) + C);
    expect(countParameters({ ...BABY_GPT, vocabSize: V, tieWeights: false }).total).toBe(total + C * V);
  });

  it("estimates training FLOPs per token as 6·(N + V·C) + 12·L·T·C", () => {
    const config = { ...BABY_GPT, vocabSize: 65 };
    expect(flopsPerToken(config)).toBe(6 * (793_344 + 65 * 128) + 12 * 4 * 64 * 128);
  });

  it("rejects bad configs with the numbers in the message", () => {
    expect(() => GPT.create({ ...TINY, nEmbd: 130, nHead: 4 })).toThrow("GPT.create: config.nEmbd must be divisible by nHead (4); got 130");
    expect(() => GPT.create({ ...TINY, blockSize: 0 })).toThrow("GPT.create: config.blockSize must be a positive integer; got 0");
    expect(() => GPT.create({ ...TINY, dropout: 1 })).toThrow("GPT.create: config.dropout must be in [0, 1); got 1");
  });
});

describe("GPT forward", () => {
  it("starts near the loss of a uniform guess, ln(vocabulary)", () => {
    const config = { ...BABY_GPT, vocabSize: 65 };
    const model = GPT.create(config, 3);
    const B = 4, T = 64;
    const x = randomIds(B * T, 65, 1), y = randomIds(B * T, 65, 2);
    const loss = tf.tidy(() => model.loss(x, y, B, T).dataSync()[0]);
    expect(Math.abs(loss - Math.log(65))).toBeLessThan(0.05);
    model.dispose();
  });

  it("is causal: changing a token changes no earlier position's logits", () => {
    const model = GPT.create(TINY, 5);
    const T = TINY.blockSize, V = TINY.vocabSize;
    const ids = randomIds(T, V, 3);
    const before = logitsOf(model, ids, 1, T);
    for (let t = 0; t < T; t++) {
      const changed = ids.slice();
      changed[t] = (changed[t] + 1) % V;
      const after = logitsOf(model, changed, 1, T);
      for (let pos = 0; pos < T; pos++) {
        const a = before.subarray(pos * V, pos * V + V), b = after.subarray(pos * V, pos * V + V);
        const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
        if (pos < t) expect(diff, `position ${pos} after changing ${t}`).toBe(0);
        else expect(diff, `position ${pos} after changing ${t}`).toBeGreaterThan(1e-6);
      }
    }
    model.dispose();
  });

  it("rejects sequences longer than the context and tokens outside the vocabulary", () => {
    const model = GPT.create(TINY);
    expect(() => model.forward(new Int32Array(6), 1, 6)).toThrow("GPT.forward: cannot forward a sequence of length 6; blockSize is only 5");
    expect(() => model.forward(Int32Array.from([1, 2, 9]), 1, 3)).toThrow("GPT.forward: token id 9 at position 2 is outside the vocabulary [0, 7)");
    expect(() => model.forward(new Int32Array(5), 2, 5)).toThrow("GPT.forward: got 5 token ids for batch 2 × length 5 = 10");
    model.dispose();
  });

  it("returns the residual stream of every layer as features, starting with token + position embeddings", () => {
    const model = GPT.create(TINY, 9);
    const ids = randomIds(2 * 4, TINY.vocabSize, 4);
    const hidden = model.features(ids, 2, 4);
    expect(hidden.map((h) => h.shape)).toEqual(Array(TINY.nLayer + 1).fill([2, 4, TINY.nEmbd]));
    const wte = model.params.get("wte")!.arraySync() as number[][];
    const wpe = model.params.get("wpe")!.arraySync() as number[][];
    const first = hidden[0].arraySync();
    for (let b = 0; b < 2; b++) for (let t = 0; t < 4; t++) {
      const expected = wte[ids[b * 4 + t]].map((v, c) => v + wpe[t][c]);
      first[b][t].forEach((v, c) => expect(v).toBeCloseTo(expected[c], 6));
    }
    tf.dispose(hidden);
    model.dispose();
  });
});

describe("gradients", () => {
  it("matMul2d's hand-written gradient equals TensorFlow.js's own", () => {
    const x = tf.randomNormal([6, 5], 0, 1, "float32", 1) as tf.Tensor2D;
    const w = tf.randomNormal([5, 4], 0, 1, "float32", 2) as tf.Tensor2D;
    const loss = (mm: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(mm(a as tf.Tensor2D, b as tf.Tensor2D)));
    const mine = tf.grads(loss(matMul2d))([x, w]);
    const theirs = tf.grads(loss((a, b) => tf.matMul(a, b)))([x, w]);
    mine.forEach((g, i) => {
      const reference = theirs[i].dataSync();
      g.dataSync().forEach((v, j) => expect(Math.abs(v - reference[j])).toBeLessThan(1e-4));
    });
    tf.dispose([x, w, ...mine, ...theirs]);
  });

  it("match central finite differences on a tiny model", () => {
    // Larger weights than GPT-2's init give gradients well above fp32 rounding noise.
    const model = GPT.create(TINY, 11);
    for (const v of model.params.values()) v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, 0.3, "float32", 5))));
    const B = 2, T = TINY.blockSize;
    const x = randomIds(B * T, TINY.vocabSize, 21), y = randomIds(B * T, TINY.vocabSize, 22);
    const lossAt = () => tf.tidy(() => model.loss(x, y, B, T).dataSync()[0]);
    const vars = [...model.params.values()];
    const { grads } = tf.variableGrads(() => model.loss(x, y, B, T), vars);
    const h = 1e-2;
    let checked = 0;
    for (const [name, v] of model.params) {
      const g = grads[v.name].dataSync();
      // The two largest gradient entries of every parameter tensor.
      const picks = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 2);
      for (const i of picks) {
        const original = v.dataSync().slice();
        const perturbed = (delta: number) => {
          const values = original.slice();
          values[i] += delta;
          v.assign(tf.tensor(values, v.shape));
          return lossAt();
        };
        const numeric = (perturbed(h) - perturbed(-h)) / (2 * h);
        v.assign(tf.tensor(original, v.shape));
        expect(Math.abs(numeric - g[i]), `${name}[${i}]: finite difference ${numeric}, gradient ${g[i]}`).toBeLessThan(2e-3 + 0.02 * Math.abs(g[i]));
        checked++;
      }
    }
    expect(checked).toBe(2 * model.params.size);
    tf.dispose(Object.values(grads));
    model.dispose();
  });
});

describe("backends agree", () => {
  it("gives the same logits on wasm and cpu, from the same seed", async () => {
    const results: Float32Array[] = [];
    for (const backend of ["wasm", "cpu"] as const) {
      await chooseBackend(backend);
      const model = GPT.create({ ...BABY_GPT, vocabSize: 11, blockSize: 16, nLayer: 2 }, 42);
      results.push(logitsOf(model, randomIds(2 * 16, 11, 8), 2, 16));
      model.dispose();
    }
    await chooseBackend("wasm");
    const maxDiff = Math.max(...results[0].map((v, i) => Math.abs(v - results[1][i])));
    expect(maxDiff).toBeLessThan(1e-4);
  });
});

describe("checkpoints", () => {
  it("save then load gives identical logits", async () => {
    const model = GPT.create(TINY, 13);
    const path = join(dir, "tiny.ckpt");
    await saveCheckpoint(path, model, { step: 42, meta: { note: "test" } });
    const loaded = loadCheckpoint(path, TINY);
    expect(loaded.step).toBe(42);
    expect(loaded.meta).toEqual({ note: "test" });
    const ids = randomIds(TINY.blockSize, TINY.vocabSize, 1);
    expect(logitsOf(loaded.model, ids, 1, TINY.blockSize)).toEqual(logitsOf(model, ids, 1, TINY.blockSize));
    model.dispose();
    loaded.model.dispose();
  });

  it("refuses a checkpoint of another shape, naming the differences, and files that are not checkpoints", async () => {
    const model = GPT.create(TINY, 13);
    const path = join(dir, "tiny2.ckpt");
    await saveCheckpoint(path, model);
    model.dispose();
    expect(() => loadCheckpoint(path, { ...TINY, nEmbd: 16, nLayer: 3 })).toThrow(
      `holds a model of another shape: nLayer: 2 in the checkpoint, 3 expected; nEmbd: 8 in the checkpoint, 16 expected`,
    );
    const bogus = join(dir, "bogus.ckpt");
    writeFileSync(bogus, "hello");
    expect(() => loadCheckpoint(bogus)).toThrow(`is not a tensor file (expected a file starting with "GPTCKPT1")`);
    expect(() => loadCheckpoint(join(dir, "missing.ckpt"))).toThrow("loadCheckpoint: cannot read");
  });
});

describe("sampling", () => {
  it("top-1 is argmax; the draw frequencies follow softmax(logits / temperature)", () => {
    const logits = Float32Array.from([1, 3, 2, 0]);
    const r = new Random(1);
    expect(sampleFromLogits(logits, 1, 1, r)).toBe(1);
    const counts = [0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleFromLogits(logits, 2, undefined, r)]++;
    const weights = [1, 3, 2, 0].map((l) => Math.exp(l / 2));
    const z = weights.reduce((a, b) => a + b, 0);
    counts.forEach((c, i) => expect(Math.abs(c / n - weights[i] / z)).toBeLessThan(0.015));
    // Top-2 never draws the two least likely tokens.
    for (let i = 0; i < 200; i++) expect([1, 2]).toContain(sampleFromLogits(logits, 1, 2, r));
  });

  it("generates deterministically for a seed, and checks its arguments", async () => {
    const model = GPT.create(TINY, 2);
    const prompt = Int32Array.from([1, 2]);
    const a = await generate(model, prompt, { maxNewTokens: 8, seed: 5, topK: 3 });
    expect(a.length).toBe(10);
    expect(Array.from(a.subarray(0, 2))).toEqual([1, 2]);
    expect(await generate(model, prompt, { maxNewTokens: 8, seed: 5, topK: 3 })).toEqual(a);
    await expect(generate(model, new Int32Array(0), { maxNewTokens: 1 })).rejects.toThrow("generate: the prompt is empty");
    await expect(generate(model, prompt, { maxNewTokens: 1, topK: 0 })).rejects.toThrow("generate: topK must be an integer in [1, 7]; got 0");
    await expect(generate(model, prompt, { maxNewTokens: 1, temperature: 0 })).rejects.toThrow("generate: temperature must be positive; got 0");
    model.dispose();
  });
});

describe("sumTensors", () => {
  it("adds any number of tensors in pairs, as tf.addN would, and frees what it made", async () => {
    for (const n of [1, 2, 5, 29]) {
      const parts = Array.from({ length: n }, (_, i) => tf.tensor1d([i, -2 * i, 0.5]));
      const before = tf.memory().numTensors;
      const sum = sumTensors(parts);
      expect(tf.memory().numTensors).toBe(before + 1);
      // Closed form: Σ i = n(n−1)/2.
      expect(Array.from(await sum.data())).toEqual([(n * (n - 1)) / 2, -n * (n - 1), 0.5 * n]);
      tf.dispose([sum, ...parts]);
    }
    expect(() => sumTensors([])).toThrow("sumTensors: nothing to add");
  });
});
