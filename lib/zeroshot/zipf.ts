// Zipf's law: the item of popularity rank k (1-based) among n is drawn with probability
// p_k = k^(−s) / H(n, s), where H(n, s) = Σ_{j=1..n} j^(−s). Word and concept frequencies in
// web text follow it roughly with s ≈ 1: a few items are everywhere, most are rare.
import { checkInteger, checkThat, refuse, shown } from "../core/checks";
import type { Random } from "../core/random";

/** The largest vocabulary a Zipf distribution is built for: two tables of n float64s (probabilities and their sums) must fit in memory. */
export const MAX_ZIPF_ITEMS = 2 ** 25;

/** The most ranks one call draws: an Int32Array of 1 GiB. */
const MAX_SAMPLES = 2 ** 28;

/** Throws, naming `fn`, unless n is a positive integer (at most MAX_ZIPF_ITEMS) and the exponent a finite number > 0. */
export function checkZipf(fn: string, n: number, exponent: number): void {
  checkThat(Number.isInteger(n) && n >= 0, fn, "the vocabulary size n", n, "a positive integer"); // 0 has its own message below
  if (n === 0) throw new Error(`${fn}: the vocabulary is empty (n = 0); a Zipf distribution needs at least one item`);
  if (n > MAX_ZIPF_ITEMS) {
    refuse(fn, "the vocabulary size n", n, `at most the ${MAX_ZIPF_ITEMS.toLocaleString("en-US")} items supported (it would need ${(16 * n / 2 ** 30).toFixed(1)} GiB of tables)`);
  }
  checkThat(typeof exponent === "number" && Number.isFinite(exponent), fn, "exponent", exponent, "a finite number > 0");
  checkThat(exponent > 0, fn, "exponent", exponent, "> 0 (s ≤ 0 is flat or increasing, not a long tail)");
}

/** p_k for ranks k = 1..n, as a Float64Array indexed from 0 (index i is rank i + 1). */
export function zipfProbabilities(n: number, exponent: number): Float64Array {
  checkZipf("zipfProbabilities", n, exponent);
  const p = Float64Array.from({ length: n }, (_, i) => Math.pow(i + 1, -exponent));
  // Sum from the smallest term up, so that the long tail is not lost to rounding.
  let total = 0;
  for (let i = n - 1; i >= 0; i--) total += p[i];
  for (let i = 0; i < n; i++) p[i] /= total;
  return p;
}

/** Draws ranks (0-based: 0 is the most frequent item) from Zipf(n, s) by inverting the cumulative distribution. */
export class ZipfSampler {
  readonly n: number;
  readonly exponent: number;
  readonly probabilities: Float64Array;
  private readonly cdf: Float64Array;

  constructor(n: number, exponent: number) {
    checkZipf("ZipfSampler", n, exponent);
    this.n = n;
    this.exponent = exponent;
    this.probabilities = zipfProbabilities(n, exponent);
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) this.cdf[i] = sum += this.probabilities[i];
    this.cdf[n - 1] = 1; // no rounding gap above the last item
  }

  /** One 0-based rank. */
  sample(random: Random): number {
    if (typeof random?.next !== "function") throw new Error(`ZipfSampler.sample: random must be a Random (new Random(seed)); got ${shown(random)}`);
    const u = random.next();
    // The first index whose cumulative probability exceeds u.
    let lo = 0, hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** `count` independent 0-based ranks. */
  sampleMany(count: number, random: Random): Int32Array {
    checkInteger("ZipfSampler.sampleMany", "count", count, 0);
    if (count > MAX_SAMPLES) refuse("ZipfSampler.sampleMany", "count", count, `at most ${MAX_SAMPLES.toLocaleString("en-US")} ranks per call (it would need ${(4 * count / 2 ** 30).toFixed(1)} GiB)`);
    if (typeof random?.next !== "function") throw new Error(`ZipfSampler.sampleMany: random must be a Random (new Random(seed)); got ${shown(random)}`);
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.sample(random);
    return out;
  }
}

/** `count` 0-based ranks from Zipf(n, exponent): `sampleZipf(100, 1, 10_000, new Random(1))`. */
export function sampleZipf(n: number, exponent: number, count: number, random: Random): Int32Array {
  return new ZipfSampler(n, exponent).sampleMany(count, random);
}
