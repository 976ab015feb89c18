import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { GPT, parameterSpecs } from "../lib/gpt/model";
import { activationGradients, AdamW, DEVICE_READ_EVERY, heldOutLoss, learningRateAt, modelParameters, parameterGradients, train, TrainingDivergedError, type TrainConfig, type TrainingState } from "../lib/gpt/train";
import { Random } from "../lib/core/random";
import { data, quiet, randomIds, TINY } from "./tiny";

beforeAll(async () => {
  await chooseBackend("wasm");
});

describe("learning rate schedule", () => {
  const c = { learningRate: 1e-3, minLearningRate: 1e-4, warmupSteps: 10, steps: 110 };
  it("warms up linearly, then follows a cosine from the peak to the minimum", async () => {
    expect(learningRateAt(0, c)).toBeCloseTo(1e-3 / 11, 12);
    expect(learningRateAt(9, c)).toBeCloseTo((1e-3 * 10) / 11, 12);
    expect(learningRateAt(10, c)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(60, c)).toBeCloseTo(5.5e-4, 12); // halfway: the mean of peak and minimum
    expect(learningRateAt(110, c)).toBe(1e-4);
    expect(learningRateAt(500, c)).toBe(1e-4);
  });
});

describe("AdamW", () => {
  it("matches a float64 reference: bias correction, clipping by global norm, decay on 2-D weights only", async () => {
    const model = GPT.create(TINY, 3);
    const specs = parameterSpecs(TINY);
    const opts = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 0.5 };
    const opt = new AdamW(modelParameters(model), opts);
    const before = specs.map((s) => Float64Array.from(model.params.get(s.name)!.dataSync()));
    const gradsArrays = specs.map((s, i) => new Random(100 + i).normals(before[i].length, 0.3));
    const lrs = [1e-2, 5e-3];
    // Reference: plain loops in float64.
    const m = before.map((p) => new Float64Array(p.length));
    const v = before.map((p) => new Float64Array(p.length));
    const p64 = before.map((p) => Float64Array.from(p));
    for (const [k, lr] of lrs.entries()) {
      const t = k + 1;
      const norm = Math.sqrt(gradsArrays.reduce((s, g) => s + g.reduce((a, x) => a + x * x, 0), 0));
      const scale = Math.min(1, opts.gradClip / (norm + 1e-6));
      p64.forEach((p, i) => {
        for (let j = 0; j < p.length; j++) {
          const g = gradsArrays[i][j] * scale;
          m[i][j] = opts.beta1 * m[i][j] + (1 - opts.beta1) * g;
          v[i][j] = opts.beta2 * v[i][j] + (1 - opts.beta2) * g * g;
          const mHat = m[i][j] / (1 - opts.beta1 ** t), vHat = v[i][j] / (1 - opts.beta2 ** t);
          if (specs[i].decay) p[j] -= lr * opts.weightDecay * p[j];
          p[j] -= (lr * mHat) / (Math.sqrt(vHat) + opts.eps);
        }
      });
      const grads = specs.map((s, i) => tf.tensor(gradsArrays[i], s.shape));
      const reportedNorm = await opt.step(grads, lr);
      expect(reportedNorm).toBeCloseTo(norm, 4);
      tf.dispose(grads);
    }
    specs.forEach((s, i) => {
      const got = model.params.get(s.name)!.dataSync();
      got.forEach((x, j) => expect(Math.abs(x - p64[i][j]), `${s.name}[${j}]`).toBeLessThan(2e-6));
    });
    model.dispose();
  });
});

