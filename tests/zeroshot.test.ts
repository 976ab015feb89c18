import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { Random } from "../lib/core/random";
import {
  binByLogFrequency, buildConceptWorld, capConceptFrequency, conceptSentence, countConcepts, dataMultiplierForGain, fitLogLinear, frequencyForAccuracy,
  generateCorpus, headAndTail, logLinearAt, placeAccuracyByFrequency, pretrainAndEvaluate, rebalanceCorpus, sampleZipf, summarizeScores, ZipfSampler,
  zipfProbabilities, type ConceptScore,
  allConceptSentences, conceptLineParts, TEMPLATES,
  binomialStandardError, compositionData, compositionDesign, compositionRunId, compositionRuns, compositionStudy, gapStandardError,
  pairedGapDifference, summarizeComposition, type CompositionResult, type DataSize, type ModelSize,
  answersLogLikelihood, compareAccuracyCurves, fitSigmoidInLogFrequency, sigmoidAt, sigmoidFrequencyFor, sigmoidLinearRange,
} from "../lib/zeroshot/index";

/** Pearson's χ² statistic of observed counts against expected counts. */
function chiSquare(observed: ArrayLike<number>, expected: ArrayLike<number>): number {
  let chi2 = 0;
  for (let i = 0; i < expected.length; i++) chi2 += (observed[i] - expected[i]) ** 2 / expected[i];
  return chi2;
}

function histogram(ranks: Int32Array, n: number): Int32Array {
  const counts = new Int32Array(n);
  for (const r of ranks) counts[r]++;
  return counts;
}

