// Zero-shot accuracy against the log of a concept's pretraining frequency:
//   accuracy ≈ intercept + slope · log10(frequency)
// (Udandarao et al. 2024). A straight line in log10 frequency means each further fixed gain in
// accuracy costs a fixed *factor* more data: 10^(gain / slope).
import { checkDistinct, checkEnough, checkNumber, checkObject, checkPositive, checkPositiveInteger, checkSameLength, checkThat, refuse, shown } from "../core/checks";

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

/** The checks at fitLogLinear's door: series of one length, at least two distinct positive frequencies, finite y, positive weights. */
function checkLineInputs(fn: string, frequency: ArrayLike<number>, y: ArrayLike<number>, weights: ArrayLike<number> | undefined): void {
  checkThat(frequency != null && typeof frequency.length === "number", fn, "frequency", frequency, "an array of numbers");
  checkThat(y != null && typeof y.length === "number", fn, "y", y, "an array of numbers");
  checkSameLength(fn, "frequency", frequency, "y", y);
  if (weights !== undefined) checkSameLength(fn, "y", y, "weights", weights);
  checkEnough(fn, "frequency", y.length, ["intercept", "slope"], "points");
  for (let i = 0; i < y.length; i++) {
    checkPositive(fn, `frequency[${i}]`, frequency[i]);
    checkNumber(fn, `y[${i}]`, y[i]);
    if (weights !== undefined) checkPositive(fn, `weights[${i}]`, weights[i]);
  }
  checkDistinct(fn, "frequency", frequency, 2);
}

/**
 * Weighted least squares of y on log10(frequency). Weights (default 1 each) count how many
 * observations a point stands for, e.g. the concepts in a frequency bin: a point of weight 2 is
 * the same as the point twice.
 */
