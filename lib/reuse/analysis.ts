// Lesson 01's numbers as a careful paper reports them: every method × task as a mean over seeds
// with a 95% interval, and differences between methods paired by seed (every method of a seed
// sees the same labelled examples, so the pairing removes the luck of the draw they share).
import { checkNumber, checkThat, refuse, shown } from "../core/checks";
import { meanInterval, percentileInterval, type MeanInterval } from "../core/numerics";
import { Random } from "../core/random";

/** One method on one task for one seed. */
export interface MethodRun {
  task: string;
  method: string;
  seed: number;
  testAccuracy: number;
  /** Numbers the method trains for the task (0 for a rule or zero-shot). */
  trainableParams: number;
  /** How many test examples were predicted as each class, where recorded. */
  testPredictedCounts?: number[];
}

export interface MethodSummary extends MeanInterval {
  task: string;
  method: string;
  trainableParams: number;
  /** Seeds whose run predicted a single class for every test example: failed runs. */
  singleClassRuns: number;
}

/** Refuses a run whose test accuracy is not a number in [0, 1] (a diverged run's NaN, say): it has no place in a mean. */
function checkAccuracies(runs: readonly MethodRun[], where: string): void {
  const bad = runs.findIndex((r) => !(r.testAccuracy >= 0 && r.testAccuracy <= 1));
  if (bad >= 0) {
    const r = runs[bad];
    throw new Error(`${where}: runs[${bad}] (${r.method} on "${r.task}", seed ${r.seed}) has testAccuracy ${shown(r.testAccuracy)}; expected a fraction in [0, 1]`);
  }
}

/** Every task × method, in the order first seen: its test accuracy over seeds with a 95% interval. */
export function summarizeRuns(runs: readonly MethodRun[]): MethodSummary[] {
  checkAccuracies(runs, "summarizeRuns");
  const keys = [...new Set(runs.map((r) => JSON.stringify([r.task, r.method])))];
  return keys.map((key) => {
    const [task, method] = JSON.parse(key) as [string, string];
    const mine = runs.filter((r) => r.task === task && r.method === method);
    return {
      task, method, ...meanInterval(mine.map((r) => r.testAccuracy)), trainableParams: mine[0].trainableParams,
      singleClassRuns: mine.filter((r) => r.testPredictedCounts !== undefined && r.testPredictedCounts.filter((c) => c > 0).length === 1).length,
    };
  });
}

/** Method a minus method b on a task, seed by seed, in accuracy points: mean and 95% interval. */
export function pairedDifference(runs: readonly MethodRun[], task: string, a: string, b: string): MeanInterval {
  const of = (method: string) => new Map(runs.filter((r) => r.task === task && r.method === method).map((r) => [r.seed, r.testAccuracy]));
  const first = of(a), second = of(b);
  if (first.size === 0 || second.size === 0) {
    const have = [...new Set(runs.filter((r) => r.task === task).map((r) => r.method))];
    throw new Error(`pairedDifference: no runs of "${first.size === 0 ? a : b}" on "${task}"; have ${have.join(", ")}`);
  }
  checkAccuracies(runs.filter((r) => r.task === task && (r.method === a || r.method === b)), "pairedDifference");
  const seeds = [...first.keys()].filter((s) => second.has(s));
  if (seeds.length === 0) throw new Error(`pairedDifference: "${a}" and "${b}" on "${task}" share no seed`);
  return meanInterval(seeds.map((s) => 100 * (first.get(s)! - second.get(s)!)));
}

/**
 * How a difference's interval reads: above zero, below zero, or containing it. A single seed's
 * difference has no interval (low = high = NaN) and reads "not distinguishable".
 */
export function verdict(d: MeanInterval): "higher" | "lower" | "not distinguishable" {
  checkNumber("verdict", "mean", d.mean);
  if (d.n > 1 && !(d.low <= d.mean && d.mean <= d.high)) {
    throw new Error(`verdict: an interval of ${d.n} values must hold its mean; got low ${shown(d.low)}, mean ${shown(d.mean)}, high ${shown(d.high)}`);
  }
  if (d.low > 0) return "higher";
  if (d.high < 0) return "lower";
  return "not distinguishable";
}

/** One standard error of an accuracy p measured on n test examples, in points: the test set's own noise. */
export function testStandardError(p: number, n: number): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`testStandardError: p must be an accuracy in [0, 1]; got ${shown(p)}`);
  checkThat(Number.isInteger(n) && n >= 1, "testStandardError", "n", n, "a positive integer (test examples)");
  return 100 * Math.sqrt((p * (1 - p)) / n);
}

/**
 * "a − b on task: +x points (95% interval lo to hi over n seeds): a is higher", from the runs. With
 * a single shared seed there is no interval, and the sentence says so.
 */
export function describeDifference(runs: readonly MethodRun[], task: string, a: string, b: string): string {
  const d = pairedDifference(runs, task, a, b);
  const sign = (v: number) => `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(1)}`;
  const reading = { higher: `${a} is higher`, lower: `${a} is lower`, "not distinguishable": "not distinguishable at these seeds" }[verdict(d)];
  const interval = d.n === 1 ? "1 seed, so no interval" : `95% interval ${sign(d.low)} to ${sign(d.high)}, ${d.n} seeds`;
  return `${task}: ${a} − ${b} = ${sign(d.mean)} points (${interval}): ${reading}`;
}

