// The training engine: a GPT-2-style decoder after nanoGPT's model.py, trained with AdamW
// (data-parallel across threads), sampled, checkpointed and cached; features, zero-shot scores
// and fine-tuning for reuse; LoRA adapters; emulated half precision.
export { BABY_GPT, countParameters, flopsPerToken, GPT, parameterSpecs, validateConfig } from "./model";
export type { Adapters, ForwardOptions, ForwardResult, GPTConfig } from "./model";
export { activationGradients, AdamW, DEFAULT_TRAIN, estimateLoss, heldOutLoss, learningRateAt, modelParameters, parameterGradients, train } from "./train";
export { TrainingDivergedError } from "./train";
export type { EvalInfo, StepInfo, TrainCallbacks, TrainConfig, TrainResult } from "./train";
export { generate, sampleFromLogits, type SampleOptions } from "./sample";
export { loadCheckpoint, readTensorFile, saveCheckpoint, writeTensorFile, type TensorEntry } from "./checkpoint";
export { findStoredRun, trainCached, trainingKey, type CachedTrainResult, type Provenance } from "./cache";
export { classMeans, continuationLogLikelihood, predictFromScores, zeroShotPredict, zeroShotScores } from "./zeroShot";
export { LoRA, linearWeightNames, type LoRAConfig, type LoRATarget } from "./lora";
export { allFinite, castHalf, HALF_FORMATS, roundToHalf, type HalfFormat } from "./precision";