describe("AdamW with half-precision weights", () => {
  it("keeps every weight on the fp16 grid and loses an update below half a weight's spacing, which fp32 keeps", async () => {
    const run = async (masterWeights: "fp32" | "fp16", learningRate: number) => {
      const model = GPT.create(TINY, 3);
      const specs = parameterSpecs(TINY);
      // Set every weight to 1, whose fp16 spacing is 2^-10: Adam's first step moves each by ≈ the learning rate.
      specs.forEach((s) => model.params.get(s.name)!.assign(tf.ones(s.shape)));
      const opt = new AdamW(modelParameters(model), { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClip: 0, masterWeights });
      const grads = specs.map((s) => tf.ones(s.shape));
      await opt.step(grads, learningRate);
      tf.dispose(grads);
      const weights = specs.flatMap((s) => Array.from(model.params.get(s.name)!.dataSync()));
      model.dispose();
      return weights;
    };
    const small = 2 ** -12; // a quarter of the spacing at 1
    expect(new Set(await run("fp16", small))).toEqual(new Set([1]));
    for (const w of await run("fp32", small)) expect(w).toBeCloseTo(1 - small, 6);
    const large = 3 * 2 ** -10; // three spacings: survives the rounding exactly
    for (const w of await run("fp16", large)) expect(w).toBe(1 - large);
    expect(() => new AdamW(modelParameters(GPT.create(TINY, 1)), { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClip: 0, masterWeights: "fp8" as "fp16" }))
      .toThrow('AdamW: masterWeights must be "fp32", "fp16" or "bf16"; got "fp8"');
  });
});

