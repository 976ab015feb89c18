// Turning scores into a pruned data set: keep the hardest (highest-scoring), the easiest, or a
// random fraction, over the whole set or class by class.
import { permutation } from "./classifier";
import { Random } from "../core/random";
import { checkNonEmpty, checkPositiveInteger, checkSameLength, checkThat, refuse, shown } from "../core/checks";

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
  checkPositiveInteger("keptCount", "n", n);
  checkThat(fraction > 0 && fraction <= 1, "keptCount", "fraction", fraction, "in (0, 1]");
  return Math.max(1, Math.round(fraction * n));
}

/** The checks at selectByScore's door: one score per example (no NaN), a fraction, a keep rule, labels when balancing. */
function checkSelectInputs(fn: string, scores: ArrayLike<number>, options: SelectOptions): void {
  checkNonEmpty(fn, "scores", scores, "one score per example");
  checkThat(typeof options.fraction === "number" && options.fraction > 0 && options.fraction <= 1, fn, "fraction", options.fraction, "in (0, 1]");
  checkKeepRule(fn, options.keep);
  for (let i = 0; i < scores.length; i++) if (Number.isNaN(scores[i])) refuse(fn, `scores[${i}]`, scores[i], "a number (every example needs a score)");
  if (options.labels !== undefined) checkSameLength(fn, "scores", scores, "labels", options.labels);
  checkThat(!options.classBalanced || options.labels !== undefined, fn, "labels", options.labels, "given when classBalanced is set");
}

/**
 * Indices (ascending) of the examples kept. Ties among equal scores (forgetting counts have
 * many) are broken in a seeded random order, so no accident of the data's order decides them.
 */
export function selectByScore(scores: ArrayLike<number>, options: SelectOptions): Int32Array {
  const fn = "selectByScore";
  checkSelectInputs(fn, scores, options);
  const n = scores.length;
  const { fraction, keep, labels } = options;

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
