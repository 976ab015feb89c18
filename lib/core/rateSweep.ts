// A learning-rate sweep that does not stop at the edge of its grid: where the best rate is the
// lowest or the highest tried, the best may lie beyond it, so the next rate out is tried too, a
// few steps at most. Lesson 01's tuned methods and lessons 02–03's scaling study both choose this way.
import { shown } from "./checks";

/** What a sweep knows so far: the rate it chose, or the rate beyond an edge it must try next. */
export type RateSweepState<S> = { best: S; tried: S[]; atEdge: boolean } | { next: number };

export interface RateSweepOptions<S> {
  /** The grid's rates, every one of them run. */
  grid: readonly number[];
  /** At most this many rates beyond the grid. */
  steps: number;
  /** The rate one step beyond `rate`, above (1) or below (−1). */
  beyond: (rate: number, direction: 1 | -1) => number;
  /** What was measured at a rate; `required` for the grid's own rates, else undefined while not yet run. */
  summary: (rate: number, required: boolean) => S | undefined;
  /** The best of the rates tried (those that can be chosen: a diverged run cannot). */
  best: (tried: S[]) => S;
}

/** The sweep as far as its results go (see RateSweepState); `tried` is lowest rate first. */
export function sweepRates<S extends { rate: number }>(options: RateSweepOptions<S>): RateSweepState<S> {
  const { grid, steps, beyond, summary, best } = options;
  if (grid.length === 0) throw new Error("sweepRates: grid must hold at least one rate; got []");
  if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`sweepRates: steps must be a whole number ≥ 0; got ${shown(steps)}`);
  const tried = [...grid].sort((a, b) => a - b).map((rate) => summary(rate, true)!);
  for (let step = 0; ; step++) {
    const chosen = best(tried);
    const direction = chosen.rate === tried[0].rate ? -1 : chosen.rate === tried.at(-1)!.rate ? 1 : 0;
    const atEdge = tried.length > 1 && direction !== 0;
    if (!atEdge || step === steps) return { best: chosen, tried, atEdge };
    const next = beyond(chosen.rate, direction as 1 | -1);
    const measured = summary(next, false);
    if (measured === undefined) return { next };
    if (direction < 0) tried.unshift(measured);
    else tried.push(measured);
  }
}

/**
 * Runs a sweep's grid, then the runs beyond its edges that `steps` asks for given what is done,
 * until it asks for none; `results` trains or looks up runs. Returns every result, grid first.
 */
export async function untilSettled<R, T>(grid: R[], steps: (done: T[]) => R[], results: (runs: R[]) => T[] | Promise<T[]>): Promise<T[]> {
  let done = await results(grid);
  for (let more = steps(done); more.length > 0; more = steps(done)) done = [...done, ...(await results(more))];
  return done;
}

/** The rate next to `rate` on the 1–3 ladder (…, 1e-4, 3e-4, 1e-3, …), above it (`direction` 1) or below it (−1). */
export function ladderRate(rate: number, direction: 1 | -1): number {
  if (!(rate > 0 && Number.isFinite(rate))) throw new Error(`ladderRate: rate must be a positive number; got ${shown(rate)}`);
  const e = Math.floor(Math.log10(rate));
  const ladder = [e - 2, e - 1, e, e + 1].flatMap((k) => [1, 3].map((m) => Number((m * 10 ** k).toPrecision(12))));
  return direction > 0 ? ladder.find((r) => r > rate * (1 + 1e-9))! : ladder.filter((r) => r < rate * (1 - 1e-9)).at(-1)!;
}

/** The rate one step of a geometric grid beyond `rate` (the grid's own ratio, from its two end rates on that side). */
export function geometricStep(grid: readonly number[], rate: number, direction: 1 | -1): number {
  if (grid.length < 2) throw new Error(`geometricStep: grid must hold at least two rates to give a ratio; got ${shown(grid)}`);
  const sorted = [...grid].sort((a, b) => a - b);
  const ratio = direction > 0 ? sorted.at(-1)! / sorted.at(-2)! : sorted[1] / sorted[0];
  return Number((direction > 0 ? rate * ratio : rate / ratio).toPrecision(12));
}
