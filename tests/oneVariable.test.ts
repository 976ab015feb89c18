import { describe, expect, it } from "vitest";

import type { IsoflopMinimum } from "../lib/scaling/isoflop";
import { oneVariableLaws, oneVariableRows } from "../lib/scaling/oneVariable";
import { KAPLAN_2020 } from "../lib/scaling/reference";
import type { SweepResult } from "../lib/scaling/sweepDesign";

const run = (params: number, tokens: number, testLoss: number) => ({ params, tokens, testLoss } as unknown as SweepResult);
const minimum = (tokensPerParameter: number) => ({ Nopt: 10, Dopt: 10 * tokensPerParameter } as IsoflopMinimum);

describe("oneVariableLaws", () => {
  // Balance 20 tokens per parameter (the median of 10, 20, 40): data-rich runs have ≥ 80, model-rich ≤ 5.
  // The data-rich runs follow L = 2·N^(−0.1) exactly, the model-rich ones L = 3·D^(−0.2).
  const dataRich = [10, 100, 1000].map((N) => run(N, 100 * N, 2 * N ** -0.1));
  const modelRich = [1e3, 1e4, 1e5, 1e6].map((D) => run(D, D, 3 * D ** -0.2)); // 1 token per parameter
  const between = run(50, 50 * 20, 9); // at the balance: in neither set

  it("fits L(N) to the data-rich runs and L(D) to the model-rich ones, at the median balance", () => {
    const { ratio, laws } = oneVariableLaws([between, ...dataRich, ...modelRich], [minimum(40), minimum(10), minimum(20)], { resamples: 20, seed: 1 });
    expect(ratio).toBe(20);
    expect(laws.map((l) => [l.law, l.x, l.xs.length])).toEqual([
      ["L(N), data-rich runs", "non-embedding parameters N", 3], ["L(D), model-rich runs", "training tokens D", 4],
    ]);
    expect(laws[0].fit!.alpha).toBeCloseTo(0.1, 10);
    expect(laws[0].fit!.a).toBeCloseTo(2, 10);
    expect(laws[1].fit!.alpha).toBeCloseTo(0.2, 10);
    // Exact points: every resample with a slope has the same one.
    expect(laws[1].alpha!.low).toBeCloseTo(0.2, 10);
    expect(laws[1].alpha!.high).toBeCloseTo(0.2, 10);
    const rows = oneVariableRows(laws);
    expect(rows[0]).toEqual({ law: "L(N), data-rich runs", runs: 3, decades: 2, exponent: laws[0].fit!.alpha, interval: "0.100 – 0.100", "Kaplan et al.": KAPLAN_2020.alphaN });
    expect(rows[1].decades).toBeCloseTo(3, 12);
  });

  it("takes the upper median of an even count, and says a set with fewer than 3 distinct x has too few runs", () => {
    const { ratio, laws } = oneVariableLaws([...dataRich.slice(0, 2), ...modelRich], [10, 20, 40, 80].map(minimum), { resamples: 5, seed: 1 });
    expect(ratio).toBe(40);
    expect(laws[0].fit).toBeNull();
    expect(oneVariableRows(laws)[0]).toEqual({ law: "L(N), data-rich runs", runs: 0, decades: NaN, exponent: NaN, interval: "too few runs", "Kaplan et al.": KAPLAN_2020.alphaN });
  });

  it("refuses an analysis without minima", () => {
    expect(() => oneVariableLaws(dataRich, [], { resamples: 5, seed: 1 })).toThrow("oneVariableLaws: minima must be a non-empty array of IsoFLOP minima; got []");
  });
});
