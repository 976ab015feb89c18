// How a bad value is shown in an error: as the user wrote it. JSON.stringify alone would show
// NaN and Infinity as "null" and undefined as nothing.
export function shown(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || value === undefined) return String(value);
  if (typeof value === "function") return `a function (${value.name || "anonymous"})`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value); // a cycle, say
  }
}
