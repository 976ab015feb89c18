import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { allFinite, roundToBFloat16, roundToFloat16, roundToHalf } from "../lib/gpt/precision";
import { GPT, type GPTConfig } from "../lib/gpt/model";
import { train } from "../lib/gpt/train";
import { Random } from "../lib/core/random";

beforeAll(async () => {
  await chooseBackend("wasm");
});

/** float32 values spread over every binade the formats care about, plus edge cases. */
function samples(): Float32Array {
  const r = new Random(3);
  const values: number[] = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e5, -1e5, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14, 2 ** -15 * 1.5, 1e-30, 3e38];
  for (let i = 0; i < 20000; i++) values.push((r.next() < 0.5 ? -1 : 1) * 2 ** (r.next() * 60 - 40) * (1 + r.next()));
  return Float32Array.from(values);
}

describe("roundToHalf (tensor ops) against the bit-exact conversions", () => {
  for (const [format, reference] of [["fp16", roundToFloat16], ["bf16", roundToBFloat16]] as const) {
    it(`${format}: equal everywhere except possibly exact halfway cases`, () => {
      // bf16 emulation treats magnitudes above 2^100 as overflow (documented); compare below that.
      const x = samples().filter((v) => format === "fp16" || Math.abs(v) < 2 ** 100);
      const got = tf.tidy(() => roundToHalf(tf.tensor1d(x), format).dataSync());
      let mismatches = 0;
      x.forEach((v, i) => {
        const want = reference(v);
        if (Object.is(got[i], want) || (got[i] === want)) return;
        mismatches++;
        // A mismatch is only allowed at a tie, where both neighbours are equally near.
        expect(Math.abs(got[i] - v), `x = ${v}: got ${got[i]}, want ${want}`).toBeCloseTo(Math.abs(want - v), 12);
      });
      expect(mismatches).toBeLessThan(x.length / 1000);
    });
  }

  it("overflows to infinity and keeps NaN", async () => {
    const got = tf.tidy(() => roundToHalf(tf.tensor1d([70000, -70000, NaN, 1e30]), "fp16").dataSync());
    expect(Array.from(got)).toEqual([Infinity, -Infinity, NaN, Infinity]);
    expect(await allFinite([tf.tensor1d([1, 2])])).toBe(true);
    expect(await allFinite([tf.tensor1d([1, Infinity])])).toBe(false);
  });
});

describe("mixed-precision training (emulated)", () => {
  const config: GPTConfig = { vocabSize: 11, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0, bias: true, tieWeights: true };
  const r = new Random(1);
  const data = { train: Int32Array.from({ length: 2000 }, () => r.int(11)), val: Int32Array.from({ length: 300 }, () => r.int(11)) };
  const run = async (precision: "fp32" | "fp16" | "bf16", lossScale: "dynamic" | number) => {
    const model = GPT.create(config, 4);
    const result = await train(model, data, { steps: 30, batchSize: 8, warmupSteps: 3, evalBatches: 0, learningRate: 3e-3, precision, lossScale });
    model.dispose();
    return result.steps;
  };

  it("tracks the float32 loss curve with fp16 and bf16 matmul inputs", async () => {
    const fp32 = await run("fp32", 1);
    for (const format of ["fp16", "bf16"] as const) {
      const half = await run(format, "dynamic");
      half.forEach((s, i) => expect(Math.abs(s.loss - fp32[i].loss), `${format} step ${i}`).toBeLessThan(0.05));
    }
  });

  it("skips steps and halves the scale while scaled gradients overflow fp16, then trains", async () => {
    const fp32 = await run("fp32", 1);
    const model = GPT.create(config, 4);
    const { steps } = await train(model, data, {
      steps: 30, batchSize: 8, warmupSteps: 3, evalBatches: 0, learningRate: 3e-3, precision: "fp16", lossScale: "dynamic", initialLossScale: 2 ** 40,
    });
    model.dispose();
    const skipped = steps.filter((s) => s.skipped);
    expect(skipped.length).toBeGreaterThan(0);
    // Each overflow halves the scale; the first applied step uses the first scale that fits.
    skipped.forEach((s, i) => expect(s.lossScale).toBe(2 ** (40 - i)));
    const firstApplied = steps.find((s) => !s.skipped)!;
    expect(firstApplied.lossScale).toBe(2 ** (40 - skipped.length));
    expect(steps.slice(skipped.length).every((s) => !s.skipped)).toBe(true);
    // Skipped steps do not move the weights, so training lags by that many steps but still learns.
    expect(steps.at(-1)!.loss).toBeLessThan(steps[0].loss);
    expect(Math.abs(steps.at(-1)!.loss - fp32.at(-1)!.loss)).toBeLessThan(0.3);
  });

  it("a fixed scale that overflows skips every step and never changes", async () => {
    const model = GPT.create(config, 4);
    const before = await model.weights();
    const { steps } = await train(model, data, { steps: 3, batchSize: 8, evalBatches: 0, precision: "fp16", lossScale: 2 ** 40 });
    expect(steps.map((s) => [s.skipped, s.lossScale])).toEqual([[true, 2 ** 40], [true, 2 ** 40], [true, 2 ** 40]]);
    for (const [name, values] of await model.weights()) expect(values, name).toEqual(before.get(name));
    model.dispose();
  });
});
