// Lesson 04's experiment in one place: draw a pool from the teacher, score it, keep a fraction by
// a rule, train a linear student on what is kept and measure its exact test error; averaged
// over independent pools. Compute is counted in floating-point operations, as Kaplan et al. count
// a transformer's: one example through a network forward and backward costs 6 per parameter (2 forward,
// 4 backward), a forward pass alone 2. The probes behind the scores have a hidden layer and the
// student has none, so an epoch of a probe costs several epochs of the student.
import { subsetExamples, type Examples } from "./examples";
import { KMEANS_DEFAULTS, principalComponents } from "./kmeans";
import { el2nScores, forgettingScores, grandScores, prototypeScores, randomScores, type ProbeOptions } from "./scores";
import { checkKeepRule, selectByScore, type KeepRule } from "./select";
import { checkStudent, exampleFlops, fitStudent, type PruningStudent } from "./students";
import { checkTeacher, linearStudentError, separationOf, teacherStudentData, type TeacherStudentData } from "./teacher";
import { checkFunction, checkInteger, checkNumber, checkObject, checkPositiveInteger, checkSameLength, checkThat, shown } from "../core/checks";

function checkScoreName(fn: string, name: string): void {
  if (!(SCORE_NAMES as readonly string[]).includes(name)) throw new Error(`${fn}: unknown score ${shown(name)}; expected one of ${SCORE_NAMES.join(", ")}`);
}

export const SCORE_NAMES = ["EL2N", "GraNd", "forgetting", "prototype", "random"] as const;
export type ScoreName = (typeof SCORE_NAMES)[number];

export interface ScoringOptions {
  /** The probes behind EL2N and GraNd (trained `probe.epochs` on the pool, averaged over `probe.runs`). */
  probe: ProbeOptions;
  /** Epochs of the forgetting probes (the same probe otherwise); forgetting needs a longer run. */
  forgettingEpochs: number;
  /** Principal components of the inputs that form the prototype score's embedding. */
  prototypeComponents: number;
  /** k-means clusters for the prototype score. */
  prototypeClusters: number;
}

/** The shape of the pool a score is computed on. */
export interface PoolShape {
  poolSize: number;
  inputDim: number;
  classes: number;
}

/** The checks at scoringFlops' door: the score's name, the pool's shape, and the options that score reads. */
function checkScoringInputs(fn: string, name: ScoreName, pool: PoolShape, o: ScoringOptions): void {
  checkScoreName(fn, name);
  checkObject(fn, "pool", pool, "{ poolSize, inputDim, classes }");
  checkObject(fn, "scoring", o, "the scoring options");
  checkPositiveInteger(fn, "poolSize", pool.poolSize);
  checkPositiveInteger(fn, "inputDim", pool.inputDim);
  checkInteger(fn, "classes", pool.classes, 2);
  if (name === "EL2N" || name === "GraNd" || name === "forgetting") {
    checkObject(fn, "scoring.probe", o.probe, `the probe options (${name} trains probes)`);
    checkPositiveInteger(fn, "probe.runs", o.probe.runs);
    checkInteger(fn, "probe.hidden", o.probe.hidden, 0);
    checkInteger(fn, name === "forgetting" ? "forgettingEpochs" : "probe.epochs", name === "forgetting" ? o.forgettingEpochs : o.probe.epochs, 0);
  } else if (name === "prototype") {
    checkPositiveInteger(fn, "prototypeComponents", o.prototypeComponents);
    checkPositiveInteger(fn, "prototypeClusters", o.prototypeClusters);
  }
}

/**
 * FLOPs each score costs on a pool. EL2N: the probes' training, then a forward pass per example;
 * GraNd: the training, then a gradient per example; forgetting: the training alone (correctness is
 * read off its own forward passes). The prototype score needs no gradients: the inputs' covariance
 * (n·d² multiply-adds), power iteration, and k-means counted at its iteration cap, so an upper bound.
 */
