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

/** `value` if it is an integer ≥ 1; otherwise an error naming `fn`, `name` and the value. */
export function checkPositiveInteger(fn: string, name: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 1)) throw new Error(`${fn}: ${name} must be a positive integer; got ${shown(value)}`);
  return value;
}

/** `value` if it is a finite number in [min, max]; otherwise an error naming `fn`, `name` and the value. */
export function checkNumber(fn: string, name: string, value: number, min = -Infinity, max = Infinity): number {
  if (!(typeof value === "number" && Number.isFinite(value) && value >= min && value <= max)) {
    const range = min === -Infinity && max === Infinity ? "" : max === Infinity ? ` ≥ ${min}` : min === -Infinity ? ` ≤ ${max}` : ` in [${min}, ${max}]`;
    throw new Error(`${fn}: ${name} must be a finite number${range}; got ${shown(value)}`);
  }
  return value;
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
    throw new Error(`${fn}: unknown option ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ""}; known: ${names.join(", ")}`);
  }
}

/** Refuses a value that is not a function (a callback given as a string, say). */
export function checkFunction(fn: string, name: string, value: unknown, optional = false): void {
  if (optional && value === undefined) return;
  if (typeof value !== "function") throw new Error(`${fn}: ${name} must be a function${optional ? " (or left out)" : ""}; got ${shown(value)}`);
}

/** Refuses a value that is not a plain object (options left out, null). */
export function checkObject(fn: string, name: string, value: unknown, expected: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${fn}: ${name} must be ${expected}; got ${shown(value)}`);
}

/** Refuses anything but an Int32Array of token ids. */
export function checkIds(fn: string, name: string, value: unknown): void {
  if (!(value instanceof Int32Array)) throw new Error(`${fn}: ${name} must be an Int32Array of token ids; got ${describeValue(value)}`);
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
    throw new Error(`${fn}: ${what} would hold ${count.toLocaleString("en-US")} float64 values (${(count * 8 / 2 ** 30).toFixed(1)} GiB), more than the ${MAX_FLOAT64S.toLocaleString("en-US")} (2 GiB) allowed; choose smaller sizes`);
  }
}

// ---------------------------------------------------------------------------------------------
// Numbers and series for the fits (lib/core/numerics.ts, lib/scaling, lib/zeroshot)

/** Throws unless `value` is a finite number > 0, naming it as `label` in `fn`'s error. */
export function checkPositive(fn: string, label: string, value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`${fn}: ${label} = ${shown(value)} must be a finite positive number`);
  }
  if (value <= 0) throw new Error(`${fn}: ${label} = ${shown(value)} must be positive`);
}

/** Throws unless `value` is a finite number. */
export function checkFinite(fn: string, label: string, value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`${fn}: ${label} = ${shown(value)} must be a finite number`);
  }
}

export function checkEnough(fn: string, count: number, parameters: readonly string[], what: string): void {
  if (count < parameters.length) {
    throw new Error(
      `${fn}: needs at least ${parameters.length} ${what} to fit ${parameters.length} parameters (${parameters.join(", ")}); got ${count}`,
    );
  }
}

/** Checks (x, y) series: same length, enough values for the parameters, all finite and positive. */
export function checkSeries(fn: string, x: ArrayLike<number>, y: ArrayLike<number>, parameters: readonly string[]): void {
  if (x == null || y == null || typeof x.length !== "number" || typeof y.length !== "number") {
    throw new Error(`${fn}: x and y must be arrays of numbers; got ${typeof x} and ${typeof y}`);
  }
  if (x.length !== y.length) {
    throw new Error(`${fn}: x has ${x.length} values but y has ${y.length}; they must have the same length`);
  }
  checkEnough(fn, x.length, parameters, "points");
  for (let i = 0; i < x.length; i++) {
    checkPositive(fn, `x[${i}]`, x[i]);
    checkPositive(fn, `y[${i}]`, y[i]);
  }
}

/** Throws unless at least `needed` distinct values occur, since a fit along a single x is degenerate. */
export function checkDistinct(fn: string, label: string, values: ArrayLike<number>, needed: number): void {
  const distinct = new Set<number>();
  for (let i = 0; i < values.length && distinct.size < needed; i++) distinct.add(values[i]);
  if (distinct.size < needed) {
    throw new Error(`${fn}: ${label} has ${distinct.size} distinct value(s); needs at least ${needed} to fit`);
  }
}

/** Throws at the first value of `values` that is not finite, naming it as `what`[i]. */
export function checkAllFinite(fn: string, what: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new Error(`${fn}: ${what}[${i}] is ${values[i]}; expected finite numbers`);
  }
}

/**
 * The O(1) checks at the door of an objective (it runs inside L-BFGS, so nothing per point):
 * θ holds one value per parameter, `grad` has room for them, δ > 0.
 */
export function checkObjectiveArguments(fn: string, parameters: readonly string[], theta: ArrayLike<number>, grad: Float64Array | null, delta: number): void {
  if (theta == null || theta.length !== parameters.length) {
    throw new Error(`${fn}: theta must hold ${parameters.length} values [${parameters.join(", ")}]; got ${theta == null ? shown(theta) : `${theta.length}`}`);
  }
  if (grad !== null && grad !== undefined && !(grad.length >= parameters.length)) {
    throw new Error(`${fn}: grad must have room for ${parameters.length} values; got length ${grad.length}`);
  }
  if (!(typeof delta === "number" && delta > 0 && Number.isFinite(delta))) throw new Error(`${fn}: delta = ${shown(delta)} must be a finite positive number`);
}