/** A summary as table rows: mean test accuracy, its 95% interval, seeds, trainable numbers and failed runs. */
export function intervalRows(summary: readonly MethodSummary[]): Record<string, string | number>[] {
  return summary.map((s) => ({
    task: s.task, method: s.method, "test accuracy (mean)": s.mean,
    "95% interval": Number.isNaN(s.low) ? "one seed" : `${s.low.toFixed(3)} to ${s.high.toFixed(3)}`, seeds: s.n,
    "trainable parameters": s.trainableParams, "single-class runs": s.singleClassRuns,
  }));
}

/** Each live run beside the stored seeds of the same task and method: their mean, lowest and highest. */
export function liveBesideStored(live: readonly MethodRun[], stored: readonly MethodRun[]): Record<string, string | number>[] {
  return live.map((r) => {
    const same = stored.filter((s) => s.task === r.task && s.method === r.method).map((s) => s.testAccuracy);
    if (same.length === 0) throw new Error(`liveBesideStored: no stored run of ${r.method} on "${r.task}"`);
    return {
      task: r.task, method: r.method, [`seed ${r.seed} (live)`]: r.testAccuracy, "stored: mean": same.reduce((a, b) => a + b, 0) / same.length,
      "stored: lowest": Math.min(...same), "stored: highest": Math.max(...same), "stored seeds": same.length,
    };
  });
}

/** The method with the highest mean on a task, among `methods` (default: all of the task's). */
export function bestMethod(summary: readonly MethodSummary[], task: string, methods?: readonly string[]): MethodSummary {
  const candidates = summary.filter((s) => s.task === task && (!methods || methods.includes(s.method)));
  if (candidates.length === 0) throw new Error(`bestMethod: no summary for task "${task}"${methods ? ` among ${methods.join(", ")}` : ""}`);
  return candidates.reduce((a, b) => (b.mean > a.mean ? b : a));
}

/** A difference in accuracy points with its 95% bootstrap interval, over `seeds` × `examples`. */
export interface BootstrapDifference {
  mean: number;
  low: number;
  high: number;
  seeds: number;
  examples: number;
}

/**
 * Method a minus method b in accuracy points, with a 95% percentile interval from a paired
 * two-way bootstrap: each of `resamples` draws seeds with replacement and, independently, test
 * examples with replacement, and averages a − b over the drawn seeds × examples. The test set is
 * the same for every seed, so both sources of chance are covered: which examples were labelled
 * and how training went (the seed), and which examples happened to be in the test set. Both
 * methods are scored on the same draws (paired). `correctA[s][i]` is 1 if a answered test example
 * i right on seed s, else 0; seeds pair by position.
 */
export function pairedBootstrap(
  correctA: readonly ArrayLike<number>[], correctB: readonly ArrayLike<number>[], options: { resamples?: number; seed?: number } = {},
): BootstrapDifference {
  const fn = "pairedBootstrap";
  const S = correctA?.length;
  checkThat(Array.isArray(correctA) && S > 0, fn, "correctA", correctA, "a non-empty array, one row of 0/1 per seed");
  checkThat(Array.isArray(correctB) && correctB.length === S, fn, "correctB", correctB, `an array of ${S} rows (one per seed of correctA)`);
  const N = correctA[0]?.length;
  checkThat(N > 0, fn, "correctA[0]", correctA[0], "a non-empty row of 0/1, one per test example");
  const resamples = options.resamples ?? 2000;
  checkThat(Number.isInteger(resamples) && resamples >= 100, fn, "options.resamples", resamples, "an integer ≥ 100");
  // d[s][i] = a − b per seed and example.
  const d = correctA.map((rowA, s) => {
    const rowB = correctB[s];
    for (const [name, row] of [[`correctA[${s}]`, rowA], [`correctB[${s}]`, rowB]] as const) {
      if (row?.length !== N) refuse(fn, name, row, `a row of ${N} values (one per test example, like correctA[0])`);
      for (let i = 0; i < N; i++) if (row[i] !== 0 && row[i] !== 1) refuse(fn, `${name}[${i}]`, row[i], "0 or 1 (wrong or right)");
    }
    return Float64Array.from({ length: N }, (_, i) => rowA[i] - rowB[i]);
  });
  const random = new Random(options.seed ?? 1);
  const bySeed = new Float64Array(S);
  const values: number[] = [];
  for (let r = 0; r < resamples; r++) {
    bySeed.fill(0);
    for (let k = 0; k < N; k++) {
      const i = random.int(N);
      for (let s = 0; s < S; s++) bySeed[s] += d[s][i];
    }
    let sum = 0;
    for (let k = 0; k < S; k++) sum += bySeed[random.int(S)];
    values.push((100 * sum) / (S * N));
  }
  let total = 0;
  for (const row of d) for (const x of row) total += x;
  const { low, high } = percentileInterval(0, values, 0.95);
  return { mean: (100 * total) / (S * N), low, high, seeds: S, examples: N };
}
