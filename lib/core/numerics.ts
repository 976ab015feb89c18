// The numerics more than one lesson needs, each with its tests in tests/numerics.test.ts:
//   quantile, percentileInterval   order statistics and bootstrap intervals
//   meanInterval                   a mean with its 95% Student-t interval
//   signTestP                      the one-sided sign test
//   solveSpd                       A x = b for a symmetric positive definite A, by Cholesky
//   fitPowerLaw:        y = a·x^(−α)        a straight line in log-log space, fitted in closed form
//   fitOffsetPowerLaw:  y = E + a·x^(−α)    the same with an irreducible floor E, fitted robustly
// (L-BFGS, which the fits share, is lib/core/lbfgs.ts.)
import { checkAllFinite, checkDistinct, checkInteger, checkLevel, checkNonEmpty, checkNumber, checkObjectiveArguments, checkPositive, checkPositiveInteger, checkProbability, checkSameLength, checkSeries, checkThat, refuse, shown } from "./checks";
import { checkLbfgsOptions, minimizeLbfgs, type LbfgsOptions } from "./lbfgs";

// ---------------------------------------------------------------------------------------------
// Power laws

export interface PowerLawFit {
  a: number;
  alpha: number;
  /** Coefficient of determination of the straight line in log-log space. */
  r2: number;
}

/**
 * y = a·x^(−α) by ordinary least squares on log y = log a − α·log x: every point counts by its
 * relative error, and the line is the closed-form regression.
 */
export function fitPowerLaw(x: ArrayLike<number>, y: ArrayLike<number>): PowerLawFit {
  const fn = "fitPowerLaw";
  checkSeries(fn, x, y, ["a", "alpha"]);
  checkDistinct(fn, "x", x, 2);
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += Math.log(x[i]); my += Math.log(y[i]); }
  mx /= n; my /= n;
  let sxx = 0, sxy = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = Math.log(x[i]) - mx, dy = Math.log(y[i]) - my;
    sxx += dx * dx; sxy += dx * dy; syy += dy * dy;
  }
  const slope = sxy / sxx;
  // Residual sum of squares of the regression line is syy − slope·sxy; clamp the rounding below 0.
  const ssRes = Math.max(0, syy - slope * sxy);
  return { a: Math.exp(my - slope * mx), alpha: -slope, r2: syy > 0 ? 1 - ssRes / syy : 1 };
}

export interface OffsetPowerLawFit {
  E: number;
  a: number;
  alpha: number;
  /** The objective at the optimum: Σ Huber_δ of the log residuals. */
  loss: number;
}

export interface OffsetPowerLawOptions {
  /** Huber threshold on log residuals. Default 1e-3, as in Hoffmann et al.'s fits. */
  delta?: number;
  /** Starts to try instead of the default data-adaptive ones. */
  starts?: readonly { E: number; a: number; alpha: number }[];
  lbfgs?: LbfgsOptions;
}

/**
 * y = E + a·x^(−α), fitted like Chinchilla's approach 3 in one variable: minimise
 * Σ Huber_δ(LSE(log a − α·log x, log E) − log y) by L-BFGS from several starts, keep the best.
 *
 * The default starts put the floor E at 1%, 50%, 90% and 99% of the smallest y and α across
 * 0.05…2, with a chosen so that the curve passes through the data's geometric mean: the fit
 * then works for any scale of x and y without hand-tuned starts.
 */
