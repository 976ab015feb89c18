// Input checks of the scaling-law fits on {N, D, loss} points. A fit on a NaN, a zero or
// identical points fails far from its cause (as a NaN parameter, or a "converged" nonsense
// fit), so every fit checks its points first and names the offending value.
import { checkEnough, checkPositive, shown } from "../core/checks";

/** One training run: N parameters, trained on D tokens, reached this (validation) loss. */
export interface ScalingPoint {
  N: number;
  D: number;
  loss: number;
}

/** Checks {N, D, loss} points: enough for the parameters, every field finite and positive. */
export function checkPoints(fn: string, points: readonly ScalingPoint[], parameters: readonly string[]): void {
  if (!Array.isArray(points)) throw new Error(`${fn}: points must be an array of {N, D, loss}; got ${typeof points}`);
  checkEnough(fn, points.length, parameters, "points");
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (p == null || typeof p !== "object") throw new Error(`${fn}: points[${i}] = ${shown(p)} must be an object {N, D, loss}`);
    checkPositive(fn, `points[${i}].N`, p.N);
    checkPositive(fn, `points[${i}].D`, p.D);
    checkPositive(fn, `points[${i}].loss`, p.loss);
  }
}

/** Distinct N, distinct D and distinct (N, D) pairs among the points. */
function spread(points: readonly ScalingPoint[]): { N: number; D: number; pairs: number } {
  return { N: new Set(points.map((p) => p.N)).size, D: new Set(points.map((p) => p.D)).size, pairs: new Set(points.map((p) => `${p.N} ${p.D}`)).size };
}

/** Whether a law in N and D with these parameters can be fitted at all: both must vary, over enough distinct runs. */
export function hasSpread(points: readonly ScalingPoint[], parameters: readonly string[]): boolean {
  const s = spread(points);
  return s.N >= 2 && s.D >= 2 && s.pairs >= parameters.length;
}

/**
 * Throws unless N and D each take at least two values over at least as many distinct runs as
 * parameters: on identical points every fit "converges" to one of infinitely many laws.
 */
export function checkSpread(fn: string, points: readonly ScalingPoint[], parameters: readonly string[]): void {
  if (hasSpread(points, parameters)) return;
  const s = spread(points);
  throw new Error(`${fn}: the points have ${s.N} distinct N, ${s.D} distinct D and ${s.pairs} distinct (N, D) runs; fitting ${parameters.length} parameters `
    + `(${parameters.join(", ")}) needs at least 2 distinct N, 2 distinct D and ${parameters.length} distinct runs`);
}
