// Zero-shot questions about every concept, answered by a pretrained language model's
// likelihoods alone (no labelled examples, no task head), and summaries of the answers.
import { checkNumber, checkObject, checkPositive, checkPositiveInteger, checkSameLength, checkThat } from "../core/checks";
import { CharTokenizer } from "../core/data";
import type { GPT } from "../gpt/model";
import { zeroShotPredict } from "../gpt/zeroShot";
import { allConceptSentences, conceptLineParts, TEMPLATES, type ConceptWorld } from "./corpus";
import {
  answersLogLikelihood, binByLogFrequency, fitLogLinear, fitSigmoidInLogFrequency, logLinearAt,
  type FrequencyBin, type LogLinearFit, type SigmoidFit,
} from "./loglinear";

/** Characters of every line the world can produce, and the line break between lines. */
export function conceptTokenizer(world: ConceptWorld): CharTokenizer {
  return CharTokenizer.fromText("\n" + allConceptSentences(world).join("\n"));
}

export interface ConceptScore {
  concept: number;
  name: string;
  heldOut: boolean;
  /** Occurrences counted in the pretraining corpus. */
  frequency: number;
  /**
   * Whether the model ranks the right place first among all places (particular knowledge), asked
   * in the concept's test template, a phrasing it never appeared in; null for held-out pairs,
   * which have no place in the corpus.
   */
  placeCorrect: boolean | null;
  /** The same question in a phrasing the concept did appear in: recall of a line seen in training. */
  placeRecallCorrect: boolean | null;
  /** Whether the model ranks the right "texture colour" first among all combinations (compositional knowledge). */
  traitsCorrect: boolean;
}

/**
 * Asks the model about each concept as the corpus would continue a line, in the concept's test
 * template (a phrasing the concept never appeared in): after "\nthe wet dog is cool and red,
 * found at the " which place is likeliest (seen concepts only), and after "\nthe wet dog is "
 * which of all texture–colour pairs is likeliest (every concept). The place is also asked in a
 * phrasing the concept did appear in (recall). The answer is the raw likeliest continuation:
 * zeroShotPredict's calibration is left off, since it assumes every answer is right about
 * equally often among the examples, which a world with few concepts per answer does not guarantee.
 */
