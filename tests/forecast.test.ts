import { describe, expect, it } from "vitest";

import { analyseIsoflop, isoflopPoints } from "../lib/scaling/analysis";
import { REDUCED_GRID } from "../lib/scaling/chinchilla";
import {
  compareShapes, describeForecast, describeRegistered, describeShapes, forecastBeyond, forecastError, forecastRows, parseRegisteredForecast, shapeRows,
  type Forecast,
} from "../lib/scaling/forecast";
import type { ScalingDesign, SweepResult } from "../lib/scaling/sweepDesign";

/** A finished run as the sweep would record it (only the fields the readings use). */
function run(params: number, tokens: number, testLoss: number, extra: Partial<SweepResult> = {}): SweepResult {
  return {
    params, tokens, flops: 6 * params * tokens, testLoss, validationLoss: testLoss, seed: 1, learningRate: 0.01,
    label: `N${Math.round(params)}`, model: { nLayer: 1, nHead: 1, nEmbd: 8 }, ...extra,
  } as unknown as SweepResult;
}

const design = { budgets: [1e9, 1e10, 1e11, 1e12], fitBudgets: [1e9, 1e10, 1e11], seedBudget: 1e10 } as unknown as ScalingDesign;

describe("forecastBeyond", () => {
  // Exact IsoFLOP profiles: loss = L_opt(C) + 0.1·(ln N − ln N_opt(C))², N_opt = 0.5·C^0.6, L_opt = 5·C^(−0.05).
  // Fitted on 1e9…1e11, approach 2 predicts the optimum at 1e12 exactly; the naive forecast keeps
  // L_opt(1e11), so it errs by 100·(10^0.05 − 1) % and puts N at N_opt(1e11)·√10.
  const Nopt = (C: number) => 0.5 * C ** 0.6, Lopt = (C: number) => 5 * C ** -0.05;
  const ladder = design.budgets.flatMap((C) => [0.25, 0.5, 1, 2, 4].map((f) => {
    const N = Nopt(C) * f;
    return run(N, C / (6 * N), Lopt(C) + 0.1 * Math.log(f) ** 2);
  }));
  const analysis = analyseIsoflop(isoflopPoints(design, ladder), { resamples: 10, seed: 1 });
  const forecast = forecastBeyond(design, ladder, analysis, { resamples: 10, grid: REDUCED_GRID });

  it("predicts the held-out budget from the smaller ones, beside a naive forecast and what was measured", () => {
    expect(forecast.largestFitted).toBe(1e11);
    expect(forecast.level).toBe(0.9);
    expect(forecast.budgets).toHaveLength(1);
    const [b] = forecast.budgets;
    expect(b.C).toBe(1e12);
    expect(b.beyond).toBeCloseTo(10, 12);
    expect(b.approach2.N.estimate / Nopt(1e12)).toBeCloseTo(1, 9);
    expect(b.approach2.loss.estimate / Lopt(1e12)).toBeCloseTo(1, 9);
    expect(b.measured.valley).toBe(true);
    expect(b.measured.extrapolated).toBe(false);
    expect(b.measured.N / Nopt(1e12)).toBeCloseTo(1, 9);
    expect(b.measured.loss / Lopt(1e12)).toBeCloseTo(1, 9);
    expect(b.naive.N / (Nopt(1e11) * Math.sqrt(10))).toBeCloseTo(1, 9);
    expect(b.naive.loss / Lopt(1e11)).toBeCloseTo(1, 9);
    expect(b.best.params / Nopt(1e12)).toBeCloseTo(1, 12); // the run at f = 1
    expect(Number.isFinite(b.approach3.loss) && b.approach3.N > 0).toBe(true);
  });

  it("tabulates four rows per held-out budget, each with its error against the measured optimum", () => {
    const rows = forecastRows(forecast);
    expect(rows.map((r) => r.method)).toEqual([
      "approach 2 fitted on small budgets", "approach 3 fitted on small budgets", "naive: no improvement, N ∝ √C", "measured",
    ]);
    expect(Object.keys(rows[0])).toEqual(["budget C", "× largest fitted", "method", "N_opt", "loss at optimum", "90% interval", "error vs measured (%)"]);
    expect(rows[0]["budget C"]).toBe("1e+12");
    expect(rows[0]["error vs measured (%)"]).toBeCloseTo(0, 7);
    expect(rows[2]["error vs measured (%)"]).toBeCloseTo(100 * (10 ** 0.05 - 1), 7); // 12.2018…
    expect(rows[3]["error vs measured (%)"]).toBe(0);
    expect(rows[1]["90% interval"]).toBe("");
    expect(rows[0]["90% interval"]).toMatch(/^\d\.\d{3} – \d\.\d{3}$/);
    expect(describeForecast(forecast)).toContain("approach 2 errs by 0.0%");
    expect(describeForecast(forecast)).toContain("the naive forecast by 12.2%");
  });

  it("recovers Chinchilla's closed-form optimum with approach 3 on runs that follow its law", () => {
    const p = { E: 1.7, A: 400, B: 410, alpha: 0.34, beta: 0.28 };
    const loss = (N: number, D: number) => p.E + p.A / N ** p.alpha + p.B / D ** p.beta;
    // N_opt = G·(C/6)^(β/(α+β)), G = (αA/(βB))^(1/(α+β)).
    const G = ((p.alpha * p.A) / (p.beta * p.B)) ** (1 / (p.alpha + p.beta));
    const optimum = (C: number) => G * (C / 6) ** (p.beta / (p.alpha + p.beta));
    const runs = design.budgets.flatMap((C) => [1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8].map((f) => {
      const N = optimum(C) * f;
      return run(N, C / (6 * N), loss(N, C / (6 * N)));
    }));
    const all = analyseIsoflop(isoflopPoints(design, runs), { resamples: 5, seed: 1 });
    const [b] = forecastBeyond(design, runs, all, { resamples: 5, grid: REDUCED_GRID }).budgets;
    const N = optimum(1e12);
    expect(b.approach3.N / N).toBeCloseTo(1, 3);
    expect(b.approach3.loss / loss(N, 1e12 / (6 * N))).toBeCloseTo(1, 5);
  });

  it("takes a held-out budget's best run as its optimum when its runs form no valley, and says so", () => {
    const hill = ladder.map((r) => (r.flops > 5e11 ? { ...r, testLoss: 3 - 0.1 * Math.log(r.params) ** 2 / 100 } : r));
    const noValley = analyseIsoflop(isoflopPoints(design, hill), { resamples: 10, seed: 1 });
    const [b] = forecastBeyond(design, hill, noValley, { resamples: 10, grid: REDUCED_GRID }).budgets;
    expect(b.measured.valley).toBe(false);
    const atTop = hill.filter((r) => r.flops > 5e11);
    const best = atTop.reduce((a, r) => (r.testLoss < a.testLoss ? r : a));
    expect(b.measured).toEqual({ N: best.params, loss: best.testLoss, valley: false, extrapolated: false });
  });

  it("refuses a design with no budget to hold out", () => {
    expect(() => forecastBeyond({ ...design, fitBudgets: design.budgets }, ladder, analysis, { resamples: 5 }))
      .toThrow("forecastBeyond: design.budgets must hold a budget beyond design.fitBudgets to predict; got [1000000000,10000000000,100000000000,1000000000000]");
  });
});

