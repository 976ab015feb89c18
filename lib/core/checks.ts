// How a bad value is shown in an error: as the user wrote it. JSON.stringify alone would show
// NaN and Infinity as "null" and undefined as nothing.
export function shown(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || value === undefined) return String(value);
  if (typeof value === "function") return `a function (${value.name || "anonymous"})`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value); // a cycle, say
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

// Every input error of lib has one shape, `fn: name must be expected; got value`, so a reader
// finds the function, the argument, what it should have been and what it was in the same places.

/**
 * An input error whose stack starts at the function that was called wrongly: the frames of these
 * helpers would only stand between the message and the caller's line in a notebook's traceback.
 */
function inputError(message: string): Error {
  const error = new Error(message);
  if (typeof error.stack === "string") error.stack = error.stack.split("\n").filter((line) => !/[\\/]core[\\/]checks\.[cm]?[jt]s:\d/.test(line)).join("\n");
  return error;
}

/** Throws the input error `fn: name must be expected; got value` (`got` replaces shown(value) where a length or a kind says more). */
export function refuse(fn: string, name: string, value: unknown, expected: string, got: string = shown(value)): never {
  throw inputError(`${fn}: ${name} must be ${expected}; got ${got}`);
}

/** Refuses `value` unless `ok`: for a rule no helper below covers. */
export function checkThat(ok: boolean, fn: string, name: string, value: unknown, expected: string): void {
  if (!ok) refuse(fn, name, value, expected);
}

/** `value` if it is an integer ≥ 1; otherwise an error naming `fn`, `name` and the value. */
export function checkPositiveInteger(fn: string, name: string, value: number): number {
  return checkInteger(fn, name, value, 1);
}

/** What an integer in [min, max] is called in an error: "a positive integer", "an integer ≥ 0", "an integer in [2, 9]". */
function integerRange(min: number, max: number): string {
  if (max === Infinity) return min === 1 ? "a positive integer" : `an integer ≥ ${min}`;
  return `an integer in [${min}, ${max}]`;
}

/** `value` if it is an integer in [min, max]; otherwise an error naming `fn`, `name` and the value. */
export function checkInteger(fn: string, name: string, value: number, min = 0, max = Infinity): number {
  if (!(Number.isInteger(value) && value >= min && value <= max)) refuse(fn, name, value, integerRange(min, max));
  return value;
}

/** `value` if it is a finite number in [min, max]; otherwise an error naming `fn`, `name` and the value. */
export function checkNumber(fn: string, name: string, value: number, min = -Infinity, max = Infinity): number {
  if (!(typeof value === "number" && Number.isFinite(value) && value >= min && value <= max)) {
    const range = min === -Infinity && max === Infinity ? "" : max === Infinity ? ` ≥ ${min}` : min === -Infinity ? ` ≤ ${max}` : ` in [${min}, ${max}]`;
    refuse(fn, name, value, `a finite number${range}`);
  }
  return value;
}

/** `value` if it is a probability, a number in [0, 1]. */
export function checkProbability(fn: string, name: string, value: number): number {
  return checkNumber(fn, name, value, 0, 1);
}

/** Throws unless 0 < level < 1: the central coverage of an interval. */
export function checkLevel(fn: string, level: number): void {
  checkThat(typeof level === "number" && level > 0 && level < 1, fn, "level", level, "between 0 and 1 (e.g. 0.9 for 5–95%)");
}

/** Checks the options of a bootstrap: at least `minResamples` resamples, a finite seed, a level (default 0.9). */
export function checkResampling(fn: string, options: { resamples: number; seed: number; level?: number }, minResamples = 1): void {
  checkObject(fn, "options", options, "{ resamples, seed }");
  checkInteger(fn, "resamples", options.resamples, minResamples);
  checkLevel(fn, options.level ?? 0.9);
  checkNumber(fn, "seed", options.seed);
}

/** Refuses an array (or typed array) that is missing or empty; `expected` says what it should hold. */
export function checkNonEmpty(fn: string, name: string, values: ArrayLike<unknown>, expected = "a non-empty array"): void {
  if (values == null || typeof values.length !== "number") refuse(fn, name, values, expected);
  // JSON shows an empty typed array as {}: name its class instead.
  if (values.length === 0) refuse(fn, name, values, expected, Array.isArray(values) ? "[]" : `an empty ${describeValue(values)}`);
}

