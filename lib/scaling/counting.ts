// The exponents under two ways of counting a model's size and cost (see COUNTINGS in analysis.ts):
// approach 2 and approach 3 fitted to the same runs, once with N the non-embedding parameters and
// C = 6ND, once with every parameter and every FLOP. At the course's sizes the output head,
// the embeddings and attention are a large share of both, so the convention moves the exponents.
import { checkNonEmpty, checkResampling } from "../core/checks";
import { countParameters, flopsPerToken } from "../gpt/model";
import { analyseIsoflop, isoflopPoints, COUNTINGS, type Counting, type IsoflopAnalysis } from "./analysis";
import { bootstrapChinchilla, type ChinchillaBootstrap } from "./bootstrap";
import { CHINCHILLA_2022, KAPLAN_2020 } from "./reference";
import type { ScalingDesign, SweepResult } from "./sweepDesign";

export interface CountedFits {
  counting: Counting;
  approach2: IsoflopAnalysis;
  approach3: ChinchillaBootstrap;
}

/** Approach 2 (with bootstrap intervals) and approach 3 (bootstrapped) under each counting. */
export function fitsByCounting(
  design: ScalingDesign, ladder: SweepResult[], options: { resamples2: number; resamples3: number; seed: number },
): CountedFits[] {
  const fn = "fitsByCounting";
  checkNonEmpty(fn, "ladder", ladder, "the ladder runs of the IsoFLOP study (sweepParts)");
  checkResampling(fn, { resamples: options.resamples2, seed: options.seed });
  checkResampling(fn, { resamples: options.resamples3, seed: options.seed });
  return COUNTINGS.map((counting) => {
    const points = isoflopPoints(design, ladder, counting);
    return {
      counting,
      approach2: analyseIsoflop(points, { resamples: options.resamples2, seed: options.seed }),
      approach3: bootstrapChinchilla(points.map(({ N, D, loss }) => ({ N, D, loss })), { resamples: options.resamples3, seed: options.seed }),
    };
  });
}

/** One row per counting: approach 2's a, b and γ and approach 3's α, β and a, each with its interval. */
export function countingRows(fits: CountedFits[]): Record<string, string | number>[] {
  const show = (iv: { estimate: number; low: number; high: number }) => `${iv.estimate.toFixed(3)} (${iv.low.toFixed(3)} – ${iv.high.toFixed(3)})`;
  return fits.map(({ counting, approach2: two, approach3: three }) => ({
    counting,
    "a (approach 2)": show(two.intervals.a), "b (approach 2)": show(two.intervals.b), "γ (approach 2)": show(two.intervals.gamma),
    "α (approach 3)": show(three.intervals.alpha), "β (approach 3)": show(three.intervals.beta), "a (approach 3)": show(three.intervals.a),
  }));
}

/** How much the two countings differ on these runs: every parameter over the non-embedding ones, and full FLOPs over 6ND, smallest and largest. */
export function countingShares(runs: SweepResult[]): { parameters: { min: number; max: number }; flops: { min: number; max: number } } {
  checkNonEmpty("countingShares", "runs", runs, "sweep results");
  const range = (xs: number[]) => ({ min: Math.min(...xs), max: Math.max(...xs) });
  return {
    parameters: range(runs.map((r) => countParameters(r.model).total / r.params)),
    flops: range(runs.map((r) => flopsPerToken(r.model) / (6 * r.params))),
  };
}

/**
 * One line per counting and approach: its a with interval, and which paper's a it lies nearer,
 * Kaplan et al.'s 0.73 or Hoffmann et al.'s (0.49 by approach 2, 0.46 by approach 3), and which
 * of them its interval holds.
 */
export function describeCountings(fits: CountedFits[]): string[] {
  return fits.flatMap(({ counting, approach2, approach3 }) => ([
    ["approach 2", approach2.intervals.a, CHINCHILLA_2022.exponents.approach2.a],
    ["approach 3", approach3.intervals.a, CHINCHILLA_2022.exponents.approach3.a],
  ] as const).map(([approach, a, hoffmann]) => {
    const kaplan = KAPLAN_2020.nOptExponent;
    const nearer = Math.abs(a.estimate - kaplan) < Math.abs(a.estimate - hoffmann) ? `Kaplan's ${kaplan}` : `Hoffmann's ${hoffmann}`;
    const held = [[kaplan, "Kaplan's"], [hoffmann, "Hoffmann's"]].filter(([v]) => a.low <= (v as number) && (v as number) <= a.high).map(([, who]) => who);
    return `${counting}, ${approach}: a = ${a.estimate.toFixed(3)} (${a.low.toFixed(3)} – ${a.high.toFixed(3)}), nearer ${nearer}; `
      + `the interval holds ${held.length ? held.join(" and ") : "neither paper's"}`;
  }));
}
