import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { GPT } from "../lib/gpt/model";
import { sampleBatch } from "../lib/core/data";
import { batchLoss, DataParallel, MIN_PARALLEL_FLOPS, resolveWorkers, splitRows } from "../lib/gpt/parallel";
import { liveWorkerCount } from "../lib/core/threads";
import { AdamW, DEFAULT_TRAIN, train, type TrainConfig } from "../lib/gpt/train";
import { clipFactor, SliceAdamW } from "../lib/gpt/adamw";
import { Random } from "../lib/core/random";
import { readNotebook } from "../tools/notebook";
import { runLesson } from "../tools/runner";
import { fixtureDir, writeFixture } from "./fixtures";
import { data, quiet, randomIds, TINY } from "./tiny";

beforeAll(async () => {
  await chooseBackend("wasm");
});

afterEach(() => {
  delete process.env.COURSE_WORKER_FAULT;
  delete process.env.COURSE_WORKERS;
});

async function run(workers: number, options: Partial<TrainConfig> = {}) {
  const model = GPT.create(TINY, 4);
  const r = await train(model, data, { ...quiet, steps: 5, batchSize: 6, workers, ...options });
  const weights = await model.weights();
  model.dispose();
  return { losses: r.steps.map((s) => s.loss), skipped: r.steps.map((s) => s.skipped), evals: r.evals, weights, workers: r.workers };
}

function maxDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  return worst;
}

