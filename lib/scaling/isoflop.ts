// Hoffmann et al. 2022, approach 2 (IsoFLOP profiles): for each compute budget C, runs of
// several model sizes that each cost C; fit a parabola to loss against log N, take its minimum
// as N_opt(C); then fit N_opt ∝ C^a and D_opt ∝ C^b across budgets.
//
// A parabola is a second-order Taylor expansion of the true IsoFLOP curve around its minimum,
// so N_opt is biased when the sweep is wide or off-centre; `extrapolated` flags a minimum
// outside the sizes that were actually run.
import { checkNonEmpty, checkObject, checkPositive, checkThat } from "../core/checks";
import { fitPowerLaw } from "../core/numerics";
import type { ScalingPoint } from "./point";

/** A run; C is its budget in FLOPs, 6·N·D when omitted. */
export interface IsoflopPoint extends ScalingPoint {
  C?: number;
  /**
   * What the run cost when compute is counted otherwise than 6·N·D (attention and head included,
   * say). C still groups the runs by the budget they were planned at; with a cost on every run,
   * each budget's optimum is read at the cost and tokens of a run of size N_opt (see parabolaMinimum).
   */
  cost?: number;
}

export interface IsoflopOptions {
  /** The budgets of the sweeps; each point joins the nearest (in log C). Default: found by grouping. */
  budgets?: readonly number[];
  /** How far a run's C may be from its budget, relatively. Default 0.1 (10%). */
  tolerance?: number;
}

export interface IsoflopMinimum {
  /** The budget's compute: its C, or with costs the cost of a run of size N_opt. */
  C: number;
  /** Minimum of the parabola in log N, and the D = C/(6·N_opt) that goes with it (with costs: the tokens of a run of size N_opt). */
  Nopt: number;
  Dopt: number;
  /** The parabola's value at its minimum. */
  loss: number;
  /** Runs at this budget. */
  points: number;
  /** loss ≈ c0 + c1·x + c2·x², x = ln N − ln(centre); curvature c2 > 0. */
  parabola: { c0: number; c1: number; c2: number; centre: number };
  /** True if N_opt lies outside the range of N that was run (the parabola extrapolates). */
  extrapolated: boolean;
}

export interface IsoflopFit {
  minima: IsoflopMinimum[];
  /** N_opt ≈ nCoefficient · C^a. */
  a: number;
  nCoefficient: number;
  /** D_opt ≈ dCoefficient · C^b. */
  b: number;
  dCoefficient: number;
}

/** Groups runs by budget, fits a parabola per budget and power laws through the minima. */
export function isoflopFit(points: readonly IsoflopPoint[], options: IsoflopOptions = {}): IsoflopFit {
  const fn = "isoflopFit";
  checkThat(Array.isArray(points), fn, "points", points, "an array of {N, D, loss, C?}");
  const tolerance = options.tolerance ?? 0.1;
  checkPositive(fn, "tolerance", tolerance);
  if (options.budgets !== undefined) {
    const expected = "a non-empty array of compute budgets (or left out to group the runs by cost)";
    checkThat(Array.isArray(options.budgets), fn, "options.budgets", options.budgets, expected);
    checkNonEmpty(fn, "options.budgets", options.budgets, expected);
    options.budgets.forEach((C, i) => checkPositive(fn, `budgets[${i}]`, C));
  }
  const costs = points.map((p, i) => {
    checkObject(fn, `points[${i}]`, p, "an object {N, D, loss, C?}");
    checkPositive(fn, `points[${i}].N`, p.N);
    checkPositive(fn, `points[${i}].D`, p.D);
    checkPositive(fn, `points[${i}].loss`, p.loss);
    if (p.C !== undefined) checkPositive(fn, `points[${i}].C`, p.C);
    return p.C ?? 6 * p.N * p.D;
  });
  const groups = options.budgets ? groupByBudgets(fn, costs, options.budgets, tolerance) : groupByCost(costs, tolerance);
  if (groups.length < 2) {
    throw new Error(`${fn}: needs runs at 2 or more compute budgets to fit N_opt ∝ C^a; found ${groups.length}`);
  }
  const minima = groups.map(({ C, members }) => parabolaMinimum(fn, C, members.map((i) => points[i])));
  const nFit = fitPowerLaw(minima.map((m) => m.C), minima.map((m) => m.Nopt));
  const dFit = fitPowerLaw(minima.map((m) => m.C), minima.map((m) => m.Dopt));
  return { minima, a: -nFit.alpha, nCoefficient: nFit.a, b: -dFit.alpha, dCoefficient: dFit.a };
}

