// Lesson 03's two readings of the study beyond its fits: "start small, then scale" (fit on the
// smaller budgets, predict the compute-optimal size and loss at the larger ones, against a naive
// forecast and the runs trained there), and shape at a fixed size (do depth and width matter at
// one N, against the noise between seeds and the step between ladder sizes).
import { checkNonEmpty, shown } from "../core/checks";
import type { Interval } from "../core/numerics";
import { analyseIsoflop, budgetOf, isoflopPoints, seedNoise, type IsoflopAnalysis, type SeedNoise } from "./analysis";
import { fitChinchilla, type ChinchillaGrid } from "./chinchilla";
import { computeOptimal } from "./compute";
import { KAPLAN_2020 } from "./reference";
import { shapeName, type ScalingDesign, type SweepResult } from "./sweepDesign";

/** 1234.5 → "1,235": sizes as the lesson prints them. */
const count = (n: number) => Math.round(n).toLocaleString("en");
const percent = (level: number) => `${Math.round(level * 100)}%`;
const show = (iv: Interval) => `${iv.low.toFixed(3)} – ${iv.high.toFixed(3)}`;

function checkRuns(fn: string, name: string, runs: readonly SweepResult[]): void {
  checkNonEmpty(fn, name, runs, "a non-empty array of sweep results");
}

/** One held-out budget: what each forecast said, and what its runs measured. */
export interface BudgetForecast {
  C: number;
  /** C as a multiple of the largest fitted budget. */
  beyond: number;
  /** The optimum measured at C: the parabola's minimum through its runs, or its best run if they form no valley. */
  measured: { N: number; loss: number; valley: boolean; extrapolated: boolean };
  /** The run with the lowest test loss at C. */
  best: SweepResult;
  /** Approach 2 fitted on the smaller budgets, with bootstrap intervals. */
  approach2: { N: Interval; loss: Interval };
  /** Approach 3 fitted on the smaller budgets' runs. */
  approach3: { N: number; loss: number };
  /** No improvement on the largest fitted budget's optimum, and N ∝ √C (tokens per parameter kept). */
  naive: { N: number; loss: number };
}

export interface Forecast {
  /** The largest budget the forecasts were fitted on. */
  largestFitted: number;
  /** The coverage of approach 2's intervals (0.9). */
  level: number;
  budgets: BudgetForecast[];
}

/** (forecast − measured) / measured, in percent. */
export function forecastError(forecast: number, measured: number): number {
  return (100 * (forecast - measured)) / measured;
}

/**
 * "Start small, then scale": approaches 2 and 3 fitted on the runs at `design.fitBudgets` only,
 * each held-out budget's compute-optimal N and loss predicted from them and set against a naive
 * forecast and the optimum measured there (taken from `analysis`, the fit on every budget).
 * `resamples` and `seed` are approach 2's bootstrap; `grid` is approach 3's starts.
 */
export function forecastBeyond(
  design: ScalingDesign, ladder: SweepResult[], analysis: IsoflopAnalysis,
  options: { resamples: number; seed?: number; grid?: ChinchillaGrid },
): Forecast {
  const fn = "forecastBeyond";
  checkRuns(fn, "ladder", ladder);
  const fitBudgets = design?.fitBudgets;
  checkNonEmpty(fn, "design.fitBudgets", fitBudgets, "a non-empty array of budgets");
  const heldOutBudgets = design.budgets.filter((C) => !fitBudgets.includes(C));
  if (heldOutBudgets.length === 0) throw new Error(`${fn}: design.budgets must hold a budget beyond design.fitBudgets to predict; got ${shown(design.budgets)}`);
  const fitted = ladder.filter((r) => fitBudgets.includes(budgetOf(design, r)));
  if (fitted.length === 0) throw new Error(`${fn}: no ladder run at the fitted budgets ${shown(fitBudgets)}`);
  const small = analyseIsoflop(isoflopPoints(design, fitted), { resamples: options.resamples, seed: options.seed ?? 1 });
  const smallA3 = fitChinchilla(fitted.map((r) => ({ N: r.params, D: r.tokens, loss: r.testLoss })), { grid: options.grid });
  const last = small.fit.minima.at(-1)!;
  const budgets = heldOutBudgets.map((C) => {
    const runs = ladder.filter((r) => budgetOf(design, r) === C);
    if (runs.length === 0) throw new Error(`${fn}: no ladder run at the held-out budget ${C.toExponential(0)} to measure the forecast against`);
    const best = runs.reduce((a, b) => (b.testLoss < a.testLoss ? b : a));
    const valley = analysis.fit.minima.find((m) => m.C === C);
    const measured = valley
      ? { N: valley.Nopt, loss: valley.loss, valley: true, extrapolated: valley.extrapolated }
      : { N: best.params, loss: best.testLoss, valley: false, extrapolated: false };
    const a2 = small.predict(C), a3 = computeOptimal(smallA3, C);
    return {
      C, beyond: C / last.C, measured, best,
      approach2: { N: a2.N, loss: a2.loss },
      approach3: { N: a3.N, loss: a3.loss },
      naive: { N: last.Nopt * Math.sqrt(C / last.C), loss: last.loss },
    };
  });
  return { largestFitted: last.C, level: small.level, budgets };
}

