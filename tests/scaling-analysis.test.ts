import { describe, expect, it } from "vitest";

import { countParameters } from "../lib/gpt/model";
import {
  analyseIsoflop, budgetOf, curveLossAt, differenceBar, isoflopPoints, noiseAt, lossAtTokens, powerLawWithInterval, regimes, sampleEfficiency, seedNoise, stopEarlyComparison,
} from "../lib/scaling/analysis";
import { describeCountings, type CountedFits } from "../lib/scaling/counting";
import type { ScalingDesign, SweepResult } from "../lib/scaling/sweepDesign";

/** A finished run as the sweep would record it (only the fields the analysis reads). */
function run(params: number, tokens: number, testLoss: number, extra: Partial<SweepResult> = {}): SweepResult {
  return {
    params, tokens, flops: 6 * params * tokens, testLoss, validationLoss: testLoss, seed: 1,
    model: { nLayer: 1, nHead: 2, nEmbd: 8 }, curve: [{ tokens, valLoss: testLoss }], ...extra,
  } as unknown as SweepResult;
}

const design = { budgets: [1e9, 1e10, 1e11] } as unknown as ScalingDesign;

describe("budgetOf", () => {
  it("assigns a run to the nearest planned budget in log C", () => {
    expect(budgetOf(design, run(100, 1e9 / 600 * 1.02, 2))).toBe(1e9);
    expect(budgetOf(design, run(100, 1e10 / 600 * 0.97, 2))).toBe(1e10);
  });
});

