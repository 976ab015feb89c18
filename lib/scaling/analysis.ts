// Reading a scaling study (lib/scaling/sweepDesign.ts): which runs are which, the noise between seeds,
// IsoFLOP minima with bootstrap intervals, the regimes where one of N and D is not limiting,
// Kaplan's "train large, stop early" frontier against finished runs, and a prediction for a
// budget the fit never saw. Every loss reported here is a test loss, unless it comes from a
// run's curve (random validation batches), which is said where it happens.
import { COLORS, type Series } from "../core/chart";
import { checkNonEmpty, checkNumber, checkObject, checkPositive, checkResampling, checkThat, shown } from "../core/checks";
import { fitPowerLaw, percentileInterval, type Interval, type PowerLawFit } from "../core/numerics";
import { Random } from "../core/random";
import { countParameters, flopsPerToken } from "../gpt/model";
import { isoflopFit, parabolaMinimum, type IsoflopFit, type IsoflopPoint } from "./isoflop";
import { sameShape, shapeName, type ScalingDesign, type ScalingSweep, type SweepResult } from "./sweepDesign";

/** Throws unless `runs` is an array of results, naming `fn`. */
function checkRuns(fn: string, runs: readonly SweepResult[]): void {
  if (!Array.isArray(runs)) throw new Error(`${fn}: runs must be an array of sweep results; got ${shown(runs)}`);
}

/** The design budget a run was planned at (its C = 6ND differs by the rounding of D to whole steps). */
export function budgetOf(design: ScalingDesign, run: SweepResult): number {
  const fn = "budgetOf";
  if (!Array.isArray(design?.budgets) || design.budgets.length === 0) throw new Error(`${fn}: design.budgets must be a non-empty array of budgets; got ${shown(design?.budgets)}`);
  checkPositive(fn, "run.flops", run?.flops);
  return design.budgets.reduce((best, C) => (Math.abs(Math.log(run.flops / C)) < Math.abs(Math.log(run.flops / best)) ? C : best));
}

/** A study's runs by role: one seed of every ladder size at every budget, the seed repeats, the shapes. */
export function sweepParts(sweep: ScalingSweep) {
  const { design, runs } = sweep;
  const onLadder = (r: SweepResult) => design.ladder.some((s) => sameShape(s, r.model));
  const ladder = runs.filter((r) => onLadder(r) && r.seed === 1);
  const seeds = runs.filter((r) => onLadder(r) && budgetOf(design, r) === design.seedBudget);
  const shapes = runs.filter((r) => !onLadder(r));
  return { ladder, seeds, shapes };
}

/**
 * How a run's size and cost are counted. "6ND", Kaplan's and Hoffmann's convention: N the
 * non-embedding parameters, C = 6ND. "every parameter and FLOP": N every parameter (embeddings
 * included) and C the FLOPs the run did, attention and the output head included (flopsPerToken).
 * At 10²–10⁵ parameters the two differ most; Porian et al. (2024) trace part of the gap between
 * Kaplan's and Hoffmann's exponents to this choice.
 */
export const COUNTINGS = ["6ND", "every parameter and FLOP"] as const;
export type Counting = (typeof COUNTINGS)[number];

/**
 * Each run as an IsoFLOP point: N its parameters, D its tokens, its test loss, C the budget it was
 * planned at; counted "every parameter and FLOP", N is every parameter and each run carries its cost.
 */
export function isoflopPoints(design: ScalingDesign, runs: SweepResult[], counting: Counting = "6ND"): IsoflopPoint[] {
  const fn = "isoflopPoints";
  checkRuns(fn, runs);
  checkThat((COUNTINGS as readonly string[]).includes(counting), fn, "counting", counting, COUNTINGS.map((c) => `"${c}"`).join(" or "));
  runs.forEach((r, i) => {
    for (const key of ["params", "tokens", "testLoss"] as const) checkPositive(fn, `runs[${i}].${key}`, r[key]);
  });
  return runs.map((r) => {
    const point = { N: r.params, D: r.tokens, loss: r.testLoss, C: budgetOf(design, r) };
    return counting === "6ND" ? point : { ...point, N: countParameters(r.model).total, cost: flopsPerToken(r.model) * r.tokens };
  });
}

export interface SeedNoise {
  /** Per size: mean and standard deviation of the test loss over seeds (sd NaN for a size with one seed). */
  sizes: { N: number; label: string; mean: number; sd: number; losses: number[] }[];
  /** The standard deviation pooled over sizes (each size's variance weighted by its degrees of freedom). */
  pooledSd: number;
  degreesOfFreedom: number;
}

