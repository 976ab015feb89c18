// Kaplan et al. 2020 ("Scaling Laws for Neural Language Models"), eq. 1.5: the joint law
//
//   L(N, D) = [ (N_c/N)^(α_N/α_D) + D_c/D ]^α_D
//
// which tends to (N_c/N)^α_N with unlimited data and to (D_c/D)^α_D with unlimited parameters.
// It has no irreducible floor, unlike Chinchilla's E + A/N^α + B/D^β.
//
// Fitted in log space like the Chinchilla law, in the variables θ = [p, q, log D_c, α_D] with
// q = α_N/α_D and p = q·log N_c, because then
//   log L = α_D · LSE(p − q·log N, log D_c − log D)
// is a log-sum-exp of terms linear in the parameters, which L-BFGS handles far better than the
// raw (N_c, D_c) that differ from N and D by many orders of magnitude.
import { checkObject, checkObjectiveArguments, checkPoints, checkPositive, checkSpread } from "../core/checks";
import { checkLbfgsOptions, minimizeLbfgs, type LbfgsOptions } from "../core/lbfgs";
import type { ScalingPoint } from "./point";

export interface KaplanParams {
  Nc: number;
  Dc: number;
  alphaN: number;
  alphaD: number;
}

export interface KaplanFit extends KaplanParams {
  /** The objective at the optimum: Σ Huber_δ of the log residuals. */
  loss: number;
}

export interface KaplanFitOptions {
  /** Huber threshold on log residuals. Default 1e-3, as in Hoffmann et al.'s fits. */
  delta?: number;
  lbfgs?: LbfgsOptions;
}

/** L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D; N, D and every parameter must be finite and positive. */
export function kaplanLoss(params: KaplanParams, N: number, D: number): number {
  const fn = "kaplanLoss";
  checkObject(fn, "params", params, "{Nc, Dc, alphaN, alphaD}");
  for (const key of ["Nc", "Dc", "alphaN", "alphaD"] as const) checkPositive(fn, `params.${key}`, params[key]);
  checkPositive(fn, "N", N);
  checkPositive(fn, "D", D);
  return Math.pow(Math.pow(params.Nc / N, params.alphaN / params.alphaD) + params.Dc / D, params.alphaD);
}

/**
 * The fit's objective Σ Huber_δ(log L̂ − log L) at θ = [p, q, log D_c, α_D]; writes the gradient
 * into `grad`. With u = p − q·log N, v = log D_c − log D, S = LSE(u, v), log L̂ = α_D·S and
 * softmax weights w_u, w_v:
 *   ∂/∂p = α_D·w_u, ∂/∂q = −α_D·w_u·log N, ∂/∂log D_c = α_D·w_v, ∂/∂α_D = S   (times Huber').
 * Infinite outside α_D > 0, q > 0, the law's domain, so that a line search backs off.
 */
export function kaplanObjective(
  data: { logN: Float64Array; logD: Float64Array; logLoss: Float64Array },
  theta: ArrayLike<number>,
  grad: Float64Array | null,
  delta = 1e-3,
): number {
  checkObjectiveArguments("kaplanObjective", ["p", "q", "log Dc", "alphaD"], theta, grad, delta);
  return objectiveAt(data, theta, grad, delta);
}

/** kaplanObjective without its checks: L-BFGS evaluates it many times on arguments fitKaplanJoint checked once. */
function objectiveAt(data: { logN: Float64Array; logD: Float64Array; logLoss: Float64Array }, theta: ArrayLike<number>, grad: Float64Array | null, delta: number): number {
  const p = theta[0], q = theta[1], lDc = theta[2], alphaD = theta[3];
  if (!(alphaD > 0 && q > 0)) return Infinity;
  const { logN, logD, logLoss } = data;
  let f = 0, gp = 0, gq = 0, gDc = 0, gA = 0;
  for (let i = 0; i < logN.length; i++) {
    const u = p - q * logN[i];
    const v = lDc - logD[i];
    const m = Math.max(u, v);
    const eu = Math.exp(u - m), ev = Math.exp(v - m);
    const s = eu + ev;
    const S = m + Math.log(s);
    const r = alphaD * S - logLoss[i];
    const h = Math.min(delta, Math.max(-delta, r)); // Huber'(r); Huber(r) = h·(r − h/2)
    f += h * (r - 0.5 * h);
    const hw = (h * alphaD) / s;
    gp += hw * eu;
    gq -= hw * eu * logN[i];
    gDc += hw * ev;
    gA += h * S;
  }
  if (grad) {
    grad[0] = gp; grad[1] = gq; grad[2] = gDc; grad[3] = gA;
  }
  return f;
}

/**
 * Fits eq. 1.5 by minimising Σ Huber_δ(log L̂ − log L) with L-BFGS from 144 starts, keeping
 * the best. Starts cross α_D ∈ {0.05, 0.1, 0.2, 0.4} with α_N/α_D ∈ {0.5, 0.8, 1.25, 2}; for each,
 * N_c and D_c are set so that either term alone predicts the data's typical loss at its
 * typical N and D, then shifted by e^−2, 1, e^2. α_D and α_N/α_D are kept positive.
 */
export function fitKaplanJoint(points: readonly ScalingPoint[], options: KaplanFitOptions = {}): KaplanFit {
  const fn = "fitKaplanJoint";
  checkPoints(fn, points, ["Nc", "Dc", "alphaN", "alphaD"]);
  checkSpread(fn, points, ["Nc", "Dc", "alphaN", "alphaD"]);
  const delta = options.delta ?? 1e-3;
  checkPositive(fn, "delta", delta);
  checkLbfgsOptions(fn, options.lbfgs, "lbfgs.");
  const logN = Float64Array.from(points, (p) => Math.log(p.N));
  const logD = Float64Array.from(points, (p) => Math.log(p.D));
  const logL = Float64Array.from(points, (p) => Math.log(p.loss));
  const mean = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length;
  const mN = mean(logN), mD = mean(logD), mL = mean(logL);

  const data = { logN, logD, logLoss: logL };
  const objective = (theta: Float64Array, grad: Float64Array) => objectiveAt(data, theta, grad, delta);

  let best: { f: number; theta: Float64Array } | null = null;
  for (const alphaD of [0.05, 0.1, 0.2, 0.4]) {
    for (const q of [0.5, 0.8, 1.25, 2]) {
      const alphaN = q * alphaD;
      // (N_c/N)^α_N = L at the typical point ⇒ log N_c = log N + log L / α_N; likewise for D_c.
      const lNc0 = mN + mL / alphaN, lDc0 = mD + mL / alphaD;
      for (const shiftN of [-2, 0, 2]) {
        for (const shiftD of [-2, 0, 2]) {
          const result = minimizeLbfgs(objective, [q * (lNc0 + shiftN), q, lDc0 + shiftD, alphaD], options.lbfgs);
          if (best === null || result.f < best.f) best = { f: result.f, theta: result.x };
        }
      }
    }
  }
  const [p, q, lDc, alphaD] = best!.theta;
  return { Nc: Math.exp(p / q), Dc: Math.exp(lDc), alphaN: q * alphaD, alphaD, loss: best!.f };
}
