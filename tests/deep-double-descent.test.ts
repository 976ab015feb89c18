import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { Random } from "../lib/core/random";
import {
  deepDoubleDescentDesign, initTwoLayerNet, lossAndGradient, netOutputs, netRuns, readWidthCurve, runDeepDoubleDescent, storedNetResults,
  teacherData, trainTwoLayerNet, twoLayerParams, widthCurve, type NetResult, type TwoLayerNet,
} from "../lib/generalization/deepDoubleDescent";

const dir = mkdtempSync(join(tmpdir(), "ddd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const task = { inputDim: 3, teacherUnits: 2, nTrain: 12, nTest: 50 };

describe("a two-layer ReLU network", () => {
  it("computes Σ aⱼ relu(wⱼ·x + bⱼ) + c", () => {
    const net: TwoLayerNet = {
      inputDim: 2, width: 2, w: Float64Array.from([1, 2, -1, 0.5]), b: Float64Array.from([0.5, -1]), a: Float64Array.from([3, -2]), c: Float64Array.from([0.25]),
    };
    const x = Float64Array.from([1, 1, -2, 1]);
    // Row 1: units 3.5 and −1.5 → 3·3.5 + 0.25; row 2: units 0.5 and 1.5 → 3·0.5 − 2·1.5 + 0.25.
    expect(Array.from(netOutputs(net, { x, rows: 2 }))).toEqual([10.75, -1.25]);
    expect(twoLayerParams(2, 2)).toBe(9);
  });

  it("has the gradient of central finite differences, for every parameter", () => {
    const { train } = teacherData(task, 3, 0.3);
    const net = initTwoLayerNet(task.inputDim, 4, 5);
    net.b.set([0.1, -0.2, 0.3, 0.05]);
    net.c[0] = 0.2;
    const { loss, grad } = lossAndGradient(net, train);
    const params = [net.w, net.b, net.a, net.c];
    let checked = 0;
    params.forEach((p, q) => {
      for (let i = 0; i < p.length; i++) {
        const keep = p[i], h = 1e-6;
        p[i] = keep + h;
        const up = lossAndGradient(net, train).loss;
        p[i] = keep - h;
        const down = lossAndGradient(net, train).loss;
        p[i] = keep;
        expect(grad[q][i]).toBeCloseTo((up - down) / (2 * h), 6);
        checked++;
      }
    });
    expect(checked).toBe(twoLayerParams(task.inputDim, 4));
    expect(lossAndGradient(net, train).loss).toBe(loss);
  });

  it("takes Adam's first step of −lr·sign(g) on every parameter with a gradient", () => {
    const { train } = teacherData(task, 2, 0.1);
    const net = initTwoLayerNet(task.inputDim, 3, 1);
    const before = [net.w, net.b, net.a, net.c].map((p) => Float64Array.from(p));
    const { grad } = lossAndGradient(net, train);
    trainTwoLayerNet(net, train, { steps: 1, learningRate: 0.01 });
    [net.w, net.b, net.a, net.c].forEach((p, q) => p.forEach((v, i) => {
      const g = grad[q][i];
      // Adam's first update is lr·g/(|g| + ε'), with ε' = 1e-8 after bias correction.
      expect(v - before[q][i]).toBeCloseTo(-0.01 * (g / (Math.abs(g) + 1e-8)), 10);
    }));
  });

  it("fits every noisy training point once it is wide enough, and not when it is narrow", () => {
    const { train } = teacherData(task, 4, 0.5);
    const wide = initTwoLayerNet(task.inputDim, 64, 1), narrow = initTwoLayerNet(task.inputDim, 1, 1);
    expect(trainTwoLayerNet(wide, train, { steps: 3000, learningRate: 1e-2 })).toBeLessThan(1e-4);
    expect(trainTwoLayerNet(narrow, train, { steps: 3000, learningRate: 1e-2 })).toBeGreaterThan(0.01);
  });
});

describe("the teacher's data", () => {
  it("shares the teacher and inputs across noise levels; the noise has its standard deviation; the test targets are clean", () => {
    const big = { ...task, nTrain: 20_000 };
    const clean = teacherData(big, 7, 0), noisy = teacherData(big, 7, 0.5);
    expect(noisy.train.x).toEqual(clean.train.x);
    expect(noisy.test).toEqual(clean.test);
    const diff = Array.from(noisy.train.y, (y, i) => y - clean.train.y[i]);
    const sd = Math.sqrt(diff.reduce((s, d) => s + d * d, 0) / diff.length);
    expect(sd).toBeGreaterThan(0.49);
    expect(sd).toBeLessThan(0.51);
    // The teacher's output has a variance of order 1 (the design's noise is read against it).
    const mean = clean.test.y.reduce((s, y) => s + y, 0) / clean.test.rows;
    const variance = clean.test.y.reduce((s, y) => s + (y - mean) ** 2, 0) / clean.test.rows;
    expect(variance).toBeGreaterThan(0.2);
    expect(variance).toBeLessThan(2);
    expect(teacherData(big, 8, 0).train.x).not.toEqual(clean.train.x);
  });
});

describe("the deep double-descent study", () => {
  const design = { ...deepDoubleDescentDesign("smoke"), widths: [1, 4], seeds: [1], steps: 50 };

  it("trains each run once, resumes, and reads the stored results back in order", async () => {
    const path = join(dir, "study.jsonl");
    const trained: string[] = [];
    const results = await runDeepDoubleDescent(design, { path, onRunEnd: (r) => trained.push(`${r.width}/${r.noise}`) });
    expect(results.map((r) => [r.width, r.noise, r.seed])).toEqual(netRuns(design).map((r) => [r.width, r.noise, r.seed]));
    expect(trained).toHaveLength(4);
    const again: string[] = [];
    await runDeepDoubleDescent(design, { path, onRunEnd: (r) => again.push(`${r.width}`) });
    expect(again).toEqual([]);
    expect(storedNetResults(design, path).map((r) => r.id)).toEqual(results.map((r) => r.id));
    // Another design's runs are not these: the error names the command that trains them.
    expect(() => storedNetResults({ ...design, steps: 51 }, path)).toThrow(/lacks 4 of 4 runs on float64 .*npm run double-descent-study -- --grid full/);
    // Paired noise levels: same width and seed, same initialisation and inputs, different labels.
    expect(results.find((r) => r.width === 4 && r.noise === 0)!.testMse).not.toBe(results.find((r) => r.width === 4 && r.noise === 0.5)!.testMse);
  });

  it("summarises each width by medians over seeds and reads the peak, the widest and the threshold", () => {
    const line = (width: number, seed: number, testMse: number) => ({ width, seed, noise: 0.5, params: twoLayerParams(3, width), trainMse: 0, testMse }) as NetResult;
    const rows = [
      line(1, 1, 0.3), line(1, 2, 0.5), line(1, 3, 0.4),
      line(3, 1, 2.0), line(3, 2, 1.0), line(3, 3, 3.0),
      line(20, 1, 0.2), line(20, 2, 0.25), line(20, 3, 0.3),
    ];
    const curve = widthCurve(rows, 0.5);
    expect(curve.map((p) => [p.width, p.testMse, p.seeds])).toEqual([[1, 0.4, 3], [3, 2.0, 3], [20, 0.25, 3]]);
    const read = readWidthCurve(curve, 15);
    expect([read.peak.width, read.bestBefore!.width, read.widest.width, read.threshold!.width, read.secondDescent]).toEqual([3, 1, 20, 3, true]);
    expect(() => widthCurve(rows, 0)).toThrow("widthCurve: no results at noise 0; have 0.5");
  });

  it("refuses a design that would train nothing or train wrongly", async () => {
    await expect(runDeepDoubleDescent({ ...design, widths: [] }, { path: join(dir, "x.jsonl") })).rejects.toThrow("runDeepDoubleDescent: design.widths must be a non-empty array");
    await expect(runDeepDoubleDescent({ ...design, widths: [0] }, { path: join(dir, "x.jsonl") })).rejects.toThrow("runDeepDoubleDescent: design.widths[0] must be a positive integer");
    await expect(runDeepDoubleDescent({ ...design, learningRate: -1 }, { path: join(dir, "x.jsonl") })).rejects.toThrow(/design.learningRate/);
    expect(() => trainTwoLayerNet(initTwoLayerNet(2, 2, 1), teacherData({ ...task, inputDim: 2 }, 1, 0).train, { steps: 0, learningRate: 1 }))
      .toThrow("trainTwoLayerNet: steps must be a positive integer");
  });
});

// The random source the teacher uses: a fixed seed gives the same task on every machine.
it("draws the same task from the same seed", () => {
  expect(teacherData(task, 9, 0.2).train.y).toEqual(teacherData(task, 9, 0.2).train.y);
  expect(new Random(9).normal()).toBe(new Random(9).normal());
});