/** Refuses `b` unless it has as many values as `a` (one per value of `a`). */
export function checkSameLength(fn: string, nameA: string, a: ArrayLike<unknown>, nameB: string, b: ArrayLike<unknown>): void {
  if (b.length !== a.length) refuse(fn, nameB, b, `${a.length} values long, one per value of ${nameA}`, `${b.length}`);
}

/** One rule of a config object: the field, whether its value passes, and what it must be. */
export interface ConfigRule<T> {
  key: keyof T & string;
  ok: (config: T) => boolean;
  expected: (config: T) => string;
}

/**
 * The row maker of a table of rules for configs of type T: rule(field, predicate on its value
 * (and the whole config), what it must be). `rulesFor<TrainConfig>()` gives TrainConfig's.
 */
export function rulesFor<T>() {
  return <K extends keyof T & string>(key: K, ok: (value: T[K], config: T) => boolean, expected: string | ((config: T) => string)): ConfigRule<T> => ({
    key, ok: (c) => ok(c[key], c), expected: typeof expected === "string" ? () => expected : expected,
  });
}

/** A rule's predicate: an integer ≥ min (undefined fails). */
export const integerFrom = (min: number) => (v: number | undefined): boolean => Number.isInteger(v) && (v as number) >= min;

/** Checks `config` against its table of rules, in order; the first field that fails is named as `prefix` + field. */
export function checkRules<T>(fn: string, prefix: string, config: T, rules: readonly ConfigRule<T>[]): void {
  for (const r of rules) if (!r.ok(config)) refuse(fn, `${prefix}${r.key}`, config[r.key], r.expected(config));
}

/** Edit distance (insertions, deletions, substitutions) between two short strings. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** Refuses keys of `given` that `known` lacks: a misspelt option would otherwise be ignored in silence. */
export function checkKnownKeys(fn: string, given: object, known: object): void {
  const names = Object.keys(known);
  for (const key of Object.keys(given)) {
    if (names.includes(key)) continue;
    const near = names.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
    throw inputError(`${fn}: unknown option ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ""}; known: ${names.join(", ")}`);
  }
}

/** Refuses a value that is not a function (a callback given as a string, say). */
export function checkFunction(fn: string, name: string, value: unknown, optional = false): void {
  if (optional && value === undefined) return;
  if (typeof value !== "function") refuse(fn, name, value, `a function${optional ? " (or left out)" : ""}`);
}

/** Refuses a value that is not a plain object (options left out, null). */
export function checkObject(fn: string, name: string, value: unknown, expected: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) refuse(fn, name, value, expected);
}

/** Refuses anything but an Int32Array of token ids. */
export function checkIds(fn: string, name: string, value: unknown): void {
  if (!(value instanceof Int32Array)) refuse(fn, name, value, "an Int32Array of token ids", describeValue(value));
}

/** What kind of value this is, for "must be a Float32Array; got …": the class name of an object. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  return typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
}

/** The most float64 values one plain array may hold (2^28, 2 GiB): beyond it, refuse before allocating. */
export const MAX_FLOAT64S = 2 ** 28;

/** Throws unless `count` values (of `what`) fit under MAX_FLOAT64S; names the size and the bytes it would need. */
export function checkFloat64Count(fn: string, what: string, count: number): void {
  if (!(count <= MAX_FLOAT64S)) {
    throw inputError(`${fn}: ${what} would hold ${count.toLocaleString("en-US")} float64 values (${(count * 8 / 2 ** 30).toFixed(1)} GiB), more than the ${MAX_FLOAT64S.toLocaleString("en-US")} (2 GiB) allowed; choose smaller sizes`);
  }
}

// ---------------------------------------------------------------------------------------------
// Numbers and series for the fits (lib/core/numerics.ts, lib/scaling, lib/zeroshot)

/** Throws unless `value` is a finite number > 0, naming it as `label` in `fn`'s error. */
export function checkPositive(fn: string, label: string, value: number): void {
  if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) refuse(fn, label, value, "a finite positive number");
}

/** Throws unless `count` (the length of `name`) gives at least one `what` per parameter of the fit. */
export function checkEnough(fn: string, name: string, count: number, parameters: readonly string[], what: string): void {
  if (count < parameters.length) {
    refuse(fn, name, count, `a list of at least ${parameters.length} ${what} to fit ${parameters.length} parameters (${parameters.join(", ")})`, `${count}`);
  }
}

