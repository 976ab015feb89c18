// The engine against an independent model, as minGPT checks its logits against Hugging Face's:
// nanoGPT's model in PyTorch computed the logits, the loss and every parameter's gradient of a
// small GPT in float64, for fixed weights and a fixed batch (tests/data/torch-gpt.json, made by
// `python3 bench/torch_fixture.py`; its provenance is in the file). The course's GPT loads the
// same weights and must give the same numbers up to float32 rounding.
import { readFileSync } from "node:fs";
import { join } from "node:path";

import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { projectRoot } from "../lib/core/paths";
import { GPT, type GPTConfig } from "../lib/gpt/model";

interface TorchFixture {
  provenance: { command: string; torch: string };
  config: GPTConfig;
  batchSize: number;
  x: number[];
  y: number[];
  weights: Record<string, { shape: number[]; values: number[] }>;
  logits: number[];
  loss: number;
  gradients: Record<string, number[]>;
}

const fixture = JSON.parse(readFileSync(join(projectRoot(), "tests", "data", "torch-gpt.json"), "utf8")) as TorchFixture;

/**
 * The largest |course − torch| over a tensor, relative to the tensor's largest |torch| value.
 * float32 carries ~6e-8 relative error per operation; through two blocks, a softmax and a
 * backward pass, 2e-5 of the tensor's scale leaves room for that and nothing else: a transposed
 * weight, a missing bias or a wrong GELU gives errors of order 1e-2 to 1.
 */
const TOLERANCE = 2e-5;
function relativeError(course: ArrayLike<number>, torch: readonly number[]): number {
  expect(course.length).toBe(torch.length);
  const scale = Math.max(...torch.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < torch.length; i++) worst = Math.max(worst, Math.abs(course[i] - torch[i]));
  return worst / scale;
}

function loadModel(): GPT {
  return GPT.fromWeights(fixture.config, new Map(Object.entries(fixture.weights).map(([name, w]) => [name, Float32Array.from(w.values)])));
}

describe(`the GPT against PyTorch ${fixture.provenance.torch} (${fixture.provenance.command})`, () => {
  const { config, batchSize: B } = fixture;
  const T = config.blockSize;
  const x = Int32Array.from(fixture.x), y = Int32Array.from(fixture.y);
  beforeAll(async () => {
    await chooseBackend("wasm");
  });

  it("is a fixture that can tell models apart: non-uniform logits, a loss away from log V, every parameter named", () => {
    expect(Math.abs(fixture.loss - Math.log(config.vocabSize))).toBeGreaterThan(0.1);
    expect(Math.max(...fixture.logits.map(Math.abs))).toBeGreaterThan(1);
    const model = loadModel();
    expect([...model.params.keys()].sort()).toEqual(Object.keys(fixture.gradients).sort());
    model.dispose();
  });

  for (const backend of ["wasm", "cpu"] as const) {
    it(`gives the same logits, loss and gradient of every parameter on ${backend}`, async () => {
      await chooseBackend(backend);
      const model = loadModel();
      try {
        const logits = tf.tidy(() => model.forward(x, B, T).logits);
        expect(relativeError(await logits.data(), fixture.logits)).toBeLessThan(TOLERANCE);
        logits.dispose();
        const { value, grads } = tf.variableGrads(() => model.loss(x, y, B, T));
        expect(Math.abs((await value.data())[0] - fixture.loss) / fixture.loss).toBeLessThan(TOLERANCE);
        const errors: Record<string, number> = {};
        for (const [name, variable] of model.params) errors[name] = relativeError(await grads[variable.name].data(), fixture.gradients[name]);
        tf.dispose([value, ...Object.values(grads)]);
        const worst = Object.entries(errors).filter(([, e]) => !(e < TOLERANCE));
        expect(worst).toEqual([]);
      } finally {
        model.dispose();
      }
    });
  }

  it("would notice a wrong model: a weight stored transposed, as nn.Linear keeps it, changes the logits far beyond the tolerance", async () => {
    const name = "h.0.mlp.c_fc.weight";
    const [rows, cols] = fixture.weights[name].shape;
    const original = fixture.weights[name].values;
    const transposed = Float32Array.from({ length: rows * cols }, (_, k) => original[(k % rows) * cols + Math.floor(k / rows)]);
    const weights = new Map(Object.entries(fixture.weights).map(([n, w]) => [n, n === name ? transposed : Float32Array.from(w.values)]));
    // Read as [in, out] again, the [out, in] values are a different matrix of the same shape.
    const model = GPT.fromWeights(config, weights);
    const logits = tf.tidy(() => model.forward(x, B, T).logits);
    expect(relativeError(await logits.data(), fixture.logits)).toBeGreaterThan(100 * TOLERANCE);
    logits.dispose();
    model.dispose();
  });
});
