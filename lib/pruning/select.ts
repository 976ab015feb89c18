// Turning scores into a pruned data set: keep the hardest (highest-scoring), the easiest, or a
// random fraction, over the whole set or class by class.
import { permutation } from "./classifier";
import { Random } from "../core/random";
import { shown } from "../core/checks";

export const KEEP_RULES = ["hard", "easy", "random"] as const;
export type KeepRule = (typeof KEEP_RULES)[number];

/** Refuses a keep rule that is none of KEEP_RULES. */
export function checkKeepRule(fn: string, keep: string): void {
  if (!(KEEP_RULES as readonly string[]).includes(keep)) throw new Error(`${fn}: keep must be one of ${KEEP_RULES.join(", ")}; got ${shown(keep)}`);
}

export interface SelectOptions {
  /** Fraction of the examples to keep, in (0, 1]. At least one example is always kept. */
  fraction: number;
  keep: KeepRule;
  /** Class of each example: needed with classBalanced. */
  labels?: ArrayLike<number>;
  /** Keep the same fraction of every class (rounded per class) instead of of the whole set. */
  classBalanced?: boolean;
  /** Seeds the random rule and the order among tied scores. Default 0. */
  seed?: number;
}

/** How many of `n` examples a fraction keeps: round(fraction·n), at least 1. */
export function keptCount(n: number, fraction: number): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`keptCount: n must be a positive integer; got ${n}`);
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`keptCount: fraction must be in (0, 1]; got ${fraction}`);
  return Math.max(1, Math.round(fraction * n));
}

/**
 * Indices (ascending) of the examples kept. Ties among equal scores (forgetting counts have
 * many) are broken in a seeded random order, so no accident of the data's order decides them.
 */
export function selectByScore(scores: ArrayLike<number>, options: SelectOptions): Int32Array {
  const fn = "selectByScore";
  if (scores == null || typeof scores.length !== "number") throw new Error(`${fn}: scores must be an array of numbers`);
  const n = scores.length;
  if (n === 0) throw new Error(`${fn}: there are no scores; expected one per example`);
  const { fraction, keep } = options;
  if (typeof fraction !== "number" || !(fraction > 0 && fraction <= 1)) throw new Error(`${fn}: fraction must be in (0, 1]; got ${fraction}`);
  checkKeepRule(fn, keep);
  for (let i = 0; i < n; i++) if (Number.isNaN(scores[i])) throw new Error(`${fn}: scores[${i}] is NaN; every example needs a score`);
  const labels = options.labels;
  if (labels !== undefined && labels.length !== n) throw new Error(`${fn}: there are ${n} scores but ${labels.length} labels; expected one label per score`);
  if (options.classBalanced && labels === undefined) throw new Error(`${fn}: classBalanced needs the examples' labels`);

  const random = new Random(options.seed ?? 0);
  // A random rank for every example: the random rule's order, and the tie-break for the others.
  const rank = new Float64Array(n);
  permutation(n, random).forEach((p, i) => { rank[p] = i; });
  const order = (indices: number[]): number[] => {
    if (keep === "random") return indices.sort((a, b) => rank[a] - rank[b]);
    const sign = keep === "hard" ? -1 : 1;
    return indices.sort((a, b) => (scores[a] === scores[b] ? rank[a] - rank[b] : sign * (scores[a] < scores[b] ? -1 : 1)));
  };

  const groups = new Map<number, number[]>();
  if (options.classBalanced) {
    for (let i = 0; i < n; i++) {
      const c = labels![i];
      if (!groups.has(c)) groups.set(c, []);
      groups.get(c)!.push(i);
    }
  } else {
    groups.set(0, Array.from({ length: n }, (_, i) => i));
  }
  const kept: number[] = [];
  for (const indices of groups.values()) kept.push(...order(indices).slice(0, keptCount(indices.length, fraction)));
  return Int32Array.from(kept.sort((a, b) => a - b));
}
