// Hoffmann et al. 2022 ("Training Compute-Optimal Large Language Models"), approach 3: fit
//
//   L(N, D) = E + A / N^α + B / D^β
//
// exactly as the paper does (section 3.3 and its appendix on fitting): with A = exp(a), B = exp(b),
// E = exp(e), minimise
//
//   Σ_i Huber_δ( LSE(a − α·log N_i, b − β·log D_i, e) − log L_i ),   δ = 1e-3,
//
// by L-BFGS from every start of a grid, and keep the best. Log space makes the fit care about
// relative errors (small and large models count alike); Huber with a small δ makes it nearly an
// L1 fit, so a few diverged or mis-logged runs do not drag it; the grid is there because the
// objective has flat directions and local minima.
import { checkNonEmpty, checkNumber, checkObject, checkObjectiveArguments, checkPoints, checkPositive, checkSpread, checkThat, refuse } from "../core/checks";
import { checkLbfgsOptions, minimizeLbfgs, type LbfgsOptions } from "../core/lbfgs";
import type { ScalingPoint } from "./point";

export interface ChinchillaParams {
  E: number;
  A: number;
  B: number;
  alpha: number;
  beta: number;
}

export interface ChinchillaFit extends ChinchillaParams {
  /** The objective at the optimum: Σ Huber_δ of the log residuals. */
  loss: number;
  /** L-BFGS starts tried. */
  starts: number;
  /** Objective evaluations over all starts (the fit's cost). */
  evaluations: number;
}

/** Start values for each parameter; every combination is one L-BFGS start. */
export interface ChinchillaGrid {
  alpha: readonly number[];
  beta: readonly number[];
  e: readonly number[];
  a: readonly number[];
  b: readonly number[];
}

const range = (from: number, to: number, step: number): number[] =>
  Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => from + i * step);

/** The paper's grid: α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25}: 4,500 starts. */
export const HOFFMANN_GRID: ChinchillaGrid = {
  alpha: range(0, 2, 0.5),
  beta: range(0, 2, 0.5),
  e: range(-1, 1, 0.5),
  a: range(0, 25, 5),
  b: range(0, 25, 5),
};

/**
 * A 3·3·3·3·3 = 243-start grid spanning the same box, for bootstrap resamples (where the
 * full-data optimum is added as one more start, so the fit rarely depends on the grid) and
 * for quick looks. On well-spread data it finds the same optimum as the full grid.
 */
export const REDUCED_GRID: ChinchillaGrid = {
  alpha: [0, 1, 2],
  beta: [0, 1, 2],
  e: [-1, 0, 1],
  a: [0, 10, 20],
  b: [0, 10, 20],
};

export interface ChinchillaFitOptions {
  /** Huber threshold on log residuals. Default 1e-3 (the paper's). */
  delta?: number;
  /** Grid of starts. Default HOFFMANN_GRID (4,500 starts). */
  grid?: ChinchillaGrid;
  /** Further starts, e.g. a previous fit, tried in addition to the grid. */
  extraStarts?: readonly ChinchillaParams[];
  lbfgs?: LbfgsOptions;
}

/** log N, log D, log L of the points, as the objective's loops want them. */
export interface ChinchillaData {
  logN: Float64Array;
  logD: Float64Array;
  logLoss: Float64Array;
}

export const CHINCHILLA_PARAMETERS = ["E", "A", "B", "alpha", "beta"] as const;

/**
 * Throws unless `params` holds the five numbers of a Chinchilla law, naming them as `label`.E
 * etc.; with `positive`, E, A and B must be > 0 (as a fit's are: they are exponentials).
 */
export function checkChinchillaParams(fn: string, params: ChinchillaParams, label: string, positive = false): void {
  checkObject(fn, label, params, "{E, A, B, alpha, beta}");
  for (const key of CHINCHILLA_PARAMETERS) {
    if (positive && (key === "E" || key === "A" || key === "B")) checkPositive(fn, `${label}.${key}`, params[key]);
    else checkNumber(fn, `${label}.${key}`, params[key]);
  }
}

