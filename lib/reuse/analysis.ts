// Lesson 01's numbers as a careful paper reports them. Every method of a seed sees the same
// labelled examples and every run is scored on the same test set, keeping its prediction for each
// test example; so two methods are compared by a paired bootstrap over seeds × test examples,
// which covers both the luck of training and the luck of the test draw. Every choice (which
// pretrained method counts as "best") is made on validation accuracy, never on test.
import { checkThat, refuse, shown } from "../core/checks";
import { percentileInterval } from "../core/numerics";
import { Random } from "../core/random";

/** One method on one task at one label count and seed. */
export interface MethodRun {
  task: string;
  method: string;
  /** Labelled training examples per class. */
  perClass: number;
  seed: number;
  validationAccuracy: number;
  testAccuracy: number;
  /** The class predicted for every test example, one digit each, in the test set's order. */
  testPredictions: string;
  /** Numbers the method trains for the task (0 for a rule or a question). */
  trainableParams: number;
  /** How many test examples were predicted as each class, where recorded. */
  testPredictedCounts?: number[];
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
 * the same for every seed, so both sources of chance are covered: how training went (the seed:
 * which examples were labelled, the initial weights) and which examples happened to be in the
 * test set. Both methods are scored on the same draws (paired). `correctA[s][i]` is 1 if a
 * answered test example i right on seed s, else 0; seeds pair by position.
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

/** How a difference's interval reads: above zero, below zero, or containing it. */
export function verdict(d: BootstrapDifference): "higher" | "lower" | "not distinguishable" {
  if (!(d.low <= d.mean && d.mean <= d.high)) {
    throw new Error(`verdict: an interval must hold its mean; got low ${shown(d.low)}, mean ${shown(d.mean)}, high ${shown(d.high)}`);
  }
  return d.low > 0 ? "higher" : d.high < 0 ? "lower" : "not distinguishable";
}

const signed = (v: number, digits = 1) => `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(digits)}`;

/** "+12.3 (8.1 to 16.0)": a difference in points and its interval. */
export function formatDifference(d: BootstrapDifference): string {
  return `${signed(d.mean)} (${signed(d.low)} to ${signed(d.high)})`;
}

/** One standard error of an accuracy p measured on n test examples, in points: the test set's own noise. */
export function testStandardError(p: number, n: number): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`testStandardError: p must be an accuracy in [0, 1]; got ${shown(p)}`);
  checkThat(Number.isInteger(n) && n >= 1, "testStandardError", "n", n, "a positive integer (test examples)");
  return 100 * Math.sqrt((p * (1 - p)) / n);
}

/** Methods that use the pretrained model: its zero-shot answers, probes of its features, and its tuned copies or adapters. */
export function readsPretrainedModel(method: string): boolean {
  return !["majority class", "bag of characters", "newline rule", "linear probe, before pretraining", "from scratch"].includes(method);
}

/** Methods whose answer is the language model's own prediction, with no classifier trained on its features. */
export const isZeroShot = (method: string) => method.startsWith("zero-shot");

/** One method on one task at one label count, over its seeds. */
export interface MethodSummary {
  task: string;
  perClass: number;
  method: string;
  seeds: number;
  /** Mean validation and test accuracy over the seeds. */
  validation: number;
  test: number;
  trainableParams: number;
  /** Seeds whose run predicted a single class for every test example: failed runs. */
  singleClassRuns: number;
}

/** Refuses a run whose accuracies are not fractions (a diverged run's NaN): it has no place in a mean. */
function checkRuns(runs: readonly MethodRun[], where: string): void {
  const bad = runs.findIndex((r) => !(r.testAccuracy >= 0 && r.testAccuracy <= 1 && r.validationAccuracy >= 0 && r.validationAccuracy <= 1));
  if (bad >= 0) {
    const r = runs[bad];
    throw new Error(`${where}: runs[${bad}] (${r.method} on "${r.task}", ${r.perClass} per class, seed ${r.seed}) has validation accuracy `
      + `${shown(r.validationAccuracy)} and test accuracy ${shown(r.testAccuracy)}; expected fractions in [0, 1]`);
  }
}