describe("analyseIsoflop", () => {
  // Exact IsoFLOP profiles: loss = L_opt(C) + 0.1·(ln N − ln N_opt(C))², with N_opt = 0.5·C^0.6 and
  // L_opt = 5·C^(−0.05), so the parabola fits are exact and so are the exponents.
  const Nopt = (C: number) => 0.5 * C ** 0.6, Lopt = (C: number) => 5 * C ** -0.05;
  const budgets = [1e9, 1e10, 1e11, 1e12];
  const points = budgets.flatMap((C) => [0.25, 0.5, 1, 2, 4].map((f) => {
    const N = Nopt(C) * f;
    return { N, D: C / (6 * N), C, loss: Lopt(C) + 0.1 * Math.log(f) ** 2 };
  }));

  it("with costs counted otherwise, reads each budget's compute and tokens at N_opt, and fits against that compute", () => {
    // Costs of exactly 6ND change nothing: the same minima and exponents as without them.
    const plain = analyseIsoflop(points, { resamples: 20, seed: 1 });
    const same = analyseIsoflop(points.map((p) => ({ ...p, cost: 6 * p.N * p.D })), { resamples: 20, seed: 1 });
    expect(same.fit.a).toBeCloseTo(plain.fit.a, 9);
    same.fit.minima.forEach((m, i) => { expect(m.C).toBeCloseTo(plain.fit.minima[i].C, -1); expect(m.Dopt / plain.fit.minima[i].Dopt).toBeCloseTo(1, 9); });
    // Costs of 6ND·(N/1e3)^0.25 (a per-token overhead growing with N): each budget's compute is that at N_opt.
    const costly = analyseIsoflop(points.map((p) => ({ ...p, cost: 6 * p.N * p.D * (p.N / 1e3) ** 0.25 })), { resamples: 20, seed: 1 });
    costly.fit.minima.forEach((m, i) => expect(m.C / (plain.fit.minima[i].C * (m.Nopt / 1e3) ** 0.25)).toBeCloseTo(1, 9));
    // N_opt = 0.5·C^0.6 in 6ND terms and C_counted = C·(N_opt/1e3)^0.25 make N_opt ∝ C_counted^(0.6/1.15).
    expect(costly.fit.a).toBeCloseTo(0.6 / (1 + 0.25 * 0.6), 9);
  });

  it("recovers a = 0.6, b = 0.4 and γ = 0.05 from exact profiles, and predicts the optimum at a new budget", () => {
    const result = analyseIsoflop(points, { resamples: 50, seed: 1 });
    expect(result.fit.a).toBeCloseTo(0.6, 9);
    expect(result.fit.b).toBeCloseTo(0.4, 9);
    expect(result.lossLaw.alpha).toBeCloseTo(0.05, 9);
    const at = result.predict(1e14);
    expect(at.N.estimate).toBeCloseTo(Nopt(1e14), -Math.log10(Nopt(1e14)) + 6);
    expect(at.loss.estimate).toBeCloseTo(Lopt(1e14), 9);
    expect(at.D.estimate * at.N.estimate * 6).toBeCloseTo(1e14, -8);
    // Resamples of exact data that still have 3 sizes per budget refit exactly: the intervals hold the estimate.
    for (const iv of [result.intervals.a, result.intervals.b, result.intervals.gamma, at.N, at.loss]) {
      expect(iv.low).toBeLessThanOrEqual(iv.estimate * (1 + 1e-9));
      expect(iv.high).toBeGreaterThanOrEqual(iv.estimate * (1 - 1e-9));
    }
    expect(result.failedResamples).toBe(0);
    expect(result.skippedBudgets).toEqual([]);
  });

  it("leaves out, and names, a budget whose runs form no valley", () => {
    const hill = [1, 2, 4].map((N) => ({ N, D: 1e13 / (6 * N), C: 1e13, loss: 3 - 0.1 * Math.log(N) ** 2 }));
    const result = analyseIsoflop([...points, ...hill], { resamples: 10, seed: 1 });
    expect(result.skippedBudgets).toEqual([{ C: 1e13, why: expect.stringContaining("not convex in log N") }]);
    expect(result.fit.minima.map((m) => m.C)).toEqual(budgets);
    expect(result.fit.a).toBeCloseTo(0.6, 9);
  });

  it("widens the intervals when the losses are noisy", () => {
    let state = 7;
    const noise = () => ((state = (state * 48271) % 2147483647) / 2147483647 - 0.5) * 0.02;
    const noisy = points.map((p) => ({ ...p, loss: p.loss + noise() }));
    const { intervals } = analyseIsoflop(noisy, { resamples: 100, seed: 2 });
    expect(intervals.a.high - intervals.a.low).toBeGreaterThan(0.005);
    expect(intervals.a.low).toBeLessThan(intervals.a.estimate);
    expect(() => analyseIsoflop(points, { resamples: 0, seed: 1 })).toThrow("analyseIsoflop: resamples must be a positive integer; got 0");
  });
});

describe("powerLawWithInterval", () => {
  it("fits y = a·x^(−α) and gives α a bootstrap interval that holds it", () => {
    const x = [1, 2, 4, 8, 16, 32], y = x.map((v, i) => 3 * v ** -0.3 * (1 + 0.01 * ((i % 3) - 1)));
    const { fit, alpha } = powerLawWithInterval(x, y, { resamples: 200, seed: 1 });
    expect(fit.alpha).toBeCloseTo(0.3, 1);
    expect(alpha.low).toBeLessThan(fit.alpha);
    expect(alpha.high).toBeGreaterThan(fit.alpha);
    expect(alpha.high - alpha.low).toBeLessThan(0.05);
  });
});

describe("seedNoise", () => {
  it("pools each size's variance by its degrees of freedom", () => {
    const runs = [run(10, 1, 2.0), run(10, 1, 2.2), run(10, 1, 2.4), run(20, 1, 1.9), run(20, 1, 2.0)];
    const noise = seedNoise(runs);
    // Size 10: variance 0.04 on 2 df; size 20: variance 0.005 on 1 df.
    expect(noise.degreesOfFreedom).toBe(3);
    expect(noise.pooledSd).toBeCloseTo(Math.sqrt((2 * 0.04 + 0.005) / 3), 12);
    expect(noise.sizes.map((s) => s.mean)).toEqual([expect.closeTo(2.2, 12), expect.closeTo(1.95, 12)]);
    expect(() => seedNoise([run(10, 1, 2)])).toThrow("seedNoise: needs some size run with at least 2 seeds");
  });
});