/** Checks (x, y) series: same length, enough values for the parameters, all finite and positive. */
export function checkSeries(fn: string, x: ArrayLike<number>, y: ArrayLike<number>, parameters: readonly string[]): void {
  if (x == null || typeof x.length !== "number") refuse(fn, "x", x, "an array of numbers");
  if (y == null || typeof y.length !== "number") refuse(fn, "y", y, "an array of numbers");
  checkSameLength(fn, "x", x, "y", y);
  checkEnough(fn, "x", x.length, parameters, "points");
  for (let i = 0; i < x.length; i++) {
    checkPositive(fn, `x[${i}]`, x[i]);
    checkPositive(fn, `y[${i}]`, y[i]);
  }
}

/** Throws unless at least `needed` distinct values occur, since a fit along a single x is degenerate. */
export function checkDistinct(fn: string, label: string, values: ArrayLike<number>, needed: number): void {
  const distinct = new Set<number>();
  for (let i = 0; i < values.length && distinct.size < needed; i++) distinct.add(values[i]);
  if (distinct.size < needed) refuse(fn, label, values, `spread over at least ${needed} distinct values to fit`, `${distinct.size} distinct value(s)`);
}

/** Throws at the first value of `values` that is not finite, naming it as `what`[i]. */
export function checkAllFinite(fn: string, what: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) refuse(fn, `${what}[${i}]`, values[i], "a finite number");
  }
}

/**
 * The O(1) checks at the door of an objective (it runs inside L-BFGS, so nothing per point):
 * θ holds one value per parameter, `grad` has room for them, δ > 0.
 */
export function checkObjectiveArguments(fn: string, parameters: readonly string[], theta: ArrayLike<number>, grad: Float64Array | null, delta: number): void {
  if (theta == null || theta.length !== parameters.length) {
    refuse(fn, "theta", theta, `${parameters.length} values [${parameters.join(", ")}]`, theta == null ? shown(theta) : `${theta.length} values`);
  }
  if (grad !== null && grad !== undefined && !(grad.length >= parameters.length)) {
    refuse(fn, "grad", grad, `at least ${parameters.length} values long`, `length ${grad.length}`);
  }
  checkPositive(fn, "delta", delta);
}

// ---------------------------------------------------------------------------------------------
// {N, D, loss} points of the scaling-law fits (lib/scaling). A fit on a NaN, a zero or identical
// points fails far from its cause (as a NaN parameter, or a "converged" nonsense fit), so every
// fit checks its points first and names the offending value.

/** One training run as the fits see it: N parameters, D tokens, the loss reached. */
interface RunPoint {
  N: number;
  D: number;
  loss: number;
}

/** Checks {N, D, loss} points: enough for the parameters, every field finite and positive. */
export function checkPoints(fn: string, points: readonly RunPoint[], parameters: readonly string[]): void {
  if (!Array.isArray(points)) refuse(fn, "points", points, "an array of {N, D, loss}");
  checkEnough(fn, "points", points.length, parameters, "points");
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (p == null || typeof p !== "object") refuse(fn, `points[${i}]`, p, "an object {N, D, loss}");
    checkPositive(fn, `points[${i}].N`, p.N);
    checkPositive(fn, `points[${i}].D`, p.D);
    checkPositive(fn, `points[${i}].loss`, p.loss);
  }
}

/** Distinct N, distinct D and distinct (N, D) pairs among the points. */
function spread(points: readonly RunPoint[]): { N: number; D: number; pairs: number } {
  return { N: new Set(points.map((p) => p.N)).size, D: new Set(points.map((p) => p.D)).size, pairs: new Set(points.map((p) => `${p.N} ${p.D}`)).size };
}

/** Whether a law in N and D with these parameters can be fitted at all: both must vary, over enough distinct runs. */
export function hasSpread(points: readonly RunPoint[], parameters: readonly string[]): boolean {
  const s = spread(points);
  return s.N >= 2 && s.D >= 2 && s.pairs >= parameters.length;
}

/**
 * Throws unless N and D each take at least two values over at least as many distinct runs as
 * parameters: on identical points every fit "converges" to one of infinitely many laws.
 */
export function checkSpread(fn: string, points: readonly RunPoint[], parameters: readonly string[]): void {
  if (hasSpread(points, parameters)) return;
  const s = spread(points);
  refuse(fn, "points", points, `spread over at least 2 distinct N, 2 distinct D and ${parameters.length} distinct (N, D) runs to fit ${parameters.length} parameters (${parameters.join(", ")})`,
    `${s.N} distinct N, ${s.D} distinct D and ${s.pairs} distinct (N, D) runs`);
}