describe("describeForecast", () => {
  const budget = (extra: Partial<Forecast["budgets"][number]>): Forecast["budgets"][number] => ({
    C: 1e12, beyond: 10, best: run(5000, 1e8, 2.1, { label: "C1e12 L2 H2 W16" }),
    measured: { N: 4321.4, loss: 2, valley: true, extrapolated: false },
    approach2: { N: { estimate: 5000, low: 3999.6, high: 6000.4 }, loss: { estimate: 2.1, low: 1.9, high: 2.3 } },
    approach3: { N: 4000, loss: 1.95 }, naive: { N: 3000, loss: 2.5 }, ...extra,
  });

  it("states each forecast's error, the interval's verdict and the sizes, from the numbers", () => {
    const text = describeForecast({ largestFitted: 1e11, level: 0.9, budgets: [budget({}), budget({
      C: 3e12, beyond: 30, measured: { N: 9000, loss: 2.4, valley: false, extrapolated: false }, approach3: { N: 4000, loss: 2.16 },
    })] });
    expect(text.split("\n")).toEqual([
      "C = 1e+12 (10× the largest fitted budget): approach 2 errs by 5.0%, approach 3 by -2.5%, the naive forecast by 25.0%; "
        + "the measured optimum (the parabola's minimum) is inside approach 2's 90% interval; predicted N_opt 5,000 (4,000 – 6,000) "
        + "against 4,321 measured; best run: C1e12 L2 H2 W16",
      "C = 3e+12 (30× the largest fitted budget): approach 2 errs by -12.5%, approach 3 by -10.0%, the naive forecast by 4.2%; "
        + "the measured optimum (the best run, no valley) is outside approach 2's 90% interval; predicted N_opt 5,000 (4,000 – 6,000) "
        + "against 9,000 measured; best run: C1e12 L2 H2 W16",
    ]);
    const far = describeForecast({ largestFitted: 1e11, level: 0.9, budgets: [budget({ measured: { N: 1e6, loss: 2, valley: true, extrapolated: true } })] });
    expect(far).toContain("against 1,000,000 measured (outside the sizes run: the parabola extrapolates); best run:");
  });

  it("reads a registered forecast and sets it beside the measured optimum and today's refit", () => {
    const text = [
      "# Prediction", "", "Written 2026-12-01 06:46 UTC from 98 finished runs.", "", "```",
      "C 1e+11: N_opt 6414, loss 1.8850, extrapolated false",
      "C 1e+12: approach 2 N_opt 25525 [3172, 44311], loss 2.0500 [1.9000, 2.2000]; approach 3 N_opt 50641, loss 2.2000",
      "C 3e+13: approach 2 N_opt 1 [1, 2], loss 1.0000 [0.5000, 1.5000]; approach 3 N_opt 1, loss 1.0000", "```",
    ].join("\n");
    const registered = parseRegisteredForecast(text);
    expect(registered.written).toBe("2026-12-01 06:46 UTC");
    expect(registered.budgets.map((b) => [b.C, b.approach2.N.low, b.approach2.loss.high, b.approach3.loss])).toEqual([[1e12, 3172, 2.2, 2.2], [3e13, 1, 1.5, 1]]);
    expect(describeRegistered(registered, { largestFitted: 1e11, level: 0.9, budgets: [budget({})] }).split("\n")).toEqual([
      "C = 1e+12: registered 2026-12-01 06:46 UTC, approach 2 loss 2.050 (1.900 – 2.200), error 2.5% against the measured 2.000, which is inside its interval; "
        + "approach 3 registered 2.200 (10.0%); today's refit on the same budgets: 2.100 and 1.950",
      "C = 3e+13: registered, but not a held-out budget of this study",
    ]);
    expect(() => parseRegisteredForecast("no forecast here", "x.md")).toThrow('parseRegisteredForecast: x.md has no line "C <budget>: approach 2 N_opt');
  });

  it("measures errors against the measured loss", () => {
    expect(forecastError(2.1, 2)).toBeCloseTo(5, 12);
    expect(forecastError(1.5, 2)).toBe(-25);
  });
});