export function scoringFlops(name: ScoreName, pool: PoolShape, o: ScoringOptions): number {
  checkScoringInputs("scoringFlops", name, pool, o);
  const { poolSize: n, inputDim: d, classes } = pool;
  const probe = { inputDim: d, classes, hidden: o.probe.hidden };
  const training = (epochs: number) => o.probe.runs * epochs * n * exampleFlops(probe, "forward and backward");
  switch (name) {
    case "EL2N": return training(o.probe.epochs) + o.probe.runs * n * exampleFlops(probe, "forward");
    case "GraNd": return training(o.probe.epochs) + o.probe.runs * n * exampleFlops(probe, "forward and backward");
    case "forgetting": return training(o.forgettingEpochs);
    case "prototype": {
      const c = o.prototypeComponents, k = o.prototypeClusters;
      const pca = n * d * (d + 1) + c * KMEANS_DEFAULTS.powerIterations * 2 * d * d + 2 * n * d * c;
      const kMeansCap = KMEANS_DEFAULTS.restarts * KMEANS_DEFAULTS.maxIterations * n * k * 3 * c; // each: n·k distances in c dims
      return pca + kMeansCap;
    }
    case "random": return 0;
    default: throw new Error(`scoringFlops: unknown score ${shown(name)}; expected one of ${SCORE_NAMES.join(", ")}`);
  }
}

/** One score for every example of `data`; higher = harder. */
export function pruningScore(name: ScoreName, data: Examples, o: ScoringOptions, seed: number): Float64Array {
  const probe = { ...o.probe, seed: o.probe.seed + seed };
  switch (name) {
    case "EL2N": return el2nScores(data, probe);
    case "GraNd": return grandScores(data, probe);
    case "forgetting": return forgettingScores(data, { ...probe, epochs: o.forgettingEpochs });
    case "prototype": {
      const embedding = principalComponents(data.x, data.dim, o.prototypeComponents, seed).projected;
      return prototypeScores(embedding, o.prototypeComponents, { k: o.prototypeClusters, seed });
    }
    case "random": return randomScores(data.labels.length, seed);
    default: throw new Error(`pruningScore: unknown score ${JSON.stringify(name)}; expected one of ${SCORE_NAMES.join(", ")}`);
  }
}

export interface PruningExperimentOptions {
  teacher: Float64Array;
  clusterSeparation: number;
  labelNoise?: number;
  /** Pool sizes to prune; the pool of each seed is the first poolSize examples of one stream, so larger pools contain smaller ones. */
  poolSizes: number[];
  fractions: number[];
  keeps: KeepRule[];
  scores: ScoreName[];
  scoring: ScoringOptions;
  /** SGD for a number of epochs, or `{ converged: { l2 } }` for the exact minimum (Newton's method). */
  student: PruningStudent;
  /**
   * Examples per seed in a validation set, drawn from the same distribution as the pool (its labels
   * flipped at the same rate) but never trained on: what chooses between runs, so that the test
   * error of the chosen run is not chosen on. 0 (the default) draws none.
   */
  validationSize?: number;
  classBalanced?: boolean;
  /** Independent pools (and scorings, and students) to average over. */
  seeds: number[];
  /** Called after each (pool size, seed) is done. */
  onProgress?: (done: number, total: number) => void;
}

export interface PruningRow {
  score: ScoreName;
  keep: KeepRule;
  fraction: number;
  poolSize: number;
  /** Examples kept (the student's training set). */
  kept: number;
  /** Mean exact test error over seeds, against the teacher's clean labels. */
  testError: number;
  /** Standard error of that mean. */
  testErrorSe: number;
  /** The exact test error of each seed's run, in the order of `seeds` (for paired comparisons). */
  testErrors: number[];
  /** Mean error on the validation sets (observed labels), or NaN without them. */
  validationError: number;
  /** Mean fraction of the kept examples whose label was flipped. */
  mislabeled: number;
  /** FLOPs to train the student (mean over seeds): epochs × kept × 6 × its parameters for SGD, counted Newton work when converged. */
  trainingFlops: number;
  /** FLOPs to compute the score on the pool (0 for the unpruned run, which needs none). */
  scoringFlops: number;
}

/**
 * Every (pool size, score, keep rule, fraction): the student's test error, averaged over seeds.
 * With fraction 1 every rule keeps the whole pool, so it is trained once and reported for each.
 */