/** Seed-to-seed noise of a loss (default: the test loss) from runs that differ only in their seed. */
export function seedNoise(runs: SweepResult[], lossOf: (r: SweepResult) => number = (r) => r.testLoss): SeedNoise {
  const fn = "seedNoise";
  checkRuns(fn, runs);
  runs.forEach((r, i) => {
    checkPositive(fn, `runs[${i}].params`, r.params);
    checkNumber(fn, `the loss of runs[${i}] (${r.label})`, lossOf(r));
  });
  const bySize = new Map<number, SweepResult[]>();
  for (const r of runs) bySize.set(r.params, [...(bySize.get(r.params) ?? []), r]);
  const sizes = [...bySize.entries()].sort((a, b) => a[0] - b[0]).map(([N, rs]) => {
    const losses = rs.map(lossOf);
    const mean = losses.reduce((s, x) => s + x, 0) / losses.length;
    const sd = losses.length > 1 ? Math.sqrt(losses.reduce((s, x) => s + (x - mean) ** 2, 0) / (losses.length - 1)) : NaN;
    return { N, label: shapeName(rs[0].model), mean, sd, losses };
  });
  const withDf = sizes.filter((s) => s.losses.length > 1);
  const degreesOfFreedom = withDf.reduce((s, x) => s + x.losses.length - 1, 0);
  if (degreesOfFreedom === 0) throw new Error("seedNoise: needs some size run with at least 2 seeds");
  const pooledSd = Math.sqrt(withDf.reduce((s, x) => s + (x.losses.length - 1) * x.sd ** 2, 0) / degreesOfFreedom);
  return { sizes, pooledSd, degreesOfFreedom };
}

/**
 * The seed-to-seed standard deviation to use for a model of N parameters: that of the measured
 * size nearest to N in log N (sizes measured with fewer than 2 seeds are skipped). Sizes differ
 * by tens of times in their noise, so one pooled number over- or understates most of them.
 */
export function noiseAt(noise: SeedNoise, N: number): number {
  checkPositive("noiseAt", "N", N);
  const measured = noise.sizes.filter((s) => s.losses.length > 1);
  if (measured.length === 0) throw new Error("noiseAt: no size was measured with 2 or more seeds");
  return measured.reduce((a, b) => (Math.abs(Math.log(b.N / N)) < Math.abs(Math.log(a.N / N)) ? b : a)).sd;
}

/** Twice the standard deviation of a difference between runs of sizes N1 and N2, each with its own seed noise (noiseAt). */
export function differenceBar(noise: SeedNoise, N1: number, N2: number): number {
  return 2 * Math.hypot(noiseAt(noise, N1), noiseAt(noise, N2));
}

export interface IsoflopAnalysis {
  fit: IsoflopFit;
  /** L_opt(C) = k·C^(−γ) through the parabolas' minima. */
  lossLaw: PowerLawFit;
  /** Bootstrap intervals (runs resampled within each budget). */
  intervals: { a: Interval; b: Interval; gamma: Interval };
  /** Refits that failed (a resampled parabola that is not convex), left out. */
  failedResamples: number;
  /** Budgets left out because their runs do not form a valley (a parabola with no minimum), with the reason. */
  skippedBudgets: { C: number; why: string }[];
  level: number;
  /** The compute-optimal N, D and loss the fit predicts at budget C, with intervals. */
  predict(C: number): { C: number; N: Interval; D: Interval; loss: Interval };
}

/**
 * Hoffmann et al.'s approach 2 with intervals: parabolas per budget, N_opt ∝ C^a, D_opt ∝ C^b and
 * L_opt ∝ C^(−γ) through their minima, refitted on `resamples` bootstrap resamples that draw the
 * runs of each budget with replacement (redrawn until they hold at least 3 sizes).
 */
