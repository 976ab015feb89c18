// Limited-memory BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed., algorithm 7.4 and
// 7.5) with a strong-Wolfe line search (algorithms 3.5 and 3.6, cubic interpolation).
//
// Written here rather than taken from npm: the kept JS optimisers either lack L-BFGS or pull in
// build tools as dependencies, and the Chinchilla fit runs this 4,500 times per fit, so the loop
// allocates nothing after setup. Stopping rules and defaults follow scipy's L-BFGS-B (m = 10,
// pgtol = 1e-5, factr·eps ≈ 2.2e-9, at most 20 evaluations per line search, 15,000 iterations),
// the optimiser Hoffmann et al. and most replications used.
import { checkNumber, checkObject, checkPositiveInteger, checkThat } from "./checks";

/** Writes ∇f(x) into `grad` and returns f(x). May return a non-finite value outside its domain. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** Correction pairs kept (the "limited memory"). Default 10. */
  memory?: number;
  /** Iteration cap. Default 15,000. */
  maxIterations?: number;
  /** Stop when max |∂f/∂x_i| ≤ this. Default 1e-5. */
  gradientTolerance?: number;
  /** Stop when (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ this. Default 2.22e-9. */
  relativeTolerance?: number;
  /** Function evaluations allowed per line search. Default 20. */
  maxLineSearchEvaluations?: number;
}

export type LbfgsStop = "gradient" | "relative-decrease" | "max-iterations" | "line-search";

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  gradient: Float64Array;
  iterations: number;
  evaluations: number;
  /** Why it stopped; "line-search" means no step decreased f (usually at the limit of precision). */
  stop: LbfgsStop;
  converged: boolean;
}

// Sufficient decrease and curvature constants for the strong Wolfe conditions (N&W p. 142).
const C1 = 1e-4;
const C2 = 0.9;

/**
 * Throws unless the L-BFGS options are usable, naming them as `prefix` + name in `fn`'s error
 * (fits pass their own name and "lbfgs.", so the message names what the caller passed).
 */
export function checkLbfgsOptions(fn: string, options: LbfgsOptions | undefined, prefix = ""): void {
  if (options === undefined) return;
  checkObject(fn, prefix ? prefix.slice(0, -1) : "options", options, "an object of L-BFGS options");
  const { memory, maxIterations, gradientTolerance, relativeTolerance, maxLineSearchEvaluations } = options;
  if (memory !== undefined) checkPositiveInteger(fn, `${prefix}memory`, memory);
  if (maxIterations !== undefined) {
    checkThat(maxIterations >= 0 && (Number.isInteger(maxIterations) || maxIterations === Infinity), fn, `${prefix}maxIterations`, maxIterations,
      "an integer ≥ 0, or Infinity for no cap");
  }
  if (maxLineSearchEvaluations !== undefined) checkPositiveInteger(fn, `${prefix}maxLineSearchEvaluations`, maxLineSearchEvaluations);
  if (gradientTolerance !== undefined) checkNumber(fn, `${prefix}gradientTolerance`, gradientTolerance, 0);
  if (relativeTolerance !== undefined) checkNumber(fn, `${prefix}relativeTolerance`, relativeTolerance, 0);
}