export function fitOffsetPowerLaw(x: ArrayLike<number>, y: ArrayLike<number>, options: OffsetPowerLawOptions = {}): OffsetPowerLawFit {
  const fn = "fitOffsetPowerLaw";
  checkOffsetFitInputs(fn, x, y, options);
  const delta = options.delta ?? 1e-3;
  const n = x.length;
  const logX = Float64Array.from({ length: n }, (_, i) => Math.log(x[i]));
  const logY = Float64Array.from({ length: n }, (_, i) => Math.log(y[i]));

  let starts: number[][];
  if (options.starts) {
    starts = options.starts.map((s) => [Math.log(s.a), Math.log(s.E), s.alpha]);
  } else {
    let minY = Infinity, meanLogX = 0, meanLogY = 0;
    for (let i = 0; i < n; i++) { minY = Math.min(minY, y[i]); meanLogX += logX[i] / n; meanLogY += logY[i] / n; }
    const yMid = Math.exp(meanLogY); // ≥ minY > every E below
    starts = [];
    for (const fraction of [0.01, 0.5, 0.9, 0.99]) {
      const E = fraction * minY;
      for (const alpha of [0.05, 0.1, 0.2, 0.35, 0.5, 1, 2]) starts.push([Math.log(yMid - E) + alpha * meanLogX, Math.log(E), alpha]);
    }
  }

  const objective = (theta: Float64Array, grad: Float64Array) => offsetObjectiveAt(logX, logY, theta, grad, delta);

  let best: { f: number; theta: Float64Array } | null = null;
  for (const start of starts) {
    const result = minimizeLbfgs(objective, start, options.lbfgs);
    if (best === null || result.f < best.f) best = { f: result.f, theta: result.x };
  }
  const [la, e, alpha] = best!.theta;
  return { E: Math.exp(e), a: Math.exp(la), alpha, loss: best!.f };
}

/** The checks at fitOffsetPowerLaw's door: the series, δ, the L-BFGS options and the starts. */
function checkOffsetFitInputs(fn: string, x: ArrayLike<number>, y: ArrayLike<number>, options: OffsetPowerLawOptions): void {
  checkSeries(fn, x, y, ["E", "a", "alpha"]);
  checkDistinct(fn, "x", x, 3);
  checkPositive(fn, "delta", options.delta ?? 1e-3);
  checkLbfgsOptions(fn, options.lbfgs, "lbfgs.");
  if (options.starts === undefined) return;
  options.starts.forEach((s, i) => {
    checkPositive(fn, `starts[${i}].E`, s.E);
    checkPositive(fn, `starts[${i}].a`, s.a);
    checkNumber(fn, `starts[${i}].alpha`, s.alpha);
  });
  checkNonEmpty(fn, "options.starts", options.starts, "at least one start (or left out)");
}

/**
 * fitOffsetPowerLaw's objective Σ Huber_δ(LSE(log a − α·log x, log E) − log y) at
 * θ = [log a, log E, α]; writes the gradient into `grad`. As in chinchillaObjective, with
 * softmax weights w_1, w_2 of the two terms: ∂/∂log a = Σ h·w_1, ∂/∂α = −Σ h·w_1·log x,
 * ∂/∂log E = Σ h·w_2, where h = Huber'(r).
 */
export function offsetPowerLawObjective(logX: Float64Array, logY: Float64Array, theta: ArrayLike<number>, grad: Float64Array | null, delta = 1e-3): number {
  checkObjectiveArguments("offsetPowerLawObjective", ["log a", "log E", "alpha"], theta, grad, delta);
  checkSameLength("offsetPowerLawObjective", "logX", logX, "logY", logY);
  return offsetObjectiveAt(logX, logY, theta, grad, delta);
}