describe("train", () => {
  it("overfits a single tiny batch", async () => {
    const model = GPT.create(TINY, 4);
    // Exactly blockSize + 1 tokens: every batch is the same window.
    const one = randomIds(TINY.blockSize + 1, TINY.vocabSize, 9);
    const r = await train(model, { train: one, val: one }, { ...quiet, steps: 150, batchSize: 2, learningRate: 1e-2, minLearningRate: 1e-2, weightDecay: 0 });
    expect(r.steps[0].loss).toBeGreaterThan(2);
    expect(r.evals.at(-1)!.trainLoss).toBeLessThan(0.05);
    model.dispose();
  });

  it("keeps the number of live tensors flat across steps", async () => {
    const before = tf.memory().numTensors;
    const model = GPT.create({ ...TINY, dropout: 0.1 }, 4);
    const counts: number[] = [];
    await train(model, data, { ...quiet, steps: 6, batchSize: 3, gradAccumSteps: 2 }, { onStep: () => counts.push(tf.memory().numTensors) });
    expect(new Set(counts).size).toBe(1);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("is deterministic for a seed, and accumulating two micro-batches equals one batch twice the size", async () => {
    const run = async (batchSize: number, gradAccumSteps: number, seed = 7) => {
      const model = GPT.create(TINY, 4);
      const r = await train(model, data, { ...quiet, steps: 4, batchSize, gradAccumSteps, seed });
      const w = model.params.get("h.0.attn.c_attn.weight")!.dataSync().slice();
      model.dispose();
      return { losses: r.steps.map((s) => s.loss), w };
    };
    const [a, b, c, d] = [await run(8, 1), await run(8, 1), await run(4, 2), await run(8, 1, 8)];
    expect(b).toEqual(a);
    c.losses.forEach((l, i) => expect(l).toBeCloseTo(a.losses[i], 5));
    c.w.forEach((x, i) => expect(Math.abs(x - a.w[i])).toBeLessThan(1e-5));
    expect(d.losses).not.toEqual(a.losses);
  });

  it("gives the same losses on wasm and cpu", async () => {
    const losses: number[][] = [];
    for (const backend of ["wasm", "cpu"] as const) {
      await chooseBackend(backend);
      const model = GPT.create(TINY, 4);
      losses.push((await train(model, data, { ...quiet, steps: 3, batchSize: 4 })).steps.map((s) => s.loss));
      model.dispose();
    }
    await chooseBackend("wasm");
    losses[1].forEach((l, i) => expect(Math.abs(l - losses[0][i])).toBeLessThan(1e-4));
  });

  it("stops with an error naming the step when the loss is not finite", async () => {
    const model = GPT.create(TINY, 4);
    let steps = 0;
    const poison = () => {
      const w = model.params.get("ln_f.weight")!;
      w.assign(tf.fill(w.shape, NaN));
    };
    await expect(train(model, data, { ...quiet, steps: 5, batchSize: 2 }, { onStep: (s) => { steps++; if (s.step === 2) poison(); } })).rejects.toThrow(
      /^training diverged at step 3: the loss is NaN \(learning rate [0-9.e-]+\); lower the learning rate/,
    );
    expect(steps).toBe(3);
    await expect(train(model, data, { steps: 0 })).rejects.toThrow("train: config.steps must be a positive integer; got 0");
    await expect(train(model, { train: data.train, val: new Int32Array(5) }, quiet)).rejects.toThrow(
      "train: the val split has 5 tokens; a batch needs at least blockSize + 1 = 9",
    );
    model.dispose();
  });

  it("reports progress and stops early when asked", async () => {
    const model = GPT.create(TINY, 4);
    const evals: number[] = [];
    const r = await train(model, data, { ...quiet, steps: 20, evalInterval: 5, batchSize: 4 }, {
      onEval: (e) => evals.push(e.step),
      shouldStop: (e) => e.step >= 10,
    });
    expect(evals).toEqual([5, 10]);
    expect(r.steps).toHaveLength(10);
    expect(r.tokens).toBe(10 * 4 * TINY.blockSize);
    model.dispose();
  });
});

describe("train, saved and resumed", () => {
  // Dropout and dynamic loss scaling on, so every piece of state (batches, dropout masks, AdamW's
  // moments, the scaler, the evaluation draws) must come back for the runs to agree.
  const config: Partial<TrainConfig> = { ...quiet, steps: 9, batchSize: 4, evalInterval: 3, precision: "fp16", lossScale: "dynamic", initialLossScale: 2 ** 20 };
  const dropout = { ...TINY, dropout: 0.1 };

  for (const workers of [1, 2]) {
    it(`continues a run exactly where its checkpoint left it (${workers} thread${workers > 1 ? "s" : ""})`, async () => {
      const whole = GPT.create(dropout, 4);
      const saved: { state: TrainingState; weights: Map<string, Float32Array> }[] = [];
      const full = await train(whole, data, { ...config, workers }, { checkpoint: { every: 4, save: async (state) => { saved.push({ state, weights: await whole.weights() }); } } });
      // Saved after steps 4 and 8; never after the last step (the run's result is the record then).
      expect(saved.map((s) => s.state.step)).toEqual([4, 8]);
      const { state, weights } = saved[0];
      expect(state.optimizer.t).toBe(state.result.steps.filter((s) => !s.skipped).length);
      const resumed = GPT.fromWeights(dropout, weights);
      const rest = await train(resumed, data, { ...config, workers }, {}, { resume: state });
      expect(rest.steps.map((s) => [s.step, s.loss, s.lossScale, s.gradNorm])).toEqual(full.steps.map((s) => [s.step, s.loss, s.lossScale, s.gradNorm]));
      expect(rest.evals.map((e) => [e.step, e.trainLoss, e.valLoss])).toEqual(full.evals.map((e) => [e.step, e.trainLoss, e.valLoss]));
      expect(rest.tokens).toBe(full.tokens);
      expect(await resumed.weights()).toEqual(await whole.weights());
      whole.dispose();
      resumed.dispose();
    });
  }

  it("refuses a state that does not fit the run, and a checkpoint without an interval", async () => {
    const model = GPT.create(TINY, 4);
    let state: TrainingState | undefined;
    await train(model, data, { ...quiet, steps: 4, batchSize: 4 }, { checkpoint: { every: 2, save: (s) => { state = s; } } });
    await expect(train(model, data, { ...quiet, steps: 2, batchSize: 4 }, {}, { resume: state })).rejects.toThrow(
      "train: options.resume.step must be an integer in [1, 1]; got 2",
    );
    const short = { ...state!, optimizer: { ...state!.optimizer, m: new Float32Array(3) } };
    await expect(train(model, data, { ...quiet, steps: 4, batchSize: 4 }, {}, { resume: short })).rejects.toThrow(
      `train (options.resume.optimizer): moments.m must be a Float32Array of ${model.parameterCount.total} values (one per parameter); got 3 values`,
    );
    await expect(train(model, data, quiet, { checkpoint: { every: 0, save: () => {} } })).rejects.toThrow("train: callbacks.checkpoint.every must be a positive integer; got 0");
    model.dispose();
  });
});

describe("train with the optimizer on the device (the GPU path), here on wasm", () => {
  const both = async (options: Partial<TrainConfig>) => {
    const out = [];
    for (const optimizer of ["host", "device"] as const) {
      const model = GPT.create({ ...TINY, dropout: 0.1 }, 4);
      const seen: number[] = [];
      const r = await train(model, data, { ...quiet, batchSize: 4, learningRate: 1e-2, ...options, optimizer }, { onStep: (s) => seen.push(s.step) });
      out.push({ r, seen, weights: await model.weights() });
      model.dispose();
    }
    return { host: out[0], device: out[1] };
  };
  const worst = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) =>
    Math.max(...[...a].map(([name, w]) => Math.max(...w.map((x, j) => Math.abs(x - b.get(name)![j])))));

  it("gives the host's losses, norms and weights to float32 rounding, every step reported in order", async () => {
    const steps = DEVICE_READ_EVERY + 4; // crosses one batch of reads
    const tensors = tf.memory().numTensors;
    const { host, device } = await both({ steps, gradAccumSteps: 2, evalInterval: 10 });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(device.seen).toEqual(Array.from({ length: steps }, (_, i) => i));
    device.r.steps.forEach((s, i) => {
      expect(Math.abs(s.loss - host.r.steps[i].loss), `loss at step ${i}`).toBeLessThan(1e-4);
      expect(Math.abs(s.gradNorm - host.r.steps[i].gradNorm) / host.r.steps[i].gradNorm, `norm at step ${i}`).toBeLessThan(1e-4);
    });
    expect(device.r.evals.map((e) => e.step)).toEqual([10, 20]);
    device.r.evals.forEach((e, i) => expect(Math.abs(e.valLoss - host.r.evals[i].valLoss)).toBeLessThan(1e-4));
    expect(worst(device.weights, host.weights)).toBeLessThan(1e-4);
    expect(device.r.workers).toBe(1);
  });

  it("skips the same overflowed steps under dynamic loss scaling, and keeps fp16 weights on their grid", async () => {
    const { host, device } = await both({ steps: 6, precision: "fp16", lossScale: "dynamic", initialLossScale: 2 ** 60 });
    expect(device.r.steps.map((s) => s.skipped)).toEqual(host.r.steps.map((s) => s.skipped));
    expect(device.r.steps.slice(0, 2).map((s) => s.skipped)).toEqual([true, true]);
    expect(worst(device.weights, host.weights)).toBeLessThan(1e-4);
    const half = await both({ steps: 3, masterWeights: "fp16" });
    for (const w of half.device.weights.values()) for (const x of w) expect(Math.fround(x)).toBe(x);
    expect(worst(half.device.weights, half.host.weights)).toBeLessThan(2e-3); // one fp16 spacing near 1
  });

  it("stops with the first step whose loss is not finite, even when it is read a few steps late", async () => {
    const model = GPT.create(TINY, 4);
    // NaN weights from the start: step 0's loss is NaN, found when the first batch of losses is read.
    const w = model.params.get("ln_f.weight")!;
    w.assign(tf.fill(w.shape, NaN));
    await expect(train(model, data, { ...quiet, steps: 5, batchSize: 2, optimizer: "device" })).rejects.toThrow(/^training diverged at step 0: the loss is NaN/);
    await expect(train(model, data, { ...quiet, steps: 1, optimizer: "gpu" as "device" })).rejects.toThrow('train: config.optimizer must be "auto", "host" or "device"; got "gpu"');
    model.dispose();
  });
});

it("TrainingDivergedError is an Error", async () => {
  expect(new TrainingDivergedError("x")).toBeInstanceOf(Error);
});

describe("activationGradients", () => {
  it("gives, first, the head input's gradient (softmax − one-hot)·wte/(B·T) in float64, then one gradient per activation a matmul reads", async () => {
    const model = GPT.create(TINY, 6);
    const batchSize = 2, T = TINY.blockSize, C = TINY.nEmbd, V = TINY.vocabSize, L = TINY.nLayer, H = TINY.nHead;
    const x = randomIds(batchSize * T, V, 21), y = randomIds(batchSize * T, V, 22);
    await activationGradients(model, { x, y }, batchSize); // the model caches its causal mask on a first call
    const before = tf.memory().numTensors;
    const grads = await activationGradients(model, { x, y }, batchSize);
    expect(tf.memory().numTensors).toBe(before); // every copy the probe kept is disposed of
    // Per block: the four dense layers' inputs (C, C, C, 4C per token), q, k, v (C each) and the attention
    // weights (H·T per token); then the head's input (C per token).
    const perToken = L * (C + C + C + 4 * C + 3 * C + H * T) + C;
    expect(grads.length).toBe(batchSize * T * perToken);
    // The head's input gradient, by hand: it is the first to arrive on the way back.
    const final = tf.tidy(() => model.forward(x, batchSize, T).final.arraySync() as number[][]);
    const wte = model.params.get("wte")!.arraySync() as number[][]; // [V, C]
    const expected: number[] = [];
    final.forEach((h, i) => {
      const logits = wte.map((w) => w.reduce((s, wc, c) => s + wc * h[c], 0));
      const top = Math.max(...logits), exp = logits.map((l) => Math.exp(l - top)), sum = exp.reduce((a, b) => a + b, 0);
      const delta = exp.map((e, v) => (e / sum - (v === y[i] ? 1 : 0)) / (batchSize * T));
      for (let c = 0; c < C; c++) expected.push(delta.reduce((s, d, v) => s + d * wte[v][c], 0));
    });
    const head = grads.subarray(0, batchSize * T * C);
    expected.forEach((e, i) => expect(Math.abs(head[i] - e)).toBeLessThan(1e-6 + 1e-4 * Math.abs(e)));
    await expect(activationGradients(model, { x: x.subarray(8), y }, batchSize)).rejects.toThrow("activationGradients: a batch of 2 × 8 tokens has 16 inputs; got 8");
    model.dispose();
  });
});

describe("parameterGradients", () => {
  it("agrees with central finite differences of the loss, and names a batch of the wrong size", async () => {
    const model = GPT.create(TINY, 5);
    const batchSize = 3;
    const x = randomIds(batchSize * TINY.blockSize, TINY.vocabSize, 11), y = randomIds(batchSize * TINY.blockSize, TINY.vocabSize, 12);
    await parameterGradients(model, { x, y }, batchSize); // the model caches its causal mask on a first call
    const before = tf.memory().numTensors;
    const grads = await parameterGradients(model, { x, y }, batchSize);
    expect(tf.memory().numTensors).toBe(before);
    const sizes = parameterSpecs(TINY).map((s) => s.shape.reduce((a, b) => a * b, 1));
    expect(grads.length).toBe(sizes.reduce((a, b) => a + b, 0));
    const lossAt = () => tf.tidy(() => model.loss(x, y, batchSize, TINY.blockSize).dataSync()[0]);
    // One entry of each of three parameters, found at its offset in the flattened array.
    const names = [...model.params.keys()];
    for (const p of [0, 3, names.length - 1]) {
      const variable = model.params.get(names[p])!;
      const offset = sizes.slice(0, p).reduce((a, b) => a + b, 0);
      const values = variable.dataSync().slice();
      const h = 1e-2;
      const at = (delta: number) => {
        const shifted = values.slice();
        shifted[0] += delta;
        variable.assign(tf.tensor(shifted, variable.shape));
        return lossAt();
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      variable.assign(tf.tensor(values, variable.shape));
      expect(Math.abs(grads[offset] - numeric), names[p]).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
    }
    await expect(parameterGradients(model, { x: x.subarray(8), y }, batchSize)).rejects.toThrow(
      "parameterGradients: a batch of 3 × 8 tokens has 24 inputs; got 16",
    );
    model.dispose();
  });
});

describe("heldOutLoss", () => {
  it("is the mean loss over every position of consecutive windows, the same however they are batched", async () => {
    const model = GPT.create(TINY, 6);
    const ids = randomIds(300, TINY.vocabSize, 13);
    const T = TINY.blockSize;
    // By hand: each window alone, averaged.
    const windows = Math.floor((200 - 1) / T);
    let sum = 0;
    for (let w = 0; w < windows; w++) {
      const x = ids.slice(w * T, w * T + T), y = ids.slice(w * T + 1, w * T + T + 1);
      sum += tf.tidy(() => model.loss(x, y, 1, T).dataSync()[0]);
    }
    expect(await heldOutLoss(model, ids, 200, 5)).toBeCloseTo(sum / windows, 5);
    expect(await heldOutLoss(model, ids, 200, 1)).toBeCloseTo(sum / windows, 5);
    await expect(heldOutLoss(model, ids, T, 4)).rejects.toThrow(`heldOutLoss: needs at least ${T + 1} tokens for one window of ${T}; got ${T}`);
    model.dispose();
  });
});
