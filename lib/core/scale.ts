// The course's one knob for how much work a lesson does: "smoke" runs in seconds (CI,
// tests), "full" is worth a student's time. The runner sets COURSE_SCALE for the kernel; in
// Jupyter a lesson's first cell can call setScale instead.
import { shown } from "./checks";

export const SCALES = ["smoke", "full"] as const;
export type Scale = (typeof SCALES)[number];

export function parseScale(value: string, where = "scale"): Scale {
  if ((SCALES as readonly string[]).includes(value)) return value as Scale;
  throw new Error(`${where} must be one of ${SCALES.join(", ")}; got ${shown(value)}`);
}

/** The scale lessons run at: COURSE_SCALE, or "full" when unset (a student in Jupyter). */
export function courseScale(): Scale {
  const value = process.env.COURSE_SCALE;
  return value === undefined || value === "" ? "full" : parseScale(value, "COURSE_SCALE");
}

/** Picks the setting for the current scale: `atScale({ smoke: 200, full: 5000 })`. */
export function atScale<T>(choices: Record<Scale, T>): T {
  const scale = courseScale();
  if (!(scale in choices)) throw new Error(`atScale: no choice for the current scale ${shown(scale)}; give one for each of ${SCALES.join(", ")}`);
  return choices[scale];
}

/**
 * Switches the scale for the rest of this kernel session (and the worker threads it starts):
 * `setScale("smoke")` in a lesson's first cell, before anything reads the scale.
 */
export function setScale(scale: Scale): Scale {
  process.env.COURSE_SCALE = parseScale(scale, "setScale");
  console.log(describeScale());
  return scale;
}

/** One line on the scale in force and how to change it, printed as a lesson starts. */
export function describeScale(): string {
  return courseScale() === "full"
    ? `scale: full. For a run of seconds whose numbers mean little, uncomment setScale("smoke") in the first cell.`
    : `scale: smoke. Every step is tiny, so the numbers mean little; setScale("full") for the real thing.`;
}
