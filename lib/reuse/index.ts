// Lesson 01: one pretrained model reused on labelled tasks read off text it never pretrained on,
// by zero-shot scoring, linear probes, full fine-tuning and LoRA, against trivial baselines, the
// same network from scratch, and probes of the network before pretraining.
export {
  agreementRows, type BootstrapDifference, chooseOnValidation, describeComparison, describeTaskControls, compareMethods, type ControlComparison, CONTROLS, controlRows, correctness, describeControls,
  formatDifference, isZeroShot, learningCurveRows, learningCurveSeries, type MethodRun, type MethodSummary, pairedBootstrap, predictionsAgainstFeatures,
  pretrainedAgainstControls, readsPretrainedModel, summarizeRuns, testStandardError, verdict,
} from "./analysis";
export {
  accuracy, argmaxRows, auroc, characterCounts, fitLogistic, fitLogisticCV, fitThreshold, L2_GRID, type LogisticModel,
  logisticProbabilities, majorityClass, newlineRule, selectRows,
} from "./baselines";
export {
  fitProbe, frozenRuns, type FrozenLine, type FrozenRun, frozenStudyPath, frozenUnits, type FrozenUnit, predictionString, prepareTask,
  type PreparedTask, frozenStudy, liveFrozenUnit, readFrozenResults, readoutRows, runFrozenStudy, type TaskFeatures,
} from "./frozen";
export {
  cloneModel, measureSwitching, speakerPrompt, speakerScores, type SwitchingCost, tuneClassifier,
  type TuneData, type TunedMethod, type TuneOptions, type TuneResult, typicality,
} from "./methods";
export {
  describePretraining, pretrain, type PretrainingRun, trainingCurve,
} from "./pretrain";
export {
  chooseRates, type ChosenRate, chosenRateRows, dataSettings, labelCounts, tuningStepRuns, type Readout, readStudyResults, reportedRuns, reuseData, type ReuseData,
  reuseDesign, type ReuseDesign, reuseStudy, type ReuseStudy, type ReuseStudyOptions, runData, runReuseStudy, runStudy, seedSample, storedStudyPath,
  studyContext, type StudyJob, type StudyOptions, type StudyResult, type StudyRun, studyRunId, type StudyTask, type TaskName, taskNamed, TASKS,
  retrainRuns, runOf, tuningCounts, tuningRuns, verbatimInPretraining,
} from "./study";
export {
  classCounts, encodeTask, labelledSample, parseSpeeches, pickExamples, type PoolAndTest, realOrAlteredTask, realOrScrambledTask,
  realOrShuffledTask, type ReserveOptions, reserveTaskSpeeches, scrambleWords, shuffleWordsInLines, speakerTask, type Speech, splitPoolAndTest,
  type TaskSplit, type TextTask, trainingRoom, verseProseTask,
} from "./tasks";
export {
  checkLabeled, ClassifierHead, evaluateClassifier, fineTune, type FineTuneOptions, type LabeledSequences, layerFeatures, type LayerReadouts, pooledFeatures,
} from "./transfer";