export function analyseIsoflop(points: IsoflopPoint[], options: { resamples: number; seed: number; level?: number }): IsoflopAnalysis {
  const fn = "analyseIsoflop";
  checkIsoflopAnalysisInputs(fn, points, options);
  const level = options.level ?? 0.9;
  // A budget whose runs do not form a valley has no optimum to take: it is left out, and said so.
  const skippedBudgets: { C: number; why: string }[] = [];
  const budgets = [...new Set(points.map((p) => p.C!))].sort((a, b) => a - b).filter((C) => {
    try {
      parabolaMinimum("analyseIsoflop", C, points.filter((p) => p.C === C));
      return true;
    } catch (err) {
      skippedBudgets.push({ C, why: (err as Error).message });
      return false;
    }
  });
  points = points.filter((p) => budgets.includes(p.C!));
  const fitAll = (ps: IsoflopPoint[]) => {
    const fit = isoflopFit(ps, { budgets });
    return { fit, lossLaw: fitPowerLaw(fit.minima.map((m) => m.C), fit.minima.map((m) => m.loss)) };
  };
  const full = fitAll(points);
  const random = new Random(options.seed);
  const groups = budgets.map((C) => points.filter((p) => p.C === C));
  const refits: ReturnType<typeof fitAll>[] = [];
  let failedResamples = 0;
  for (let i = 0; i < options.resamples; i++) {
    // Each budget's runs are drawn with replacement, redrawn until they hold 3 sizes (a parabola's minimum).
    const resample = groups.flatMap((g) => {
      for (;;) {
        const draw = g.map(() => g[random.int(g.length)]);
        if (new Set(draw.map((p) => p.N)).size >= 3) return draw;
      }
    });
    try {
      refits.push(fitAll(resample));
    } catch {
      failedResamples++;
    }
  }
  if (refits.length < options.resamples / 2) {
    throw new Error(`analyseIsoflop: ${failedResamples} of ${options.resamples} resamples could not be fitted; the budgets need more sizes around their minima`);
  }
  // With C = 6ND, D follows from N; counted otherwise, from its own power law.
  const counted6ND = points.every((p) => p.cost === undefined);
  const at = (f: ReturnType<typeof fitAll>, C: number) => {
    const N = f.fit.nCoefficient * C ** f.fit.a;
    return { N, D: counted6ND ? C / (6 * N) : f.fit.dCoefficient * C ** f.fit.b, loss: f.lossLaw.a * C ** -f.lossLaw.alpha };
  };
  const interval = (pick: (f: ReturnType<typeof fitAll>) => number) => percentileInterval(pick(full), refits.map(pick), level);
  return {
    fit: full.fit, lossLaw: full.lossLaw, failedResamples, skippedBudgets, level,
    intervals: { a: interval((f) => f.fit.a), b: interval((f) => f.fit.b), gamma: interval((f) => f.lossLaw.alpha) },
    predict: (C) => ({
      C, N: interval((f) => at(f, C).N), D: interval((f) => at(f, C).D), loss: interval((f) => at(f, C).loss),
    }),
  };
}

/** The checks at analyseIsoflop's door: the bootstrap options, and points that each carry their budget C. */
function checkIsoflopAnalysisInputs(fn: string, points: IsoflopPoint[], options: { resamples: number; seed: number; level?: number }): void {
  checkResampling(fn, options);
  checkThat(Array.isArray(points), fn, "points", points, "an array of {N, D, loss, C}");
  checkNonEmpty(fn, "points", points, "the runs of the IsoFLOP study (isoflopPoints)");
  points.forEach((p, i) => {
    checkObject(fn, `points[${i}]`, p, "an object {N, D, loss, C}");
    for (const key of ["N", "D", "loss"] as const) checkPositive(fn, `points[${i}].${key}`, p[key]);
    checkThat(typeof p.C === "number" && Number.isFinite(p.C) && p.C > 0, fn, `points[${i}].C`, p.C,
      "a finite positive number: the budget the run was planned at (isoflopPoints sets it)");
  });
}

/** A one-variable power law y = a·x^(−α) with a bootstrap interval on α (points resampled with replacement). */
export function powerLawWithInterval(x: number[], y: number[], options: { resamples: number; seed: number; level?: number }) {
  const fn = "powerLawWithInterval";
  checkResampling(fn, options);
  const level = options.level ?? 0.9;
  const fit = fitPowerLaw(x, y);
  const random = new Random(options.seed);
  const alphas: number[] = [];
  for (let i = 0; i < options.resamples; i++) {
    const idx = x.map(() => random.int(x.length));
    if (new Set(idx.map((j) => x[j])).size < 2) continue; // a resample of one x value has no slope
    alphas.push(fitPowerLaw(idx.map((j) => x[j]), idx.map((j) => y[j])).alpha);
  }
  if (alphas.length === 0) {
    throw new Error(`${fn}: all ${options.resamples} resample(s) drew a single x value, so none has a slope; use more resamples or more points`);
  }
  return { fit, alpha: percentileInterval(fit.alpha, alphas, level), level };
}

/**
 * Runs where one variable is not limiting, judged against the compute-optimal balance
 * `tokensPerParameter` (D/N at the IsoFLOP minima): data-rich runs have at least `margin` times
 * that many tokens per parameter (their loss is set by N: Kaplan's L(N)), model-rich runs at
 * most 1/`margin` of it (their loss is set by D: L(D)).
 */
