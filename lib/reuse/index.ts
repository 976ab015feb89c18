// Lesson 01: one pretrained model reused on labelled tasks read off its own corpus, by zero-shot
// scoring, linear probes, full fine-tuning and LoRA, against the same network from scratch.
export {
  cloneModel, measureSwitching, probeAccuracyByLayer, probeRow, reuseGains, shakespeareTasks, tuneClassifier, tuneClassifiers, typicalityPredict,
  zeroShotAccuracy, type ReuseGains, type ReuseRow, type ReuseTask, type SwitchingCost, type TuneJob, type TuneOptions,
} from "./methods";
export { describePretraining, pretrain, type PretrainingRun } from "./pretrain";
export {
  balance, encodeTask, limitPerClass, parseSpeeches, realOrScrambledTask, scrambleWords, speakerTask, splitTask, verseProseTask,
  type Speech, type TextTask,
} from "./tasks";
