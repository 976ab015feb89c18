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