/** offsetPowerLawObjective without its checks: L-BFGS evaluates it many times on arguments the fit checked once. */
function offsetObjectiveAt(logX: Float64Array, logY: Float64Array, theta: ArrayLike<number>, grad: Float64Array | null, delta: number): number {
  const la = theta[0], e = theta[1], alpha = theta[2];
  let f = 0, gla = 0, ge = 0, galpha = 0;
  for (let i = 0; i < logX.length; i++) {
    const t1 = la - alpha * logX[i];
    const m = Math.max(t1, e);
    const p1 = Math.exp(t1 - m), p2 = Math.exp(e - m);
    const s = p1 + p2;
    const r = m + Math.log(s) - logY[i];
    const h = Math.min(delta, Math.max(-delta, r)); // Huber'(r); Huber(r) = h·(r − h/2)
    f += h * (r - 0.5 * h);
    const hs = h / s;
    gla += hs * p1;
    galpha -= hs * p1 * logX[i];
    ge += hs * p2;
  }
  if (grad) {
    grad[0] = gla; grad[1] = ge; grad[2] = galpha;
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// Quantiles and intervals

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/** An estimate with the central `level` of bootstrap values around it (e.g. 0.9: their 5th to 95th percentiles). */
export function percentileInterval(estimate: number, values: readonly number[], level: number): Interval {
  const fn = "percentileInterval";
  checkLevel(fn, level);
  checkNonEmpty(fn, "values", values, "a non-empty array of numbers");
  for (let i = 0; i < values.length; i++) checkThat(typeof values[i] === "number" && !Number.isNaN(values[i]), fn, `values[${i}]`, values[i], "a number");
  // Sorted here from checked values, so the two quantiles need not check them again.
  const sorted = values.slice().sort((x, y) => x - y);
  return { estimate, low: quantileOfSorted(sorted, (1 - level) / 2), high: quantileOfSorted(sorted, (1 + level) / 2) };
}

/** The q-quantile of sorted values (ascending, no NaN), interpolating linearly between order statistics (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  checkNonEmpty("quantile", "sorted", sorted, "a non-empty array of numbers");
  checkProbability("quantile", "q", q);
  for (let i = 0; i < sorted.length; i++) {
    checkThat(typeof sorted[i] === "number" && !Number.isNaN(sorted[i]), "quantile", `sorted[${i}]`, sorted[i], "a number");
    if (i > 0 && sorted[i] < sorted[i - 1]) refuse("quantile", `sorted[${i}]`, sorted[i], `≥ sorted[${i - 1}] = ${shown(sorted[i - 1])} (the values sorted ascending)`);
  }
  return quantileOfSorted(sorted, q);
}

/** quantile without its checks, for values sorted and checked by the caller. */
function quantileOfSorted(sorted: readonly number[], q: number): number {
  const position = q * (sorted.length - 1);
  const lo = Math.floor(position), hi = Math.ceil(position);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
}

// Two-sided 95% quantiles of Student's t for 1 to 30 degrees of freedom (any statistics table).
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t such that P(|T| ≤ t) = 0.95 for Student's t with `df` degrees of freedom. */
export function tQuantile95(df: number): number {
  checkPositiveInteger("tQuantile95", "df", df);
  if (df <= T975.length) return T975[df - 1];
  // Beyond the table, the Cornish–Fisher expansion around the normal quantile (error < 1e-4 for df > 30).
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
}

export interface MeanInterval {
  mean: number;
  low: number;
  high: number;
  n: number;
}

/** The mean and its 95% t-interval; a single value has no interval (low = high = NaN). */
export function meanInterval(values: readonly number[]): MeanInterval {
  const n = values.length;
  checkNonEmpty("meanInterval", "values", values);
  checkAllFinite("meanInterval", "values", values);
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, low: NaN, high: NaN, n };
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile95(n - 1) * sd) / Math.sqrt(n);
  return { mean, low: mean - half, high: mean + half, n };
}

/**
 * One-sided sign test: the probability of `successes` or more of `trials` fair coin flips
 * coming up heads, i.e. of a pattern at least this one-sided if neither side were truly better.
 */
export function signTestP(successes: number, trials: number): number {
  checkInteger("signTestP", "trials", trials, 0);
  checkInteger("signTestP", "successes", successes, 0, trials);
  let p = 0, choose = 1; // C(trials, 0)
  for (let k = 0; k <= trials; k++) {
    if (k >= successes) p += choose;
    choose = (choose * (trials - k)) / (k + 1);
  }
  return p / 2 ** trials;
}

// ---------------------------------------------------------------------------------------------
// Linear algebra

/** Solves A x = b for a symmetric positive definite A (n × n, row-major) by Cholesky. */
export function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  if (a.length !== n * n || b.length !== n) throw new Error(`solveSpd: expected a ${n}×${n} matrix and ${n} values; got ${a.length} and ${b.length}`);
  checkAllFinite("solveSpd", "a", a);
  checkAllFinite("solveSpd", "b", b);
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j];
      for (let k = 0; k < j; k++) sum -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(sum > 0)) throw new Error(`solveSpd: the matrix is not positive definite (pivot ${i} is ${sum}); add ridge regularisation`);
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / l[j * n + j];
      }
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= l[i * n + k] * y[k];
    y[i] = sum / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i];
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i] * x[k];
    x[i] = sum / l[i * n + i];
  }
  return x;
}
