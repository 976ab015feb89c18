// What the unpruned student's exponent should be read against. Learning a teacher perceptron
// from n random examples in d dimensions (α = n/d, isotropic inputs), the exponent of the test
// error depends on how far the student is trained, not only on the data:
//   Hebbian      w = Σ yᵢxᵢ, one pass, no error correction: ε = arccos(R)/π with
//                R = √(2α/π) / √(1 + 2α/π), so ε ≈ 1/√(2πα) for large α, an exponent of 1/2;
//   converged    logistic regression minimised to convergence (with a vanishing L2 penalty it
//                tends to the maximum-margin separator, Rosset et al. 2004): ε ∝ 1/α, an exponent
//                of 1 (Opper et al. 1990; Aubin et al. 2020).
// SGD stopped after a few epochs from zero weights is close to the Hebbian rule: its first steps
// add up yᵢxᵢ. The converged student here is the lesson's own (a linear softmax classifier with
// a bias) minimised exactly by Newton's method, which SGD would reach only after very many epochs.
import { checkExamples, type Examples } from "./examples";
import { meanAndStandardError, streamPrefix } from "./experiment";
import { checkTeacher, linearStudentError, separationOf, teacherStudentData } from "./teacher";
import { checkFunction, checkNonEmpty, checkNumber, checkObject, checkPositiveInteger, checkThat } from "../core/checks";
import { solveSpd } from "../core/numerics";

/** Test error of the Hebbian student at α = n/d in the limit of large d, isotropic inputs (closed form). */
export function hebbianError(alpha: number): number {
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`hebbianError: alpha (examples per dimension) must be a finite number > 0; got ${alpha}`);
  const s = (2 * alpha) / Math.PI;
  return Math.acos(Math.sqrt(s / (1 + s))) / Math.PI;
}

/** The Hebbian student through the origin: w = Σ yᵢxᵢ with y = ±1 (label 1 → +1, label 0 → −1). */
export function hebbianStudent(data: Examples): Float64Array {
  const n = checkTwoClasses("hebbianStudent", data);
  const d = data.dim;
  const w = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const y = data.labels[i] === 1 ? 1 : -1;
    for (let j = 0; j < d; j++) w[j] += y * data.x[i * d + j];
  }
  return w;
}

export interface ConvergedStudentOptions {
  /** L2 penalty (l2/2)·‖θ‖² on the summed loss, bias included (on separable data a minimum exists only with l2 > 0). */
  l2: number;
  /** Stop when every component of the gradient is below tolerance × n. Default 1e-10. */
  tolerance?: number;
  /** Newton steps at most; not converged by then is an error. Default 100. */
  maxSteps?: number;
}

export interface ConvergedStudent {
  weights: Float64Array;
  bias: number;
  /** Newton steps taken. */
  steps: number;
  /** Largest component of the gradient at the end. */
  gradient: number;
  /** Training examples on the wrong side of the student's boundary. */
  trainingErrors: number;
}

/**
 * The 2-class linear student at the minimum of Σᵢ log(1 + exp(−yᵢ(w·xᵢ + c))) + (l2/2)(‖w‖² + c²),
 * by Newton's method with a backtracking line search. This is what the lesson's softmax student
 * (logits W₁·x + b₁ and W₀·x + b₀, so w = W₁ − W₀) converges to with that weight decay.
 */
