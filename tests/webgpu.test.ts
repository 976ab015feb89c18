// The engine on webgpu against the cpu backend, where Dawn finds an adapter (here: Mesa's
// llvmpipe, a software GPU, from bookworm-backports; see README, Backends). Without one every
// test is skipped and says why. A software adapter is slow, so the models are tiny.
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { chooseBackend, findWebGpuAdapter } from "../lib/core/backend";
import { loadCheckpoint, saveCheckpoint } from "../lib/gpt/checkpoint";
import { GPT } from "../lib/gpt/model";
import { generate } from "../lib/gpt/sample";
import { parameterGradients, train } from "../lib/gpt/train";
import { readNotebook } from "../tools/notebook";
import { listLessons, ROOT, runLesson } from "../tools/runner";
import { data, quiet, randomIds, TINY } from "./tiny";

const adapter = await findWebGpuAdapter();
const skipped = "unavailable" in adapter ? adapter.unavailable : "";
if (skipped) console.log(`webgpu tests skipped: ${skipped}`);

/** The same initial weights on both backends: drawn on cpu, copied to webgpu. */
async function onBoth<T>(body: (model: GPT, backend: "cpu" | "webgpu") => Promise<T>): Promise<{ cpu: T; webgpu: T }> {
  await chooseBackend("cpu");
  const reference = GPT.create(TINY, 7);
  const weights = await reference.weights();
  const cpu = await body(reference, "cpu");
  reference.dispose();
  await chooseBackend("webgpu");
  const model = GPT.fromWeights(TINY, weights);
  try {
    return { cpu, webgpu: await body(model, "webgpu") };
  } finally {
    model.dispose();
    await chooseBackend("wasm");
  }
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe.skipIf(skipped !== "")("the engine on webgpu, against cpu", () => {
  const dir = mkdtempSync(join(tmpdir(), "course-webgpu-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("computes the same loss and the same gradient of every parameter", async () => {
    const batch = { x: data.train.slice(0, 4 * TINY.blockSize), y: data.train.slice(1, 4 * TINY.blockSize + 1) };
    const r = await onBoth(async (model) => ({
      loss: (await model.loss(batch.x, batch.y, 4, TINY.blockSize).data())[0],
      grads: await parameterGradients(model, batch, 4),
    }));
    expect(Math.abs(r.webgpu.loss - r.cpu.loss)).toBeLessThan(1e-5);
    const scale = Math.max(...Array.from(r.cpu.grads, Math.abs));
    expect(maxDifference(r.webgpu.grads, r.cpu.grads) / scale).toBeLessThan(1e-4);
  });

  it("trains to the same losses and weights, step by step", async () => {
    const r = await onBoth(async (model) => {
      const result = await train(model, data, { ...quiet, steps: 6, batchSize: 4, learningRate: 1e-2 });
      return { losses: result.steps.map((s) => s.loss), weights: await model.weights(), evals: result.evals };
    });
    expect(maxDifference(r.webgpu.losses, r.cpu.losses)).toBeLessThan(1e-4);
    for (const [name, w] of r.cpu.weights) expect(maxDifference(r.webgpu.weights.get(name)!, w), name).toBeLessThan(1e-4);
    expect(Math.abs(r.webgpu.evals[0].valLoss - r.cpu.evals[0].valLoss)).toBeLessThan(1e-4);
  });

  it("saves a checkpoint that loads on cpu with the same logits, and samples the same text", async () => {
    const ids = randomIds(2 * TINY.blockSize, TINY.vocabSize, 5);
    const r = await onBoth(async (model, backend) => {
      const path = join(dir, `${backend}.ckpt`);
      await saveCheckpoint(path, model, { step: 3 });
      return {
        path,
        logits: await tf.tidy(() => model.forward(ids, 2, TINY.blockSize).logits).data(),
        text: await generate(model, Int32Array.of(1), { maxNewTokens: 12, topK: 5, seed: 3 }),
      };
    });
    expect(maxDifference(r.webgpu.logits, r.cpu.logits)).toBeLessThan(1e-4);
    expect(Array.from(r.webgpu.text)).toEqual(Array.from(r.cpu.text));
    await chooseBackend("cpu");
    const loaded = loadCheckpoint(r.webgpu.path, TINY);
    expect(loaded.step).toBe(3);
    const logits = await tf.tidy(() => loaded.model.forward(ids, 2, TINY.blockSize).logits).data();
    expect(maxDifference(logits, r.cpu.logits)).toBeLessThan(1e-4);
    loaded.model.dispose();
    await chooseBackend("wasm");
  });
});

describe.skipIf(skipped !== "")("lesson 01 at smoke scale on webgpu", () => {
  it("runs every cell, and its first line names the adapter", async () => {
    const lesson = listLessons().find((p) => basename(p).startsWith("01-"))!;
    const result = await runLesson(lesson, {
      scale: "smoke", cellTimeoutMs: 600_000, outDir: join(ROOT, "build", "test-webgpu"), log: () => {}, env: { COURSE_BACKEND: "webgpu" },
    });
    expect(result.failure, result.failure && `${result.failure.firstLine}\n${result.failure.stderr}`).toBeUndefined();
    const first = readNotebook(result.outPath).cells.find((c) => c.cell_type === "code")!;
    const text = (first.outputs ?? []).map((o) => (o as { text?: string | string[] }).text ?? "").flat().join("");
    expect(text.split("\n")[0]).toBe(`backend: webgpu on ${(adapter as { device: string }).device} (requested)`);
  }, 900_000);
});