export function fitLogLinear(frequency: ArrayLike<number>, y: ArrayLike<number>, weights?: ArrayLike<number>): LogLinearFit {
  const fn = "fitLogLinear";
  checkLineInputs(fn, frequency, y, weights);
  const n = y.length;
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

/** Throws unless `fit` has a finite intercept and slope (as fitLogLinear's has). */
function checkLine(fn: string, fit: LogLinearFit): void {
  checkObject(fn, "fit", fit, "{ intercept, slope } (from fitLogLinear)");
  checkNumber(fn, "fit.intercept", fit.intercept);
  checkNumber(fn, "fit.slope", fit.slope);
}

/** The fitted accuracy at a frequency. */
export function logLinearAt(fit: LogLinearFit, frequency: number): number {
  checkLine("logLinearAt", fit);
  checkPositive("logLinearAt", "frequency", frequency);
  return fit.intercept + fit.slope * Math.log10(frequency);
}

/** How many times more data the fit says buys `gain` more accuracy: 10^(gain / slope). */
export function dataMultiplierForGain(fit: LogLinearFit, gain: number): number {
  checkLine("dataMultiplierForGain", fit);
  checkPositive("dataMultiplierForGain", "gain", gain);
  if (!(fit.slope > 0)) throw new Error(`dataMultiplierForGain: the fit's slope is ${fit.slope}; more data buys accuracy only if the slope is positive`);
  return Math.pow(10, gain / fit.slope);
}

/** The frequency at which the fit reaches `accuracy`: 10^((accuracy − intercept) / slope). */
export function frequencyForAccuracy(fit: LogLinearFit, accuracy: number): number {
  checkLine("frequencyForAccuracy", fit);
  checkNumber("frequencyForAccuracy", "accuracy", accuracy);
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
  checkSameLength(fn, "frequency", frequency, "values", values);
  checkPositiveInteger(fn, "perDecade", perDecade);
  const bins = new Map<number, { logSum: number; sum: number; count: number }>();
  for (let i = 0; i < frequency.length; i++) {
    const f = frequency[i];
    checkNumber(fn, `frequency[${i}]`, f, 0);
    checkNumber(fn, `values[${i}]`, values[i]);
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

/**
 * A sigmoid in log frequency, from chance to 100%: the shape accuracy must take once a frequency
 * range is wide enough to reach both the floor and the ceiling, where no straight line can hold.
 *   accuracy(f) = 100 · (chance + (1 − chance) · σ(steepness · (log10 f − midpoint)))
 */
export interface SigmoidFit {
  /** log10 of the frequency halfway between chance and 100%. */
  midpoint: number;
  /** Per decade of frequency, in σ's argument. */
  steepness: number;
  /** The floor, as a fraction (1/8 for one of eight answers). */
  chance: number;
  /** Log-likelihood of the items' right/wrong answers under the fit. */
  logLikelihood: number;
  n: number;
}

/**
 * Throws unless `fit` is a sigmoid: finite midpoint, finite steepness (non-zero where `fn`
 * divides by it: a flat sigmoid reaches no accuracy and has no linear range), chance in [0, 1).
 */
function checkSigmoid(fn: string, fit: SigmoidFit, nonZeroSteepness: boolean): void {
  checkObject(fn, "fit", fit, "{ midpoint, steepness, chance } (from fitSigmoidInLogFrequency)");
  checkNumber(fn, "fit.midpoint", fit.midpoint);
  checkNumber(fn, "fit.steepness", fit.steepness);
  if (nonZeroSteepness && fit.steepness === 0) refuse(fn, "fit.steepness", fit.steepness, "non-zero (0 is a flat line at chance)");
  checkThat(typeof fit.chance === "number" && fit.chance >= 0 && fit.chance < 1, fn, "fit.chance", fit.chance, "in [0, 1)");
}

/** sigmoidAt without the checks, for the fit's inner loop (its arguments checked once at its door). */
function sigmoidValue(midpoint: number, steepness: number, chance: number, frequency: number): number {
  return 100 * (chance + (1 - chance) / (1 + Math.exp(-steepness * (Math.log10(frequency) - midpoint))));
}

/** The fitted accuracy (percent) at a frequency. */
export function sigmoidAt(fit: SigmoidFit, frequency: number): number {
  checkSigmoid("sigmoidAt", fit, false);
  checkPositive("sigmoidAt", "frequency", frequency);
  return sigmoidValue(fit.midpoint, fit.steepness, fit.chance, frequency);
}

/** The frequency at which the sigmoid reaches `accuracy` percent (strictly between chance and 100). */
export function sigmoidFrequencyFor(fit: SigmoidFit, accuracy: number): number {
  checkSigmoid("sigmoidFrequencyFor", fit, true);
  const share = (accuracy / 100 - fit.chance) / (1 - fit.chance);
  if (!(share > 0 && share < 1)) throw new Error(`sigmoidFrequencyFor: accuracy must lie strictly between chance (${100 * fit.chance}%) and 100%; got ${accuracy}`);
  return Math.pow(10, fit.midpoint + Math.log(share / (1 - share)) / fit.steepness);
}

/**
 * Where the sigmoid is close to a straight line in log frequency: the frequencies over which its
 * slope is at least half its steepest, σ(1 − σ) ≥ 1/8, i.e. σ between 0.146 and 0.854.
 */
export function sigmoidLinearRange(fit: SigmoidFit): { from: number; to: number; steepestSlope: number } {
  checkSigmoid("sigmoidLinearRange", fit, true);
  const half = Math.log(3 + 2 * Math.SQRT2) / Math.abs(fit.steepness); // σ(z)(1 − σ(z)) = 1/8 at z = ±ln(3 + 2√2)
  return {
    from: Math.pow(10, fit.midpoint - half), to: Math.pow(10, fit.midpoint + half),
    steepestSlope: (100 * (1 - fit.chance) * fit.steepness) / 4, // points per decade at the midpoint
  };
}

/**
 * Log-likelihood of right/wrong answers when each item's chance of being right is p(frequency);
 * p may leave [0, 1] (a line does) and is clamped, but must be a number.
 */
export function answersLogLikelihood(frequency: ArrayLike<number>, right: ArrayLike<boolean>, p: (f: number) => number): number {
  const fn = "answersLogLikelihood";
  checkThat(frequency != null && typeof frequency.length === "number", fn, "frequency", frequency, "an array");
  checkThat(right != null && typeof right.length === "number", fn, "right", right, "an array");
  checkSameLength(fn, "frequency", frequency, "right", right);
  checkThat(typeof p === "function", fn, "p", p, "a function frequency => probability");
  return logLikelihood(frequency, right, p);
}

/** answersLogLikelihood past its door checks (lengths and p), for the fit's inner loop. */
function logLikelihood(frequency: ArrayLike<number>, right: ArrayLike<boolean>, p: (f: number) => number): number {
  let sum = 0;
  for (let i = 0; i < frequency.length; i++) {
    const v = p(frequency[i]);
    if (Number.isNaN(v)) throw new Error(`answersLogLikelihood: p(frequency[${i}] = ${shown(frequency[i])}) is NaN; it must return a probability`);
    const q = Math.min(Math.max(v, 1e-9), 1 - 1e-9); // a line can leave [0, 1]; clamp it
    sum += right[i] ? Math.log(q) : Math.log(1 - q);
  }
  return sum;
}

/**
 * The sigmoid of greatest likelihood for items answered right or wrong (one item, one answer: no
 * binning). Two parameters, so a grid over (midpoint, steepness) and three finer grids around the
 * best point find the maximum without a starting guess.
 */
export function fitSigmoidInLogFrequency(frequency: ArrayLike<number>, right: ArrayLike<boolean>, chance: number): SigmoidFit {
  const fn = "fitSigmoidInLogFrequency";
  checkSameLength(fn, "frequency", frequency, "right", right);
  if (frequency.length < 3) refuse(fn, "frequency", frequency, "at least 3 items", `${frequency.length} items`);
  checkThat(chance >= 0 && chance < 1, fn, "chance", chance, "in [0, 1)");
  for (let i = 0; i < frequency.length; i++) checkPositive(fn, `frequency[${i}]`, frequency[i]);
  checkDistinct(fn, "frequency", frequency, 2);
  const logs = Array.from(frequency, Math.log10);
  const [lo, hi] = [Math.min(...logs), Math.max(...logs)];
  const likelihood = (midpoint: number, steepness: number) =>
    logLikelihood(frequency, right, (f) => sigmoidValue(midpoint, steepness, chance, f) / 100);
  let best = { midpoint: (lo + hi) / 2, logSteepness: 0, value: -Infinity };
  let span = { midpoint: hi - lo + 2, logSteepness: 8 }; // midpoints a decade beyond the data; steepness 0.02 to 50
  for (let round = 0; round < 4; round++) {
    const center = { ...best };
    for (let a = 0; a <= 40; a++) {
      for (let b = 0; b <= 40; b++) {
        const midpoint = center.midpoint + span.midpoint * (a / 40 - 0.5);
        const logSteepness = center.logSteepness + span.logSteepness * (b / 40 - 0.5);
        const value = likelihood(midpoint, Math.exp(logSteepness));
        if (value > best.value) best = { midpoint, logSteepness, value };
      }
    }
    span = { midpoint: span.midpoint / 8, logSteepness: span.logSteepness / 8 };
  }
  return { midpoint: best.midpoint, steepness: Math.exp(best.logSteepness), chance, logLikelihood: best.value, n: frequency.length };
}
