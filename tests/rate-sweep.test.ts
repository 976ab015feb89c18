import { describe, expect, it } from "vitest";

import { geometricStep, ladderRate, sweepRates } from "../lib/core/rateSweep";

// A made-up validation loss, lowest at `best`: a parabola in log rate.
const lossAt = (best: number) => (rate: number) => Math.log(rate / best) ** 2;

/** Runs the sweep to the end, "training" each rate it asks for; returns the state and the rates asked for. */
function runToEnd(grid: number[], steps: number, best: number, beyond = ladderRate) {
  const measured = new Map(grid.map((rate) => [rate, lossAt(best)(rate)]));
  const asked: number[] = [];
  for (;;) {
    const state = sweepRates({
      grid, steps, beyond, summary: (rate) => (measured.has(rate) ? { rate, loss: measured.get(rate)! } : undefined),
      best: (tried) => tried.reduce((a, b) => (b.loss < a.loss ? b : a)),
    });
    if (!("next" in state)) return { state, asked };
    asked.push(state.next);
    measured.set(state.next, lossAt(best)(state.next));
  }
}

describe("a learning-rate sweep that steps beyond its grid", () => {
  it("stops inside the grid without a step when the best rate is inside", () => {
    const { state, asked } = runToEnd([1e-4, 3e-4, 1e-3], 2, 3e-4);
    expect(asked).toEqual([]);
    expect(!("next" in state) && [state.best.rate, state.atEdge, state.tried.map((t) => t.rate)]).toEqual([3e-4, false, [1e-4, 3e-4, 1e-3]]);
  });

  it("steps up until the best is inside, and down the same way", () => {
    const up = runToEnd([1e-4, 3e-4, 1e-3], 3, 3e-3);
    expect(up.asked).toEqual([3e-3, 1e-2]);
    expect(!("next" in up.state) && [up.state.best.rate, up.state.atEdge]).toEqual([3e-3, false]);
    const down = runToEnd([1e-4, 3e-4, 1e-3], 3, 3e-5);
    expect(down.asked).toEqual([3e-5, 1e-5]);
    expect(!("next" in down.state) && down.state.tried.map((t) => t.rate)).toEqual([1e-5, 3e-5, 1e-4, 3e-4, 1e-3]);
  });

  it("stops after `steps` steps, with the best still at the edge and flagged", () => {
    const { state, asked } = runToEnd([1e-4, 3e-4, 1e-3], 2, 1);
    expect(asked).toEqual([3e-3, 1e-2]);
    expect(!("next" in state) && [state.best.rate, state.atEdge]).toEqual([1e-2, true]);
    const none = runToEnd([1e-4, 3e-4, 1e-3], 0, 1);
    expect([none.asked, !("next" in none.state) && none.state.atEdge]).toEqual([[], true]);
  });

  it("never steps from a grid of one rate", () => {
    expect(runToEnd([1e-3], 2, 1).asked).toEqual([]);
  });

  it("steps by the grid's own ratio on a geometric grid", () => {
    const grid = [1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2];
    const { asked, state } = runToEnd(grid, 2, 0.1, (rate, direction) => geometricStep(grid, rate, direction));
    expect(asked).toEqual([6.4e-2, 1.28e-1]);
    expect(!("next" in state) && [state.best.rate, state.atEdge]).toEqual([1.28e-1, true]);
  });

  it("names a missing grid rate through the caller, and refuses a bad grid or step count", () => {
    const summary = (rate: number, required: boolean) => {
      if (required) throw new Error(`no runs at ${rate}`);
      return undefined;
    };
    const best = (tried: { rate: number }[]) => tried[0];
    expect(() => sweepRates({ grid: [1e-3], steps: 1, beyond: ladderRate, summary, best })).toThrow("no runs at 0.001");
    expect(() => sweepRates({ grid: [], steps: 1, beyond: ladderRate, summary, best })).toThrow("sweepRates: grid must hold at least one rate; got []");
    expect(() => sweepRates({ grid: [1e-3], steps: -1, beyond: ladderRate, summary, best })).toThrow("sweepRates: steps must be a whole number ≥ 0; got -1");
  });
});

describe("the rates next to a rate", () => {
  it("on the 1–3 ladder, for rates on it and off it", () => {
    expect([3e-5, 3e-4, 1e-3, 3e-2, 2e-3].map((r) => [ladderRate(r, -1), ladderRate(r, 1)]))
      .toEqual([[1e-5, 1e-4], [1e-4, 1e-3], [3e-4, 3e-3], [1e-2, 1e-1], [1e-3, 3e-3]]);
    expect(() => ladderRate(0, 1)).toThrow("ladderRate: rate must be a positive number; got 0");
  });

  it("on a geometric grid, by the ratio of its end rates", () => {
    expect(geometricStep([1e-3, 2e-3, 4e-3], 4e-3, 1)).toBe(8e-3);
    expect(geometricStep([1e-3, 2e-3, 4e-3], 1e-3, -1)).toBe(5e-4);
    expect(() => geometricStep([1e-3], 1e-3, 1)).toThrow("geometricStep: grid must hold at least two rates to give a ratio; got [0.001]");
  });
});
