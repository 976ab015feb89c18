// The course's one knob for how much work a lesson does: "smoke" runs in seconds (CI,
// tests), "full" is worth a student's time. The runner sets COURSE_SCALE for the kernel.

export const SCALES = ["smoke", "full"] as const;
export type Scale = (typeof SCALES)[number];

export function parseScale(value: string, where = "scale"): Scale {
  if ((SCALES as readonly string[]).includes(value)) return value as Scale;
  throw new Error(`${where} must be one of ${SCALES.join(", ")}; got ${JSON.stringify(value)}`);
}

/** The scale lessons run at: COURSE_SCALE, or "full" when unset (a student in Jupyter). */
export function courseScale(): Scale {
  const value = process.env.COURSE_SCALE;
  return value === undefined || value === "" ? "full" : parseScale(value, "COURSE_SCALE");
}

/** Picks the setting for the current scale: `atScale({ smoke: 200, full: 5000 })`. */
export function atScale<T>(choices: Record<Scale, T>): T {
  return choices[courseScale()];
}