export function pruningExperiment(o: PruningExperimentOptions): PruningRow[] {
  const fn = "pruningExperiment";
  checkObject(fn, "options", o, "the experiment's options");
  if (o.seeds.length === 0) throw new Error(`${fn}: seeds is empty; give at least one`);
  if (o.poolSizes.length === 0 || o.fractions.length === 0 || o.keeps.length === 0 || o.scores.length === 0) {
    throw new Error(`${fn}: poolSizes, fractions, keeps and scores must each be non-empty; got ${o.poolSizes.length}, ${o.fractions.length}, ${o.keeps.length}, ${o.scores.length}`);
  }
  for (const f of o.fractions) if (!(f > 0 && f <= 1)) throw new Error(`${fn}: fractions must be in (0, 1]; got ${shown(f)}`);
  o.poolSizes.forEach((n, i) => checkInteger(fn, `poolSizes[${i}]`, n, 1));
  o.seeds.forEach((seed, i) => checkNumber(fn, `seeds[${i}]`, seed));
  o.keeps.forEach((keep) => checkKeepRule(fn, keep));
  o.scores.forEach((score) => checkScoreName(fn, score));
  checkTeacher(fn, o.teacher);
  separationOf(fn, o.clusterSeparation);
  checkFunction(fn, "onProgress", o.onProgress, true);
  const validationSize = o.validationSize ?? 0;
  checkInteger(fn, "validationSize", validationSize, 0);
  checkStudent(fn, o.student);
  const largest = Math.max(...o.poolSizes);
  const sums = new Map<string, { errors: number[]; validation: number[]; flops: number[]; mislabeled: number; kept: number; row: Pick<PruningRow, "score" | "keep" | "fraction" | "poolSize" | "scoringFlops"> }>();
  const total = o.poolSizes.length * o.seeds.length;
  let done = 0;
  for (const seed of o.seeds) {
    const stream = teacherStudentData(o.teacher, { n: largest, clusterSeparation: o.clusterSeparation, labelNoise: o.labelNoise, seed });
    const validation = validationSize > 0
      ? teacherStudentData(o.teacher, { n: validationSize, clusterSeparation: o.clusterSeparation, labelNoise: o.labelNoise, seed: VALIDATION_SEED_OFFSET + seed })
      : null;
    for (const poolSize of o.poolSizes) {
      const pool = streamPrefix("pruningExperiment", stream, poolSize);
      let unpruned: { test: number; validation: number; flops: number } | undefined; // the whole pool, shared by every rule
      for (const score of o.scores) {
        const values = o.fractions.some((f) => f < 1) ? pruningScore(score, pool, o.scoring, seed) : null;
        for (const keep of o.keeps) {
          for (const fraction of o.fractions) {
            const indices = fraction === 1 || values === null
              ? Int32Array.from({ length: poolSize }, (_, i) => i)
              : selectByScore(values, { fraction, keep, labels: pool.labels, classBalanced: o.classBalanced, seed });
            let run = fraction === 1 ? unpruned : undefined;
            if (run === undefined) {
              const rule = fitStudent(subsetExamples(pool, indices), o.student, seed);
              run = {
                test: linearStudentError(rule.weights, rule.bias, o.teacher, o.clusterSeparation),
                validation: validation ? misclassified(validation, rule.weights, rule.bias) : NaN,
                flops: rule.flops,
              };
              if (fraction === 1) unpruned = run;
            }
            let flipped = 0;
            for (const i of indices) flipped += pool.flipped[i];
            const key = `${score}|${keep}|${fraction}|${poolSize}`;
            if (!sums.has(key)) sums.set(key, { errors: [], validation: [], flops: [], mislabeled: 0, kept: 0, row: { score, keep, fraction, poolSize, scoringFlops: fraction === 1 ? 0 : scoringFlops(score, { poolSize, inputDim: pool.dim, classes: pool.classes }, o.scoring) } });
            const entry = sums.get(key)!;
            entry.errors.push(run.test);
            entry.validation.push(run.validation);
            entry.flops.push(run.flops);
            entry.mislabeled += flipped / indices.length / o.seeds.length;
            entry.kept += indices.length / o.seeds.length;
          }
        }
      }
      o.onProgress?.(++done, total);
    }
  }
  const mean = (values: number[]) => meanAndStandardError(values).mean;
  return [...sums.values()].map(({ errors, validation, flops, mislabeled, kept, row }) => {
    const { mean: testError, standardError } = meanAndStandardError(errors);
    return { ...row, kept, testError, testErrorSe: standardError, testErrors: errors, validationError: mean(validation), mislabeled, trainingFlops: mean(flops) };
  });
}

/** Validation sets are drawn from the teacher with seed VALIDATION_SEED_OFFSET + the run's seed, a stream no pool uses. */
export const VALIDATION_SEED_OFFSET = 1_000_000;

/** The share of `data` a linear rule puts on the wrong side (against its observed labels). */
function misclassified(data: Examples, weights: Float64Array, bias: number): number {
  const d = data.dim;
  let wrong = 0;
  for (let i = 0; i < data.labels.length; i++) {
    let s = bias;
    for (let j = 0; j < d; j++) s += weights[j] * data.x[i * d + j];
    if ((s > 0 ? 1 : 0) !== data.labels[i]) wrong++;
  }
  return wrong / data.labels.length;
}