describe("compareShapes", () => {
  const shape = (nLayer: number, nEmbd: number, nHead = 1) => ({ nLayer, nHead, nEmbd });
  const at = (N: number, loss: number, seed: number, model = shape(2, 8), learningRate = 0.01) =>
    run(N, 1e10 / (6 * N), loss, { seed, model, learningRate } as Partial<SweepResult>);
  // Seeds at the seed budget: N = 100 (mean 3.1), N = 200 (mean 2.8, sd 0.1), N = 400 (mean 2.55).
  const seeds = [
    at(100, 3.0, 1, shape(1, 8)), at(100, 3.2, 2, shape(1, 8)), at(100, 3.1, 3, shape(1, 8)),
    at(200, 2.8, 1), at(200, 2.9, 2), at(200, 2.7, 3),
    at(400, 2.5, 1, shape(3, 8)), at(400, 2.6, 2, shape(3, 8)),
  ];
  // Two shapes of about N = 200, three seeds each at their own rates: means 2.85 and 2.95, sd 0.1 each.
  const shapes = [
    ...[2.75, 2.85, 2.95].map((l, k) => at(210, l, k + 1, shape(4, 6, 2), 0.02)),
    ...[2.85, 2.95, 3.05].map((l, k) => at(190, l, k + 1, shape(1, 12), 0.005)),
  ];

  it("sets each shape's seeds beside the ladder's size of their N, with the noise of a difference and the step to the neighbouring sizes", () => {
    const c = compareShapes(design, seeds, shapes);
    expect(c.shapes.map((r) => [r.label, r.layers, r.losses.length, r.learningRate])).toEqual([
      ["L1 H1 W12", 1, 3, 0.005], ["L2 H1 W8", 2, 3, 0.01], ["L4 H2 W6", 4, 3, 0.02],
    ]);
    expect(c.shapes.map((r) => r.mean)).toEqual([expect.closeTo(2.95, 12), expect.closeTo(2.8, 12), expect.closeTo(2.85, 12)]);
    expect(c.shapes[2]).toMatchObject({ headSize: 3, aspectRatio: 1.5 });
    expect(c.spread).toBeCloseTo(0.15, 12);
    expect(c.pooledSd).toBeCloseTo(0.1, 12);
    expect(c.size.N).toBe(200);
    expect(c.neighbours.map((x) => x?.N)).toEqual([100, 400]);
    // SE of a difference of two means of 3 seeds: 0.1·√(2/3) = 0.0816; 0.15 is 1.8 of them.
    expect(describeShapes(c)).toBe("the shapes' mean test losses span 0.150 nats (5.2% of their mean), best L2 H1 W8, worst L1 H1 W12; "
      + "the standard error of a difference of two means of 3 seeds is 0.082 (pooled seed SD 0.100), so the spread is 1.8 of them; "
      + "the step to the neighbouring ladder sizes: 0.300 at N = 100, -0.250 at N = 400; aspect ratios d/layers from 1.5 to 12 (8×); "
      + "Kaplan et al. found the loss within a few percent while the aspect ratio varied 40× (their figure 5)");
    expect(shapeRows(c)[0]).toEqual({
      shape: "L1 H1 W12", layers: 1, "width d": 12, "head size d/h": 12, "aspect ratio d/layers": 12, "non-embedding N": 190,
      "learning rate (own)": 0.005, seeds: 3, "mean test loss": c.shapes[0].mean, "standard deviation": c.shapes[0].sd,
    });
  });

  it("refuses a study without shapes, or without a ladder run of their size at the seed budget", () => {
    expect(() => compareShapes(design, seeds, [])).toThrow("compareShapes: shapes must be a non-empty array of sweep results; got []");
    expect(() => compareShapes(design, seeds.map((r) => ({ ...r, tokens: r.tokens * 10, flops: r.flops * 10 })), shapes))
      .toThrow("compareShapes: the ladder has no run of N = 200 at the seed budget 10000000000");
  });
});
