// Synthetic training runs drawn from a known law, so that a fit can be checked against the
// parameters that made the data (tests, the fit benchmark, and lessons before real runs exist).
import { checkNumber, checkObject, checkPositive, checkPositiveInteger, checkThat, refuse } from "../core/checks";
import { Random } from "../core/random";
import type { ScalingPoint } from "./point";

/** Where runs were trained: (N, D) pairs. */
export interface RunDesign {
  N: number;
  D: number;
}

export interface IsoflopDesignOptions {
  /** Centre of each IsoFLOP sweep in N. Default √(C/120): the "20 tokens per parameter" rule. */
  centre?: (C: number) => number;
  /** Width of each sweep in decades of N (half each side of the centre). Default 1.5. */
  decades?: number;
}

/** More runs than any design trains, and than a list of them should hold in memory. */
const MAX_RUNS = 1_000_000;

/**
 * Hoffmann's approach-2 design: for each budget C, `modelsPerBudget` model sizes log-spaced
 * around a centre, each trained on D = C/(6N) tokens so that every run costs C.
 */
export function isoflopDesign(budgets: readonly number[], modelsPerBudget: number, options: IsoflopDesignOptions = {}): RunDesign[] {
  const fn = "isoflopDesign";
  checkPositiveInteger(fn, "modelsPerBudget", modelsPerBudget);
  checkThat(Array.isArray(budgets), fn, "budgets", budgets, "an array of compute budgets");
  if (budgets.length * modelsPerBudget > MAX_RUNS) {
    throw new Error(`${fn}: ${budgets.length} budget(s) × modelsPerBudget = ${modelsPerBudget} make ${budgets.length * modelsPerBudget} runs; at most ${MAX_RUNS.toLocaleString("en-US")} are supported`);
  }
  const centre = options.centre ?? ((C: number) => Math.sqrt(C / 120));
  checkThat(typeof centre === "function", fn, "options.centre", centre, "a function C => N");
  const decades = options.decades ?? 1.5;
  checkPositive(fn, "decades", decades);
  const runs: RunDesign[] = [];
  budgets.forEach((C, j) => {
    checkPositive(fn, `budgets[${j}]`, C);
    const at = centre(C);
    checkPositive(fn, `centre(budgets[${j}])`, at);
    const mid = Math.log10(at);
    for (let i = 0; i < modelsPerBudget; i++) {
      const offset = modelsPerBudget === 1 ? 0 : decades * (i / (modelsPerBudget - 1) - 0.5);
      const N = Math.pow(10, mid + offset);
      runs.push({ N, D: C / (6 * N) });
    }
  });
  return runs;
}

/** `count` values log-spaced from `from` to `to` inclusive. */
export function logSpace(from: number, to: number, count: number): number[] {
  checkPositive("logSpace", "from", from);
  checkPositive("logSpace", "to", to);
  checkPositiveInteger("logSpace", "count", count);
  if (count > MAX_RUNS) refuse("logSpace", "count", count, `at most the ${MAX_RUNS.toLocaleString("en-US")} values supported`);
  if (count === 1) return [from];
  const a = Math.log(from), b = Math.log(to);
  return Array.from({ length: count }, (_, i) => Math.exp(a + ((b - a) * i) / (count - 1)));
}

export interface NoiseOptions {
  seed: number;
  /** Standard deviation of the multiplicative (log-normal) noise on the loss. Default 0.01 (1%). */
  noise?: number;
  /** How many runs to corrupt as outliers (chosen at random). Default 0. */
  outliers?: number;
  /** An outlier's loss is multiplied by 1 + this (a diverged or mis-logged run). Default 0.3. */
  outlierScale?: number;
}

/** Losses at each run of `design` from `law`, with seeded log-normal noise and optional outliers. */
export function sampleLosses(law: (N: number, D: number) => number, design: readonly RunDesign[], options: NoiseOptions): ScalingPoint[] {
  const fn = "sampleLosses";
  checkThat(typeof law === "function", fn, "law", law, "a function (N, D) => loss");
  checkThat(Array.isArray(design), fn, "design", design, "an array of {N, D}");
  checkObject(fn, "options", options, "{ seed }");
  const noise = options.noise ?? 0.01;
  const outliers = options.outliers ?? 0;
  const outlierScale = options.outlierScale ?? 0.3;
  checkNumber(fn, "noise", noise, 0);
  checkThat(Number.isInteger(outliers) && outliers >= 0 && outliers <= design.length, fn, "outliers", outliers, `an integer from 0 to the ${design.length} runs`);
  checkThat(typeof outlierScale === "number" && Number.isFinite(outlierScale) && outlierScale > -1, fn, "outlierScale", outlierScale,
    "a finite number > −1 (an outlier's loss is multiplied by 1 + outlierScale, which must stay positive)");
  const rng = new Random(options.seed);
  const points = design.map(({ N, D }, i) => {
    checkPositive(fn, `design[${i}].N`, N);
    checkPositive(fn, `design[${i}].D`, D);
    const loss = law(N, D);
    checkPositive(fn, `law(N, D) at design[${i}] (N = ${N}, D = ${D})`, loss);
    return { N, D, loss: loss * Math.exp(noise * rng.normal()) };
  });
  // Partial Fisher–Yates: the first `outliers` of a shuffled index list.
  const order = points.map((_, i) => i);
  for (let i = 0; i < outliers; i++) {
    const j = i + rng.int(order.length - i);
    [order[i], order[j]] = [order[j], order[i]];
    points[order[i]].loss *= 1 + outlierScale;
  }
  return points;
}