/** The forecasts as table rows: four per held-out budget (approach 2, approach 3, naive, measured). */
export function forecastRows(forecast: Forecast): Record<string, string | number>[] {
  const interval = `${percent(forecast.level)} interval`;
  return forecast.budgets.flatMap((b) => {
    const row = (method: string, N: number, loss: number, iv = "") => ({
      "budget C": b.C.toExponential(0), "× largest fitted": b.beyond, method, "N_opt": N, "loss at optimum": loss,
      [interval]: iv, "error vs measured (%)": forecastError(loss, b.measured.loss),
    });
    return [
      row("approach 2 fitted on small budgets", b.approach2.N.estimate, b.approach2.loss.estimate, show(b.approach2.loss)),
      row("approach 3 fitted on small budgets", b.approach3.N, b.approach3.loss),
      row("naive: no improvement, N ∝ √C", b.naive.N, b.naive.loss),
      row("measured", b.measured.N, b.measured.loss),
    ];
  });
}

/**
 * The reading of each held-out budget, one line each: how far each forecast erred, whether the
 * measured optimum lies inside approach 2's interval, and the predicted size against the measured one.
 */
export function describeForecast(forecast: Forecast): string {
  return forecast.budgets.map((b) => {
    const error = (loss: number) => forecastError(loss, b.measured.loss).toFixed(1);
    const inside = b.measured.loss >= b.approach2.loss.low && b.measured.loss <= b.approach2.loss.high;
    const N = b.approach2.N;
    return `C = ${b.C.toExponential(0)} (${b.beyond.toFixed(0)}× the largest fitted budget): approach 2 errs by `
      + `${error(b.approach2.loss.estimate)}%, approach 3 by ${error(b.approach3.loss)}%, the naive forecast by `
      + `${error(b.naive.loss)}%; the measured optimum `
      + `(${b.measured.valley ? "the parabola's minimum" : "the best run, no valley"}) `
      + `is ${inside ? "inside" : "outside"} approach 2's ${percent(forecast.level)} interval; predicted N_opt ${count(N.estimate)} `
      + `(${count(N.low)} – ${count(N.high)}) against ${count(b.measured.N)} measured`
      + `${b.measured.extrapolated ? " (outside the sizes run: the parabola extrapolates)" : ""}; best run: ${b.best.label}`;
  }).join("\n");
}

/** One shape at the seed budget: its dimensions, its own rate, and its seeds' test losses. */
export interface ShapeResult {
  label: string;
  layers: number;
  heads: number;
  width: number;
  /** Width per head, and width per layer (Kaplan's aspect ratio d_model/n_layer). */
  headSize: number;
  aspectRatio: number;
  N: number;
  learningRate: number;
  losses: number[];
  mean: number;
  sd: number;
}

export interface ShapeComparison {
  /** The shapes and the ladder's size nearest them, shallowest first, each with its seeds. */
  shapes: ShapeResult[];
  /** Highest minus lowest mean test loss among `shapes`. */
  spread: number;
  /** Standard deviation between seeds, pooled over the shapes. */
  pooledSd: number;
  /** The ladder size nearest the shapes: its seeds' losses, mean and standard deviation. */
  size: SeedNoise["sizes"][number];
  /** The ladder's next smaller and next larger sizes (null past either end), for the step between sizes. */
  neighbours: [SeedNoise["sizes"][number] | null, SeedNoise["sizes"][number] | null];
}

