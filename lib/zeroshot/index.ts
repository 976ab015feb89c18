// Lesson 05's toolkit: Zipf-distributed concepts in a generated corpus, counted; zero-shot
// accuracy per concept from a pretrained GPT; accuracy against log frequency.
export { ConceptMatcher, countConcepts } from "./count";
export {
  ATTRIBUTE_WORDS, buildConceptWorld, capConceptFrequency, COLOUR_WORDS, conceptSentence, conceptTraits, generateCorpus, OBJECT_WORDS, PLACE_WORDS,
  rebalanceCorpus, TEXTURE_WORDS, type Concept, type ConceptWorld, type ConceptWorldOptions, type CorpusOptions,
} from "./corpus";
export {
  conceptTokenizer, evaluateConcepts, headAndTail, percentCorrect, placeAccuracyByFrequency, summarizeScores,
  type ConceptScore, type FrequencyCurve, type FrequencyCurveOptions, type HeadAndTail, type ZeroShotSummary,
} from "./evaluate";
export {
  binByLogFrequency, dataMultiplierForGain, fitLogLinear, frequencyForAccuracy, logLinearAt, type FrequencyBin, type LogLinearFit,
} from "./loglinear";
export { pretrainAndEvaluate, type ConceptPretrainOptions, type ConceptRun } from "./pretrain";
export { sampleZipf, ZipfSampler, zipfProbabilities } from "./zipf";
