// Lesson 01: one pretrained model reused on labelled tasks read off text it never pretrained on,
// by zero-shot scoring, linear probes, full fine-tuning and LoRA, against trivial baselines, the
// same network from scratch, and probes of the network before pretraining.
export {
  bestMethod, describeDifference, intervalRows, liveBesideStored, type MethodRun, type MethodSummary, pairedDifference, summarizeRuns,
  testStandardError, verdict,
} from "./analysis";
export {
  accuracy, argmaxRows, auroc, characterCounts, fitLogistic, fitLogisticCV, fitThreshold, L2_GRID, type LogisticModel,
  logisticProbabilities, majorityClass, newlineRule, selectRows,
} from "./baselines";
export {
  baselineRuns, type LabelCurvePoint, probeCurve, type ProbeResults, probeRuns, type ZeroShotResult, zeroShotRuns,
} from "./frozen";
export {
  cloneModel, fitProbes, measureSwitching, type ProbeFit, speakerPrompt, speakerScores, type SwitchingCost, taskFeatures, tuneClassifier,
  type TuneData, type TunedMethod, type TuneOptions, type TuneResult, typicality,
} from "./methods";
export {
  describePretraining, pretrain, type PretrainingRun, trainingCurve,
} from "./pretrain";
export {
  chooseRates, type ChosenRate, chosenRateRows, readStudyResults, reportedRuns, reuseData, type ReuseData, reuseDesign, type ReuseDesign,
  reuseStudy, type ReuseStudy, type ReuseStudyOptions, runData, runReuseStudy, runStudy, seedSample, storedStudyPath, studyContext, type StudyJob, type
  StudyOptions, type StudyResult, type StudyRun, studyRunId, type StudyTask, TASKS, trainLiveSeed, tuningRuns, upgradeStudyResults,
  verbatimInPretraining,
} from "./study";
export {
  encodeTask, labelledSample, parseSpeeches, pickExamples, type PoolAndTest, realOrScrambledTask, type ReserveOptions,
  reserveTaskSpeeches, scrambleWords, speakerTask, type Speech, splitPoolAndTest, type TaskSplit, type TextTask, verseProseTask,
} from "./tasks";
export {
  checkLabeled, ClassifierHead, evaluateClassifier, fineTune, type FineTuneOptions, type LabeledSequences, layerFeatures, pooledFeatures,
} from "./transfer";
