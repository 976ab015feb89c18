// Lesson 06: attention's cost (standard against FlashAttention, forward and backward, with
// the peak of their working buffers, counted, and the IO model) and fp16/bf16 arithmetic with loss scaling.
export {
  attentionMemoryAccesses, DAO_2022_FIGURE_2, FLASH_BLOCK_COLS, FLASH_BLOCK_ROWS, flashAttention, flashAttentionBackward, naiveAttention, naiveAttentionBackward,
  type AttentionGradients, type AttentionMemoryAccesses, type AttentionOptions, type AttentionResult, type FlashAttentionOptions,
  type NaiveAttentionResult,
} from "./attention";
export { compareAttention, randomAttentionInputs, type AttentionComparison } from "./compare";
export { MemoryTracker } from "./memory";
export {
  gradientUnderflow, log2Histogram, matmulLowPrecision, maxAbsDifference, mixedPrecisionAttention,
  type GradientUnderflow, type MixedPrecisionAttentionOptions, type MixedPrecisionAttentionResult,
} from "./precision";
// The formats, bit-exact, and loss scaling belong to the training engine, which trains with them.
export {
  FLOAT_FORMATS, fromBFloat16Array, fromBFloat16Bits, fromFloat16Array, fromFloat16Bits, LossScaler, roundToBFloat16, roundToFloat16, roundToFormat,
  toBFloat16Array, toBFloat16Bits, toFloat16Array, toFloat16Bits, type FloatFormat, type LossScaleStep, type LossScalerOptions,
} from "../gpt/precision";
