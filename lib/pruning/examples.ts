// A labelled data set as the pruning toolkit sees it: one float64 row per example and an
// integer class per row. Every public function checks it at the door, so that a mismatched
// label count or an empty set fails with its numbers instead of as a NaN several calls later.
import { checkInteger, checkNonEmpty, checkPositiveInteger, refuse, shown } from "../core/checks";

/**
 * ‖v‖₂. Math.hypot(...v) for short vectors (as before, to the last bit); for long ones, whose
 * spread would overflow the call stack, a scaled sum of squares.
 */
export function euclideanNorm(v: Float64Array): number {
  if (v.length <= 10_000) return Math.hypot(...v);
  let largest = 0;
  for (let i = 0; i < v.length; i++) largest = Math.max(largest, Math.abs(v[i]));
  if (largest === 0 || !Number.isFinite(largest)) return largest;
  let sum = 0;
  for (let i = 0; i < v.length; i++) { const r = v[i] / largest; sum += r * r; }
  return largest * Math.sqrt(sum);
}

export interface Examples {
  /** Inputs, row-major [n, dim]. */
  x: Float64Array;
  /** Class of each example, in [0, classes). */
  labels: Int32Array;
  dim: number;
  classes: number;
}

/** Throws unless `data` is a non-empty, consistent labelled set; returns its number of examples. */
export function checkExamples(fn: string, data: Examples): number {
  if (data == null || !(data.x instanceof Float64Array) || !(data.labels instanceof Int32Array)) {
    refuse(fn, "data", data, "examples {x: Float64Array, labels: Int32Array, dim, classes}", data == null ? shown(data) : typeof data);
  }
  checkPositiveInteger(fn, "dim", data.dim);
  checkInteger(fn, "classes", data.classes, 2);
  const n = data.labels.length;
  checkNonEmpty(fn, "labels", data.labels, "at least one example");
  if (data.x.length !== n * data.dim) {
    refuse(fn, "x", data.x, `${n * data.dim} values (${n} labels, rows of dim ${data.dim})`, `${data.x.length} values, ${data.x.length / data.dim} rows`);
  }
  for (let i = 0; i < data.x.length; i++) {
    if (!Number.isFinite(data.x[i])) refuse(fn, `x[${Math.floor(i / data.dim)}][${i % data.dim}]`, data.x[i], "a finite number");
  }
  for (let i = 0; i < n; i++) {
    const y = data.labels[i];
    if (!(y >= 0 && y < data.classes)) refuse(fn, `labels[${i}]`, y, `a class in [0, ${data.classes})`);
  }
  return n;
}

/** The examples at `indices`, in that order. */
export function subsetExamples(data: Examples, indices: ArrayLike<number>): Examples {
  const n = checkExamples("subsetExamples", data);
  if (indices.length === 0) throw new Error("subsetExamples: no indices given; a training set needs at least one example");
  const d = data.dim;
  const x = new Float64Array(indices.length * d);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`subsetExamples: index ${shown(i)} (position ${k}) is outside [0, ${n})`);
    x.set(data.x.subarray(i * d, i * d + d), k * d);
    labels[k] = data.labels[i];
  }
  return { x, labels, dim: d, classes: data.classes };
}