export async function evaluateConcepts(model: GPT, tokenizer: CharTokenizer, world: ConceptWorld, frequency: ArrayLike<number>): Promise<ConceptScore[]> {
  if (frequency.length !== world.concepts.length) {
    throw new Error(`evaluateConcepts: ${frequency.length} frequencies for ${world.concepts.length} concepts; count every concept (0 for held-out ones)`);
  }
  const seen = world.concepts.map((_, i) => i).filter((i) => !world.concepts[i].heldOut);
  const askPlace = async (template: (concept: number) => number) => {
    const predicted = await zeroShotPredict(model, tokenizer, seen.map(String), world.places.length, (example, p) => {
      const c = Number(example), parts = conceptLineParts(world, c, template(c));
      return { prompt: `\n${parts.before}${parts.traits}${parts.afterTraits}`, continuation: `${world.places[p]}.` };
    }, { calibrate: false });
    return new Map(seen.map((c, j) => [c, predicted[j] === world.concepts[c].place]));
  };
  const testTemplate = (c: number) => world.concepts[c].testTemplate;
  const placeTransfer = await askPlace(testTemplate);
  const placeRecall = await askPlace((c) => (testTemplate(c) + 1) % world.templates);
  const nColours = world.colours.length;
  const combos = world.textures.length * nColours;
  const all = world.concepts.map((_, i) => String(i));
  const traitsPredicted = await zeroShotPredict(model, tokenizer, all, combos, (example, k) => {
    const c = Number(example), template = TEMPLATES[testTemplate(c)];
    const traits = template.traits(world.textures[Math.floor(k / nColours)], world.colours[k % nColours]);
    return { prompt: `\n${conceptLineParts(world, c, testTemplate(c)).before}`, continuation: traits + template.afterTraits.charAt(0) };
  }, { calibrate: false });
  return world.concepts.map((c, i) => ({
    concept: i,
    name: c.name,
    heldOut: c.heldOut,
    frequency: frequency[i],
    placeCorrect: c.heldOut ? null : placeTransfer.get(i)!,
    placeRecallCorrect: c.heldOut ? null : placeRecall.get(i)!,
    traitsCorrect: traitsPredicted[i] === world.textureOf[c.attribute] * nColours + world.colourOf[c.object],
  }));
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Percentage of `true` among the given flags (NaN for none). */
export function percentCorrect(flags: readonly (boolean | null)[]): number {
  const answered = flags.filter((f): f is boolean => f !== null);
  return answered.length ? (100 * answered.filter(Boolean).length) / answered.length : NaN;
}

export interface HeadAndTail {
  /** Indices of the most frequent seen concepts. */
  head: number[];
  /** The seen concepts in between. */
  middle: number[];
  /** Indices of the rarest seen concepts: a long-tail test set in the spirit of Udandarao et al.'s "Let It Wag!". */
  tail: number[];
}

/**
 * The seen concepts split by counted frequency: the `fraction` most frequent and the `fraction`
 * rarest (ties broken by index, so the split is reproducible). Fix it once, on the original
 * corpus, to compare runs trained on other versions of the data on the same concepts.
 */
export function headAndTail(world: ConceptWorld, frequency: ArrayLike<number>, fraction = 0.2): HeadAndTail {
  checkThat(fraction > 0 && fraction <= 0.5, "headAndTail", "fraction", fraction, "in (0, 0.5]");
  checkSameLength("headAndTail", "world.concepts", world.concepts, "frequency", frequency);
  for (let i = 0; i < frequency.length; i++) checkNumber("headAndTail", `frequency[${i}]`, frequency[i], 0);
  const seen = world.concepts.map((_, i) => i).filter((i) => !world.concepts[i].heldOut).sort((a, b) => frequency[b] - frequency[a] || a - b);
  const k = Math.max(1, Math.round(fraction * seen.length));
  return { head: seen.slice(0, k), middle: seen.slice(k, seen.length - k), tail: seen.slice(seen.length - k) };
}

export interface FrequencyCurve {
  /** Seen concepts binned by log10 frequency; `mean` is the percentage answered correctly. */
  bins: FrequencyBin[];
  /** Percent correct against log10 frequency, fitted to the bins of at least `minConcepts` concepts, weighted by their concept counts. */
  fit: LogLinearFit;
  /** Whether each bin took part in the fit. */
  fitted: boolean[];
}

export interface FrequencyCurveOptions {
  /** Bins per factor of ten; default 3. */
  perDecade?: number;
  /** Bins with fewer concepts are shown but not fitted (one or two concepts are all noise); default 5. */
  minConcepts?: number;
  /** Multiplies every count, e.g. by the passes over the corpus to get lines seen in training; default 1. */
  passes?: number;
  /** Bin the answers asked in a phrasing seen with the concept (recall) instead of the one never seen with it; default false. */
  recall?: boolean;
}

/** Zero-shot accuracy on the particular fact (place) against counted frequency, binned, with its log-linear fit. */
export function placeAccuracyByFrequency(scores: readonly ConceptScore[], options: FrequencyCurveOptions = {}): FrequencyCurve {
  const fn = "placeAccuracyByFrequency";
  const { perDecade = 3, minConcepts = 5, passes = 1, recall = false } = options;
  checkPositiveInteger(fn, "minConcepts", minConcepts);
  checkPositive(fn, "passes", passes);
  const seen = scores.filter((s) => !s.heldOut && s.frequency > 0);
  const bins = binByLogFrequency(seen.map((s) => s.frequency * passes), seen.map((s) => ((recall ? s.placeRecallCorrect : s.placeCorrect) ? 100 : 0)), perDecade);
  const fitted = bins.map((b) => b.count >= minConcepts);
  const used = bins.filter((_, i) => fitted[i]);
  if (used.length < 2) {
    throw new Error(`${fn}: ${used.length} bin(s) hold at least ${minConcepts} concepts (of ${bins.length} bins); a fit needs 2. Use fewer bins per decade or a smaller minConcepts`);
  }
  return { bins, fit: fitLogLinear(used.map((b) => b.frequency), used.map((b) => b.mean), used.map((b) => b.count)), fitted };
}

export interface ZeroShotSummary {
  /** Percent of seen concepts whose place is answered right, asked in a phrasing never seen with the concept. */
  place: number;
  /** The same, asked in a phrasing seen with the concept (recall). */
  placeRecall: number;
  placeHead: number;
  placeMiddle: number;
  placeTail: number;
  /** Median count, in this run's corpus, of the head's and the tail's concepts. */
  headMedianFrequency: number;
  tailMedianFrequency: number;
  /** Percent whose texture and colour are both right: seen pairs, the rarest seen pairs, held-out pairs. */
  traitsSeen: number;
  traitsTail: number;
  traitsHeldOut: number;
  /** traitsSeen − traitsHeldOut: what never seeing the pair costs. */
  compositionalGap: number;
}

/**
 * The lesson's numbers for one run; head and tail are concept sets (see headAndTail). A
 * percentage over no concepts (e.g. held-out pairs in a world that holds none out) is NaN.
 */
export function summarizeScores(scores: readonly ConceptScore[], split: HeadAndTail): ZeroShotSummary {
  const fn = "summarizeScores";
  checkThat(Array.isArray(scores), fn, "scores", scores, "an array of concept scores (from evaluateConcepts)");
  checkObject(fn, "split", split, "{ head, middle, tail } (from headAndTail)");
  scores.forEach((s, i) => {
    if (s.concept !== i) throw new Error(`summarizeScores: score ${i} is for concept ${s.concept}; pass the scores of every concept, in order`);
  });
  for (const part of ["head", "middle", "tail"] as const) {
    const indices = split[part];
    checkThat(Array.isArray(indices), fn, `split.${part}`, indices, "an array of concept indices (from headAndTail)");
    indices.forEach((c, j) => checkThat(Number.isInteger(c) && c >= 0 && c < scores.length, fn, `split.${part}[${j}]`, c, `one of the ${scores.length} scores [0, ${scores.length})`));
  }
  const pick = (indices: number[]) => indices.map((i) => scores[i]);
  const seen = scores.filter((s) => !s.heldOut);
  const held = scores.filter((s) => s.heldOut);
  const traitsSeen = percentCorrect(seen.map((s) => s.traitsCorrect));
  const traitsHeldOut = percentCorrect(held.map((s) => s.traitsCorrect));
  return {
    place: percentCorrect(seen.map((s) => s.placeCorrect)),
    placeRecall: percentCorrect(seen.map((s) => s.placeRecallCorrect)),
    placeHead: percentCorrect(pick(split.head).map((s) => s.placeCorrect)),
    placeMiddle: percentCorrect(pick(split.middle).map((s) => s.placeCorrect)),
    placeTail: percentCorrect(pick(split.tail).map((s) => s.placeCorrect)),
    headMedianFrequency: median(pick(split.head).map((s) => s.frequency)),
    tailMedianFrequency: median(pick(split.tail).map((s) => s.frequency)),
    traitsSeen,
    traitsTail: percentCorrect(pick(split.tail).map((s) => s.traitsCorrect)),
    traitsHeldOut,
    compositionalGap: traitsSeen - traitsHeldOut,
  };
}

export interface CurveComparison {
  /** The sigmoid from chance to 100% of greatest likelihood, fitted on the seen concepts one by one. */
  sigmoid: SigmoidFit;
  /** Log-likelihood of the same answers under the line (its accuracy clamped to [0, 100]). */
  lineLogLikelihood: number;
  /** Both have two parameters, so the one of higher likelihood describes the answers better. */
  better: "sigmoid" | "line";
}

/** The line fitted on frequency bins against a sigmoid in log frequency, on the seen concepts' own answers. */
export function compareAccuracyCurves(scores: readonly ConceptScore[], line: LogLinearFit, chance: number): CurveComparison {
  const fn = "compareAccuracyCurves";
  checkThat(typeof chance === "number" && chance >= 0 && chance < 1, fn, "chance", chance, "in [0, 1) (1/8 for one of eight answers)");
  checkThat(Number.isFinite(line?.intercept) && Number.isFinite(line?.slope), fn, "line", line, "a fitLogLinear result with finite intercept and slope");
  checkThat(Array.isArray(scores), fn, "scores", scores, "an array of concept scores");
  const seen = scores.filter((s) => !s.heldOut && s.frequency > 0);
  const frequency = seen.map((s) => s.frequency), right = seen.map((s) => s.placeCorrect === true);
  const sigmoid = fitSigmoidInLogFrequency(frequency, right, chance);
  const lineLogLikelihood = answersLogLikelihood(frequency, right, (f) => logLinearAt(line, f) / 100);
  return { sigmoid, lineLogLikelihood, better: sigmoid.logLikelihood > lineLogLikelihood ? "sigmoid" : "line" };
}