export function convergedStudent(data: Examples, options: ConvergedStudentOptions): ConvergedStudent {
  const fn = "convergedStudent";
  const n = checkTwoClasses(fn, data);
  const { l2 } = options;
  const tolerance = options.tolerance ?? 1e-10;
  const maxSteps = options.maxSteps ?? 100;
  if (!(l2 > 0) || !Number.isFinite(l2)) throw new Error(`${fn}: l2 must be a finite number > 0 (without it separable data has no minimum); got ${l2}`);
  if (!(tolerance > 0) || !Number.isFinite(tolerance)) throw new Error(`${fn}: tolerance must be a finite number > 0; got ${tolerance}`);
  checkPositiveInteger(fn, "maxSteps", maxSteps);
  const d = data.dim, p = d + 1; // θ = (w, c)
  const y = Float64Array.from(data.labels, (l) => (l === 1 ? 1 : -1));
  const feature = (i: number, j: number) => (j < d ? data.x[i * d + j] : 1);
  const theta = new Float64Array(p);
  const scores = (t: Float64Array) => Float64Array.from({ length: n }, (_, i) => {
    let s = t[d];
    for (let j = 0; j < d; j++) s += t[j] * data.x[i * d + j];
    return s;
  });
  const objective = (t: Float64Array) => {
    const s = scores(t);
    let f = 0;
    for (let i = 0; i < n; i++) f += softplus(-y[i] * s[i]);
    for (let j = 0; j < p; j++) f += 0.5 * l2 * t[j] * t[j];
    return f;
  };
  let steps = 0, largest = Infinity, s = new Float64Array(0);
  for (; ; steps++) {
    s = scores(theta); // at the final θ when the loop ends
    const gradient = Float64Array.from(theta, (t) => l2 * t);
    const hessian = new Float64Array(p * p);
    for (let j = 0; j < p; j++) hessian[j * p + j] = l2;
    for (let i = 0; i < n; i++) {
      const q = 1 / (1 + Math.exp(y[i] * s[i])); // σ(−yᵢsᵢ): how wrong example i still is
      const curvature = q * (1 - q);
      for (let a = 0; a < p; a++) {
        const xa = feature(i, a);
        gradient[a] -= y[i] * q * xa;
        for (let b = 0; b <= a; b++) hessian[a * p + b] += curvature * xa * feature(i, b);
      }
    }
    largest = Math.max(...gradient.map(Math.abs));
    if (largest < tolerance * n) break;
    if (steps === maxSteps) throw new Error(`${fn}: not converged after ${maxSteps} Newton steps (largest gradient component ${largest.toPrecision(3)}); raise maxSteps or l2`);
    const direction = solveSpd(hessian, gradient.map((g) => -g), p); // reads the lower triangle only
    // Backtracking (Armijo): halve the step until the objective falls enough.
    const f0 = objective(theta);
    let slope = 0;
    for (let j = 0; j < p; j++) slope += gradient[j] * direction[j];
    let step = 1, next = theta;
    for (let k = 0; k < 60; k++, step /= 2) {
      next = theta.map((t, j) => t + step * direction[j]);
      if (objective(next) <= f0 + 1e-4 * step * slope) break;
    }
    theta.set(next);
  }
  const trainingErrors = s.reduce((e, v, i) => e + (y[i] * v > 0 ? 0 : 1), 0);
  return { weights: theta.slice(0, d), bias: theta[d], steps, gradient: largest, trainingErrors };
}

function softplus(z: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

function checkTwoClasses(fn: string, data: Examples): number {
  const n = checkExamples(fn, data);
  if (data.classes !== 2) throw new Error(`${fn}: needs 2 classes (a perceptron's two sides); got ${data.classes}`);
  return n;
}

export interface LearningCurveOptions {
  teacher: Float64Array;
  clusterSeparation: number;
  poolSizes: number[];
  seeds: number[];
  /** The student trained on each pool: (examples) → its linear rule. */
  student: (data: Examples, seed: number) => { weights: Float64Array; bias: number };
  /** Called after each seed's pools are done. */
  onProgress?: (done: number, total: number) => void;
}

/** The checks at learningCurve's door: the teacher, the pool sizes and seeds, and the callbacks. */
function checkCurveInputs(fn: string, o: LearningCurveOptions): void {
  checkObject(fn, "options", o, "{teacher, clusterSeparation, poolSizes, seeds, student}");
  checkNonEmpty(fn, "seeds", o.seeds);
  checkNonEmpty(fn, "poolSizes", o.poolSizes);
  checkTeacher(fn, o.teacher);
  separationOf(fn, o.clusterSeparation);
  o.poolSizes.forEach((n, i) => checkPositiveInteger(fn, `poolSizes[${i}]`, n));
  o.seeds.forEach((seed, i) => checkNumber(fn, `seeds[${i}]`, seed));
  checkThat(typeof o.student === "function", fn, "student", o.student, "a function (examples, seed) → {weights, bias}");
  checkFunction(fn, "onProgress", o.onProgress, true);
}

/** Test error (mean and standard error over seeds) of a student trained on the first n examples of each seed's stream. */
export function learningCurve(o: LearningCurveOptions): { poolSize: number; testError: number; testErrorSe: number }[] {
  const fn = "learningCurve";
  checkCurveInputs(fn, o);
  const largest = Math.max(...o.poolSizes);
  const errors = o.poolSizes.map(() => [] as number[]);
  for (const seed of o.seeds) {
    const stream = teacherStudentData(o.teacher, { n: largest, clusterSeparation: o.clusterSeparation, seed });
    o.poolSizes.forEach((n, k) => {
      const { weights, bias } = o.student(streamPrefix(fn, stream, n), seed);
      errors[k].push(linearStudentError(weights, bias, o.teacher, o.clusterSeparation));
    });
    o.onProgress?.(errors[0].length, o.seeds.length);
  }
  return o.poolSizes.map((poolSize, k) => {
    const { mean, standardError } = meanAndStandardError(errors[k]);
    return { poolSize, testError: mean, testErrorSe: standardError };
  });
}