describe("regimes", () => {
  it("splits runs by tokens per parameter around the compute-optimal ratio", () => {
    const runs = [run(10, 10_000, 2), run(10, 3_000, 2.1), run(1000, 1_000, 2.5), run(1000, 30_000, 2), run(5, 2_000, 2.2)];
    const { dataRich, modelRich } = regimes(runs, 100, 4); // data-rich: ≥ 400 tokens per parameter; model-rich: ≤ 25
    expect(dataRich.map((r) => r.tokens / r.params)).toEqual([400, 1000]);
    expect(modelRich.map((r) => r.tokens / r.params)).toEqual([1]);
  });
});

describe("stopEarlyComparison", () => {
  it("compares, at each budget, the best finished run with the best larger run stopped there", () => {
    const curve = (params: number, points: [number, number][]) => points.map(([C, valLoss]) => ({ tokens: C / (6 * params), valLoss }));
    const small = run(10, 1e9 / 60, 3, { curve: curve(10, [[5e8, 3.5], [1e9, 3]]) });
    const big = run(100, 1e10 / 600, 2, { curve: curve(100, [[1e9, 2.8], [5e9, 2.3], [1e10, 2]]) });
    const rows = stopEarlyComparison(design, [small, big]);
    expect(rows[0]).toEqual({
      C: 1e9, finished: { N: 10, loss: 3 }, stopped: { N: 100, loss: 2.8, flops: expect.closeTo(1e9, 0), fractionOfRun: expect.closeTo(0.1, 12) },
    });
    expect(rows[1]).toEqual({ C: 1e10, finished: { N: 100, loss: 2 }, stopped: null });
    // A longer run of the same size is not a larger model stopped early.
    const sameSize = run(10, 1e10 / 60, 2.5, { curve: curve(10, [[1e9, 2.9], [1e10, 2.5]]) });
    expect(stopEarlyComparison(design, [small, sameSize])[0].stopped).toBeNull();
  });

  it("reads a larger run where it had spent exactly the budget (between its evaluations), and not at all before its first", () => {
    const curve = (params: number, points: [number, number][]) => points.map(([C, valLoss]) => ({ tokens: C / (6 * params), valLoss }));
    const small = run(10, 1e9 / 60, 3, { curve: curve(10, [[1e9, 3]]) });
    const big = run(100, 1e10 / 600, 2, { curve: curve(100, [[4e8, 2.9], [8e8, 2.7], [2e9, 2.4], [1e10, 2]]) });
    // 1e9 lies between the evaluations at 8e8 (2.7) and 2e9 (2.4): ln(1e9/8e8)/ln(2e9/8e8) = 0.2435… of the way.
    const t = Math.log(1e9 / 8e8) / Math.log(2e9 / 8e8);
    expect(stopEarlyComparison(design, [small, big])[0].stopped).toEqual({
      N: 100, loss: expect.closeTo(2.7 - 0.3 * t, 12), flops: 1e9, fractionOfRun: expect.closeTo(0.1, 12),
    });
    expect(curveLossAt(big.curve, big.curve[1].tokens)).toBe(2.7);
    expect(curveLossAt(big.curve, big.curve[0].tokens / 2)).toBeNull();
    const late = run(100, 1e10 / 600, 2, { curve: curve(100, [[2e9, 2.4], [1e10, 2]]) });
    expect(stopEarlyComparison(design, [small, late])[0].stopped).toBeNull();
  });
});

