// The teacher–student setting of Sorscher et al. (2022), where data pruning can be worked out
// exactly: inputs x ∈ R^d, labels from a fixed random "teacher" perceptron, y = [u·x > 0], and
// a linear "student" trained on (a pruned part of) the examples. Its test error against the
// teacher is a one-dimensional integral, computed here to ~1e-7 instead of estimated on a
// test set, so that learning curves are smooth enough to fit power laws to.
//
// One addition: the inputs may form two clusters centred at ±m·u (m = 0 is Sorscher et al.'s
// isotropic Gaussian). Natural data clusters by class, and that structure is what a label-free
// score such as the self-supervised prototype distance can find.
import { euclideanNorm, type Examples } from "./examples";
import type { SoftmaxClassifier } from "./classifier";
import { Random } from "../core/random";
import { checkFloat64Count, checkNumber, checkObject, checkPositiveInteger, refuse, shown } from "../core/checks";

export interface TeacherStudentOptions {
  /** Examples to draw. */
  n: number;
  /** Cluster centres at ±clusterSeparation·u, in units of the unit noise; 0 for isotropic N(0, I). Default 0. */
  clusterSeparation?: number;
  /** Fraction of labels flipped at random (the test error is still measured against the teacher). Default 0. */
  labelNoise?: number;
  seed: number;
}

/** Teacher–student examples: inputs, observed (possibly flipped) labels, and which were flipped. */
export interface TeacherStudentData extends Examples {
  /** The teacher's label of every example, before noise. */
  cleanLabels: Int32Array;
  /** 1 where the observed label was flipped. */
  flipped: Uint8Array;
  /** Signed distance of each input from the teacher's boundary, u·x (the true margin). */
  teacherMargin: Float64Array;
}

/** A teacher perceptron: a unit vector drawn uniformly on the sphere in R^inputDim. */
export function makeTeacher(inputDim: number, seed: number): Float64Array {
  checkPositiveInteger("makeTeacher", "inputDim", inputDim);
  checkFloat64Count("makeTeacher", `a teacher of inputDim ${inputDim}`, inputDim);
  const r = new Random(seed);
  const u = Float64Array.from({ length: inputDim }, () => r.normal());
  const norm = euclideanNorm(u);
  for (let i = 0; i < inputDim; i++) u[i] /= norm;
  return u;
}

export function checkTeacher(fn: string, teacher: Float64Array): void {
  if (!(teacher instanceof Float64Array) || teacher.length === 0) throw new Error(`${fn}: teacher must be a non-empty Float64Array (from makeTeacher)`);
  let norm = 0;
  for (const v of teacher) norm += v * v;
  if (!(Math.abs(norm - 1) < 1e-9)) throw new Error(`${fn}: teacher must be a unit vector; its norm is ${Math.sqrt(norm)}`);
}

export function separationOf(fn: string, value: number | undefined): number {
  const m = value ?? 0;
  checkNumber(fn, "clusterSeparation", m, 0);
  return m;
}

/** Draws `n` examples labelled by the teacher: x = s·m·u + z, s = ±1, z ~ N(0, I); y = [u·x > 0], flipped with probability labelNoise. */
export function teacherStudentData(teacher: Float64Array, options: TeacherStudentOptions): TeacherStudentData {
  const fn = "teacherStudentData";
  checkTeacher(fn, teacher);
  checkObject(fn, "options", options, "{n, seed}");
  const { n, seed } = options;
  checkPositiveInteger(fn, "n", n);
  checkFloat64Count(fn, `the inputs of ${n} examples of dim ${teacher.length}`, n * teacher.length);
  const m = separationOf(fn, options.clusterSeparation);
  const noise = options.labelNoise ?? 0;
  if (!(noise >= 0 && noise <= 0.5)) throw new Error(`${fn}: labelNoise must be in [0, 0.5]; got ${shown(noise)}`);
  const d = teacher.length;
  const r = new Random(seed);
  const x = new Float64Array(n * d);
  const labels = new Int32Array(n), cleanLabels = new Int32Array(n), flipped = new Uint8Array(n), teacherMargin = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = r.next() < 0.5 ? -1 : 1;
    let t = 0;
    for (let j = 0; j < d; j++) {
      const v = r.normal() + s * m * teacher[j];
      x[i * d + j] = v;
      t += v * teacher[j];
    }
    teacherMargin[i] = t;
    cleanLabels[i] = t > 0 ? 1 : 0;
    flipped[i] = r.next() < noise ? 1 : 0;
    labels[i] = flipped[i] ? 1 - cleanLabels[i] : cleanLabels[i];
  }
  return { x, labels, dim: d, classes: 2, cleanLabels, flipped, teacherMargin };
}