export function regimes(runs: SweepResult[], tokensPerParameter: number, margin = 4) {
  const fn = "regimes";
  checkRuns(fn, runs);
  checkPositive(fn, "tokensPerParameter", tokensPerParameter);
  checkThat(typeof margin === "number" && Number.isFinite(margin) && margin >= 1, fn, "margin", margin,
    "a finite number ≥ 1 (below 1 the data-rich and model-rich runs overlap)");
  const ratio = (r: SweepResult) => r.tokens / r.params;
  return {
    dataRich: runs.filter((r) => ratio(r) >= margin * tokensPerParameter).sort((a, b) => a.params - b.params),
    modelRich: runs.filter((r) => ratio(r) <= tokensPerParameter / margin).sort((a, b) => a.tokens - b.tokens),
  };
}

export interface StopEarlyRow {
  C: number;
  /** The best run whose schedule ends at C (its last validation estimate). */
  finished: { N: number; loss: number };
  /** The best of the larger models' runs planned for larger budgets, read on its curve where it had spent exactly C (D = C/6N). */
  stopped: { N: number; loss: number; flops: number; fractionOfRun: number } | null;
}

/**
 * Kaplan et al.'s question at each budget C: is it better to stop a larger model's longer run at
 * C than to finish the best run whose schedule ends at C? Both sides use the runs' curves (random
 * validation batches), so they are measured the same way.
 */
export function stopEarlyComparison(design: ScalingDesign, runs: SweepResult[]): StopEarlyRow[] {
  const fn = "stopEarlyComparison";
  checkRuns(fn, runs);
  runs.forEach((r, i) => {
    if (!Array.isArray(r.curve) || r.curve.length === 0) throw new Error(`${fn}: runs[${i}] (${shown(r.label)}) has no curve (${shown(r.curve)}); every run needs its validation losses along the way`);
  });
  return design.budgets.filter((C) => runs.some((r) => budgetOf(design, r) === C)).map((C) => {
    const finishing = runs.filter((r) => budgetOf(design, r) === C);
    const finished = finishing.map((r) => ({ N: r.params, loss: r.curve.at(-1)!.valLoss })).reduce((a, b) => (b.loss < a.loss ? b : a));
    const larger = runs.filter((r) => budgetOf(design, r) > C && r.params > finished.N).map((r) => {
      // Stopped when it had spent exactly C: its curve read at D = C/6N (null before its first evaluation).
      const D = C / (6 * r.params);
      const loss = curveLossAt(r.curve, D);
      return loss === null ? null : { N: r.params, loss, flops: C, fractionOfRun: D / r.tokens };
    }).filter((p): p is NonNullable<typeof p> => p !== null);
    const stopped = larger.length ? larger.reduce((a, b) => (b.loss < a.loss ? b : a)) : null;
    return { C, finished, stopped };
  });
}

/** A run's validation loss at D tokens, interpolated linearly in log D between the evaluations around it (null outside them). */
export function curveLossAt(curve: readonly { tokens: number; valLoss: number }[], D: number): number | null {
  checkPositive("curveLossAt", "D", D);
  for (let i = 0; i < curve.length; i++) {
    const b = curve[i];
    if (D === b.tokens) return b.valLoss;
    if (i > 0 && D > curve[i - 1].tokens && D < b.tokens) {
      const a = curve[i - 1];
      return a.valLoss + (Math.log(D / a.tokens) / Math.log(b.tokens / a.tokens)) * (b.valLoss - a.valLoss);
    }
  }
  return null;
}

/** Test loss of one size at D tokens, interpolated linearly in log D between its finished runs (null outside them). */
export function lossAtTokens(runsOfOneSize: SweepResult[], D: number): number | null {
  checkRuns("lossAtTokens", runsOfOneSize);
  checkPositive("lossAtTokens", "D", D);
  const sorted = [...runsOfOneSize].sort((a, b) => a.tokens - b.tokens);
  for (let i = 0; i + 1 < sorted.length; i++) {
    const a = sorted[i], b = sorted[i + 1];
    if (D >= a.tokens && D <= b.tokens) {
      const t = Math.log(D / a.tokens) / Math.log(b.tokens / a.tokens);
      return a.testLoss + t * (b.testLoss - a.testLoss);
    }
  }
  return null;
}

/**
 * Sample efficiency from finished runs: for each pair of neighbouring sizes whose token ranges
 * overlap, both test losses at the geometric middle of the overlap.
 */
