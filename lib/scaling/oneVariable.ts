// Kaplan et al.'s one-variable laws read from an IsoFLOP study: L(N) on the runs with ample data,
// L(D) on the runs with ample parameters, each a power law with a bootstrap interval on its exponent.
import { checkNonEmpty } from "../core/checks";
import type { Interval, PowerLawFit } from "../core/numerics";
import { powerLawWithInterval, regimes } from "./analysis";
import type { IsoflopMinimum } from "./isoflop";
import { KAPLAN_2020 } from "./reference";
import type { SweepResult } from "./sweepDesign";

export interface OneVariableLaw {
  /** "L(N), data-rich runs" or "L(D), model-rich runs". */
  law: string;
  /** The x axis' title. */
  x: string;
  /** The runs' N (or D) and test losses. */
  xs: number[];
  ys: number[];
  /** y = a·x^(−α) and the interval on α; null with fewer than 3 distinct x values. */
  fit: PowerLawFit | null;
  alpha: Interval | null;
  /** Kaplan et al.'s exponent for the same law. */
  kaplan: number;
}

/**
 * The median compute-optimal tokens per parameter over the IsoFLOP minima (the upper one of an even
 * count), the data-rich and model-rich runs it defines (`regimes`, margin 4), and a power law fitted
 * to each where it has at least 3 distinct x values.
 */
export function oneVariableLaws(
  ladder: SweepResult[], minima: readonly IsoflopMinimum[], options: { resamples: number; seed: number },
): { ratio: number; laws: OneVariableLaw[] } {
  const fn = "oneVariableLaws";
  checkNonEmpty(fn, "minima", minima, "a non-empty array of IsoFLOP minima");
  const ratios = minima.map((m) => m.Dopt / m.Nopt).sort((a, b) => a - b);
  const ratio = ratios[Math.floor(ratios.length / 2)];
  const { dataRich, modelRich } = regimes(ladder, ratio);
  const laws = [
    { law: "L(N), data-rich runs", runs: dataRich, x: "non-embedding parameters N", kaplan: KAPLAN_2020.alphaN, of: (r: SweepResult) => r.params },
    { law: "L(D), model-rich runs", runs: modelRich, x: "training tokens D", kaplan: KAPLAN_2020.alphaD, of: (r: SweepResult) => r.tokens },
  ];
  return {
    ratio,
    laws: laws.map(({ law, runs, x, kaplan, of }) => {
      const xs = runs.map(of), ys = runs.map((r) => r.testLoss);
      if (new Set(xs).size < 3) return { law, x, xs, ys, fit: null, alpha: null, kaplan };
      const { fit, alpha } = powerLawWithInterval(xs, ys, options);
      return { law, x, xs, ys, fit, alpha, kaplan };
    }),
  };
}

/** The laws as table rows: runs, decades of x spanned, the exponent with its interval, Kaplan et al.'s. */
export function oneVariableRows(laws: readonly OneVariableLaw[]): Record<string, string | number>[] {
  return laws.map(({ law, xs, fit, alpha, kaplan }) => ({
    law, runs: xs.length,
    decades: fit ? Math.log10(Math.max(...xs) / Math.min(...xs)) : NaN,
    exponent: fit ? fit.alpha : NaN,
    interval: alpha ? `${alpha.low.toFixed(3)} – ${alpha.high.toFixed(3)}` : "too few runs",
    "Kaplan et al.": kaplan,
  }));
}