/** The mean of values over seeds and its standard error (0 for a single value). */
export function meanAndStandardError(values: readonly number[]): { mean: number; standardError: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, standardError: Math.sqrt(variance / values.length) };
}

/** The first n examples of a drawn stream, as a pool of its own (`fn` names the caller in errors). */
export function streamPrefix(fn: string, data: TeacherStudentData, n: number): TeacherStudentData {
  checkThat(Number.isInteger(n) && n >= 1 && n <= data.labels.length, fn, "pool sizes", n, `integers in [1, ${data.labels.length}]`);
  const d = data.dim;
  return {
    x: data.x.subarray(0, n * d), labels: data.labels.subarray(0, n), dim: d, classes: data.classes,
    cleanLabels: data.cleanLabels.subarray(0, n), flipped: data.flipped.subarray(0, n), teacherMargin: data.teacherMargin.subarray(0, n),
  };
}

/**
 * The Pareto frontier of (compute, error) points: those that no other point beats with at most
 * the same compute. Sorted by compute; each has a lower error than every point before it.
 */
export function paretoFrontier<T extends { compute: number; error: number }>(points: readonly T[]): T[] {
  if (points.length === 0) throw new Error("paretoFrontier: no points given");
  for (const [i, p] of points.entries()) {
    if (!Number.isFinite(p.compute) || !Number.isFinite(p.error)) throw new Error(`paretoFrontier: point ${i} has compute ${p.compute} and error ${p.error}; both must be finite`);
  }
  const sorted = [...points].sort((a, b) => a.compute - b.compute || a.error - b.error);
  const frontier: T[] = [];
  for (const p of sorted) if (frontier.length === 0 || p.error < frontier[frontier.length - 1].error) frontier.push(p);
  return frontier;
}

/**
 * Spearman's rank correlation of two score vectors (ties get their mean rank; Infinity ranks last).
 * A constant vector (every rank tied) has no order to agree with: its correlation is taken as 0,
 * what a score that carries no information gets, rather than the undefined 0/0.
 */
export function rankCorrelation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength("rankCorrelation", "a", a, "b", b);
  if (a.length < 2) throw new Error(`rankCorrelation: needs at least 2 values; got ${a.length}`);
  const ra = ranks(a), rb = ranks(b);
  const n = a.length, mean = (n + 1) / 2;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) { const x = ra[i] - mean, y = rb[i] - mean; sab += x * y; saa += x * x; sbb += y * y; }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

function ranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  for (let i = 0; i < n; i++) if (Number.isNaN(values[i])) throw new Error(`rankCorrelation: value ${i} is NaN`);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => (values[i] === values[j] ? 0 : values[i] < values[j] ? -1 : 1));
  const out = new Float64Array(n);
  for (let s = 0; s < n;) {
    let e = s;
    while (e + 1 < n && values[order[e + 1]] === values[order[s]]) e++;
    for (let k = s; k <= e; k++) out[order[k]] = (s + e) / 2 + 1;
    s = e + 1;
  }
  return out;
}

/**
 * The local power-law exponent of a curve y(x) between consecutive points, −Δlog y / Δlog x,
 * placed at the geometric mean of the two x. A pure power law a·x^(−α) gives α everywhere; a
 * curve that "beats" it has a larger local exponent over some range.
 */
export function localExponents(x: ArrayLike<number>, y: ArrayLike<number>): { x: number; exponent: number }[] {
  if (x.length !== y.length) throw new Error(`localExponents: x has ${x.length} values but y has ${y.length}`);
  if (x.length < 2) throw new Error(`localExponents: needs at least 2 points; got ${x.length}`);
  const out: { x: number; exponent: number }[] = [];
  for (let i = 0; i < x.length; i++) {
    if (!(x[i] > 0 && y[i] > 0)) throw new Error(`localExponents: point ${i} is (${x[i]}, ${y[i]}); both must be positive`);
    if (i > 0 && !(x[i] > x[i - 1])) throw new Error(`localExponents: x must increase; x[${i - 1}] = ${x[i - 1]}, x[${i}] = ${x[i]}`);
  }
  for (let i = 1; i < x.length; i++) out.push({ x: Math.sqrt(x[i - 1] * x[i]), exponent: -Math.log(y[i] / y[i - 1]) / Math.log(x[i] / x[i - 1]) });
  return out;
}