/** L(N, D) = E + A/N^α + B/D^β. */
export function chinchillaLoss(params: ChinchillaParams, N: number, D: number): number {
  checkChinchillaParams("chinchillaLoss", params, "params");
  checkPositive("chinchillaLoss", "N (parameters)", N);
  checkPositive("chinchillaLoss", "D (tokens)", D);
  return params.E + params.A / Math.pow(N, params.alpha) + params.B / Math.pow(D, params.beta);
}

/** log N, log D and log loss of the points (each field a finite positive number). */
export function chinchillaData(points: readonly ScalingPoint[]): ChinchillaData {
  checkPoints("chinchillaData", points, []);
  return dataOf(points);
}

/** chinchillaData without its checks, for fitChinchilla: it checked the points already. */
function dataOf(points: readonly ScalingPoint[]): ChinchillaData {
  return {
    logN: Float64Array.from(points, (p) => Math.log(p.N)),
    logD: Float64Array.from(points, (p) => Math.log(p.D)),
    logLoss: Float64Array.from(points, (p) => Math.log(p.loss)),
  };
}

/**
 * The paper's objective at θ = [a, b, e, α, β]; writes its gradient into `grad` if given.
 *
 * With t = (a − α·log N, b − β·log D, e), s = Σ exp(t_k) and r = log s − log L per point,
 * ∂r/∂t_k = w_k = exp(t_k)/s (a softmax), so with h = Huber'(r) = clamp(r, −δ, δ):
 *   ∂/∂a = Σ h·w_1,  ∂/∂α = −Σ h·w_1·log N,  ∂/∂b = Σ h·w_2,  ∂/∂β = −Σ h·w_2·log D,  ∂/∂e = Σ h·w_3.
 */
export function chinchillaObjective(data: ChinchillaData, theta: ArrayLike<number>, grad: Float64Array | null, delta = 1e-3): number {
  checkObjectiveArguments("chinchillaObjective", ["a", "b", "e", "alpha", "beta"], theta, grad, delta);
  if (data == null || data.logD?.length !== data.logN?.length || data.logLoss?.length !== data.logN?.length) {
    refuse("chinchillaObjective", "data", data, "logN, logD and logLoss of one length (from chinchillaData)",
      `lengths ${data?.logN?.length}, ${data?.logD?.length} and ${data?.logLoss?.length}`);
  }
  return objectiveAt(data, theta, grad, delta);
}

/** chinchillaObjective without its checks: L-BFGS evaluates it thousands of times on arguments fitChinchilla checked once. */
function objectiveAt(data: ChinchillaData, theta: ArrayLike<number>, grad: Float64Array | null, delta: number): number {
  const a = theta[0], b = theta[1], e = theta[2], alpha = theta[3], beta = theta[4];
  const { logN, logD, logLoss } = data;
  const expE = Math.exp(e);
  let f = 0, ga = 0, gb = 0, ge = 0, galpha = 0, gbeta = 0;
  for (let i = 0; i < logN.length; i++) {
    const t1 = a - alpha * logN[i];
    const t2 = b - beta * logD[i];
    let p1 = Math.exp(t1), p2 = Math.exp(t2), p3 = expE;
    let s = p1 + p2 + p3;
    let lse: number;
    if (s > 0 && s < Infinity) {
      lse = Math.log(s);
    } else {
      // Overflow or underflow (far from any sensible fit, e.g. mid line search): shift by the max.
      const m = Math.max(t1, t2, e);
      p1 = Math.exp(t1 - m); p2 = Math.exp(t2 - m); p3 = Math.exp(e - m);
      s = p1 + p2 + p3;
      lse = m + Math.log(s);
    }
    const r = lse - logLoss[i];
    // Huber: h = Huber'(r) = clamp(r, −δ, δ), and Huber(r) = h·(r − h/2) in all three pieces
    // (r²/2 inside, δ·(|r| − δ/2) outside); written branch-free since r's side is unpredictable.
    const h = Math.min(delta, Math.max(-delta, r));
    f += h * (r - 0.5 * h);
    const hs = h / s;
    const h1 = hs * p1, h2 = hs * p2;
    ga += h1; galpha -= h1 * logN[i];
    gb += h2; gbeta -= h2 * logD[i];
    ge += hs * p3;
  }
  if (grad) {
    grad[0] = ga; grad[1] = gb; grad[2] = ge; grad[3] = galpha; grad[4] = gbeta;
  }
  return f;
}

