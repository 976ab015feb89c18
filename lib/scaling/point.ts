// What the scaling-law fits read: one training run as a point {N, D, loss}. Their checks
// (checkPoints, checkSpread) live with every other input check in lib/core/checks.ts.

/** One training run: N parameters, trained on D tokens, reached this (validation) loss. */
export interface ScalingPoint {
  N: number;
  D: number;
  loss: number;
}
