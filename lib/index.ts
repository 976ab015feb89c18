// The public surface lessons import: `import { initBackend, plot, table } from "../lib";`
export * as tf from "@tensorflow/tfjs";
export { BACKENDS, chooseBackend, initBackend, parseBackendName, type BackendInfo, type BackendName } from "./backend";
export { displayBundle, inKernel, livePlot, plot, progress, table, type LivePlot, type PlotlyFigure, type Progress, type TableLike } from "./display";
export { environmentReport, measureMatmul, packageVersion, type MatmulMeasurement } from "./machine";
export { projectRoot } from "./paths";
export { atScale, courseScale, parseScale, SCALES, type Scale } from "./scale";
export { BpeTokenizer, trainBpe, type BpeModel } from "./bpe";
export { CharTokenizer, loadDataset, sampleBatch, splitTrainVal, type Batch, type Tokenizer } from "./data";
export { writeFileAtomic } from "./files";
export { Random } from "./random";
export { loadCheckpoint, saveCheckpoint } from "./gpt/checkpoint";
export { BABY_GPT, countParameters, flopsPerToken, GPT, parameterSpecs, validateConfig, type GPTConfig } from "./gpt/model";
export { generate, sampleFromLogits, type SampleOptions } from "./gpt/sample";
export {
  AdamW, DEFAULT_TRAIN, estimateLoss, learningRateAt, modelParameters, train, TrainingDivergedError,
  type EvalInfo, type StepInfo, type TrainCallbacks, type TrainConfig, type TrainResult,
} from "./gpt/train";
export { LoRA, linearWeightNames, type LoRAConfig, type LoRATarget } from "./gpt/lora";
export { readTensorFile, writeTensorFile, type TensorEntry } from "./gpt/checkpoint";
export {
  checkLabeled, ClassifierHead, classifierAccuracy, continuationLogLikelihood, fineTune, fitLinearProbe, lastPositionFeatures, layerFeatures,
  zeroShotPredict, type FineTuneOptions, type LabeledSequences, type ProbeResult,
} from "./gpt/transfer";
export { balance, encodeTask, limitPerClass, parseSpeeches, questionTask, speakerTask, splitTask, verseProseTask, type Speech, type TextTask } from "./tasks";
export type { Adapters, ForwardOptions, ForwardResult } from "./gpt/model";
export {
  cloneModel, measureSwitching, probeAccuracyByLayer, shakespeareTasks, trainingCurve, tuneClassifier, zeroShotAccuracy,
  type ReuseRow, type ReuseTask, type SwitchingCost, type TuneOptions,
} from "./reuse";