/**
 * Shape at a fixed size: the shapes (about one N, one budget, each at its own tuned rate and with
 * several seeds) beside the ladder's size nearest them (its seeds at the seed budget), with two
 * yardsticks: the seed-to-seed noise and the change to the neighbouring ladder sizes.
 */
export function compareShapes(design: ScalingDesign, seeds: SweepResult[], shapes: SweepResult[]): ShapeComparison {
  const fn = "compareShapes";
  checkRuns(fn, "shapes", shapes);
  checkRuns(fn, "seeds", seeds);
  const sizes = seedNoise(seeds).sizes;
  const near = shapes[0].params;
  const distance = (N: number) => Math.abs(Math.log(N / near));
  const size = sizes.reduce((a, b) => (distance(b.N) < distance(a.N) ? b : a));
  const i = sizes.indexOf(size);
  const sameSize = seeds.filter((r) => budgetOf(design, r) === design.seedBudget && r.params === size.N);
  if (sameSize.length === 0) throw new Error(`${fn}: the ladder has no run of N = ${size.N} at the seed budget ${shown(design.seedBudget)} to set beside the shapes`);
  const groups = new Map<string, SweepResult[]>();
  for (const r of [...shapes, ...sameSize]) groups.set(shapeName(r.model), [...(groups.get(shapeName(r.model)) ?? []), r]);
  const results = [...groups.entries()].map(([label, runs]): ShapeResult => {
    const { nLayer, nHead, nEmbd } = runs[0].model;
    const losses = runs.map((r) => r.testLoss);
    const mean = losses.reduce((t, x) => t + x, 0) / losses.length;
    const sd = losses.length > 1 ? Math.sqrt(losses.reduce((t, x) => t + (x - mean) ** 2, 0) / (losses.length - 1)) : NaN;
    return {
      label, layers: nLayer, heads: nHead, width: nEmbd, headSize: nEmbd / nHead, aspectRatio: nEmbd / nLayer, N: runs[0].params,
      learningRate: runs[0].learningRate, losses, mean, sd,
    };
  }).sort((x, y) => x.layers - y.layers);
  const means = results.map((r) => r.mean);
  const withSeeds = results.filter((r) => r.losses.length > 1);
  const df = withSeeds.reduce((t, r) => t + r.losses.length - 1, 0);
  const pooledSd = df > 0 ? Math.sqrt(withSeeds.reduce((t, r) => t + (r.losses.length - 1) * r.sd ** 2, 0) / df) : NaN;
  return { shapes: results, spread: Math.max(...means) - Math.min(...means), pooledSd, size, neighbours: [sizes[i - 1] ?? null, sizes[i + 1] ?? null] };
}

/** The shapes as table rows. */
export function shapeRows(comparison: ShapeComparison): Record<string, string | number>[] {
  return comparison.shapes.map((r) => ({
    shape: r.label, layers: r.layers, "width d": r.width, "head size d/h": r.headSize, "aspect ratio d/layers": r.aspectRatio, "non-embedding N": r.N,
    "learning rate (own)": r.learningRate, seeds: r.losses.length, "mean test loss": r.mean, "standard deviation": r.sd,
  }));
}

/**
 * The reading: the spread of the shapes' mean losses against the noise of a difference of two
 * means and against the step to the neighbouring ladder sizes, and the aspect ratios against Kaplan's range.
 */
