// Model-wise double descent in the smallest setting where it appears: regression on p random
// ReLU features of the input, fitted by minimum-norm least squares (Belkin et al. 2019;
// Mei & Montanari 2019). Test error rises as p approaches the number of training points n,
// where the fit must interpolate noisy labels with a barely invertible system, then falls again
// as more features let it interpolate with a smaller norm. Float64 throughout.
import { checkAllFinite, checkFloat64Count, checkNonEmpty, checkNumber, checkObject, checkPositiveInteger, checkThat } from "../core/checks";
import { quantile, solveSpd } from "../core/numerics";
import { Random } from "../core/random";

/**
 * Ridge regression weights for features Φ [n, p] and targets y [n], with penalty λ:
 * for p ≤ n, (ΦᵀΦ + λI)⁻¹Φᵀy; for p > n, Φᵀ(ΦΦᵀ + λI)⁻¹y (the same function of λ, cheaper).
 * As λ → 0 with p > n this is the minimum-norm interpolating solution.
 */
export function ridgeWeights(phi: Float64Array, y: Float64Array, n: number, p: number, lambda: number): Float64Array {
  if (phi.length !== n * p || y.length !== n) throw new Error(`ridgeWeights: expected Φ of ${n}×${p} and ${n} targets; got ${phi.length} and ${y.length} values`);
  checkLambda("ridgeWeights", lambda);
  checkAllFinite("ridgeWeights", "Φ", phi);
  checkAllFinite("ridgeWeights", "y", y);
  checkFloat64Count("ridgeWeights", `the ${Math.min(n, p)}×${Math.min(n, p)} system`, Math.min(n, p) ** 2);
  return ridgeUnchecked(phi, y, n, p, lambda);
}

function checkLambda(fn: string, lambda: number): void {
  checkThat(lambda > 0 && Number.isFinite(lambda), fn, "lambda", lambda, "positive and finite (use a tiny one for the minimum-norm limit)");
}

/** ridgeWeights without its checks, for randomFeaturesTestError: its features and targets are finite by construction and its sizes were checked once. */
function ridgeUnchecked(phi: Float64Array, y: Float64Array, n: number, p: number, lambda: number): Float64Array {
  if (p <= n) {
    const g = new Float64Array(p * p);
    const rhs = new Float64Array(p);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < p; a++) {
        const va = phi[i * p + a];
        rhs[a] += va * y[i];
        for (let b = 0; b <= a; b++) g[a * p + b] += va * phi[i * p + b];
      }
    }
    for (let a = 0; a < p; a++) {
      g[a * p + a] += lambda;
      for (let b = 0; b < a; b++) g[b * p + a] = g[a * p + b];
    }
    return solveSpd(g, rhs, p);
  }
  const k = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let a = 0; a < p; a++) dot += phi[i * p + a] * phi[j * p + a];
      k[i * n + j] = dot;
      k[j * n + i] = dot;
    }
    k[i * n + i] += lambda;
  }
  const alpha = solveSpd(k, y, n);
  const w = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let a = 0; a < p; a++) w[a] += phi[i * p + a] * alpha[i];
  return w;
}

export interface DoubleDescentOptions {
  /** Training points. */
  nTrain: number;
  nTest: number;
  /** Input dimension. */
  inputDim: number;
  /** Standard deviation of the label noise. */
  noise: number;
  /** Ridge penalty (tiny for the minimum-norm fit). */
  lambda: number;
  seed: number;
}

/** ReLU random features: φ(x) = max(0, W x)/√p with W ~ N(0, 1/d). */
function features(x: Float64Array, rows: number, d: number, w: Float64Array, p: number): Float64Array {
  const out = new Float64Array(rows * p);
  const norm = 1 / Math.sqrt(p);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < p; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += w[j * d + k] * x[i * d + k];
      out[i * p + j] = dot > 0 ? dot * norm : 0;
    }
  }
  return out;
}

/**
 * Test mean squared error of random-features regression for each number of features p: the
 * target is a fixed linear function of Gaussian inputs plus label noise on the training set.
 */
export function randomFeaturesTestError(featureCounts: number[], o: DoubleDescentOptions): { p: number; trainMse: number; testMse: number }[] {
  checkFeatureInputs("randomFeaturesTestError", featureCounts, o);
  return testErrors(featureCounts, o);
}

