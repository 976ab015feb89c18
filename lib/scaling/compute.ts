// Compute accounting and the compute-optimal allocation under a fitted Chinchilla law.
import { checkNumber, checkObject, checkPositive } from "../core/checks";
import { chinchillaLoss, type ChinchillaParams } from "./chinchilla";

/**
 * Training FLOPs ≈ 6·N·D: 2 per parameter per token for the forward pass (a multiply and an
 * add) and 4 for the backward pass (gradients for activations and for weights). Attention's
 * context-dependent FLOPs are left out, as Kaplan et al. and Hoffmann et al. do.
 */
export function trainingFlops(N: number, D: number): number {
  checkPositive("trainingFlops", "N", N);
  checkPositive("trainingFlops", "D", D);
  return 6 * N * D;
}

export interface ComputeOptimal {
  /** Compute budget in FLOPs. */
  C: number;
  N: number;
  D: number;
  /** Predicted loss at (N, D). */
  loss: number;
}

/**
 * The (N, D) minimising E + A/N^α + B/D^β subject to 6·N·D = C. Setting the derivative along
 * D = C/(6N) to zero gives αA·N^(−α) = βB·D^(−β), hence
 *   N_opt = G·(C/6)^(β/(α+β)),  D_opt = G^(−1)·(C/6)^(α/(α+β)),  G = (αA/(βB))^(1/(α+β)).
 */
export function computeOptimal(params: ChinchillaParams, C: number): ComputeOptimal {
  const fn = "computeOptimal";
  checkPositive(fn, "C", C);
  checkObject(fn, "params", params, "{E, A, B, alpha, beta}");
  checkPositive(fn, "A", params.A);
  checkPositive(fn, "B", params.B);
  checkPositive(fn, "alpha", params.alpha);
  checkPositive(fn, "beta", params.beta);
  checkNumber(fn, "E", params.E);
  const { A, B, alpha, beta } = params;
  const G = Math.pow((alpha * A) / (beta * B), 1 / (alpha + beta));
  const N = G * Math.pow(C / 6, beta / (alpha + beta));
  const D = Math.pow(C / 6, alpha / (alpha + beta)) / G;
  return { C, N, D, loss: chinchillaLoss(params, N, D) };
}
