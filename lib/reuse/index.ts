// Lesson 01: one pretrained model reused on labelled tasks read off text it never pretrained on,
// by zero-shot scoring, linear probes, full fine-tuning and LoRA, against trivial baselines, the
// same network from scratch, and probes of the network before pretraining.
export * from "./analysis";
export * from "./baselines";
export * from "./frozen";
export * from "./methods";
export * from "./pretrain";
export * from "./study";
export * from "./tasks";