export function describeShapes(comparison: ShapeComparison): string {
  const { shapes, size, spread, neighbours, pooledSd } = comparison;
  const neighbour = (s: ShapeComparison["neighbours"][number]) => (s ? `${(s.mean - size.mean).toFixed(3)} at N = ${count(s.N)}` : "none");
  const n = Math.min(...shapes.map((r) => r.losses.length));
  const noise = pooledSd * Math.sqrt(2 / n);
  const best = shapes.reduce((a, b) => (b.mean < a.mean ? b : a)), worst = shapes.reduce((a, b) => (b.mean > a.mean ? b : a));
  const ratios = shapes.map((r) => r.aspectRatio);
  const meanLoss = shapes.reduce((t, r) => t + r.mean, 0) / shapes.length;
  return `the shapes' mean test losses span ${spread.toFixed(3)} nats (${((100 * spread) / meanLoss).toFixed(1)}% of their mean), `
    + `best ${best.label}, worst ${worst.label}; the standard error of a difference of two means of ${n} seeds is ${noise.toFixed(3)} `
    + `(pooled seed SD ${pooledSd.toFixed(3)}), so the spread is ${(spread / noise).toFixed(1)} of them; the step to the neighbouring `
    + `ladder sizes: ${neighbour(neighbours[0])}, ${neighbour(neighbours[1])}; aspect ratios d/layers from ${Math.min(...ratios)} to `
    + `${Math.max(...ratios)} (${(Math.max(...ratios) / Math.min(...ratios)).toFixed(0)}×); Kaplan et al. found the loss within a few percent `
    + `while the aspect ratio varied ${KAPLAN_2020.shape.aspectRatioSpan}× (${KAPLAN_2020.shape.where})`;
}

/** A forecast as it was written down before its runs existed (datasets/sweeps/<name>-prediction.md). */
export interface RegisteredForecast {
  /** When it was written, e.g. "2026-12-01 06:46 UTC". */
  written: string;
  budgets: { C: number; approach2: { N: Interval; loss: Interval }; approach3: { N: number; loss: number } }[];
}

/**
 * Reads the registered forecast's budget lines ("C 3e+11: approach 2 N_opt 11999 [2562, 18417],
 * loss 1.7440 [1.6099, 1.7988]; approach 3 N_opt 21207, loss 1.7860"); the text is never rewritten,
 * so a later refit can be set beside what was predicted before the outcome was known.
 */
export function parseRegisteredForecast(text: string, source = "the registered forecast"): RegisteredForecast {
  const fn = "parseRegisteredForecast";
  if (typeof text !== "string") throw new Error(`${fn}: text must be the file's text; got ${shown(text)}`);
  const num = String.raw`([0-9.e+-]+)`;
  const line = new RegExp(String.raw`^C ${num}: approach 2 N_opt ${num} \[${num}, ${num}\], loss ${num} \[${num}, ${num}\]; approach 3 N_opt ${num}, loss ${num}$`);
  const budgets = text.split("\n").flatMap((l) => {
    const m = line.exec(l.trim());
    if (!m) return [];
    const [C, n, nLow, nHigh, loss, lossLow, lossHigh, n3, loss3] = m.slice(1).map(Number);
    return [{ C, approach2: { N: { estimate: n, low: nLow, high: nHigh }, loss: { estimate: loss, low: lossLow, high: lossHigh } }, approach3: { N: n3, loss: loss3 } }];
  });
  if (budgets.length === 0) throw new Error(`${fn}: ${source} has no line "C <budget>: approach 2 N_opt … loss …; approach 3 N_opt …, loss …"`);
  return { written: /^Written (\S+ \S+ UTC)/m.exec(text)?.[1] ?? "at an unrecorded time", budgets };
}

/** The registered forecast beside today's fit and the runs: one line per budget it predicted. */
export function describeRegistered(registered: RegisteredForecast, forecast: Forecast): string {
  return registered.budgets.map((r) => {
    const b = forecast.budgets.find((x) => x.C === r.C);
    if (!b) return `C = ${r.C.toExponential(0)}: registered, but not a held-out budget of this study`;
    const inside = b.measured.loss >= r.approach2.loss.low && b.measured.loss <= r.approach2.loss.high;
    return `C = ${r.C.toExponential(0)}: registered ${registered.written}, approach 2 loss ${r.approach2.loss.estimate.toFixed(3)} `
      + `(${show(r.approach2.loss)}), error ${forecastError(r.approach2.loss.estimate, b.measured.loss).toFixed(1)}% against the measured `
      + `${b.measured.loss.toFixed(3)}, which is ${inside ? "inside" : "outside"} its interval; approach 3 registered `
      + `${r.approach3.loss.toFixed(3)} (${forecastError(r.approach3.loss, b.measured.loss).toFixed(1)}%); today's refit on the same budgets: `
      + `${b.approach2.loss.estimate.toFixed(3)} and ${b.approach3.loss.toFixed(3)}`;
  }).join("\n");
}
