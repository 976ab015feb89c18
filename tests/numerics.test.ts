// lib/core/numerics.ts and lib/core/lbfgs.ts, the numerics several lessons share, against
// independent references: closed forms, regressions worked by hand, published tables, Gaussian
// elimination, numpy's quantile and central finite differences.
import { describe, expect, it } from "vitest";

import { minimizeLbfgs } from "../lib/core/lbfgs";
import {
  fitOffsetPowerLaw, fitPowerLaw, meanInterval, offsetPowerLawObjective, quantile, signTestP, solveSpd, tQuantile95,
} from "../lib/core/numerics";
import { Random } from "../lib/core/random";
import { logSpace, sampleLosses } from "../lib/scaling/synthetic";
import { numericGradient, relErr } from "./reference";

/** Solves M·x = b by Gaussian elimination with partial pivoting: the independent reference solver. */
function solve(M: number[][], b: number[]): number[] {
  const n = b.length;
  const A = M.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    [A[c], A[p]] = [A[p], A[c]];
    for (let r = c + 1; r < n; r++) {
      const f = A[r][c] / A[c][c];
      for (let k = c; k <= n; k++) A[r][k] -= f * A[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = A[r][n];
    for (let k = r + 1; k < n; k++) s -= A[r][k] * x[k];
    x[r] = s / A[r][r];
  }
  return x;
}

describe("minimizeLbfgs", () => {
  it("finds the Rosenbrock minimum (1, 1) from the classic start (−1.2, 1) and in 10 dimensions", () => {
    const rosenbrock = (x: Float64Array, g: Float64Array) => {
      let f = 0;
      g.fill(0);
      for (let i = 0; i < x.length - 1; i++) {
        const a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
        f += 100 * a * a + b * b;
        g[i] += -400 * x[i] * a - 2 * b;
        g[i + 1] += 200 * a;
      }
      return f;
    };
    const two = minimizeLbfgs(rosenbrock, [-1.2, 1], { gradientTolerance: 1e-10, relativeTolerance: 0 });
    expect(two.converged).toBe(true);
    for (const v of two.x) expect(v).toBeCloseTo(1, 6);
    const ten = minimizeLbfgs(rosenbrock, Array.from({ length: 10 }, (_, i) => (i % 2 ? 1 : -1.2)), { gradientTolerance: 1e-10, relativeTolerance: 0 });
    expect(ten.f).toBeLessThan(1e-14);
    for (const v of ten.x) expect(v).toBeCloseTo(1, 6);
  });

  it("minimises a random positive-definite quadratic to the solution of M·x = b", () => {
    const rng = new Random(5);
    const n = 8;
    const Q = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.normal()));
    // M = QᵀQ + I is symmetric positive definite; f = ½xᵀMx − bᵀx has its minimum where M·x = b.
    const M = Q.map((_, i) => Q.map((__, j) => Q.reduce((s, row) => s + row[i] * row[j], 0) + (i === j ? 1 : 0)));
    const b = Array.from({ length: n }, () => rng.normal());
    const quadratic = (x: Float64Array, g: Float64Array) => {
      let f = 0;
      for (let i = 0; i < n; i++) {
        let Mx = 0;
        for (let j = 0; j < n; j++) Mx += M[i][j] * x[j];
        g[i] = Mx - b[i];
        f += 0.5 * x[i] * Mx - b[i] * x[i];
      }
      return f;
    };
    // |g| ≤ 1e-8 bounds |x − x*| by 1e-8/λ_min(M) ≤ 1e-8, since λ_min ≥ 1. (Much tighter and f stops
    // changing in float64, so no line search can see a decrease.)
    const result = minimizeLbfgs(quadratic, new Array(n).fill(0), { gradientTolerance: 1e-8, relativeTolerance: 0 });
    const want = solve(M, b);
    expect(result.stop).toBe("gradient");
    result.x.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-7));
  });

  it("rejects a start where f is not finite, and bad options", () => {
    expect(() => minimizeLbfgs(() => NaN, [1, 2])).toThrow("minimizeLbfgs: f or its gradient is not finite at the start x0 = [1, 2] (f = NaN)");
    expect(() => minimizeLbfgs((x) => x[0] * x[0], [1], { memory: 0 })).toThrow("minimizeLbfgs: memory must be a positive integer; got 0");
  });
});

describe("fitPowerLaw", () => {
  it("recovers a and α exactly from exact data", () => {
    const x = logSpace(10, 1e8, 12);
    const fit = fitPowerLaw(x, x.map((v) => 3.2 * Math.pow(v, -0.27)));
    expect(fit.a).toBeCloseTo(3.2, 10);
    expect(fit.alpha).toBeCloseTo(0.27, 12);
    expect(fit.r2).toBeCloseTo(1, 12);
  });

  it("matches a regression worked by hand", () => {
    // log x = 0, 1, 2 and log y = 0, −1, −1.5: slope −3/4, intercept −1/12, R² = 1 − (1/24)/(7/6) = 27/28.
    const fit = fitPowerLaw([1, Math.E, Math.E ** 2], [1, Math.exp(-1), Math.exp(-1.5)]);
    expect(fit.alpha).toBeCloseTo(0.75, 12);
    expect(fit.a).toBeCloseTo(Math.exp(-1 / 12), 12);
    expect(fit.r2).toBeCloseTo(27 / 28, 12);
  });
});