describe("data-parallel training", () => {
  it("splits a batch's rows as evenly as possible", () => {
    expect(splitRows(12, 2)).toEqual([6, 6]);
    expect(splitRows(7, 3)).toEqual([2, 2, 3]);
    expect(splitRows(3, 3)).toEqual([1, 1, 1]);
  });

  it("chooses threads from the request, COURSE_WORKERS, then the backend and the run's size", async () => {
    const big = { batchSize: 12, flops: 10 * MIN_PARALLEL_FLOPS };
    expect(resolveWorkers(3, big)).toBe(3);
    expect(resolveWorkers(20, big)).toBe(12); // never more threads than rows
    expect(resolveWorkers("auto", { ...big, flops: MIN_PARALLEL_FLOPS / 2, backend: "wasm" })).toBe(1);
    expect(resolveWorkers("auto", { ...big, backend: "tensorflow" })).toBe(1); // native TensorFlow threads itself
    expect(resolveWorkers("auto", { ...big, backend: "wasm" })).toBeGreaterThanOrEqual(1);
    process.env.COURSE_WORKERS = "2";
    expect(resolveWorkers("auto", { ...big, flops: 0 })).toBe(2);
    expect(resolveWorkers(1, big)).toBe(1);
    process.env.COURSE_WORKERS = "two";
    expect(() => resolveWorkers("auto", big)).toThrow('COURSE_WORKERS must be a positive integer or "auto"; got "two"');
    await expect(train(GPT.create(TINY, 1), data, { workers: 0 })).rejects.toThrow('train: config.workers must be a positive integer or "auto"; got 0');
  });

  it("gives one thread's losses and weights with 2 and 3 threads, up to float rounding", async () => {
    const one = await run(1);
    for (const workers of [2, 3]) {
      const many = await run(workers);
      expect(many.workers).toBe(workers);
      // Each shard's gradient is summed in another order, then weighted by its share of rows: the
      // gradients differ by float32 rounding (~1e-7 relative). Adam divides by √v, so after 5 steps
      // of learning rate ≤ 1e-3 the weights may differ by ~1e-6; losses agree to ~1e-6.
      many.losses.forEach((l, i) => expect(Math.abs(l - one.losses[i])).toBeLessThan(1e-5));
      expect(maxDifference(many.weights, one.weights)).toBeLessThan(2e-5);
    }
    // With gradient accumulation too: 2 micro-batches of 3 rows, each split over 2 threads.
    const accumulated = await run(2, { gradAccumSteps: 2 });
    const accumulatedOne = await run(1, { gradAccumSteps: 2 });
    expect(maxDifference(accumulated.weights, accumulatedOne.weights)).toBeLessThan(2e-5);
  });

  it("skips the same overflowed steps as one thread under dynamic loss scaling", async () => {
    // A scale of 2^60 overflows fp16 gradients: the first steps are skipped while the scale halves.
    const options: Partial<TrainConfig> = { precision: "fp16", lossScale: "dynamic", initialLossScale: 2 ** 60, steps: 8 };
    const one = await run(1, options);
    const two = await run(2, options);
    expect(one.skipped.slice(0, 2)).toEqual([true, true]);
    expect(two.skipped).toEqual(one.skipped);
    expect(maxDifference(two.weights, one.weights)).toBeLessThan(2e-5);
  });

  it("updates each thread's slice exactly as AdamW updates those weights, a slice boundary inside a tensor included", async () => {
    const settings = { ...DEFAULT_TRAIN, weightDecay: 0.1, gradClip: 0.5 };
    const r = new Random(11);
    const shapes = [[3, 5], [7]];
    const initial = shapes.map((s) => r.normals(s.reduce((a, b) => a * b, 1), 1));
    const vars = shapes.map((s, i) => tf.variable(tf.tensor(initial[i], s)));
    const params = vars.map((variable, i) => ({ variable, decay: i === 0 }));
    const P = 22;
    const reference = new AdamW(params, settings);
    const slices = [new SliceAdamW(params.map((p) => ({ size: p.variable.size, decay: p.decay })), 0, 9, settings),
      new SliceAdamW(params.map((p) => ({ size: p.variable.size, decay: p.decay })), 9, P, settings)];
    const weights = Float32Array.from([...initial[0], ...initial[1]]);
    for (let step = 0; step < 3; step++) {
      const grad = r.normals(P, 1);
      const norm = await reference.step(grad, 1e-2);
      for (const s of slices) s.update(grad, weights, 1e-2, clipFactor(settings.gradClip, norm));
    }
    const expected = Float32Array.from([...(await vars[0].data()), ...(await vars[1].data())]);
    expect(Array.from(weights)).toEqual(Array.from(expected));
    tf.dispose(vars);
  });

  it("keeps every replica bit-identical to the main thread's model, and shares evaluation exactly", async () => {
    const model = GPT.create(TINY, 9);
    const team = await DataParallel.start(model, 3, DEFAULT_TRAIN);
    try {
      const r = new Random(3);
      for (let step = 0; step < 4; step++) {
        const x = randomIds(5 * TINY.blockSize, TINY.vocabSize, r.int(1e9));
        const y = randomIds(5 * TINY.blockSize, TINY.vocabSize, r.int(1e9));
        expect((await team.accumulate(x, y, 5, true, 1, { dropoutSeed: step, scale: 1 })).finite).toBe(true);
        await team.step(1e-2);
      }
      team.syncModel(); // the main thread's model takes the last update's weights
      const main = await model.weights();
      for (const index of [1, 2]) expect(maxDifference(await team.replicaWeights(index), main)).toBe(0);
      // Evaluation shared among the threads gives exactly the losses of one thread.
      const batches = Array.from({ length: 5 }, () => sampleBatch(data.val, 3, TINY.blockSize, r));
      expect(await team.batchLosses(batches)).toEqual(await Promise.all(batches.map((b) => batchLoss(model, b))));
    } finally {
      await team.close();
      model.dispose();
    }
  });

  it("ends train() with the worker's error, no live workers and no leaked tensors when a worker throws", async () => {
    const before = tf.memory().numTensors;
    process.env.COURSE_WORKER_FAULT = "throw:3";
    const model = GPT.create(TINY, 4);
    await expect(train(model, data, { ...quiet, steps: 5, batchSize: 4, workers: 2 })).rejects.toThrow(
      "training worker 1 failed: injected fault at gradient request 3 (COURSE_WORKER_FAULT)",
    );
    expect(liveWorkerCount()).toBe(0);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("ends train() with a clear error when a worker dies", async () => {
    process.env.COURSE_WORKER_FAULT = "exit:2";
    const model = GPT.create(TINY, 4);
    await expect(train(model, data, { ...quiet, steps: 5, batchSize: 4, workers: 2 })).rejects.toThrow("training worker 1 exited unexpectedly (code 3)");
    expect(liveWorkerCount()).toBe(0);
    model.dispose();
  });

  it("leaves no workers and no tensors behind after a normal run", async () => {
    const before = tf.memory().numTensors;
    await run(2);
    expect(liveWorkerCount()).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("trains with workers inside the notebook kernel, as lessons do", async () => {
    const dir = fixtureDir();
    const src = writeFixture(dir, "30-workers", [
      `import { GPT, initBackend, train } from "../../../lib";\nawait initBackend();`,
      [
        `const ids = Int32Array.from({ length: 500 }, (_, i) => (i * 7) % 11);`,
        `const model = GPT.create({ vocabSize: 11, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true, tieWeights: true }, 1);`,
        `const r = await train(model, { train: ids, val: ids }, { steps: 3, batchSize: 4, evalBatches: 1, workers: 2 });`,
        `console.log("threads", r.workers, "finite", r.steps.every((s) => Number.isFinite(s.loss)));`,
      ].join("\n"),
    ]);
    const result = await runLesson(src, { scale: "smoke", cellTimeoutMs: 120_000, outDir: join(dir, "out"), log: () => {} });
    expect(result.failure?.stderr).toBeUndefined();
    const printed = readNotebook(result.outPath).cells.flatMap((c) => c.outputs ?? []).map((o) => ("text" in o ? String(o.text) : "")).join("");
    expect(printed).toContain("threads 2 finite true");
  });
});
