// Zero-shot accuracy against the log of a concept's pretraining frequency:
//   accuracy ≈ intercept + slope · log10(frequency)
// (Udandarao et al. 2024). A straight line in log10 frequency means each further fixed gain in
// accuracy costs a fixed *factor* more data: 10^(gain / slope).
import { checkDistinct, checkFinite, checkPositive } from "../scaling/validate";

export interface LogLinearFit {
  /** Accuracy at frequency 1 (log10 f = 0). */
  intercept: number;
  /** Change in accuracy per tenfold more frequency. */
  slope: number;
  /** Coefficient of determination of the (weighted) line: 1 − SS_res / SS_tot. */
  r2: number;
  /** Points fitted. */
  n: number;
}

/**
 * Weighted least squares of y on log10(frequency). Weights (default 1 each) count how many
 * observations a point stands for, e.g. the concepts in a frequency bin: a point of weight 2 is
 * the same as the point twice.
 */
export function fitLogLinear(frequency: ArrayLike<number>, y: ArrayLike<number>, weights?: ArrayLike<number>): LogLinearFit {
  const fn = "fitLogLinear";
  if (frequency == null || y == null || typeof frequency.length !== "number" || typeof y.length !== "number") {
    throw new Error(`${fn}: frequency and y must be arrays of numbers; got ${typeof frequency} and ${typeof y}`);
  }
  if (frequency.length !== y.length) throw new Error(`${fn}: frequency has ${frequency.length} values but y has ${y.length}; they must have the same length`);
  if (weights !== undefined && weights.length !== y.length) throw new Error(`${fn}: weights has ${weights.length} values but y has ${y.length}`);
  const n = y.length;
  if (n < 2) throw new Error(`${fn}: needs at least 2 points to fit a line (intercept, slope); got ${n}`);
  for (let i = 0; i < n; i++) {
    checkPositive(fn, `frequency[${i}]`, frequency[i]);
    checkFinite(fn, `y[${i}]`, y[i]);
    if (weights !== undefined && !(Number.isFinite(weights[i]) && weights[i] > 0)) throw new Error(`${fn}: weights[${i}] = ${weights[i]} must be a finite positive number`);
  }
  checkDistinct(fn, "frequency", frequency, 2);
  const w = (i: number) => (weights === undefined ? 1 : weights[i]);
  let sw = 0, mx = 0, my = 0;
  for (let i = 0; i < n; i++) { sw += w(i); mx += w(i) * Math.log10(frequency[i]); my += w(i) * y[i]; }
  mx /= sw; my /= sw;
  let sxx = 0, sxy = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = Math.log10(frequency[i]) - mx, dy = y[i] - my;
    sxx += w(i) * dx * dx; sxy += w(i) * dx * dy; syy += w(i) * dy * dy;
  }
  const slope = sxy / sxx;
  const ssRes = Math.max(0, syy - slope * sxy);
  return { intercept: my - slope * mx, slope, r2: syy > 0 ? 1 - ssRes / syy : 1, n };
}

/** The fitted accuracy at a frequency. */
export function logLinearAt(fit: LogLinearFit, frequency: number): number {
  checkPositive("logLinearAt", "frequency", frequency);
  return fit.intercept + fit.slope * Math.log10(frequency);
}

/** How many times more data the fit says buys `gain` more accuracy: 10^(gain / slope). */
export function dataMultiplierForGain(fit: LogLinearFit, gain: number): number {
  checkPositive("dataMultiplierForGain", "gain", gain);
  if (!(fit.slope > 0)) throw new Error(`dataMultiplierForGain: the fit's slope is ${fit.slope}; more data buys accuracy only if the slope is positive`);
  return Math.pow(10, gain / fit.slope);
}

/** The frequency at which the fit reaches `accuracy`: 10^((accuracy − intercept) / slope). */
export function frequencyForAccuracy(fit: LogLinearFit, accuracy: number): number {
  checkFinite("frequencyForAccuracy", "accuracy", accuracy);
  if (!(fit.slope > 0)) throw new Error(`frequencyForAccuracy: the fit's slope is ${fit.slope}; no frequency reaches a higher accuracy unless the slope is positive`);
  return Math.pow(10, (accuracy - fit.intercept) / fit.slope);
}

export interface FrequencyBin {
  /** Frequencies in [low, high). */
  low: number;
  high: number;
  /** Items in the bin. */
  count: number;
  /** Geometric mean frequency of its items. */
  frequency: number;
  /** Mean value of its items (e.g. the fraction of concepts answered correctly). */
  mean: number;
}

/**
 * Groups items by frequency into bins of equal width in log10 (`perDecade` bins per factor of
 * ten, aligned on powers of ten) and averages their values; empty bins are left out. Items of
 * frequency 0 belong in no bin and are skipped.
 */
export function binByLogFrequency(frequency: ArrayLike<number>, values: ArrayLike<number>, perDecade = 2): FrequencyBin[] {
  const fn = "binByLogFrequency";
  if (frequency.length !== values.length) throw new Error(`${fn}: frequency has ${frequency.length} values but values has ${values.length}`);
  if (!(Number.isInteger(perDecade) && perDecade >= 1)) throw new Error(`${fn}: perDecade must be a positive integer; got ${perDecade}`);
  const bins = new Map<number, { logSum: number; sum: number; count: number }>();
  for (let i = 0; i < frequency.length; i++) {
    const f = frequency[i];
    if (!(Number.isFinite(f) && f >= 0)) throw new Error(`${fn}: frequency[${i}] = ${f} must be a finite number ≥ 0`);
    checkFinite(fn, `values[${i}]`, values[i]);
    if (f === 0) continue;
    // A small tolerance so that exact powers of ten land in the bin they open.
    const k = Math.floor(Math.log10(f) * perDecade + 1e-9);
    const b = bins.get(k) ?? { logSum: 0, sum: 0, count: 0 };
    b.logSum += Math.log10(f);
    b.sum += values[i];
    b.count++;
    bins.set(k, b);
  }
  return [...bins.entries()].sort((a, b) => a[0] - b[0]).map(([k, b]) => ({
    low: Math.pow(10, k / perDecade), high: Math.pow(10, (k + 1) / perDecade), count: b.count, frequency: Math.pow(10, b.logSum / b.count), mean: b.sum / b.count,
  }));
}