describe("fitOffsetPowerLaw", () => {
  it("recovers E, a and α from noisy data with outliers", () => {
    const x = logSpace(1e3, 1e9, 30);
    const points = sampleLosses((N) => 1.5 + 20 * Math.pow(N, -0.3), x.map((N) => ({ N, D: 1 })), { seed: 4, noise: 0.01, outliers: 2 });
    const fit = fitOffsetPowerLaw(points.map((p) => p.N), points.map((p) => p.loss));
    expect(relErr(fit.E, 1.5)).toBeLessThan(0.03);
    expect(relErr(fit.alpha, 0.3)).toBeLessThan(0.05);
    expect(relErr(fit.a, 20)).toBeLessThan(0.1);
  });

  it("recovers exact data to high precision, whatever the scale of y", () => {
    const x = logSpace(1, 1e6, 25);
    const fit = fitOffsetPowerLaw(x, x.map((v) => 2e-4 + 0.03 * Math.pow(v, -0.45)), { lbfgs: { gradientTolerance: 1e-14, relativeTolerance: 0 } });
    expect(relErr(fit.E, 2e-4)).toBeLessThan(1e-4);
    expect(relErr(fit.alpha, 0.45)).toBeLessThan(1e-4);
  });

  it("has the analytic gradient of its objective (central finite differences)", () => {
    const x = logSpace(10, 1e7, 9);
    const logX = Float64Array.from(x, Math.log);
    const logY = Float64Array.from(x, (v, i) => Math.log(1 + 5 * Math.pow(v, -0.4)) + 0.02 * Math.sin(i));
    for (const theta of [[1.5, 0.1, 0.4], [3, -1, 0.9], [0.2, 0.5, 0.1]]) {
      const g = new Float64Array(3);
      offsetPowerLawObjective(logX, logY, theta, g, 0.01);
      const want = numericGradient((t) => offsetPowerLawObjective(logX, logY, t, null, 0.01), theta);
      g.forEach((v, i) => expect(v).toBeCloseTo(want[i], 7));
    }
  });
});

describe("quantiles and intervals", () => {
  it("reads quantiles like numpy's default (linear interpolation)", () => {
    expect(quantile([1, 2, 3, 4], 0.05)).toBeCloseTo(1.15, 12);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([7], 0.95)).toBe(7);
  });

  it("uses Student's t quantiles as tabulated", () => {
    // Published two-sided 95% values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
    expect(tQuantile95(4)).toBe(2.776);
    expect(tQuantile95(30)).toBe(2.042);
    expect(tQuantile95(40)).toBeCloseTo(2.021, 3);
    expect(tQuantile95(120)).toBeCloseTo(1.98, 3);
    expect(tQuantile95(100000)).toBeCloseTo(1.96, 3);
    expect(() => tQuantile95(0)).toThrow("tQuantile95: df must be a positive integer; got 0");
  });

  it("gives the mean ± t·s/√n", () => {
    const m = meanInterval([0.6, 0.7, 0.8, 0.7, 0.7]);
    const s = Math.sqrt((0.01 + 0 + 0.01 + 0 + 0) / 4);
    expect(m.mean).toBeCloseTo(0.7, 12);
    expect(m.high - m.mean).toBeCloseTo((2.776 * s) / Math.sqrt(5), 12);
    expect(m.mean - m.low).toBeCloseTo(m.high - m.mean, 12);
    expect(Number.isNaN(meanInterval([0.5]).low)).toBe(true);
    expect(() => meanInterval([0.5, NaN])).toThrow("meanInterval: values[1] must be a finite number; got NaN");
  });
});

describe("signTestP", () => {
  it("is the binomial tail of a fair coin", () => {
    expect(signTestP(10, 10)).toBeCloseTo(1 / 1024, 15);
    expect(signTestP(9, 10)).toBeCloseTo(11 / 1024, 15);
    expect(signTestP(0, 10)).toBe(1);
    expect(signTestP(2, 3)).toBeCloseTo(0.5, 15); // (3 + 1) / 8
    expect(() => signTestP(4, 3)).toThrow("signTestP: successes must be an integer in [0, 3]; got 4");
  });
});

describe("solveSpd", () => {
  it("solveSpd agrees with Gaussian elimination and names a matrix that is not positive definite", () => {
    const r = new Random(5);
    const matrix = (rows: number, cols: number) => Float64Array.from({ length: rows * cols }, () => r.normal());
    const n = 6, m = matrix(n, n);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += m[k * n + i] * m[k * n + j];
    for (let i = 0; i < n; i++) a[i * n + i] += 0.1;
    const b = matrix(n, 1);
    const reference = solve(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, i * n + n))), Array.from(b));
    solveSpd(a, b, n).forEach((x, i) => expect(x).toBeCloseTo(reference[i], 9));
    expect(() => solveSpd(Float64Array.from([1, 2, 2, 1]), Float64Array.from([1, 1]), 2)).toThrow("solveSpd: the matrix is not positive definite (pivot 1");
  });
});