/** Every task × label count × method, in the order first seen: mean validation and test accuracy over seeds. */
export function summarizeRuns(runs: readonly MethodRun[]): MethodSummary[] {
  checkRuns(runs, "summarizeRuns");
  const groups = new Map<string, MethodRun[]>();
  for (const r of runs) {
    const key = JSON.stringify([r.task, r.perClass, r.method]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [...groups.values()].map((mine) => ({
    task: mine[0].task, perClass: mine[0].perClass, method: mine[0].method, seeds: mine.length,
    validation: mean(mine.map((r) => r.validationAccuracy)), test: mean(mine.map((r) => r.testAccuracy)), trainableParams: mine[0].trainableParams,
    singleClassRuns: mine.filter((r) => r.testPredictedCounts !== undefined && r.testPredictedCounts.filter((c) => c > 0).length === 1).length,
  }));
}

/**
 * Among the methods of a task at a label count that pass `include`, the one with the best mean
 * validation accuracy (on a tie, the fewer trainable parameters); undefined if none ran there.
 */
export function chooseOnValidation(summary: readonly MethodSummary[], task: string, perClass: number, include: (method: string) => boolean): MethodSummary | undefined {
  const candidates = summary.filter((s) => s.task === task && s.perClass === perClass && include(s.method));
  return candidates.reduce<MethodSummary | undefined>((best, s) => (
    !best || s.validation > best.validation || (s.validation === best.validation && s.trainableParams < best.trainableParams) ? s : best), undefined);
}

/** Method a minus method b on a task at a label count: paired bootstrap over their common seeds × the test examples. */
export function compareMethods(runs: readonly MethodRun[], testLabels: ArrayLike<number>, task: string, perClass: number, a: string, b: string): BootstrapDifference {
  const of = (method: string) => new Map(runs.filter((r) => r.task === task && r.perClass === perClass && r.method === method).map((r) => [r.seed, r]));
  const first = of(a), second = of(b);
  for (const [method, found] of [[a, first], [b, second]] as const) {
    if (found.size === 0) {
      const have = [...new Set(runs.filter((r) => r.task === task && r.perClass === perClass).map((r) => r.method))];
      throw new Error(`compareMethods: no runs of "${method}" on "${task}" with ${perClass} per class; have ${have.join(", ") || "none"}`);
    }
  }
  const seeds = [...first.keys()].filter((s) => second.has(s)).sort((x, y) => x - y);
  if (seeds.length === 0) throw new Error(`compareMethods: "${a}" and "${b}" on "${task}" with ${perClass} per class share no seed`);
  const rows = (m: Map<number, MethodRun>) => seeds.map((s) => correctness(m.get(s)!, testLabels));
  return pairedBootstrap(rows(first), rows(second));
}

/** 1 where a run's stored prediction is the label, else 0: a row for pairedBootstrap. */
export function correctness(run: { testPredictions: string }, labels: ArrayLike<number>): Uint8Array {
  if (run.testPredictions.length !== labels.length) {
    throw new Error(`correctness: ${run.testPredictions.length} stored predictions for ${labels.length} test labels; the run was scored on another test set`);
  }
  return Uint8Array.from(labels, (label, i) => (Number(run.testPredictions[i]) === label ? 1 : 0));
}

/** The controls pretraining must beat: what needs no model, and the same network's features before pretraining. */
export const CONTROLS = ["bag of characters", "linear probe, before pretraining"] as const;

/** At one task and label count: the pretrained method chosen on validation, against each control. */
export interface ControlComparison {
  task: string;
  perClass: number;
  chosen: MethodSummary;
  against: { control: string; difference: BootstrapDifference }[];
}

/**
 * For every task and label count: the method using the pretrained model with the best validation
 * accuracy, minus each control on the same seeds and test examples.
 */
export function pretrainedAgainstControls(runs: readonly MethodRun[], testLabels: Record<string, ArrayLike<number>>): ControlComparison[] {
  const summary = summarizeRuns(runs);
  const cells = [...new Set(summary.map((s) => JSON.stringify([s.task, s.perClass])))].map((k) => JSON.parse(k) as [string, number]);
  return cells.flatMap(([task, perClass]) => {
    const chosen = chooseOnValidation(summary, task, perClass, readsPretrainedModel);
    const labels = testLabels[task];
    if (!chosen) return [];
    if (!labels) throw new Error(`pretrainedAgainstControls: no test labels for "${task}"; have ${Object.keys(testLabels).join(", ")}`);
    const against = CONTROLS.map((control) => ({ control, difference: compareMethods(runs, labels, task, perClass, chosen.method, control) }));
    return [{ task, perClass, chosen, against }];
  });
}

/** The comparisons as table rows: the chosen method, its accuracies, and each difference with its interval and verdict. */
export function controlRows(comparisons: readonly ControlComparison[]): Record<string, string | number>[] {
  return comparisons.map((c) => ({
    task: c.task, "labels per class": c.perClass, "pretrained method (chosen on validation)": c.chosen.method,
    "validation accuracy": c.chosen.validation, "test accuracy": c.chosen.test,
    ...Object.fromEntries(c.against.flatMap(({ control, difference }) => [
      [`minus ${control} (points, 95% interval)`, formatDifference(difference)], [`vs ${control}`, verdict(difference)],
    ])),
  }));
}

/**
 * The lesson's verdict on its design goal, from the numbers: on how many tasks the chosen
 * pretrained method beats every control with its interval above zero at some label count, and where.
 */
export function describeControls(comparisons: readonly ControlComparison[]): string {
  const tasks = [...new Set(comparisons.map((c) => c.task))];
  const wins = tasks.map((task) => ({
    task, at: comparisons.filter((c) => c.task === task && c.against.every((a) => verdict(a.difference) === "higher")).map((c) => c.perClass),
  }));
  const won = wins.filter((w) => w.at.length > 0);
  const where = won.map((w) => `${w.task} (at ${w.at.join(", ")} per class)`).join("; ");
  return `The method using the pretrained model that validation chose beats both controls (${CONTROLS.join(" and ")}) with the 95% interval above zero `
    + `on ${won.length} of ${tasks.length} tasks${won.length > 0 ? `: ${where}` : ""}.`;
}

/**
 * One reading line per task, from the comparisons: the fewest labels per class at which the
 * pretrained method validation chose beats every control (interval above zero), or that it never
 * does; and the differences at the most labels the task was run at.
 */
export function describeTaskControls(comparisons: readonly ControlComparison[]): string[] {
  const tasks = [...new Set(comparisons.map((c) => c.task))];
  return tasks.map((task) => {
    const mine = comparisons.filter((c) => c.task === task).sort((a, b) => a.perClass - b.perClass);
    const first = mine.find((c) => c.against.every((a) => verdict(a.difference) === "higher"));
    const most = mine.at(-1)!;
    const wins = first ? `beats both controls from ${first.perClass} labels per class (${first.chosen.method} there)` : "never beats both controls";
    const at = most.against.map((a) => `${formatDifference(a.difference)} against the ${a.control}`).join(", ");
    return `${task}: the pretrained model ${wins}; at ${most.perClass} per class, ${most.chosen.method}: ${at}`;
  });
}

/**
 * Predictions against features, per task and label count: the best zero-shot question minus the
 * best method that trains on the pretrained model's features (probe or tuning), each chosen on
 * validation; where a task has no question, nothing.
 */
export function predictionsAgainstFeatures(runs: readonly MethodRun[], testLabels: Record<string, ArrayLike<number>>): Record<string, string | number>[] {
  const summary = summarizeRuns(runs);
  const cells = [...new Set(summary.map((s) => JSON.stringify([s.task, s.perClass])))].map((k) => JSON.parse(k) as [string, number]);
  return cells.flatMap(([task, perClass]) => {
    const question = chooseOnValidation(summary, task, perClass, isZeroShot);
    const features = chooseOnValidation(summary, task, perClass, (m) => readsPretrainedModel(m) && !isZeroShot(m));
    if (!question || !features) return [];
    const d = compareMethods(runs, testLabels[task], task, perClass, question.method, features.method);
    return [{
      task, "labels per class": perClass, "zero-shot": question.method, "its test accuracy": question.test,
      "from features": features.method, "test accuracy ": features.test, "zero-shot minus features (points, 95% interval)": formatDifference(d), reading: verdict(d),
    }];
  });
}

/** A learning curve as table rows: for each task and label count, every method's mean test accuracy over seeds. */
export function learningCurveRows(summary: readonly MethodSummary[], methods: readonly string[]): Record<string, string | number>[] {
  const cells = [...new Set(summary.map((s) => JSON.stringify([s.task, s.perClass])))].map((k) => JSON.parse(k) as [string, number]);
  return cells.map(([task, perClass]) => ({
    task, "labels per class": perClass,
    ...Object.fromEntries(methods.map((m) => [m, summary.find((s) => s.task === task && s.perClass === perClass && s.method === m)?.test ?? ""])),
  }));
}

/**
 * A task's learning curves for a chart (lib/core/chart.ts Series): mean test accuracy against
 * labelled examples per class, one line per method; methods run at a single label count (the
 * tuned ones) are markers.
 */
export function learningCurveSeries(summary: readonly MethodSummary[], task: string): { name: string; x: number[]; y: number[]; mode: "lines+markers" | "markers"; look?: "reference" | "main" | "faint"; trace?: Record<string, unknown> }[] {
  const mine = summary.filter((s) => s.task === task && s.method !== "majority class");
  const methods = [...new Set(mine.map((s) => s.method))];
  return methods.map((method) => {
    const points = mine.filter((s) => s.method === method).sort((a, b) => a.perClass - b.perClass);
    const look = method === "bag of characters" ? "reference" as const : method === "linear probe, pretrained" ? "main" as const : undefined;
    return {
      name: method, x: points.map((p) => p.perClass), y: points.map((p) => p.test), mode: points.length > 1 ? "lines+markers" as const : "markers" as const,
      ...(look ? { look } : {}), ...(method === "linear probe, before pretraining" ? { trace: { line: { dash: "dot" } } } : {}),
    };
  });
}

/**
 * Runs computed live beside the stored runs they repeat (same task, method, label count and seed):
 * both accuracies and how many test predictions agree. An error names a live run with no stored twin.
 */
export function agreementRows(live: readonly MethodRun[], stored: readonly MethodRun[]): Record<string, string | number>[] {
  return live.map((r) => {
    const twin = stored.find((s) => s.task === r.task && s.method === r.method && s.perClass === r.perClass && s.seed === r.seed);
    if (!twin) throw new Error(`agreementRows: no stored run of ${r.method} on "${r.task}" with ${r.perClass} per class, seed ${r.seed}`);
    const same = [...r.testPredictions].filter((p, i) => p === twin.testPredictions[i]).length;
    return {
      task: r.task, method: r.method, "labels per class": r.perClass, seed: r.seed, "live test accuracy": r.testAccuracy,
      "stored test accuracy": twin.testAccuracy, "test predictions equal to the stored ones": `${same} of ${r.testPredictions.length}`,
    };
  });
}

/**
 * "task, n per class: a − b = +x points (95% interval lo to hi, s seeds × e test examples): a is
 * higher", from the runs; an absent method is said to be absent rather than compared.
 */
export function describeComparison(runs: readonly MethodRun[], testLabels: ArrayLike<number>, task: string, perClass: number, a: string, b: string): string {
  const where = `${task}, ${perClass} per class`;
  const missing = [a, b].filter((m) => !runs.some((r) => r.task === task && r.perClass === perClass && r.method === m));
  if (missing.length > 0) return `${where}: no runs of ${missing.join(" or ")}, so no comparison`;
  const d = compareMethods(runs, testLabels, task, perClass, a, b);
  const reading = { higher: `${a} is higher`, lower: `${a} is lower`, "not distinguishable": "not distinguishable" }[verdict(d)];
  return `${where}: ${a} − ${b} = ${formatDifference(d)} points (${d.seeds} seeds × ${d.examples} test examples): ${reading}`;
}
