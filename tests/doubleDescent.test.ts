import { describe, expect, it } from "vitest";

import { misspecificationError, randomFeaturesCurve, randomFeaturesSampleCurve, randomFeaturesTestError, ridgeWeights } from "../lib/generalization/doubleDescent";
import { Random } from "../lib/core/random";

/** Gaussian elimination with partial pivoting: an independent reference solver. */
function gauss(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    const pivot = m.slice(c).reduce((best, row, i) => (Math.abs(row[c]) > Math.abs(m[best][c]) ? c + i : best), c);
    [m[c], m[pivot]] = [m[pivot], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) x[r] = (m[r][n] - m[r].slice(r + 1, n).reduce((s, v, k) => s + v * x[r + 1 + k], 0)) / m[r][r];
  return x;
}

const r = new Random(5);
const matrix = (rows: number, cols: number) => Float64Array.from({ length: rows * cols }, () => r.normal());

describe("linear algebra", () => {
  it("ridgeWeights gives the same weights through its p ≤ n and p > n formulas", () => {
    const n = 7, p = 5, lambda = 0.3;
    const phi = matrix(n, p), y = matrix(n, 1);
    const direct = ridgeWeights(phi, y, n, p, lambda); // (ΦᵀΦ + λI)⁻¹Φᵀy
    // The kernel form Φᵀ(ΦΦᵀ + λI)⁻¹y, solved by the independent reference.
    const k = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => {
      let s = i === j ? lambda : 0;
      for (let a = 0; a < p; a++) s += phi[i * p + a] * phi[j * p + a];
      return s;
    }));
    const alpha = gauss(k, Array.from(y));
    const viaKernel = Array.from({ length: p }, (_, a) => alpha.reduce((s, al, i) => s + al * phi[i * p + a], 0));
    direct.forEach((w, a) => expect(w).toBeCloseTo(viaKernel[a], 9));
    expect(() => ridgeWeights(phi, y, n, p, 0)).toThrow("ridgeWeights: lambda must be positive");
  });
});

describe("random-features regression", () => {
  const options = { nTrain: 40, nTest: 200, inputDim: 8, noise: 0.5, lambda: 1e-9, seed: 2 };
  it("interpolates the training set once features outnumber points, and its test error peaks where they are equal", () => {
    const ps = [10, 20, 40, 80, 320];
    const rows = randomFeaturesTestError(ps, options);
    expect(rows.find((x) => x.p === 80)!.trainMse).toBeLessThan(1e-6);
    expect(rows.find((x) => x.p === 320)!.trainMse).toBeLessThan(1e-6);
    expect(rows.find((x) => x.p === 10)!.trainMse).toBeGreaterThan(0.05);
    const at = (p: number) => rows.find((x) => x.p === p)!.testMse;
    expect(at(40)).toBeGreaterThan(3 * Math.max(at(10), at(320)));
    expect(at(320)).toBeLessThan(at(80));
    // Ridge regularisation removes the peak.
    const ridge = randomFeaturesTestError(ps, { ...options, lambda: 1e-2 });
    expect(ridge.find((x) => x.p === 40)!.testMse).toBeLessThan(at(40) / 3);
    expect(() => randomFeaturesTestError([0], options)).toThrow("randomFeaturesTestError: feature counts must be positive integers; got 0");
  });
});

describe("randomFeaturesCurve and randomFeaturesSampleCurve", () => {
  const options = { nTrain: 12, nTest: 30, inputDim: 3, noise: 0.5, lambda: 1e-9 };
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

  it("gives each point the median over seeds, and the 10th and 90th percentiles of the test error", () => {
    const seen: number[] = [];
    const curve = randomFeaturesCurve([4, 12, 40], options, 5, (done) => seen.push(done));
    const each = [0, 1, 2, 3, 4].map((seed) => randomFeaturesTestError([4, 12, 40], { ...options, seed }));
    curve.forEach((point, i) => {
      const test = sorted(each.map((e) => e[i].testMse));
      expect(point.x).toBe([4, 12, 40][i]);
      expect(point.testMse).toBe(test[2]); // the middle of five
      expect(point.trainMse).toBe(sorted(each.map((e) => e[i].trainMse))[2]);
      expect(point.testLow).toBeCloseTo(test[0] + 0.4 * (test[1] - test[0]), 12); // position 0.1·4 = 0.4
      expect(point.testHigh).toBeCloseTo(test[3] + 0.6 * (test[4] - test[3]), 12); // position 0.9·4 = 3.6
    });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(() => randomFeaturesCurve([4], options, 0)).toThrow("randomFeaturesCurve: seeds must be a positive integer; got 0");
  });

  it("sample-wise: fits one model size on each number of training points", () => {
    const { nTrain: _, ...rest } = options;
    const curve = randomFeaturesSampleCurve([6, 12], 12, rest, 3);
    const each = [0, 1, 2].map((seed) => [6, 12].map((nTrain) => randomFeaturesTestError([12], { ...options, nTrain, seed })[0]));
    curve.forEach((point, i) => {
      expect(point.x).toBe([6, 12][i]);
      expect(point.testMse).toBe(sorted(each.map((e) => e[i].testMse))[1]);
    });
  });
});

describe("misspecification of random ReLU features", () => {
  const o = { nTest: 400, inputDim: 8 };
  it("is the median, over seeds, of a clean fit on samplesPerFeature·p points", () => {
    const byHand = [0, 1, 2].map((seed) => randomFeaturesTestError([20], { ...o, nTrain: 30 * 20, noise: 0, lambda: 1e-9, seed })[0].testMse).sort((a, b) => a - b)[1];
    expect(misspecificationError(20, o, 3, 30)).toBe(byHand);
  });
  it("shrinks as features are added (more of the linear target is representable) and stays below the target's variance", () => {
    const [few, many] = [8, 64].map((p) => misspecificationError(p, o, 5, 20));
    expect(many).toBeLessThan(few);
    expect(few).toBeLessThan(1); // E[(βᵀx)²] = 1 for β ~ N(0, I/d): a fit that learned nothing would score about 1
    expect(() => misspecificationError(0, o, 3)).toThrow("misspecificationError: p must be a positive integer");
  });
});
