// The course's library, in the order of the lessons. Lessons import from here only:
//   import { initBackend, plot, table } from "../lib";

// What every lesson stands on: backends, notebook output, data, the course's scale, the machine.
export * from "./core";
export * as tf from "@tensorflow/tfjs";

// The training engine: a small GPT after nanoGPT, AdamW across threads, checkpoints, LoRA, reuse.
export * from "./gpt";

// 01 · Foundation models: pretrain once, reuse by zero-shot, probes, fine-tuning and LoRA.
export * from "./reuse";

// 02 · Generalization: double descent.
export * from "./generalization";

// 03 · Scaling laws: power laws, Chinchilla, the course's sweep of small GPTs (also read by 02).
export * from "./scaling";

// 04 · Data pruning: difficulty scores, keep easy or hard, the teacher–student perceptron.
export * from "./pruning";

// 05 · Zero-shot data needs: concept frequency against zero-shot accuracy.
export * from "./zeroshot";

// 06 · Efficiency: attention's cost, FlashAttention, mixed precision.
export * from "./efficiency";
