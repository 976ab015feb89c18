// Input checks shared by the scaling-law fits. A fit on a NaN, a zero or a mismatched array
// fails far from its cause (as a NaN parameter, or a "converged" nonsense fit), so every
// public function checks its inputs first and names the offending value.
import { shown } from "../core/checks";

/** One training run: N parameters, trained on D tokens, reached this (validation) loss. */
export interface ScalingPoint {
  N: number;
  D: number;
  loss: number;
}

/** Throws unless `value` is a finite number > 0, naming it as `label` in `fn`'s error. */
export function checkPositive(fn: string, label: string, value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`${fn}: ${label} = ${shown(value)} must be a finite positive number`);
  }
  if (value <= 0) throw new Error(`${fn}: ${label} = ${shown(value)} must be positive`);
}

/** Throws unless `value` is a finite number. */
export function checkFinite(fn: string, label: string, value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`${fn}: ${label} = ${shown(value)} must be a finite number`);
  }
}

function enough(fn: string, count: number, parameters: readonly string[], what: string): void {
  if (count < parameters.length) {
    throw new Error(
      `${fn}: needs at least ${parameters.length} ${what} to fit ${parameters.length} parameters (${parameters.join(", ")}); got ${count}`,
    );
  }
}

/** Checks (x, y) series: same length, enough values for the parameters, all finite and positive. */
export function checkSeries(fn: string, x: ArrayLike<number>, y: ArrayLike<number>, parameters: readonly string[]): void {
  if (x == null || y == null || typeof x.length !== "number" || typeof y.length !== "number") {
    throw new Error(`${fn}: x and y must be arrays of numbers; got ${typeof x} and ${typeof y}`);
  }
  if (x.length !== y.length) {
    throw new Error(`${fn}: x has ${x.length} values but y has ${y.length}; they must have the same length`);
  }
  enough(fn, x.length, parameters, "points");
  for (let i = 0; i < x.length; i++) {
    checkPositive(fn, `x[${i}]`, x[i]);
    checkPositive(fn, `y[${i}]`, y[i]);
  }
}

/** Checks {N, D, loss} points: enough for the parameters, every field finite and positive. */
export function checkPoints(fn: string, points: readonly ScalingPoint[], parameters: readonly string[]): void {
  if (!Array.isArray(points)) throw new Error(`${fn}: points must be an array of {N, D, loss}; got ${typeof points}`);
  enough(fn, points.length, parameters, "points");
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (p == null || typeof p !== "object") throw new Error(`${fn}: points[${i}] = ${shown(p)} must be an object {N, D, loss}`);
    checkPositive(fn, `points[${i}].N`, p.N);
    checkPositive(fn, `points[${i}].D`, p.D);
    checkPositive(fn, `points[${i}].loss`, p.loss);
  }
}

/** Throws unless at least `needed` distinct values occur, since a fit along a single x is degenerate. */
export function checkDistinct(fn: string, label: string, values: ArrayLike<number>, needed: number): void {
  const distinct = new Set<number>();
  for (let i = 0; i < values.length && distinct.size < needed; i++) distinct.add(values[i]);
  if (distinct.size < needed) {
    throw new Error(`${fn}: ${label} has ${distinct.size} distinct value(s); needs at least ${needed} to fit`);
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

/**
 * The O(1) checks at the door of an objective (it runs inside L-BFGS, so nothing per point):
 * θ holds one value per parameter, `grad` has room for them, δ > 0.
 */
export function checkObjectiveArguments(fn: string, parameters: readonly string[], theta: ArrayLike<number>, grad: Float64Array | null, delta: number): void {
  if (theta == null || theta.length !== parameters.length) {
    throw new Error(`${fn}: theta must hold ${parameters.length} values [${parameters.join(", ")}]; got ${theta == null ? shown(theta) : `${theta.length}`}`);
  }
  if (grad !== null && grad !== undefined && !(grad.length >= parameters.length)) {
    throw new Error(`${fn}: grad must have room for ${parameters.length} values; got length ${grad.length}`);
  }
  if (!(typeof delta === "number" && delta > 0 && Number.isFinite(delta))) throw new Error(`${fn}: delta = ${shown(delta)} must be a finite positive number`);
}
