// One-variable scaling laws: loss (or error) against one of parameters, data or compute.
//   fitPowerLaw:        y = a·x^(−α)        a straight line in log-log space, fitted in closed form
//   fitOffsetPowerLaw:  y = E + a·x^(−α)    the same with an irreducible floor E, fitted robustly
import { checkLbfgsOptions, minimizeLbfgs, type LbfgsOptions } from "./lbfgs";
import { checkDistinct, checkObjectiveArguments, checkPositive, checkSeries } from "./validate";

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
  checkSeries(fn, x, y, ["E", "a", "alpha"]);
  checkDistinct(fn, "x", x, 3);
  const delta = options.delta ?? 1e-3;
  checkPositive(fn, "delta", delta);
  checkLbfgsOptions(fn, options.lbfgs, "lbfgs.");
  const n = x.length;
  const logX = Float64Array.from({ length: n }, (_, i) => Math.log(x[i]));
  const logY = Float64Array.from({ length: n }, (_, i) => Math.log(y[i]));

  let starts: number[][];
  if (options.starts) {
    starts = options.starts.map((s, i) => {
      checkPositive(fn, `starts[${i}].E`, s.E);
      checkPositive(fn, `starts[${i}].a`, s.a);
      if (!Number.isFinite(s.alpha)) throw new Error(`${fn}: starts[${i}].alpha = ${s.alpha} must be finite`);
      return [Math.log(s.a), Math.log(s.E), s.alpha];
    });
    if (starts.length === 0) throw new Error(`${fn}: options.starts is empty; give at least one start or omit it`);
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

  const objective = (theta: Float64Array, grad: Float64Array) => offsetPowerLawObjective(logX, logY, theta, grad, delta);

  let best: { f: number; theta: Float64Array } | null = null;
  for (const start of starts) {
    const result = minimizeLbfgs(objective, start, options.lbfgs);
    if (best === null || result.f < best.f) best = { f: result.f, theta: result.x };
  }
  const [la, e, alpha] = best!.theta;
  return { E: Math.exp(e), a: Math.exp(la), alpha, loss: best!.f };
}

/**
 * fitOffsetPowerLaw's objective Σ Huber_δ(LSE(log a − α·log x, log E) − log y) at
 * θ = [log a, log E, α]; writes the gradient into `grad`. As in chinchillaObjective, with
 * softmax weights w_1, w_2 of the two terms: ∂/∂log a = Σ h·w_1, ∂/∂α = −Σ h·w_1·log x,
 * ∂/∂log E = Σ h·w_2, where h = Huber'(r).
 */
export function offsetPowerLawObjective(logX: Float64Array, logY: Float64Array, theta: ArrayLike<number>, grad: Float64Array | null, delta = 1e-3): number {
  checkObjectiveArguments("offsetPowerLawObjective", ["log a", "log E", "alpha"], theta, grad, delta);
  if (logX.length !== logY.length) throw new Error(`offsetPowerLawObjective: logX has ${logX.length} values but logY has ${logY.length}; they must have the same length`);
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
