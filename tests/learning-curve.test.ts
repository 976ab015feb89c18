import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { CharTokenizer, splitTrainValTest } from "../lib/core/data";
import {
  curvePoints, fitThreeRegions, learningCurveDesign, pooledSeedSd, regionBoundaries, runLearningCurve, storedCurveResults, threeRegionLoss, type CurveResult,
} from "../lib/scaling/learningCurve";

const dir = mkdtempSync(join(tmpdir(), "curve-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => { await chooseBackend("wasm"); });

describe("Hestness's three regions", () => {
  it("recovers the floor, knee and exponent of an exact curve", () => {
    const truth = { guess: 3.2, floor: 1.4, knee: 2e4, exponent: 0.45 };
    const D = [1e2, 3e2, 1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7];
    const fit = fitThreeRegions(D, D.map((d) => threeRegionLoss(truth, d)), truth.guess);
    expect(fit.floor).toBeCloseTo(truth.floor, 3);
    expect(Math.log(fit.knee / truth.knee)).toBeCloseTo(0, 2);
    expect(fit.exponent).toBeCloseTo(truth.exponent, 3);
    expect(fit.rmse).toBeLessThan(1e-4);
  });

  it("puts the boundaries where the power law meets the plateau and where the gain left equals the noise", () => {
    const fit = { guess: 3, floor: 1, knee: 1e3, exponent: 0.5, rmse: 0 };
    const { smallData, irreducible } = regionBoundaries(fit, 0.02);
    expect(smallData).toBe(1e3);
    // (3 − 1)(1 + D/1e3)^(−1/2) = 0.02 ⇔ 1 + D/1e3 = 100² ⇔ D = 9,999,000.
    expect(irreducible).toBeCloseTo(9_999_000, 0);
    expect(threeRegionLoss(fit, irreducible) - fit.floor).toBeCloseTo(0.02, 12);
    expect(() => regionBoundaries(fit, 0)).toThrow("regionBoundaries: noise must be a finite positive number; got 0");
    expect(() => fitThreeRegions([1, 2, 3], [1, 1, 1], 2)).toThrow("fitThreeRegions: needs at least 4 (D, loss) pairs");
  });

  it("averages seeds per data size and measures their spread", () => {
    const r = (tokens: number, seed: number, testLoss: number) => ({ tokens, seed, testLoss }) as CurveResult;
    const points = curvePoints([r(10, 1, 2), r(10, 2, 2.5), r(1, 1, 3), r(100, 1, 1), r(100, 2, 1.2), r(100, 3, 1.4)]);
    expect(points.map((p) => [p.tokens, p.loss, p.spread])).toEqual([[1, 3, 0], [10, 2.25, 0.5], [100, expect.closeTo(1.2, 12), expect.closeTo(0.4, 12)]]);
    // Pooled: (0.125 + 0.08) / (1 + 2) of squares over degrees of freedom; a single seed adds nothing.
    expect(pooledSeedSd(points)).toBeCloseTo(Math.sqrt((0.125 + 0.08) / 3), 12);
    expect(() => pooledSeedSd([points[0]])).toThrow("pooledSeedSd: needs a data size measured with at least 2 seeds");
  });
});

describe("the learning-curve study", () => {
  // A text of 64 characters' ids, long enough for the smoke design's largest prefix.
  const text = Array.from({ length: 40_000 }, (_, i) => "abcdefgh ijklmnop"[(i * 7 + (i >> 3)) % 17]).join("");
  const tokenizer = CharTokenizer.fromText(text);
  const data = splitTrainValTest(tokenizer.encode(text));
  const design = { ...learningCurveDesign("smoke"), dataSizes: [100, 1_000], seeds: [1], maxSteps: 40, patience: 1 };

  it("stops a run once an evaluation brings no new best, records where the best was, and resumes", async () => {
    const path = join(dir, "curve.jsonl");
    const done: number[] = [];
    const results = await runLearningCurve(design, { path, data, vocabSize: tokenizer.vocabSize, backend: "wasm", onRunEnd: (r) => done.push(r.tokens) });
    expect(results.map((r) => r.tokens)).toEqual([1_000, 100]);
    for (const r of results) {
      expect(r.bestStep).toBeGreaterThan(0);
      expect(r.bestStep).toBeLessThanOrEqual(r.steps);
      // Patience 1: the run ends one evaluation after its best, or at the last step.
      expect(r.steps === r.bestStep + design.evalInterval || r.steps === design.maxSteps).toBe(true);
      expect(r.epochs).toBeCloseTo((r.bestStep * design.batchSize * design.model.blockSize) / r.tokens, 12);
      expect(Number.isFinite(r.testLoss) && Number.isFinite(r.validationLoss)).toBe(true);
    }
    const again: number[] = [];
    await runLearningCurve(design, { path, data, vocabSize: tokenizer.vocabSize, backend: "wasm", onRunEnd: (r) => again.push(r.tokens) });
    expect([done.length, again.length]).toEqual([2, 0]);
    expect(storedCurveResults(design, path, data, "wasm").map((r) => r.id)).toEqual(results.map((r) => r.id));
    expect(() => storedCurveResults({ ...design, learningRate: 0.5 }, path, data, "wasm")).toThrow(/lacks 2 of 2 runs on wasm .*npm run learning-curve -- --grid full/);
  });

  it("refuses a training set too small for one window or larger than the text", async () => {
    await expect(runLearningCurve({ ...design, dataSizes: [10] }, { path: join(dir, "x.jsonl"), data, vocabSize: tokenizer.vocabSize, backend: "wasm" }))
      .rejects.toThrow("runLearningCurve: design.dataSizes[0] = 10 holds no window of blockSize 16 + 1 characters");
    await expect(runLearningCurve({ ...design, dataSizes: [1e9] }, { path: join(dir, "x.jsonl"), data, vocabSize: tokenizer.vocabSize, backend: "wasm" }))
      .rejects.toThrow(`runLearningCurve: design.dataSizes[0] = 1000000000 is more than the ${data.train.length} training tokens`);
  });
});
