// Standard attention against FlashAttention on the same random inputs: time, working memory
// at its peak, and how far apart the outputs are. Shared by lesson 06 and bench:attention.
import { Random } from "../core/random";
import { checkPositiveInteger } from "../core/checks";
import { checkBufferSize, checkScoresSize, flashAttention, naiveAttention, type FlashAttentionOptions } from "./attention";
import { maxAbsDifference } from "./precision";

export interface AttentionComparison {
  n: number;
  d: number;
  causal: boolean;
  /** Median milliseconds over the runs; the two versions alternate so that background load hits both alike. */
  naiveMs: number;
  flashMs: number;
  naivePeakBytes: number;
  flashPeakBytes: number;
  maxAbsDiff: number;
}

/** n and d positive integers, and four [n, d] matrices small enough to allocate. */
function checkShape(fn: string, n: number, d: number): void {
  checkPositiveInteger(fn, "n", n);
  checkPositiveInteger(fn, "d", d);
  checkBufferSize(fn, `each of q, k, v and dOut, [n, d] = [${n}, ${d}],`, n * d, "choose a smaller n or d");
}

/** Random query, key and value matrices [n, d] (and an output gradient), seeded by the shape. */
export function randomAttentionInputs(n: number, d: number) {
  checkShape("randomAttentionInputs", n, d);
  const rng = new Random(n + d);
  return { q: rng.normals(n * d, 1), k: rng.normals(n * d, 1), v: rng.normals(n * d, 1), dOut: rng.normals(n * d, 1) };
}

export function compareAttention(n: number, d: number, options: { causal?: boolean; runs?: number; blocks?: Pick<FlashAttentionOptions, "blockRows" | "blockCols"> } = {}): AttentionComparison {
  const fn = "compareAttention";
  const { causal = false, runs = 3, blocks = {} } = options;
  checkPositiveInteger(fn, "runs", runs);
  checkShape(fn, n, d);
  checkScoresSize(fn, n, n, "choose a smaller n (standard attention holds two [n, n] matrices)");
  const { q, k, v } = randomAttentionInputs(n, d);
  const naiveTimes: number[] = [];
  const flashTimes: number[] = [];
  let naive = naiveAttention(q, k, v, n, d, { causal });
  let flash = flashAttention(q, k, v, n, d, { causal, ...blocks });
  for (let r = 0; r < runs; r++) {
    let t0 = performance.now();
    naive = naiveAttention(q, k, v, n, d, { causal });
    naiveTimes.push(performance.now() - t0);
    t0 = performance.now();
    flash = flashAttention(q, k, v, n, d, { causal, ...blocks });
    flashTimes.push(performance.now() - t0);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return {
    n, d, causal, naiveMs: median(naiveTimes), flashMs: median(flashTimes),
    naivePeakBytes: naive.peakBytes, flashPeakBytes: flash.peakBytes, maxAbsDiff: maxAbsDifference(naive.out, flash.out),
  };
}