/** The checks of randomFeaturesTestError: options, feature counts, and sizes that fit in memory (nTrain the largest to be used). */
function checkFeatureInputs(fn: string, featureCounts: number[], o: Omit<DoubleDescentOptions, "seed">): void {
  checkObject(fn, "options", o, "{nTrain, nTest, inputDim, noise, lambda, seed}");
  for (const [k, v] of Object.entries({ nTrain: o.nTrain, nTest: o.nTest, inputDim: o.inputDim })) {
    checkPositiveInteger(fn, `${k}`, v);
  }
  checkNumber(fn, "noise", o.noise, 0);
  checkLambda(fn, o.lambda);
  checkNonEmpty(fn, "featureCounts", featureCounts, "at least one number of features");
  for (const p of featureCounts) {
    checkThat(Number.isInteger(p) && p >= 1, fn, "feature counts", p, "positive integers");
  }
  const pLargest = Math.max(...featureCounts);
  for (const [what, count] of [
    [`the training inputs (nTrain ${o.nTrain} × inputDim ${o.inputDim})`, o.nTrain * o.inputDim],
    [`the test inputs (nTest ${o.nTest} × inputDim ${o.inputDim})`, o.nTest * o.inputDim],
    [`the feature weights (${pLargest} features × inputDim ${o.inputDim})`, pLargest * o.inputDim],
    [`the training features (nTrain ${o.nTrain} × ${pLargest} features)`, o.nTrain * pLargest],
    [`the test features (nTest ${o.nTest} × ${pLargest} features)`, o.nTest * pLargest],
    [`the ridge system (${Math.min(o.nTrain, pLargest)}×${Math.min(o.nTrain, pLargest)})`, Math.min(o.nTrain, pLargest) ** 2],
  ] as const) checkFloat64Count(fn, what, count);
}

/** randomFeaturesTestError past its checks, for the curves: they check once, then run every seed. */
function testErrors(featureCounts: number[], o: DoubleDescentOptions): { p: number; trainMse: number; testMse: number }[] {
  const r = new Random(o.seed);
  const d = o.inputDim;
  const teacher = Float64Array.from({ length: d }, () => r.normal() / Math.sqrt(d));
  const sample = (rows: number, noisy: boolean) => {
    const x = Float64Array.from({ length: rows * d }, () => r.normal());
    const y = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += teacher[k] * x[i * d + k];
      y[i] = dot + (noisy ? o.noise * r.normal() : 0);
    }
    return { x, y };
  };
  const train = sample(o.nTrain, true);
  const test = sample(o.nTest, false);
  const pMax = Math.max(...featureCounts);
  // Nested features: the model with p features uses the first p rows of one weight matrix.
  const wAll = Float64Array.from({ length: pMax * d }, () => r.normal() / Math.sqrt(d));
  return featureCounts.map((p) => {
    const w = wAll.subarray(0, p * d);
    const phiTrain = features(train.x, o.nTrain, d, w, p);
    const beta = ridgeUnchecked(phiTrain, train.y, o.nTrain, p, o.lambda);
    const mse = (phi: Float64Array, y: Float64Array, rows: number) => {
      let sum = 0;
      for (let i = 0; i < rows; i++) {
        let pred = 0;
        for (let j = 0; j < p; j++) pred += phi[i * p + j] * beta[j];
        sum += (pred - y[i]) ** 2;
      }
      return sum / rows;
    };
    return { p, trainMse: mse(phiTrain, train.y, o.nTrain), testMse: mse(features(test.x, o.nTest, d, w, p), test.y, o.nTest) };
  });
}

export interface CurvePoint {
  /** Features p (model-wise) or training points n (sample-wise). */
  x: number;
  /** Medians over seeds: at the threshold the mean is dominated by a few huge values (its expectation is infinite). */
  trainMse: number;
  testMse: number;
  /** 10th and 90th percentiles of the test error over seeds. */
  testLow: number;
  testHigh: number;
}