/** Fits loss = c0 + c1·x + c2·x², x = ln N − centre, by least squares; returns its minimum. */
export function parabolaMinimum(fn: string, C: number, runs: readonly ScalingPoint[]): IsoflopMinimum {
  const sizes = new Set(runs.map((r) => r.N));
  if (sizes.size < 3) {
    throw new Error(`${fn}: budget C = ${C.toExponential(3)} has ${sizes.size} distinct model size(s); a parabola needs at least 3`);
  }
  const xs = runs.map((r) => Math.log(r.N));
  const centre = xs.reduce((s, x) => s + x, 0) / xs.length; // centring keeps the normal equations well conditioned
  // Normal equations  [Σ1 Σx Σx²; Σx Σx² Σx³; Σx² Σx³ Σx⁴]·c = [Σy; Σxy; Σx²y].
  const M = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  const v = [0, 0, 0];
  runs.forEach((r, i) => {
    const x = xs[i] - centre;
    const powers = [1, x, x * x];
    for (let j = 0; j < 3; j++) {
      v[j] += powers[j] * r.loss;
      for (let k = 0; k < 3; k++) M[j][k] += powers[j] * powers[k];
    }
  });
  const [c0, c1, c2] = solve3(M, v);
  if (!(c2 > 0)) {
    throw new Error(`${fn}: loss at budget C = ${C.toExponential(3)} is not convex in log N (parabola curvature ${c2.toPrecision(3)} ≤ 0); no minimum to take`);
  }
  const x = -c1 / (2 * c2);
  const Nopt = Math.exp(centre + x);
  const lo = Math.min(...runs.map((r) => r.N)), hi = Math.max(...runs.map((r) => r.N));
  // With costs counted otherwise than 6ND, D and the cost vary along the budget's runs as powers of
  // N (each line fitted in log–log through them); read both at N_opt.
  const costs = runs.map((r) => (r as IsoflopPoint).cost);
  const withCosts = costs.every((c) => c !== undefined && c > 0);
  const atOptimum = (ys: number[]) => {
    const fit = fitPowerLaw(runs.map((r) => r.N), ys);
    return fit.a * Nopt ** -fit.alpha;
  };
  return {
    C: withCosts ? atOptimum(costs as number[]) : C, Nopt, Dopt: withCosts ? atOptimum(runs.map((r) => r.D)) : C / (6 * Nopt),
    loss: c0 + c1 * x + c2 * x * x, points: runs.length, parabola: { c0, c1, c2, centre }, extrapolated: Nopt < lo || Nopt > hi,
  };
}

/** Gaussian elimination with partial pivoting for a 3×3 system. */
function solve3(M: number[][], v: number[]): number[] {
  const A = M.map((row, i) => [...row, v[i]]);
  for (let col = 0; col < 3; col++) {
    let pivot = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(A[r][col]) > Math.abs(A[pivot][col])) pivot = r;
    [A[col], A[pivot]] = [A[pivot], A[col]];
    for (let r = col + 1; r < 3; r++) {
      const factor = A[r][col] / A[col][col];
      for (let k = col; k < 4; k++) A[r][k] -= factor * A[col][k];
    }
  }
  const c = [0, 0, 0];
  for (let r = 2; r >= 0; r--) {
    let s = A[r][3];
    for (let k = r + 1; k < 3; k++) s -= A[r][k] * c[k];
    c[r] = s / A[r][r];
  }
  return c;
}

interface Group {
  C: number;
  members: number[];
}

/** Each run joins the budget nearest in log C; it must be within `tolerance` of it. */
function groupByBudgets(fn: string, costs: number[], budgets: readonly number[], tolerance: number): Group[] {
  budgets.forEach((C, i) => checkPositive(fn, `budgets[${i}]`, C));
  const groups: Group[] = budgets.map((C) => ({ C, members: [] }));
  costs.forEach((c, i) => {
    let best = 0;
    for (let j = 1; j < budgets.length; j++) {
      if (Math.abs(Math.log(c / budgets[j])) < Math.abs(Math.log(c / budgets[best]))) best = j;
    }
    if (Math.abs(c / budgets[best] - 1) > tolerance) {
      throw new Error(
        `${fn}: points[${i}] costs C = ${c.toExponential(3)}, ${(100 * Math.abs(c / budgets[best] - 1)).toFixed(1)}% from the nearest budget ${budgets[best].toExponential(3)}; expected within ${100 * tolerance}%`,
      );
    }
    groups[best].members.push(i);
  });
  return groups.filter((g) => g.members.length > 0);
}

/** Sorts runs by cost and starts a new group whenever one costs more than (1 + tolerance)× the group's first. */
function groupByCost(costs: number[], tolerance: number): Group[] {
  const order = costs.map((_, i) => i).sort((i, j) => costs[i] - costs[j]);
  const groups: Group[] = [];
  for (const i of order) {
    const last = groups[groups.length - 1];
    if (last && costs[i] <= costs[last.members[0]] * (1 + tolerance)) last.members.push(i);
    else groups.push({ C: 0, members: [i] });
  }
  // A group's budget is the geometric mean of its runs' costs.
  for (const g of groups) g.C = Math.exp(g.members.reduce((s, i) => s + Math.log(costs[i]), 0) / g.members.length);
  return groups;
}
