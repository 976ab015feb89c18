// What the unpruned student's exponent should be read against. Learning a teacher perceptron
// from n random examples in d dimensions (α = n/d, isotropic inputs), the exponent of the test
// error depends on how far the student is trained, not only on the data:
//   Hebbian      w = Σ yᵢxᵢ, one pass, no error correction: ε = arccos(R)/π with
//                R = √(2α/π) / √(1 + 2α/π), so ε ≈ 1/√(2πα) for large α, an exponent of 1/2;
//   converged    logistic regression minimised to convergence (with a vanishing L2 penalty it
//                tends to the maximum-margin separator, Rosset et al. 2004): ε ∝ 1/α, an exponent
//                of 1 (Opper et al. 1990; Aubin et al. 2020).
// SGD stopped after a few epochs from zero weights is close to the Hebbian rule: its first steps
// add up yᵢxᵢ. The students themselves are in students.ts.
import { type Examples } from "./examples";
import { meanAndStandardError, streamPrefix } from "./experiment";
import { checkTeacher, linearStudentError, separationOf, teacherStudentData } from "./teacher";
import { checkFunction, checkNonEmpty, checkNumber, checkObject, checkPositiveInteger, checkThat } from "../core/checks";

/** Test error of the Hebbian student at α = n/d in the limit of large d, isotropic inputs (closed form). */
export function hebbianError(alpha: number): number {
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`hebbianError: alpha (examples per dimension) must be a finite number > 0; got ${alpha}`);
  const s = (2 * alpha) / Math.PI;
  return Math.acos(Math.sqrt(s / (1 + s))) / Math.PI;
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
