// The public surface lessons import: `import { initBackend, plot, table } from "../lib";`
export * as tf from "@tensorflow/tfjs";
export { BACKENDS, chooseBackend, initBackend, parseBackendName, type BackendInfo, type BackendName } from "./backend";
export { displayBundle, inKernel, livePlot, plot, progress, table, type LivePlot, type PlotlyFigure, type Progress, type TableLike } from "./display";
export { environmentReport, measureMatmul, packageVersion, type MatmulMeasurement } from "./machine";
export { projectRoot } from "./paths";
export { atScale, courseScale, describeScale, parseScale, SCALES, setScale, type Scale } from "./scale";
export { BpeTokenizer, trainBpe, type BpeModel } from "./bpe";
export { CharTokenizer, loadDataset, sampleBatch, splitTrainVal, type Batch, type Tokenizer } from "./data";
export { writeFileAtomic } from "./files";
export { InterruptedError } from "./interrupt";
export { Random } from "./random";
export { loadCheckpoint, saveCheckpoint } from "./gpt/checkpoint";
export { findStoredRun, trainCached, trainingKey, type CachedTrainResult, type Provenance } from "./gpt/cache";
export { BABY_GPT, countParameters, flopsPerToken, GPT, parameterSpecs, validateConfig, type GPTConfig } from "./gpt/model";
export { generate, sampleFromLogits, type SampleOptions } from "./gpt/sample";
export {
  AdamW, DEFAULT_TRAIN, estimateLoss, learningRateAt, modelParameters, train, TrainingDivergedError,
  type EvalInfo, type StepInfo, type TrainCallbacks, type TrainConfig, type TrainResult,
} from "./gpt/train";
export { LoRA, linearWeightNames, type LoRAConfig, type LoRATarget } from "./gpt/lora";
export { readTensorFile, writeTensorFile, type TensorEntry } from "./gpt/checkpoint";
export {
  checkLabeled, ClassifierHead, classifierAccuracy, continuationLogLikelihood, fineTune, fitLinearProbe, layerFeatures, pooledFeatures,
  zeroShotPredict, type FineTuneOptions, type LabeledSequences, type ProbeResult,
} from "./gpt/transfer";
export { balance, encodeTask, limitPerClass, parseSpeeches, realOrScrambledTask, scrambleWords, speakerTask, splitTask, verseProseTask, type Speech, type TextTask } from "./tasks";
export type { Adapters, ForwardOptions, ForwardResult } from "./gpt/model";
export {
  cloneModel, describePretraining, measureSwitching, pretrain, probeAccuracyByLayer, shakespeareTasks, trainingCurve, tuneClassifier, tuneClassifiers, typicalityPredict, zeroShotAccuracy,
  type PretrainingRun, type ReuseRow, type ReuseTask, type SwitchingCost, type TuneJob, type TuneOptions,
} from "./reuse";
export {
  attentionMemoryAccesses, FLASH_BLOCK_COLS, FLASH_BLOCK_ROWS, flashAttention, flashAttentionBackward, naiveAttention, naiveAttentionBackward,
  type AttentionGradients, type AttentionMemoryAccesses, type AttentionOptions, type AttentionResult, type FlashAttentionOptions, type NaiveAttentionResult,
} from "./efficiency/attention";
export { MemoryTracker } from "./efficiency/memory";
export {
  FLOAT_FORMATS, fromBFloat16Array, fromBFloat16Bits, fromFloat16Array, fromFloat16Bits, gradientUnderflow, LossScaler, matmulLowPrecision, maxAbsDifference,
  mixedPrecisionAttention, roundToBFloat16, roundToFloat16, roundToFormat, toBFloat16Array, toBFloat16Bits, toFloat16Array, toFloat16Bits,
  type FloatFormat, type GradientUnderflow, type LossScaleStep, type LossScalerOptions, type LowPrecisionFormat, type MixedPrecisionAttentionOptions,
  type MixedPrecisionAttentionResult,
} from "./efficiency/precision";
export {
  bootstrapChinchilla, CHINCHILLA_2022, chinchillaData, chinchillaLoss, chinchillaObjective, computeOptimal, fitChinchilla, fitKaplanJoint, fitOffsetPowerLaw, fitPowerLaw,
  HESTNESS_2017, HOFFMANN_GRID, isoflopDesign, isoflopFit, KAPLAN_2020, kaplanLoss, logSpace, minimizeLbfgs, quantile, REDUCED_GRID, sampleLosses, trainingFlops,
  type BootstrapOptions, type ChinchillaBootstrap, type ChinchillaData, type ChinchillaFit, type ChinchillaFitOptions, type ChinchillaGrid, type ChinchillaParams, type ComputeOptimal,
  type Interval, type IsoflopDesignOptions, type IsoflopFit, type IsoflopMinimum, type IsoflopOptions, type IsoflopPoint, type KaplanFit, type KaplanFitOptions,
  type KaplanParams, type LbfgsOptions, type LbfgsResult, type LbfgsStop, type NoiseOptions, type Objective, type OffsetPowerLawFit, type OffsetPowerLawOptions,
  type PowerLawFit, type RunDesign, type ScalingPoint,
} from "./scaling/index";
export { compareAttention, randomAttentionInputs, type AttentionComparison } from "./efficiency/compare";
export { allFinite, castHalf, HALF_FORMATS, roundToHalf, type HalfFormat } from "./gpt/mixed";
export {
  FULL_SWEEP_RESULTS, lossComputeFrontier, readSweepResults, runId, runSweep, shakespeareGrid, shakespeareSweep, sizeByDataGrid, tokensToReach,
  type SweepOptions, type SweepResult, type SweepRun,
} from "./sweep";
export { randomFeaturesTestError, ridgeWeights, solveSpd, type DoubleDescentOptions } from "./doubledescent";
export {
  checkExamples, el2nScores, exampleEl2n, exampleGradNorms, ForgettingCounter, forgettingCounts, forgettingScores, grandScores, KEEP_RULES, keptCount, kMeans,
  linearRule, linearStudentError, localExponents, makeTeacher, normalCdf, paretoFrontier, principalComponents, probeSeeds, prototypeScores, pruningExperiment,
  pruningScore, randomScores, rankCorrelation, SCORE_NAMES, scoringCost, selectByScore, SoftmaxClassifier, subsetExamples, teacherStudentData,
  teacherStudentError, trainClassifier, trainStudent,
  type ClassifierConfig, type Examples, type KeepRule, type KMeansOptions, type KMeansResult, type ProbeOptions, type PrototypeOptions, type PruningExperimentOptions,
  type PruningRow, type ScoreName, type ScoringOptions, type SelectOptions, type SgdOptions, type StudentOptions, type TeacherStudentData, type TeacherStudentOptions,
} from "./pruning/index";
export {
  ATTRIBUTE_WORDS, binByLogFrequency, buildConceptWorld, capConceptFrequency, COLOUR_WORDS, ConceptMatcher, conceptSentence, conceptTokenizer, conceptTraits, countConcepts,
  dataMultiplierForGain, evaluateConcepts, fitLogLinear, frequencyForAccuracy, generateCorpus, headAndTail, logLinearAt, OBJECT_WORDS, percentCorrect, PLACE_WORDS,
  placeAccuracyByFrequency, pretrainAndEvaluate, rebalanceCorpus, sampleZipf, summarizeScores, TEXTURE_WORDS, ZipfSampler, zipfProbabilities,
  type Concept, type ConceptPretrainOptions, type ConceptRun, type ConceptScore, type ConceptWorld, type ConceptWorldOptions, type CorpusOptions, type FrequencyBin,
  type FrequencyCurve, type FrequencyCurveOptions, type HeadAndTail, type LogLinearFit, type ZeroShotSummary,
} from "./zeroshot/index";