/** Minimises `f` from `x0`. Throws if f or its gradient is not finite at x0. */
export function minimizeLbfgs(f: Objective, x0: ArrayLike<number>, options: LbfgsOptions = {}): LbfgsResult {
  checkThat(typeof f === "function", "minimizeLbfgs", "f", f, "a function (x, grad) => f(x)");
  checkThat(x0 != null && typeof x0.length === "number", "minimizeLbfgs", "x0", x0, "an array of numbers");
  checkLbfgsOptions("minimizeLbfgs", options);
  const m = options.memory ?? 10;
  const maxIterations = options.maxIterations ?? 15_000;
  const gtol = options.gradientTolerance ?? 1e-5;
  const ftol = options.relativeTolerance ?? 2.220446049250313e-9;
  const maxEvals = options.maxLineSearchEvaluations ?? 20;

  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  const d = new Float64Array(n); // search direction
  const xt = new Float64Array(n); // trial point of the line search
  const gt = new Float64Array(n);
  const gLo = new Float64Array(n); // gradient at the best step of a zoom so far
  const gPrev = new Float64Array(n); // gradient at the previous step while extrapolating
  const S = new Float64Array(m * n); // s_i = x_{i+1} − x_i, row i of a ring buffer
  const Y = new Float64Array(m * n); // y_i = g_{i+1} − g_i
  const rho = new Float64Array(m);
  const alphas = new Float64Array(m);
  let stored = 0; // pairs in the ring
  let newest = -1; // ring index of the newest pair

  let fx = f(x, g);
  let evaluations = 1;
  if (!Number.isFinite(fx) || !allFinite(g)) {
    throw new Error(`minimizeLbfgs: f or its gradient is not finite at the start x0 = [${Array.from(x0).join(", ")}] (f = ${fx})`);
  }

  // φ(t) = f(x + t·d) into (xt, gt); returns φ(t) and leaves φ'(t) = gt·d in `slope`.
  let slope = 0;
  const phi = (t: number): number => {
    for (let i = 0; i < n; i++) xt[i] = x[i] + t * d[i];
    const ft = f(xt, gt);
    evaluations++;
    slope = dot(gt, d, n);
    return Number.isFinite(ft) && Number.isFinite(slope) ? ft : Infinity;
  };

  // Moves x to the last trial point.
  const accept = (ft: number): boolean => {
    x.set(xt);
    g.set(gt);
    fx = ft;
    return true;
  };

  // Strong-Wolfe line search from x along d; on success x, g and fx hold the new point.
  const lineSearch = (f0: number, slope0: number, tInit: number): boolean => {
    let evals = 0;
    let tPrev = 0;
    let fPrev = f0;
    let sPrev = slope0;
    let t = tInit;
    let tLo = 0, fLo = f0, sLo = slope0, tHi = 0, fHi = 0, sHi = 0;
    let zooming = false;
    while (evals < maxEvals) {
      if (!zooming) {
        const ft = phi(t);
        evals++;
        if (ft > f0 + C1 * t * slope0 || (tPrev > 0 && ft >= fPrev)) {
          tLo = tPrev; fLo = fPrev; sLo = sPrev; tHi = t; fHi = ft; sHi = slope;
          if (tPrev > 0) gLo.set(gPrev);
          zooming = true;
          continue;
        }
        if (Math.abs(slope) <= -C2 * slope0) return accept(ft);
        if (slope >= 0) {
          tLo = t; fLo = ft; sLo = slope; tHi = tPrev; fHi = fPrev; sHi = sPrev;
          gLo.set(gt);
          zooming = true;
          continue;
        }
        tPrev = t; fPrev = ft; sPrev = slope;
        gPrev.set(gt);
        t *= 4; // still descending steeply: try a longer step
        continue;
      }
      // Zoom: the interval between tLo and tHi contains a step satisfying the strong Wolfe conditions.
      const width = Math.abs(tHi - tLo);
      const lo = Math.min(tLo, tHi), hi = Math.max(tLo, tHi);
      let tj = Number.isFinite(fHi) ? cubicMinimizer(tLo, fLo, sLo, tHi, fHi, sHi) : NaN;
      if (!(tj >= lo + 0.1 * width && tj <= hi - 0.1 * width)) tj = 0.5 * (tLo + tHi);
      const fj = phi(tj);
      evals++;
      if (fj > f0 + C1 * tj * slope0 || fj >= fLo) {
        tHi = tj; fHi = fj; sHi = slope;
      } else {
        if (Math.abs(slope) <= -C2 * slope0) return accept(fj);
        if (slope * (tHi - tLo) >= 0) { tHi = tLo; fHi = fLo; sHi = sLo; }
        tLo = tj; fLo = fj; sLo = slope;
        gLo.set(gt);
      }
    }
    // Out of evaluations: take the best decreasing step found, if any.
    const tBest = zooming ? tLo : tPrev;
    const fBest = zooming ? fLo : fPrev;
    if (tBest > 0 && fBest < f0) {
      for (let i = 0; i < n; i++) x[i] += tBest * d[i];
      g.set(zooming ? gLo : gPrev);
      fx = fBest;
      return true;
    }
    return false;
  };

  const xOld = new Float64Array(n);
  const gOld = new Float64Array(n);
  let iterations = 0;
  let stop: LbfgsStop = "max-iterations";
  if (maxAbs(g) <= gtol) stop = "gradient";
  else {
    while (iterations < maxIterations) {
      twoLoopDirection();
      let slope0 = dot(g, d, n);
      if (!(slope0 < 0)) {
        // Not a descent direction (rounding in the memory): restart from steepest descent.
        stored = 0;
        twoLoopDirection();
        slope0 = dot(g, d, n);
      }
      // Without curvature information the first step has unit length, as in L-BFGS-B.
      const tInit = stored === 0 ? 1 / Math.sqrt(dot(d, d, n)) : 1;
      xOld.set(x);
      gOld.set(g);
      const fOld = fx;
      if (!lineSearch(fOld, slope0, tInit)) {
        if (stored > 0) {
          stored = 0; // the memory may be stale: retry once along −g
          continue;
        }
        stop = "line-search";
        break;
      }
      iterations++;
      // Store the correction pair if it has positive curvature (else BFGS would lose definiteness).
      const next = (newest + 1) % m;
      let sy = 0, yy = 0;
      for (let i = 0; i < n; i++) {
        const s = x[i] - xOld[i];
        const y = g[i] - gOld[i];
        S[next * n + i] = s;
        Y[next * n + i] = y;
        sy += s * y;
        yy += y * y;
      }
      if (sy > 2.220446049250313e-16 * yy) {
        rho[next] = 1 / sy;
        newest = next;
        stored = Math.min(stored + 1, m);
      }
      if ((fOld - fx) <= ftol * Math.max(Math.abs(fOld), Math.abs(fx), 1)) { stop = "relative-decrease"; break; }
      if (maxAbs(g) <= gtol) { stop = "gradient"; break; }
    }
  }
  return { x, f: fx, gradient: g, iterations, evaluations, stop, converged: stop === "gradient" || stop === "relative-decrease" };

  // d = −H·g by the two-loop recursion over the stored pairs, newest first.
  function twoLoopDirection(): void {
    for (let i = 0; i < n; i++) d[i] = -g[i];
    let k = newest;
    for (let j = 0; j < stored; j++) {
      const a = rho[k] * dotRow(S, k, d, n);
      alphas[k] = a;
      for (let i = 0; i < n; i++) d[i] -= a * Y[k * n + i];
      k = (k - 1 + m) % m;
    }
    if (stored > 0) {
      // Initial Hessian γI with γ = s·y / y·y of the newest pair (N&W eq. 7.20).
      let yy = 0;
      for (let i = 0; i < n; i++) yy += Y[newest * n + i] * Y[newest * n + i];
      const gamma = 1 / (rho[newest] * yy);
      for (let i = 0; i < n; i++) d[i] *= gamma;
    }
    k = (newest - stored + 1 + m) % m;
    for (let j = 0; j < stored; j++) {
      const b = rho[k] * dotRow(Y, k, d, n);
      const c = alphas[k] - b;
      for (let i = 0; i < n; i++) d[i] += c * S[k * n + i];
      k = (k + 1) % m;
    }
  }
}

/** Minimiser of the cubic matching f and f' at t1 and t2 (N&W eq. 3.59); NaN if it has none. */
function cubicMinimizer(t1: number, f1: number, s1: number, t2: number, f2: number, s2: number): number {
  const d1 = s1 + s2 - (3 * (f1 - f2)) / (t1 - t2);
  const disc = d1 * d1 - s1 * s2;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(t2 - t1) * Math.sqrt(disc);
  return t2 - ((t2 - t1) * (s2 + d2 - d1)) / (s2 - s1 + 2 * d2);
}

function dot(a: Float64Array, b: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

function dotRow(rows: Float64Array, row: number, b: Float64Array, n: number): number {
  let s = 0;
  const o = row * n;
  for (let i = 0; i < n; i++) s += rows[o + i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function allFinite(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}