/** Standard normal CDF Φ, through erfc (Numerical Recipes' erfcc: relative error < 1.2e-7 everywhere). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) refuse("normalCdf", "x", x, "a number (±Infinity give 0 and 1)");
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
    t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - 0.5 * erfc : 0.5 * erfc;
}

/**
 * Test error of a linear student (w, c) against the teacher u on fresh inputs from the same
 * distribution: P(sign(w·x + c) ≠ sign(u·x)). Write w = a·u + b·v with v ⊥ u; given the true
 * margin t = u·x, the student's score is a·t + c + b·g with g ~ N(0, 1) independent of t, so
 *   error = ∫ p(t) · Φ(−sign(t)·(a·t + c)/b) dt,   p(t) = ½N(t; m, 1) + ½N(t; −m, 1).
 * For m = 0 and c = 0 this is Sorscher et al.'s arccos(R)/π with R = a/‖w‖.
 */
export function linearStudentError(weights: Float64Array, bias: number, teacher: Float64Array, clusterSeparation = 0): number {
  const fn = "linearStudentError";
  checkTeacher(fn, teacher);
  if (weights.length !== teacher.length) throw new Error(`${fn}: the student has ${weights.length} weights but the teacher ${teacher.length}`);
  checkNumber(fn, "bias", bias);
  const m = separationOf(fn, clusterSeparation);
  let a = 0, ww = 0;
  for (let i = 0; i < teacher.length; i++) { a += weights[i] * teacher[i]; ww += weights[i] * weights[i]; }
  if (!Number.isFinite(ww)) throw new Error(`${fn}: the student's weights are not finite`);
  const b = Math.sqrt(Math.max(0, ww - a * a));
  const density = (t: number) => 0.5 * (Math.exp(-0.5 * (t - m) ** 2) + Math.exp(-0.5 * (t + m) ** 2)) / Math.sqrt(2 * Math.PI);
  const wrong = (t: number) => {
    const s = a * t + bias;
    if (b === 0) return (t > 0 ? s <= 0 : s > 0) ? 1 : 0;
    return normalCdf(t > 0 ? -s / b : s / b);
  };
  // Simpson's rule on each side of the jump at t = 0, fine enough to resolve the student's
  // transition width b/|a| (the integrand's steepest feature).
  const limit = m + 12;
  const width = Math.abs(a) > 0 ? b / Math.abs(a) : Infinity;
  const steps = 2 * Math.ceil(Math.min(200_000, Math.max(2_000, (8 * limit) / Math.min(width, 0.01))) / 2);
  let total = 0;
  for (const [lo, hi] of [[-limit, 0], [0, limit]]) {
    const h = (hi - lo) / steps;
    // Evaluate just inside the interval at its ends so that the jump at 0 lands on the right side.
    const f = (k: number) => {
      const t = k === 0 ? lo + 1e-12 : k === steps ? hi - 1e-12 : lo + k * h;
      return density(t) * wrong(t);
    };
    let sum = f(0) + f(steps);
    for (let k = 1; k < steps; k++) sum += (k % 2 === 1 ? 4 : 2) * f(k);
    total += (sum * h) / 3;
  }
  return total;
}

/** The effective linear rule of a 2-class linear softmax classifier: w = W₁ − W₀, c = b₁ − b₀. */
export function linearRule(model: SoftmaxClassifier): { weights: Float64Array; bias: number } {
  const { inputDim: d, classes, hidden } = model.config;
  if (hidden !== 0 || classes !== 2) throw new Error(`linearRule: needs a linear 2-class classifier; got hidden ${hidden}, classes ${classes}`);
  const p = model.params;
  const weights = Float64Array.from({ length: d }, (_, i) => p[d + i] - p[i]);
  return { weights, bias: p[2 * d + 1] - p[2 * d] };
}

/** Test error of a linear 2-class softmax student against the teacher (see linearStudentError). */
export function teacherStudentError(model: SoftmaxClassifier, teacher: Float64Array, clusterSeparation = 0): number {
  const { weights, bias } = linearRule(model);
  return linearStudentError(weights, bias, teacher, clusterSeparation);
}