/** Median and 10th/90th percentiles over seeds of each point's errors. */
function summarise(xs: number[], perSeed: { trainMse: number; testMse: number }[][]): CurvePoint[] {
  return xs.map((x, i) => {
    const train = perSeed.map((s) => s[i].trainMse).sort((a, b) => a - b);
    const test = perSeed.map((s) => s[i].testMse).sort((a, b) => a - b);
    return { x, trainMse: quantile(train, 0.5), testMse: quantile(test, 0.5), testLow: quantile(test, 0.1), testHigh: quantile(test, 0.9) };
  });
}

function checkSeeds(fn: string, seeds: number, onSeed: unknown): void {
  checkPositiveInteger(fn, "seeds", seeds);
  checkThat(onSeed === undefined || typeof onSeed === "function", fn, "onSeed", onSeed, "a function (done, total) or omitted");
}

/** Throws unless `counts` is a non-empty list of positive integers; `what` names it. */
function checkCounts(fn: string, what: string, counts: number[]): void {
  checkThat(Array.isArray(counts), fn, what, counts, "a non-empty array of positive integers");
  checkNonEmpty(fn, what, counts, "a non-empty array of positive integers");
  counts.forEach((v, i) => {
    checkPositiveInteger(fn, `${what}[${i}]`, v);
  });
}

/**
 * Model-wise double descent over seeds 0 … seeds−1 (each a fresh teacher, data and features):
 * per feature count, the median and spread of the errors. `onSeed` reports progress.
 */
export function randomFeaturesCurve(
  featureCounts: number[], o: Omit<DoubleDescentOptions, "seed">, seeds: number, onSeed?: (done: number, total: number) => void,
): CurvePoint[] {
  checkSeeds("randomFeaturesCurve", seeds, onSeed);
  checkCounts("randomFeaturesCurve", "featureCounts", featureCounts);
  checkFeatureInputs("randomFeaturesCurve", featureCounts, o);
  const perSeed = Array.from({ length: seeds }, (_, seed) => {
    const errors = testErrors(featureCounts, { ...o, seed });
    onSeed?.(seed + 1, seeds);
    return errors;
  });
  return summarise(featureCounts, perSeed);
}

/**
 * Sample-wise double descent: a model of `features` random features fitted on each number of
 * training points in `trainCounts`. Near n = p more data makes the fit worse.
 */
export function randomFeaturesSampleCurve(
  trainCounts: number[], features: number, o: Omit<DoubleDescentOptions, "seed" | "nTrain">, seeds: number,
  onSeed?: (done: number, total: number) => void,
): CurvePoint[] {
  checkSeeds("randomFeaturesSampleCurve", seeds, onSeed);
  checkCounts("randomFeaturesSampleCurve", "trainCounts", trainCounts);
  checkPositiveInteger("randomFeaturesSampleCurve", "features", features);
  // The largest training set needs the most memory: checking it covers the others.
  checkFeatureInputs("randomFeaturesSampleCurve", [features], { ...o, nTrain: Math.max(...trainCounts) });
  const perSeed = Array.from({ length: seeds }, (_, seed) => {
    const errors = trainCounts.map((nTrain) => testErrors([features], { ...o, nTrain, seed })[0]);
    onSeed?.(seed + 1, seeds);
    return errors;
  });
  return summarise(trainCounts, perSeed);
}

/**
 * What p random ReLU features cannot represent of the linear target: the test error of their
 * least-squares fit on `samplesPerFeature`·p clean training points (no label noise), median over
 * seeds 0 … seeds−1. With that much data the fit is close to the best the features allow, so
 * what is left is misspecification, which a fit of few points sees as if it were label noise:
 * why the curve without label noise still peaks at p = n.
 */
export function misspecificationError(p: number, o: Omit<DoubleDescentOptions, "seed" | "nTrain" | "noise" | "lambda">, seeds: number, samplesPerFeature = 50): number {
  const fn = "misspecificationError";
  checkPositiveInteger(fn, "p", p);
  checkSeeds(fn, seeds, undefined);
  checkPositiveInteger(fn, "samplesPerFeature", samplesPerFeature);
  const options = { ...o, nTrain: samplesPerFeature * p, noise: 0, lambda: 1e-9 };
  checkFeatureInputs(fn, [p], options);
  const errors = Array.from({ length: seeds }, (_, seed) => testErrors([p], { ...options, seed })[0].testMse).sort((a, b) => a - b);
  return quantile(errors, 0.5);
}