export function sampleEfficiency(ladderRuns: SweepResult[]) {
  const sizes = [...new Set(ladderRuns.map((r) => r.params))].sort((a, b) => a - b);
  const of = (N: number) => ladderRuns.filter((r) => r.params === N);
  const rows: { smaller: number; larger: number; D: number; smallerLoss: number; largerLoss: number }[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const small = of(sizes[i]), large = of(sizes[i + 1]);
    const lo = Math.max(Math.min(...small.map((r) => r.tokens)), Math.min(...large.map((r) => r.tokens)));
    const hi = Math.min(Math.max(...small.map((r) => r.tokens)), Math.max(...large.map((r) => r.tokens)));
    if (small.length < 2 || large.length < 2 || lo > hi) continue;
    const D = Math.sqrt(lo * hi);
    rows.push({ smaller: sizes[i], larger: sizes[i + 1], D, smallerLoss: lossAtTokens(small, D)!, largerLoss: lossAtTokens(large, D)! });
  }
  return rows;
}

/**
 * The IsoFLOP figure's series: per budget the runs (markers) and their fitted parabola (a line
 * over the sizes run), in one colour, and the minima.
 */
export function isoflopSeries(fit: IsoflopFit, points: IsoflopPoint[]): Series[] {
  if (!Array.isArray(fit?.minima)) throw new Error(`isoflopSeries: fit must be an isoflopFit result; got ${shown(fit)}`);
  if (!Array.isArray(points)) throw new Error(`isoflopSeries: points must be an array of {N, D, loss, C}; got ${shown(points)}`);
  const series: Series[] = fit.minima.flatMap((m, i) => {
    const runs = points.filter((p) => p.C === m.C).sort((a, b) => a.N - b.N);
    if (runs.length === 0) {
      throw new Error(`isoflopSeries: no point has C = ${m.C.toExponential(3)}, a budget of the fit; pass the points the fit was made from (with their C)`);
    }
    const lo = Math.log(runs[0].N), hi = Math.log(runs.at(-1)!.N);
    const xs = Array.from({ length: 40 }, (_, k) => Math.exp(lo + ((hi - lo) * k) / 39));
    const { c0, c1, c2, centre } = m.parabola;
    const color = COLORS[i % COLORS.length];
    return [
      { name: `C = ${m.C.toExponential(0)}`, x: runs.map((p) => p.N), y: runs.map((p) => p.loss), mode: "markers" as const, trace: { marker: { color } } },
      {
        x: xs, y: xs.map((N) => c0 + c1 * (Math.log(N) - centre) + c2 * (Math.log(N) - centre) ** 2), mode: "lines" as const,
        trace: { line: { color }, showlegend: false, hoverinfo: "skip" },
      },
    ];
  });
  series.push({
    name: "minima", x: fit.minima.map((m) => m.Nopt), y: fit.minima.map((m) => m.loss), mode: "markers",
    trace: { marker: { symbol: "x", size: 10, color: "black" } },
  });
  return series;
}

/**
 * The compute-efficient frontier of a sweep: every point (C = 6·N·tokens, validation loss) along
 * every run's curve, keeping those no cheaper point beats. Kaplan et al.'s L(C_min), which stops
 * runs early rather than finishing each one's schedule.
 */
export function lossComputeFrontier(results: SweepResult[]): { flops: number; valLoss: number; label: string }[] {
  const fn = "lossComputeFrontier";
  if (!Array.isArray(results)) throw new Error(`${fn}: results must be an array of sweep results; got ${shown(results)}`);
  results.forEach((r, i) => {
    const where = `${fn}: results[${i}] (${shown(r?.label)})`;
    if (!(typeof r?.params === "number" && Number.isFinite(r.params) && r.params > 0)) throw new Error(`${where}: params must be a positive number; got ${shown(r?.params)}`);
    if (!Array.isArray(r.curve)) throw new Error(`${where}: curve must be an array of { tokens, valLoss }; got ${shown(r.curve)}`);
    r.curve.forEach((c, j) => {
      checkNumber(where, `curve[${j}].tokens`, c?.tokens, 0);
      checkNumber(where, `curve[${j}].valLoss`, c.valLoss);
    });
  });
  // Cheapest first; at equal compute the lower loss first, so only it can enter.
  const points = results.flatMap((r) => r.curve.map((c) => ({ flops: 6 * r.params * c.tokens, valLoss: c.valLoss, label: r.label })))
    .sort((a, b) => a.flops - b.flops || a.valLoss - b.valLoss);
  const frontier: typeof points = [];
  for (const p of points) if (frontier.length === 0 || p.valLoss < frontier.at(-1)!.valLoss) frontier.push(p);
  return frontier;
}
