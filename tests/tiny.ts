// A GPT small enough to train in milliseconds, random token data for it and quiet training
// settings: shared by the training tests.
import type { GPTConfig } from "../lib/gpt/model";
import { Random } from "../lib/core/random";

export const TINY: GPTConfig = { vocabSize: 11, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0, bias: true, tieWeights: true };

export function randomIds(n: number, vocab: number, seed: number): Int32Array {
  const r = new Random(seed);
  return Int32Array.from({ length: n }, () => r.int(vocab));
}

export const data = { train: randomIds(2000, TINY.vocabSize, 1), val: randomIds(300, TINY.vocabSize, 2) };

/** No evaluation until the end, two batches then, a short warmup. */
export const quiet = { evalInterval: 0, evalBatches: 2, warmupSteps: 2 };