describe("lossAtTokens and sampleEfficiency", () => {
  it("interpolates a size's finished runs linearly in log tokens, and compares neighbouring sizes where their ranges overlap", () => {
    const small = [run(10, 100, 3), run(10, 10_000, 2)];
    expect(lossAtTokens(small, 1000)).toBeCloseTo(2.5, 12);
    expect(lossAtTokens(small, 50)).toBeNull();
    const large = [run(20, 1000, 2.4), run(20, 100_000, 1.6)];
    expect(sampleEfficiency([...small, ...large])).toEqual([
      { smaller: 10, larger: 20, D: expect.closeTo(Math.sqrt(1000 * 10_000), 6), smallerLoss: expect.closeTo(2.25, 12), largerLoss: expect.closeTo(2.2, 12) },
    ]);
  });
});


describe("counting every parameter and FLOP", () => {
  const model = { nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 32, vocabSize: 50, dropout: 0, bias: true, tieWeights: true };
  it("an IsoFLOP point of every parameter and its FLOPs: embeddings in N, the head and attention in the cost", () => {
    const r = run(6_000, 1e6, 2, { model } as Partial<SweepResult>);
    const [six] = isoflopPoints({ budgets: [3.6e10] } as unknown as ScalingDesign, [r]);
    const [all] = isoflopPoints({ budgets: [3.6e10] } as unknown as ScalingDesign, [r], "every parameter and FLOP");
    expect(six).toEqual({ N: 6_000, D: 1e6, loss: 2, C: 3.6e10 });
    // By hand: the token and position embeddings (50·16 + 32·16) join N; per token the head (50·16 weights) and
    // attention (12·L·T·C = 12·2·32·16) join the non-embedding weights at 6 FLOPs each.
    const { total, nonEmbedding } = countParameters(model);
    expect(total - nonEmbedding).toBe(50 * 16 + 32 * 16);
    expect(all.N).toBe(total);
    expect(all.cost).toBe(1e6 * (6 * (nonEmbedding + 50 * 16) + 12 * 2 * 32 * 16));
    expect(all.C).toBe(3.6e10);
    expect(() => isoflopPoints(design, [r], "6N" as never)).toThrow('isoflopPoints: counting must be "6ND" or "every parameter and FLOP"; got "6N"');
  });

  it("says which paper's a each counting lies nearer, and which its interval holds", () => {
    const iv = (estimate: number, low: number, high: number) => ({ estimate, low, high });
    const fits = [{ counting: "6ND", approach2: { intervals: { a: iv(0.7, 0.6, 0.8) } }, approach3: { intervals: { a: iv(0.5, 0.3, 0.8) } } }] as unknown as CountedFits[];
    expect(describeCountings(fits)).toEqual([
      "6ND, approach 2: a = 0.700 (0.600 – 0.800), nearer Kaplan's 0.73; the interval holds Kaplan's",
      "6ND, approach 3: a = 0.500 (0.300 – 0.800), nearer Hoffmann's 0.46; the interval holds Kaplan's and Hoffmann's",
    ]);
  });
});

describe("per-size seed noise", () => {
  it("takes each size's own spread, from the nearest measured size in log N", () => {
    const noise = seedNoise([run(100, 1e6, 2.0), run(100, 1e6, 2.2), run(10_000, 1e6, 1.50), run(10_000, 1e6, 1.52), run(1e6, 1e6, 1.2)]);
    const sd100 = Math.sqrt(0.02), sd10k = Math.sqrt(0.0002); // sample SDs of {2.0, 2.2} and {1.50, 1.52}
    expect(noiseAt(noise, 100)).toBeCloseTo(sd100, 12);
    expect(noiseAt(noise, 500)).toBeCloseTo(sd100, 12); // nearer 100 than 10,000 in log N
    expect(noiseAt(noise, 5_000)).toBeCloseTo(sd10k, 12);
    expect(noiseAt(noise, 1e6)).toBeCloseTo(sd10k, 12); // measured with one seed: the nearest measured size stands in
    expect(differenceBar(noise, 100, 10_000)).toBeCloseTo(2 * Math.sqrt(0.02 + 0.0002), 12);
  });
});
