// Lesson 05's toolkit: Zipf-distributed concepts in a generated corpus, counted; zero-shot
// accuracy per concept from a pretrained GPT; accuracy against log frequency.
export { ConceptMatcher, countConcepts } from "./count";
export {
  ATTRIBUTE_WORDS, buildConceptWorld, capConceptFrequency, COLOUR_WORDS, allConceptSentences, conceptLineParts, conceptSentence, generateCorpus, OBJECT_WORDS, PLACE_WORDS,
  rebalanceCorpus, TEMPLATES, TEXTURE_WORDS, type Concept, type ConceptWorld, type ConceptWorldOptions, type CorpusOptions, type Template,
} from "./corpus";
export {
  compareAccuracyCurves, conceptTokenizer, evaluateConcepts, headAndTail, percentCorrect, placeAccuracyByFrequency, summarizeScores,
  type ConceptScore, type CurveComparison, type FrequencyCurve, type FrequencyCurveOptions, type HeadAndTail, type ZeroShotSummary,
} from "./evaluate";
export {
  answersLogLikelihood, binByLogFrequency, dataMultiplierForGain, fitLogLinear, fitSigmoidInLogFrequency, frequencyForAccuracy,
  logLinearAt, sigmoidAt, sigmoidFrequencyFor, sigmoidLinearRange, type FrequencyBin, type LogLinearFit, type SigmoidFit,
} from "./loglinear";
export { pretrainAndEvaluate, type ConceptPretrainOptions, type ConceptRun } from "./pretrain";
export {
  binomialStandardError, compositionData, compositionDesign, compositionResult, compositionRunId, compositionRuns, compositionStudy, gapStandardError,
  readCompositionResults, upgradeCompositionResults,
  pairedGapDifference, runCompositionStudy, storedCompositionPath, summarizeComposition, trainCompositionRun, type CompositionCell,
  type CompositionDesign, type CompositionResult, type CompositionRunSpec, type DataSize, type ModelSize,
} from "./study";
export { sampleZipf, ZipfSampler, zipfProbabilities } from "./zipf";
