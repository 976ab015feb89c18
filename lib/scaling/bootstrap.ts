// How sure is a Chinchilla fit? Refit on resampled runs (the nonparametric bootstrap: draw as
// many runs as there are, with replacement) and read percentile intervals off the refits,
// for the parameters and for anything computed from them: predicted losses, and the
// compute-optimal N and D at a budget, which is what a lesson draws as a band.
import { checkPoints, checkPositive, checkResampling, checkSpread, hasSpread } from "../core/checks";
import { percentileInterval, type Interval } from "../core/numerics";
import { Random } from "../core/random";
import { checkChinchillaParams, chinchillaLoss, fitChinchilla, HOFFMANN_GRID, REDUCED_GRID, type ChinchillaFit, type ChinchillaGrid } from "./chinchilla";
import { computeOptimal } from "./compute";
import type { ScalingPoint } from "./point";

export interface BootstrapOptions {
  /** Number of resampled refits. */
  resamples: number;
  seed: number;
  /** Central coverage of the intervals. Default 0.9: the 5th to 95th percentiles. */
  level?: number;
  /**
   * Starts for each resample's fit. Default REDUCED_GRID (243 starts), plus the full-data fit as
   * one more start: a resample is close to the data, so its optimum is near the full-data one,
   * and 243 + 1 starts cost ~1/18 of the paper's 4,500. Pass HOFFMANN_GRID to refit exactly as
   * the paper would (about 18× slower).
   */
  grid?: ChinchillaGrid;
  /** Starts for the fit on all points. Default HOFFMANN_GRID. Ignored if `fit` is given. */
  fullGrid?: ChinchillaGrid;
  /** A fit on all points already made (e.g. by fitChinchilla), to save refitting it. */
  fit?: ChinchillaFit;
  delta?: number;
}

/** A point estimate (from the fit on all points) with a percentile interval from the refits. */

export interface ChinchillaBootstrap {
  /** The fit on all points. */
  fit: ChinchillaFit;
  /** One fit per resample. */
  samples: ChinchillaFit[];
  level: number;
  intervals: {
    E: Interval;
    A: Interval;
    B: Interval;
    alpha: Interval;
    beta: Interval;
    /** N_opt ∝ C^a with a = β/(α+β). */
    a: Interval;
    /** D_opt ∝ C^b with b = α/(α+β). */
    b: Interval;
  };
  /** Interval of the predicted loss at (N, D). */
  lossInterval(N: number, D: number): Interval;
  /** Intervals of the compute-optimal N, D and loss at budget C (FLOPs). */
  computeOptimalInterval(C: number): { C: number; N: Interval; D: Interval; loss: Interval };
}

/** Refits the Chinchilla law on `resamples` bootstrap resamples of `points`. */
export function bootstrapChinchilla(points: readonly ScalingPoint[], options: BootstrapOptions): ChinchillaBootstrap {
  const fn = "bootstrapChinchilla";
  const parameters = ["E", "A", "B", "alpha", "beta"];
  checkPoints(fn, points, parameters);
  checkSpread(fn, points, parameters);
  checkResampling(fn, options, 2);
  const { resamples, seed } = options;
  const level = options.level ?? 0.9;
  const delta = options.delta ?? 1e-3;
  checkPositive(fn, "delta", delta);
  // The given fit is each resample's extra start: refuse it here rather than as fitChinchilla's extraStarts[0].
  if (options.fit !== undefined) checkChinchillaParams(fn, options.fit, "options.fit", true);

  const fit = options.fit ?? fitChinchilla(points, { delta, grid: options.fullGrid ?? HOFFMANN_GRID });
  const rng = new Random(seed);
  const samples: ChinchillaFit[] = [];
  for (let r = 0; r < resamples; r++) {
    // A resample in which N or D no longer varies fits nothing: draw it again (rare unless runs are few).
    let resample = points.map(() => points[rng.int(points.length)]);
    for (let tries = 1; !hasSpread(resample, parameters); tries++) {
      if (tries === 100) throw new Error(`${fn}: 100 resamples in a row lacked two distinct N and D; ${points.length} points are too few to bootstrap`);
      resample = points.map(() => points[rng.int(points.length)]);
    }
    samples.push(fitChinchilla(resample, { delta, grid: options.grid ?? REDUCED_GRID, extraStarts: [fit] }));
  }

  const interval = (estimate: number, values: number[]) => percentileInterval(estimate, values, level);
  const of = (f: (p: ChinchillaFit) => number) => interval(f(fit), samples.map(f));
  return {
    fit,
    samples,
    level,
    intervals: {
      E: of((p) => p.E),
      A: of((p) => p.A),
      B: of((p) => p.B),
      alpha: of((p) => p.alpha),
      beta: of((p) => p.beta),
      a: of((p) => p.beta / (p.alpha + p.beta)),
      b: of((p) => p.alpha / (p.alpha + p.beta)),
    },
    lossInterval(N: number, D: number): Interval {
      checkPositive("lossInterval", "N", N);
      checkPositive("lossInterval", "D", D);
      return of((p) => chinchillaLoss(p, N, D));
    },
    computeOptimalInterval(C: number) {
      checkPositive("computeOptimalInterval", "C", C);
      const degenerate = samples.filter((p) => !(p.alpha > 0 && p.beta > 0)).length;
      if (degenerate > 0 || !(fit.alpha > 0 && fit.beta > 0)) {
        throw new Error(
          `computeOptimalInterval: ${degenerate} of ${samples.length} refits (and the full fit: α = ${fit.alpha}, β = ${fit.beta}) have α or β ≤ 0, where no compute-optimal size exists; the runs do not pin down the law`,
        );
      }
      const optima = samples.map((p) => computeOptimal(p, C));
      const best = computeOptimal(fit, C);
      return {
        C,
        N: interval(best.N, optima.map((o) => o.N)),
        D: interval(best.D, optima.map((o) => o.D)),
        loss: interval(best.loss, optima.map((o) => o.loss)),
      };
    },
  };
}