describe("Zipf sampler", () => {
  it("has the closed-form probabilities k^−s / H(n, s)", () => {
    // n = 4, s = 1: H = 1 + 1/2 + 1/3 + 1/4 = 25/12.
    const p = zipfProbabilities(4, 1);
    [12 / 25, 6 / 25, 4 / 25, 3 / 25].forEach((want, i) => expect(p[i]).toBeCloseTo(want, 15));
    // s = 2, n = 3: 1, 1/4, 1/9 over 49/36.
    [36 / 49, 9 / 49, 4 / 49].forEach((want, i) => expect(zipfProbabilities(3, 2)[i]).toBeCloseTo(want, 15));
    expect(Array.from(zipfProbabilities(1, 0.7))).toEqual([1]);
    const big = zipfProbabilities(10_000, 1.1);
    expect(big.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(big[0] / big[9]).toBeCloseTo(10 ** 1.1, 10);
  });

  it("draws counts that match n·p_k: χ² within the 99.9% bound and every rank within 4.5 standard errors", () => {
    const n = 30, s = 1.1, draws = 200_000;
    const counts = histogram(sampleZipf(n, s, draws, new Random(7)), n);
    const expected = Array.from(zipfProbabilities(n, s), (p) => p * draws);
    // χ²(29) exceeds 58.3 with probability 0.001.
    expect(chiSquare(counts, expected)).toBeLessThan(58.3);
    const p = zipfProbabilities(n, s);
    for (let k = 0; k < n; k++) expect(Math.abs(counts[k] - expected[k])).toBeLessThan(4.5 * Math.sqrt(draws * p[k] * (1 - p[k])));
    // The same check rejects a sampler that is off by one rank, or uniform.
    const shifted = Int32Array.from({ length: n }, (_, k) => (k === 0 ? counts[n - 1] : counts[k - 1]));
    expect(chiSquare(shifted, expected)).toBeGreaterThan(1000);
    expect(chiSquare(new Int32Array(n).fill(draws / n), expected)).toBeGreaterThan(1000);
  });

  it("is reproducible for a seed and draws from every rank of a small vocabulary", () => {
    const a = sampleZipf(5, 0.5, 1000, new Random(3));
    expect(Array.from(sampleZipf(5, 0.5, 1000, new Random(3)))).toEqual(Array.from(a));
    expect(new Set(a).size).toBe(5);
    expect(Math.min(...a)).toBe(0);
    expect(Math.max(...a)).toBe(4);
    expect(new ZipfSampler(1, 2).sampleMany(10, new Random(1)).every((r) => r === 0)).toBe(true);
  });

  it("rejects an exponent ≤ 0, an empty vocabulary and a bad count, with the values", () => {
    expect(() => zipfProbabilities(10, 0)).toThrow("zipfProbabilities: exponent must be > 0 (s ≤ 0 is flat or increasing, not a long tail); got 0");
    expect(() => new ZipfSampler(10, -1)).toThrow("ZipfSampler: exponent must be > 0 (s ≤ 0 is flat or increasing, not a long tail); got -1");
    expect(() => sampleZipf(10, NaN, 5, new Random(1))).toThrow("exponent must be a finite number > 0; got NaN");
    expect(() => new ZipfSampler(0, 1)).toThrow("ZipfSampler: the vocabulary is empty (n = 0); a Zipf distribution needs at least one item");
    expect(() => zipfProbabilities(2.5, 1)).toThrow("zipfProbabilities: the vocabulary size n must be a positive integer; got 2.5");
    expect(() => new ZipfSampler(3, 1).sampleMany(-1, new Random(1))).toThrow("ZipfSampler.sampleMany: count must be an integer ≥ 0; got -1");
  });
});

/** Brute force: every position where the phrase occurs with no word character on either side. */
function bruteForceCount(text: string, phrase: string): number {
  const word = /[A-Za-z0-9_]/;
  let n = 0;
  for (let i = 0; i + phrase.length <= text.length; i++) {
    if (text.slice(i, i + phrase.length) !== phrase) continue;
    if (i > 0 && word.test(text[i - 1])) continue;
    if (i + phrase.length < text.length && word.test(text[i + phrase.length])) continue;
    n++;
  }
  return n;
}

describe("concept counting", () => {
  it("agrees with brute force on random texts, including overlaps, prefixes and suffixes", () => {
    const r = new Random(11);
    const words = ["wet", "dog", "wet dog", "dogs", "sweet", "doghouse", "wet wet", "a", "ripe", "tomato", "ripe tomato"];
    const phrases = ["wet dog", "dog", "wet", "wet wet", "ripe tomato", "tomato", "sweet", "a"];
    const separators = [" ", " ", " ", ", ", ".\n", "-", "_", ""];
    for (let trial = 0; trial < 20; trial++) {
      let text = "";
      for (let i = 0; i < 300; i++) text += words[r.int(words.length)] + separators[r.int(separators.length)];
      const counts = countConcepts(text, phrases);
      phrases.forEach((p, i) => expect(counts[i], `${p} in trial ${trial}`).toBe(bruteForceCount(text, p)));
    }
  });

  it("counts whole words only and sums over a list of texts", () => {
    const counts = countConcepts(["the wet dog. a wet doghouse", "sweet dog; wet dog wet dog", "wet wet wet"], ["wet dog", "wet wet", "dog"]);
    expect(Array.from(counts)).toEqual([3, 2, 4]);
    expect(Array.from(countConcepts("", ["dog"]))).toEqual([0]);
    expect(Array.from(countConcepts("naïve dog, café dog, cafédog", ["café dog", "dog"]))).toEqual([1, 2]);
  });

  it("counts what the corpus generator wrote, and held-out concepts never occur", () => {
    const world = buildConceptWorld({ attributes: 6, objects: 5, heldOutFraction: 0.2, seed: 3 });
    const sentences = generateCorpus(world, { sentences: 3000, exponent: 1, seed: 4 });
    const counts = countConcepts(sentences, world.concepts.map((c) => c.name));
    world.concepts.forEach((c, i) => {
      const lines = new Set(TEMPLATES.map((_, t) => conceptSentence(world, i, t)));
      expect(counts[i], c.name).toBe(sentences.filter((s) => lines.has(s)).length);
    });
    for (const h of world.heldOut) expect(counts[h]).toBe(0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(3000);
  });

  it("rejects an empty vocabulary, empty or repeated phrases", () => {
    expect(() => countConcepts("a dog", [])).toThrow("countConcepts: no concepts to count (the vocabulary is empty); give at least one phrase");
    expect(() => countConcepts("a dog", ["dog", ""])).toThrow("countConcepts: phrase 1 is empty; every concept needs a name");
    expect(() => countConcepts("a dog", ["dog", "dog"])).toThrow('countConcepts: phrase "dog" appears twice (at 0 and 1); concepts must be distinct');
    expect(() => countConcepts("a dog", [" dog"])).toThrow('countConcepts: phrase 0 (" dog") must start and end with a letter or digit');
  });
});

/** Weighted least squares of y on x by the normal equations, in float64: the reference. */
function normalEquations(x: number[], y: number[], w: number[]) {
  let s0 = 0, s1 = 0, s2 = 0, t0 = 0, t1 = 0;
  x.forEach((xi, i) => { s0 += w[i]; s1 += w[i] * xi; s2 += w[i] * xi * xi; t0 += w[i] * y[i]; t1 += w[i] * xi * y[i]; });
  const det = s0 * s2 - s1 * s1;
  const intercept = (s2 * t0 - s1 * t1) / det;
  const slope = (s0 * t1 - s1 * t0) / det;
  const mean = t0 / s0;
  let ssRes = 0, ssTot = 0;
  x.forEach((xi, i) => { ssRes += w[i] * (y[i] - intercept - slope * xi) ** 2; ssTot += w[i] * (y[i] - mean) ** 2; });
  return { intercept, slope, r2: 1 - ssRes / ssTot };
}

describe("log-linear fit", () => {
  it("recovers an exact line in log10 frequency with R² = 1", () => {
    const f = [1, 10, 100, 1000, 31.6];
    const fit = fitLogLinear(f, f.map((x) => 12 + 20 * Math.log10(x)));
    expect(fit.intercept).toBeCloseTo(12, 10);
    expect(fit.slope).toBeCloseTo(20, 10);
    expect(fit.r2).toBeCloseTo(1, 12);
    expect(fit.n).toBe(5);
  });

  it("matches the float64 normal equations, with and without weights, and weights act as repeated points", () => {
    const r = new Random(5);
    const f = Array.from({ length: 40 }, () => 10 ** (4 * r.next()));
    const y = f.map((x) => 10 + 15 * Math.log10(x) + 8 * r.normal());
    const w = f.map(() => 1 + r.int(5));
    const x = f.map(Math.log10);
    for (const [fit, ref] of [[fitLogLinear(f, y), normalEquations(x, y, x.map(() => 1))], [fitLogLinear(f, y, w), normalEquations(x, y, w)]] as const) {
      expect(fit.intercept).toBeCloseTo(ref.intercept, 9);
      expect(fit.slope).toBeCloseTo(ref.slope, 9);
      expect(fit.r2).toBeCloseTo(ref.r2, 9);
      expect(fit.r2).toBeGreaterThan(0.5);
      expect(fit.r2).toBeLessThan(1);
    }
    const repeated = { f: [] as number[], y: [] as number[] };
    f.forEach((fi, i) => { for (let k = 0; k < w[i]; k++) { repeated.f.push(fi); repeated.y.push(y[i]); } });
    const weighted = fitLogLinear(f, y, w), copies = fitLogLinear(repeated.f, repeated.y);
    expect(weighted.slope).toBeCloseTo(copies.slope, 10);
    expect(weighted.r2).toBeCloseTo(copies.r2, 10);
  });

  it("reads the fit: accuracy at a frequency, frequency for an accuracy, data for a gain", () => {
    const fit = { intercept: 10, slope: 20, r2: 1, n: 2 };
    expect(logLinearAt(fit, 1000)).toBeCloseTo(70, 12);
    expect(frequencyForAccuracy(fit, 50)).toBeCloseTo(100, 9);
    expect(dataMultiplierForGain(fit, 10)).toBeCloseTo(Math.sqrt(10), 12);
    expect(dataMultiplierForGain(fit, 20)).toBeCloseTo(10, 12);
    expect(() => dataMultiplierForGain({ ...fit, slope: -1 }, 10)).toThrow("dataMultiplierForGain: the fit's slope is -1; more data buys accuracy only if the slope is positive");
  });

  it("rejects bad inputs with the values", () => {
    expect(() => fitLogLinear([1, 10], [1])).toThrow("fitLogLinear: y must be 2 values long, one per value of frequency; got 1");
    expect(() => fitLogLinear([10], [1])).toThrow("fitLogLinear: frequency must be a list of at least 2 points to fit 2 parameters (intercept, slope); got 1");
    expect(() => fitLogLinear([], [])).toThrow("got 0");
    expect(() => fitLogLinear([1, 0], [1, 2])).toThrow("fitLogLinear: frequency[1] must be a finite positive number; got 0");
    expect(() => fitLogLinear([1, 10], [1, NaN])).toThrow("fitLogLinear: y[1] must be a finite number; got NaN");
    expect(() => fitLogLinear([5, 5, 5], [1, 2, 3])).toThrow("fitLogLinear: frequency must be spread over at least 2 distinct values to fit; got 1 distinct value(s)");
    expect(() => fitLogLinear([1, 10], [1, 2], [1, 0])).toThrow("fitLogLinear: weights[1] must be a finite positive number; got 0");
  });

  it("bins by log10 frequency with the right counts, means and geometric-mean frequencies", () => {
    const bins = binByLogFrequency([1, 2, 5, 9, 10, 30, 99, 100, 0], [0, 1, 0, 1, 1, 1, 0, 1, 1], 1);
    expect(bins.map((b) => [b.low, b.high, b.count])).toEqual([[1, 10, 4], [10, 100, 3], [100, 1000, 1]]);
    expect(bins[0].mean).toBeCloseTo(0.5, 12);
    expect(bins[1].mean).toBeCloseTo(2 / 3, 12);
    expect(bins[0].frequency).toBeCloseTo((1 * 2 * 5 * 9) ** 0.25, 10);
    expect(() => binByLogFrequency([1, -1], [0, 0])).toThrow("binByLogFrequency: frequency[1] must be a finite number ≥ 0; got -1");
  });
});

describe("sigmoid in log frequency", () => {
  // Answers drawn from a known sigmoid, chance 1/8, midpoint 10^1.5 lines, steepness 3 per decade.
  const truth = { midpoint: 1.5, steepness: 3, chance: 1 / 8, logLikelihood: 0, n: 0 };
  const random = new Random(5);
  const frequency = Array.from({ length: 20_000 }, () => 10 ** (3 * random.next()));
  const right = frequency.map((f) => random.next() < sigmoidAt(truth, f) / 100);

  it("recovers the sigmoid that drew the answers, at a likelihood no nearby sigmoid beats", () => {
    const fit = fitSigmoidInLogFrequency(frequency, right, 1 / 8);
    expect(fit.midpoint).toBeCloseTo(1.5, 1);
    expect(Math.abs(fit.steepness - 3)).toBeLessThan(0.3);
    for (const [dm, ds] of [[0.02, 0], [-0.02, 0], [0, 0.05], [0, -0.05]]) {
      const other = answersLogLikelihood(frequency, right, (f) => sigmoidAt({ ...fit, midpoint: fit.midpoint + dm, steepness: fit.steepness + ds }, f) / 100);
      expect(other).toBeLessThanOrEqual(fit.logLikelihood + 1e-9);
    }
  });

  it("inverts, and finds where it is nearly straight: slope at least half its steepest", () => {
    expect(sigmoidAt(truth, 10 ** 1.5)).toBeCloseTo(100 * (1 / 8 + 7 / 16), 12);
    expect(Math.log10(sigmoidFrequencyFor(truth, sigmoidAt(truth, 200)))).toBeCloseTo(Math.log10(200), 9);
    const { from, to, steepestSlope } = sigmoidLinearRange(truth);
    expect(steepestSlope).toBeCloseTo((100 * (7 / 8) * 3) / 4, 12);
    // At the ends the slope, by central differences in log10 f, is half the steepest.
    const slopeAt = (f: number) => (sigmoidAt(truth, f * 1.0001) - sigmoidAt(truth, f / 1.0001)) / (2 * Math.log10(1.0001));
    expect(slopeAt(from) / steepestSlope).toBeCloseTo(0.5, 4);
    expect(slopeAt(to) / steepestSlope).toBeCloseTo(0.5, 4);
    expect(() => sigmoidFrequencyFor(truth, 10)).toThrow("sigmoidFrequencyFor: accuracy must lie strictly between chance (12.5%) and 100%; got 10");
  });

  it("prefers the sigmoid to the binned line when the answers span the floor and the ceiling", () => {
    const scores: ConceptScore[] = frequency.slice(0, 3000).map((f, i) => ({
      concept: i, name: `c${i}`, heldOut: false, frequency: Math.round(f) + 1, placeCorrect: right[i], placeRecallCorrect: right[i], traitsCorrect: false,
    }));
    const line = placeAccuracyByFrequency(scores, { perDecade: 3, minConcepts: 5 }).fit;
    const compared = compareAccuracyCurves(scores, line, 1 / 8);
    expect(compared.better).toBe("sigmoid");
    expect(compared.sigmoid.logLikelihood).toBeGreaterThan(compared.lineLogLikelihood);
  });
});

describe("the concept world and its corpus", () => {
  it("holds out pairs whose parts are seen, and the corpus follows Zipf over the seen concepts", () => {
    const world = buildConceptWorld({ attributes: 10, objects: 10, heldOutFraction: 0.1, seed: 2 });
    expect(world.heldOut).toHaveLength(10);
    expect(world.popularity).toHaveLength(90);
    for (const h of world.heldOut) {
      const { attribute, object } = world.concepts[h];
      expect(world.popularity.filter((c) => world.concepts[c].attribute === attribute).length).toBeGreaterThanOrEqual(2);
      expect(world.popularity.filter((c) => world.concepts[c].object === object).length).toBeGreaterThanOrEqual(2);
    }
    const draws = 100_000;
    const counts = countConcepts(generateCorpus(world, { sentences: draws, exponent: 1, seed: 1 }), world.concepts.map((c) => c.name));
    const byRank = world.popularity.map((c) => counts[c]);
    const expected = Array.from(zipfProbabilities(90, 1), (p) => p * draws);
    expect(chiSquare(byRank, expected)).toBeLessThan(140); // χ²(89) exceeds 140 with probability < 0.001
    expect(() => generateCorpus(world, { sentences: 10, exponent: 0 })).toThrow("generateCorpus: exponent must be > 0");
    expect(() => generateCorpus(world, { sentences: 0, exponent: 1 })).toThrow("generateCorpus: sentences must be a positive integer; got 0");
    // Where the target would take a part below two seen pairs, fewer pairs are held out.
    const tight = buildConceptWorld({ attributes: 3, objects: 3, heldOutFraction: 0.5, seed: 4 });
    expect(tight.heldOut.length).toBeLessThanOrEqual(3);
    for (let a = 0; a < 3; a++) expect(tight.popularity.filter((c) => tight.concepts[c].attribute === a).length).toBeGreaterThanOrEqual(2);
    for (let o = 0; o < 3; o++) expect(tight.popularity.filter((c) => tight.concepts[c].object === o).length).toBeGreaterThanOrEqual(2);
    expect(() => buildConceptWorld({ attributes: 2 })).toThrow("buildConceptWorld: attributes must be an integer in [3, 24]; got 2");
    expect(conceptSentence(world, 0)).toMatch(/^wet dog: (soft|hard|cool|warm) (red|blue|gold|pink), (barn|cave|dock|farm|hill|lake|park|shop)\.$/);
  });

  it("phrases each concept in every template but its test template, which its questions use", () => {
    const world = buildConceptWorld({ attributes: 6, objects: 6, heldOutFraction: 0.1, seed: 5 });
    expect(world.templates).toBe(TEMPLATES.length);
    // Test templates are shared out evenly: 36 concepts over 4 templates, 9 each.
    expect(TEMPLATES.map((_, t) => world.concepts.filter((c) => c.testTemplate === t).length)).toEqual([9, 9, 9, 9]);
    const sentences = generateCorpus(world, { sentences: 20_000, exponent: 0.5, seed: 6 });
    const used = world.concepts.map(() => new Set<number>());
    const lookup = new Map(world.concepts.flatMap((_, i) => TEMPLATES.map((_, t) => [conceptSentence(world, i, t), [i, t]] as const)));
    for (const s of sentences) {
      const found = lookup.get(s);
      expect(found, s).toBeDefined();
      used[found![0]].add(found![1]);
    }
    for (const c of world.popularity) {
      expect(used[c].has(world.concepts[c].testTemplate), world.concepts[c].name).toBe(false);
      expect(used[c].size, world.concepts[c].name).toBe(TEMPLATES.length - 1);
    }
    // The parts put back together are the line; the place comes last, after the rest.
    const parts = conceptLineParts(world, 7, 1);
    expect(`${parts.before}${parts.traits}${parts.afterTraits}${parts.place}.`).toBe(conceptSentence(world, 7, 1));
    expect(conceptSentence(world, 0, 1)).toMatch(/^the wet dog is (soft|hard|cool|warm) and (red|blue|gold|pink), found at the [a-z]{4}\.$/);
    expect(allConceptSentences(world)).toHaveLength(36 * TEMPLATES.length);
    const two = buildConceptWorld({ attributes: 4, objects: 4, templates: 2, seed: 1 });
    expect(new Set(generateCorpus(two, { sentences: 500, exponent: 1 }).map((s) => s.startsWith("the ")))).toEqual(new Set([true, false]));
    expect(() => buildConceptWorld({ templates: 1 })).toThrow(`buildConceptWorld: templates must be an integer in [2, ${TEMPLATES.length}]; got 1`);
    expect(() => conceptSentence(two, 0, 2)).toThrow("conceptLineParts: template must be an index in [0, 2); got 2");
    expect(() => conceptSentence(two, 16)).toThrow("conceptLineParts: concept must be an index in [0, 16); got 16");
  });

  it("rebalancing by temperature gives each concept a share ∝ count^τ; capping keeps at most cap per concept", () => {
    const phrases = ["wet dog", "ripe tomato", "old car"];
    const corpus = [...Array(800).fill("a wet dog."), ...Array(200).fill("a ripe tomato."), ...Array(100).fill("no concept here."), ...Array(12).fill("an old car.")];
    const size = 60_000;
    const flat = rebalanceCorpus(corpus, phrases, { temperature: 0.5, size, seed: 2 });
    const counts = countConcepts(flat, phrases);
    const mass = [800, 200, 12].map((n) => Math.sqrt(n));
    const conceptShare = 1012 / 1112;
    mass.forEach((m, i) => {
      const p = (conceptShare * m) / mass.reduce((a, b) => a + b, 0);
      expect(Math.abs(counts[i] - p * size), phrases[i]).toBeLessThan(4.5 * Math.sqrt(size * p * (1 - p)));
    });
    // Temperature 1 keeps every share (800, 200 and 12 of 1,112 lines).
    const same = countConcepts(rebalanceCorpus(corpus, phrases, { temperature: 1, size, seed: 1 }), phrases);
    [800, 200, 12].forEach((n, i) => {
      const p = n / 1112;
      expect(Math.abs(same[i] - p * size), phrases[i]).toBeLessThan(4.5 * Math.sqrt(size * p * (1 - p)));
    });
    const capped = capConceptFrequency(corpus, phrases, 50);
    expect(Array.from(countConcepts(capped, phrases))).toEqual([50, 50, 12]);
    expect(capped.filter((s) => s === "no concept here.")).toHaveLength(100);
    expect(() => capConceptFrequency(corpus, phrases, 0)).toThrow("capConceptFrequency: cap must be a positive integer; got 0");
    expect(() => rebalanceCorpus(corpus, phrases, { temperature: 2 })).toThrow("rebalanceCorpus: temperature must be a finite number in [0, 1]; got 2");
    expect(() => rebalanceCorpus([], phrases, { temperature: 0.5 })).toThrow("rebalanceCorpus: the corpus is empty");
  });
});

describe("summaries of zero-shot scores", () => {
  const world = buildConceptWorld({ attributes: 4, objects: 5, heldOutFraction: 0.2, seed: 1 });
  const frequency = Int32Array.from(world.concepts, (c, i) => (c.heldOut ? 0 : 1 + ((i * 37) % 101)));
  const scores: ConceptScore[] = world.concepts.map((c, i) => ({
    concept: i, name: c.name, heldOut: c.heldOut, frequency: frequency[i], placeCorrect: c.heldOut ? null : frequency[i] > 30, placeRecallCorrect: c.heldOut ? null : frequency[i] > 10, traitsCorrect: c.heldOut ? i % 2 === 0 : true,
  }));

  it("splits head and tail by counted frequency and summarises by hand-checkable counts", () => {
    const split = headAndTail(world, frequency, 0.25);
    const seen = world.popularity.slice().sort((a, b) => frequency[b] - frequency[a] || a - b);
    expect(split.head).toEqual(seen.slice(0, 4));
    expect(split.tail).toEqual(seen.slice(-4));
    expect(split.middle).toEqual(seen.slice(4, -4));
    const s = summarizeScores(scores, split);
    const pct = (xs: boolean[]) => (100 * xs.filter(Boolean).length) / xs.length;
    expect(s.placeHead).toBe(pct(split.head.map((i) => frequency[i] > 30)));
    expect(s.placeTail).toBe(pct(split.tail.map((i) => frequency[i] > 30)));
    expect(s.placeMiddle).toBe(pct(split.middle.map((i) => frequency[i] > 30)));
    expect(s.placeRecall).toBe(pct(world.popularity.map((i) => frequency[i] > 10)));
    const tailCounts = split.tail.map((i) => frequency[i]).sort((a, b) => a - b);
    expect(s.tailMedianFrequency).toBe((tailCounts[1] + tailCounts[2]) / 2);
    expect(s.headMedianFrequency).toBe(frequency[split.head[1]] / 2 + frequency[split.head[2]] / 2);
    expect(s.traitsSeen).toBe(100);
    expect(s.traitsHeldOut).toBe(pct(world.heldOut.map((i) => i % 2 === 0)));
    expect(s.compositionalGap).toBeCloseTo(100 - s.traitsHeldOut, 12);
    expect(() => headAndTail(world, frequency, 0.9)).toThrow("headAndTail: fraction must be in (0, 0.5]; got 0.9");
  });

  it("fits place accuracy against frequency on the bins with enough concepts, weighted by their concepts", () => {
    const curve = placeAccuracyByFrequency(scores, { perDecade: 1, minConcepts: 1 });
    expect(curve.bins.reduce((a, b) => a + b.count, 0)).toBe(world.popularity.length);
    const ref = fitLogLinear(curve.bins.map((b) => b.frequency), curve.bins.map((b) => b.mean), curve.bins.map((b) => b.count));
    expect(curve.fit).toEqual(ref);
    expect(curve.fit.slope).toBeGreaterThan(0);
    // Three bins per decade: the sparse ones are shown but left out of the fit.
    const sparse = placeAccuracyByFrequency(scores, { perDecade: 3, minConcepts: 3 });
    const used = sparse.bins.filter((b) => b.count >= 3);
    expect(sparse.fitted).toEqual(sparse.bins.map((b) => b.count >= 3));
    expect(used.length).toBeLessThan(sparse.bins.length);
    expect(sparse.fit).toEqual(fitLogLinear(used.map((b) => b.frequency), used.map((b) => b.mean), used.map((b) => b.count)));
    // Counts times passes: the same bins, shifted by the factor.
    const twice = placeAccuracyByFrequency(scores, { perDecade: 1, minConcepts: 1, passes: 10 });
    expect(twice.bins.map((b) => b.frequency / 10)).toEqual(curve.bins.map((b) => expect.closeTo(b.frequency, 9)));
    expect(twice.fit.slope).toBeCloseTo(curve.fit.slope, 9);
    // Recall answers (right above 10 lines) instead of held-out-phrasing answers (right above 30): every bin's share by hand.
    const recall = placeAccuracyByFrequency(scores, { perDecade: 1, minConcepts: 1, recall: true });
    const inBin = (b: { low: number; high: number }) => world.popularity.filter((i) => frequency[i] >= b.low && frequency[i] < b.high);
    recall.bins.forEach((b) => expect(b.mean).toBeCloseTo((100 * inBin(b).filter((i) => frequency[i] > 10).length) / inBin(b).length, 9));
    expect(() => placeAccuracyByFrequency(scores, { perDecade: 1, minConcepts: 100 })).toThrow("placeAccuracyByFrequency: 0 bin(s) hold at least 100 concepts");
  });

  it("refuses scores that are not every concept in order", () => {
    expect(() => summarizeScores(scores.slice(1), headAndTail(world, frequency, 0.25))).toThrow("summarizeScores: score 0 is for concept 1; pass the scores of every concept, in order");
  });
});

describe("pretraining and zero-shot evaluation", () => {
  beforeAll(async () => {
    await chooseBackend("wasm");
  });

  it("a tiny GPT learns the places of frequent concepts from text alone, and nothing leaks between runs", async () => {
    const world = buildConceptWorld({ attributes: 3, objects: 3, heldOutFraction: 0, templates: 2, seed: 1 });
    const sentences = generateCorpus(world, { sentences: 1500, exponent: 0.3, seed: 1 });
    const model = { blockSize: 56, nLayer: 1, nHead: 2, nEmbd: 32, dropout: 0, bias: true, tieWeights: true };
    const tensorsBefore = tf.memory().numTensors;
    const run = await pretrainAndEvaluate({ world, sentences, model, steps: 400, batchSize: 16, learningRate: 1e-2, seed: 1 });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(Array.from(run.frequency)).toEqual(Array.from(countConcepts(sentences, world.concepts.map((c) => c.name))));
    expect(run.scores).toHaveLength(9);
    // Every concept is frequent here (over 100 lines each): a model that learnt nothing would recall about 1 in 8.
    expect(run.scores.filter((s) => s.placeRecallCorrect).length).toBeGreaterThanOrEqual(8);
    // Asked in the phrasing a concept never appeared in, this tiny model is mostly wrong: transfer
    // across phrasings takes the lesson's scale, so it is measured there, not asserted here.
    await expect(pretrainAndEvaluate({ world, sentences, model: { ...model, blockSize: 40 }, steps: 1, batchSize: 2, learningRate: 1e-3 })).rejects.toThrow(
      "pretrainAndEvaluate: blockSize 40 is shorter than the longest question",
    );
    await expect(pretrainAndEvaluate({ world, sentences, model, batchSize: 2, learningRate: 1e-3 })).rejects.toThrow("pretrainAndEvaluate: give exactly one of steps");
    await expect(pretrainAndEvaluate({ world, sentences, model, epochs: 0, batchSize: 2, learningRate: 1e-3 })).rejects.toThrow("pretrainAndEvaluate: epochs must be a positive number; got 0");
    await expect(pretrainAndEvaluate({ world, sentences: [], model, steps: 1, batchSize: 2, learningRate: 1e-3 })).rejects.toThrow("pretrainAndEvaluate: the corpus is empty");
  });
});

describe("the composition study", () => {
  const result = (world: number, seed: number, model: ModelSize, data: DataSize, seen: number, heldOut: number): CompositionResult => ({
    id: `${world}/${seed}/${model}/${data}`, world, seed, model, data, parameters: model === "small" ? 100 : 400, lines: 10,
    seenConcepts: 400, heldOutConcepts: 100, traitsSeen: seen, traitsTail: seen, traitsHeldOut: heldOut, gap: seen - heldOut,
    place: 50, placeRecall: 60, traitsRight: "", finalLoss: 1, seconds: 1, backend: "cpu", cpu: "test", format: 2, dataHash: "d",
  });

  it("lists worlds × seeds × two models × two data sizes, each with its own stable identity", () => {
    const design = compositionDesign("full");
    const runs = compositionRuns(design);
    expect(runs).toHaveLength(design.worlds.length * design.seeds.length * 4);
    const ids = runs.map((r) => compositionRunId(design, r, "wasm"));
    expect(new Set(ids).size).toBe(runs.length);
    expect(compositionRunId(design, { ...runs[5] }, "wasm")).toBe(ids[5]);
    // Changing anything that decides a run's result changes its identity: settings, generated text, backend.
    expect(compositionRunId({ ...design, learningRate: 3e-3 }, runs[5], "wasm")).not.toBe(ids[5]);
    expect(compositionRunId({ ...design, exponent: 1.2 }, runs[5], "wasm")).not.toBe(ids[5]);
    expect(compositionRunId(design, runs[5], "webgpu")).not.toBe(ids[5]);
    const { world, sentences } = compositionData(compositionDesign("smoke"), 2, "half");
    expect(sentences).toHaveLength(400);
    expect(world.heldOut.length).toBeGreaterThan(0);
  });

  it("summarises each cell by the mean over runs with a t-interval, and pairs cell differences by world and seed", () => {
    // Gaps of 2, 4 and 6 points: mean 4, sd 2, 95% half-width t(2)·2/√3 = 4.303·2/√3.
    const runs = [
      result(1, 1, "small", "half", 90, 88), result(1, 2, "small", "half", 90, 86), result(2, 1, "small", "half", 90, 84),
      result(1, 1, "larger", "all", 98, 98), result(1, 2, "larger", "all", 97, 96), result(2, 1, "larger", "all", 99, 96),
    ];
    const [small, larger] = summarizeComposition(runs);
    expect([small.model, small.data, larger.model, larger.data]).toEqual(["small", "half", "larger", "all"]);
    expect(small.gap.mean).toBeCloseTo(4, 12);
    expect(small.gap.high - small.gap.mean).toBeCloseTo((4.303 * 2) / Math.sqrt(3), 10);
    expect(small.traitsHeldOut.mean).toBeCloseTo(86, 12);
    // Paired differences 2 − 0, 4 − 1, 6 − 3 = 2, 3, 3.
    const d = pairedGapDifference(runs, { model: "small", data: "half" }, { model: "larger", data: "all" });
    expect(d.mean).toBeCloseTo(8 / 3, 12);
    expect(d.n).toBe(3);
    expect(() => pairedGapDifference(runs, { model: "small", data: "all" }, { model: "larger", data: "all" })).toThrow("pairedGapDifference: no world and seed has runs of both small/all and larger/all");
  });

  it("counts a run's gap as clear beyond two of its binomial standard errors", () => {
    // 90% of 400 and 84% of 100: standard errors 1.5 and 3.667 points, combined 3.962.
    const r = result(1, 1, "small", "half", 90, 84);
    expect(binomialStandardError(90, 400)).toBeCloseTo(1.5, 12);
    expect(gapStandardError(r)).toBeCloseTo(Math.hypot(1.5, Math.sqrt(84 * 16 / 100)), 12);
    expect(summarizeComposition([r])[0].clearGaps).toBe(0); // 6 < 2 × 3.96
    expect(summarizeComposition([result(1, 1, "small", "half", 90, 80)])[0].clearGaps).toBe(1); // 10 > 2 × 4.3
    expect(() => binomialStandardError(50, 0)).toThrow("binomialStandardError: n must be at least 1; got 0");
  });

  it("at full scale reads the stored study, and says which command trains what is missing", async () => {
    const design = { ...compositionDesign("full"), name: "no-such-study" };
    await expect(compositionStudy("full", design)).rejects.toThrow(
      "datasets/zeroshot/no-such-study.jsonl lacks 36 of 36 runs on wasm (first: world 1, seed 1, small model, half data); "
      + "run `npm run compose-study -- --grid full` (it resumes)",
    );
  });
});
