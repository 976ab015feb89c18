// The linear students lesson 04 trains on what pruning keeps, from the cheapest to the best:
//   Hebbian      w = Σ yᵢxᵢ, one pass, no error correction (theory's reference point);
//   SGD          the softmax classifier of classifier.ts from zero weights, a few epochs: what a
//                training budget buys, and close to Hebbian when the budget is small;
//   converged    the same classifier minimised exactly (Newton's method), where SGD would arrive
//                after very many epochs: the student whose learning curve theory predicts.
// Each reports the floating-point operations it took, so runs can be compared at equal compute.
import { checkConfig, SoftmaxClassifier, trainClassifier, type ClassifierConfig } from "./classifier";
import { checkExamples, type Examples } from "./examples";
import { linearRule } from "./teacher";
import { checkInteger, checkNumber, checkObject, checkPositive, checkPositiveInteger, shown } from "../core/checks";
import { solveSpd } from "../core/numerics";

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
  /** Floating-point operations the fit took, counted as newtonFlops counts them. */
  flops: number;
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
  let evaluations = 0; // of the objective, in the line searches
  const objective = (t: Float64Array) => {
    evaluations++;
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
  // steps + 1 gradients and Hessians were formed (the last one to see convergence), steps solves.
  const flops = newtonFlops(n, d, steps + 1, steps, evaluations);
  return { weights: theta.slice(0, d), bias: theta[d], steps, gradient: largest, trainingErrors, flops };
}

function softplus(z: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

function checkTwoClasses(fn: string, data: Examples): number {
  const n = checkExamples(fn, data);
  if (data.classes !== 2) throw new Error(`${fn}: needs 2 classes (a perceptron's two sides); got ${data.classes}`);
  return n;
}


/** FLOPs of one example through a classifier: forward and backward (6 per parameter), or forward only (2). */
export function exampleFlops(config: ClassifierConfig, pass: "forward and backward" | "forward"): number {
  checkConfig(config, "exampleFlops");
  if (pass !== "forward and backward" && pass !== "forward") throw new Error(`exampleFlops: pass must be "forward and backward" or "forward"; got ${shown(pass)}`);
  return (pass === "forward" ? 2 : 6) * SoftmaxClassifier.parameterCount(config);
}

/** FLOPs to train the linear student for `epochs` on `kept` examples (a mean over seeds may be fractional). */
export function studentFlops(kept: number, pool: { inputDim: number; classes: number }, epochs: number): number {
  const fn = "studentFlops";
  checkNumber(fn, "kept", kept, 0);
  checkInteger(fn, "epochs", epochs, 0);
  if (pool == null) throw new Error(`${fn}: the pool's shape {inputDim, classes} is required; got ${pool}`);
  checkInteger(fn, "inputDim", pool.inputDim, 1);
  checkInteger(fn, "classes", pool.classes, 2);
  return epochs * kept * exampleFlops({ inputDim: pool.inputDim, classes: pool.classes, hidden: 0 }, "forward and backward");
}

export interface StudentOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  weightDecay?: number;
}

/** A linear 2-class student, from zero weights, trained by SGD on `data`. */
export function trainStudent(data: Examples, o: StudentOptions, seed: number): SoftmaxClassifier {
  const model = new SoftmaxClassifier({ inputDim: data.dim, classes: data.classes, hidden: 0 });
  return trainClassifier(model, data, { epochs: o.epochs, batchSize: o.batchSize, learningRate: o.learningRate, weightDecay: o.weightDecay, seed });
}

/**
 * FLOPs of a Newton fit of the 2-class linear student (p = d + 1 parameters) on n examples:
 * each gradient and Hessian costs n·(2p + p(p+1)) (the Hessian's lower triangle) plus the scores
 * (2np); each solve a Cholesky factorisation and two triangular solves (2p³/3 + 4p²); each
 * objective evaluation of the line search 2np (softplus counted as one operation per example).
 */
export function newtonFlops(n: number, d: number, hessians: number, solves: number, evaluations: number): number {
  const p = d + 1;
  return hessians * n * (2 * p + p * (p + 1) + 2 * p) + solves * ((2 * p ** 3) / 3 + 4 * p ** 2) + evaluations * n * (2 * p + 1);
}

/** How pruning experiments train their student: SGD for a number of epochs, or to convergence. */
export type PruningStudent = StudentOptions | { converged: ConvergedStudentOptions };

/** The checks at the door of what trains a PruningStudent. */
export function checkStudent(fn: string, student: PruningStudent): void {
  checkObject(fn, "student", student, "SGD options {epochs, batchSize, learningRate} or { converged: { l2 } }");
  if ("converged" in student) {
    checkObject(fn, "student.converged", student.converged, "{ l2 }");
    checkPositive(fn, "student.converged.l2", student.converged.l2);
    return;
  }
  checkInteger(fn, "student.epochs", student.epochs, 0);
  checkPositiveInteger(fn, "student.batchSize", student.batchSize);
  checkPositive(fn, "student.learningRate", student.learningRate);
}

/** The linear rule `student` learns from `data`, and the FLOPs it took. */
export function fitStudent(data: Examples, student: PruningStudent, seed: number): { weights: Float64Array; bias: number; flops: number } {
  if ("converged" in student) {
    const { weights, bias, flops } = convergedStudent(data, student.converged);
    return { weights, bias, flops };
  }
  const n = checkExamples("fitStudent", data);
  return { ...linearRule(trainStudent(data, student, seed)), flops: studentFlops(n, { inputDim: data.dim, classes: data.classes }, student.epochs) };
}