/** The checks at fitChinchilla's door: the points, δ, the L-BFGS options and the grid. */
function checkFitInputs(fn: string, points: readonly ScalingPoint[], options: ChinchillaFitOptions): void {
  checkPoints(fn, points, CHINCHILLA_PARAMETERS);
  checkSpread(fn, points, CHINCHILLA_PARAMETERS);
  checkPositive(fn, "delta", options.delta ?? 1e-3);
  checkLbfgsOptions(fn, options.lbfgs, "lbfgs.");
  const grid = options.grid ?? HOFFMANN_GRID;
  for (const key of ["alpha", "beta", "e", "a", "b"] as const) {
    checkThat(Array.isArray(grid[key]), fn, `grid.${key}`, grid[key], "a non-empty array");
    checkNonEmpty(fn, `grid.${key}`, grid[key], "a non-empty array");
    grid[key].forEach((v, i) => checkNumber(fn, `grid.${key}[${i}]`, v));
  }
  (options.extraStarts ?? []).forEach((p, i) => checkChinchillaParams(fn, p, `extraStarts[${i}]`, true));
}

/** Fits L = E + A/N^α + B/D^β by the paper's procedure (see the top of this file). */
export function fitChinchilla(points: readonly ScalingPoint[], options: ChinchillaFitOptions = {}): ChinchillaFit {
  const fn = "fitChinchilla";
  checkFitInputs(fn, points, options);
  const delta = options.delta ?? 1e-3;
  const grid = options.grid ?? HOFFMANN_GRID;
  // L-BFGS runs in centred coordinates a' = a − α·mean(log N), b' = b − β·mean(log D): the same
  // objective and the same starts, but a' and α are far less correlated than a and α (log N ≈ 20
  // makes a − α·log N move together), so each start needs ~15% fewer evaluations.
  const data = dataOf(points);
  const meanN = data.logN.reduce((s, v) => s + v, 0) / data.logN.length;
  const meanD = data.logD.reduce((s, v) => s + v, 0) / data.logD.length;
  const centred: ChinchillaData = { logN: data.logN.map((v) => v - meanN), logD: data.logD.map((v) => v - meanD), logLoss: data.logLoss };
  const starts: number[][] = [];
  const addStart = (a: number, b: number, e: number, alpha: number, beta: number) => starts.push([a - alpha * meanN, b - beta * meanD, e, alpha, beta]);
  for (const alpha of grid.alpha) for (const beta of grid.beta) for (const e of grid.e) for (const a of grid.a) for (const b of grid.b) {
    addStart(a, b, e, alpha, beta);
  }
  for (const p of options.extraStarts ?? []) {
    addStart(Math.log(p.A), Math.log(p.B), Math.log(p.E), p.alpha, p.beta);
  }

  const objective = (theta: Float64Array, grad: Float64Array) => objectiveAt(centred, theta, grad, delta);
  let best: { f: number; theta: Float64Array } | null = null;
  let evaluations = 0;
  for (const start of starts) {
    const result = minimizeLbfgs(objective, start, options.lbfgs);
    evaluations += result.evaluations;
    // Strictly better only, so that ties keep the earlier start and the result is order-stable.
    if (best === null || result.f < best.f) best = { f: result.f, theta: result.x };
  }
  const [ac, bc, e, alpha, beta] = best!.theta;
  const a = ac + alpha * meanN, b = bc + beta * meanD;
  return { E: Math.exp(e), A: Math.exp(a), B: Math.exp(b), alpha, beta, loss: best!.f, starts: starts.length, evaluations };
}
