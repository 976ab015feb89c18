// Autoregressive sampling: feed the last blockSize tokens, take the last position's logits,
// scale by 1/temperature, keep the top k, draw one token with a seeded generator, repeat.
import * as tf from "@tensorflow/tfjs";

import { checkFunction, checkInteger, checkObject, checkThat, refuse } from "../core/checks";
import { Random } from "../core/random";
import type { GPT } from "./model";

export interface SampleOptions {
  /** Tokens to add after the prompt. */
  maxNewTokens: number;
  /** < 1 sharpens, > 1 flattens the distribution (default 1). */
  temperature?: number;
  /** Sample only among the k most likely tokens (default: all). */
  topK?: number;
  seed?: number;
}

/** Samples one index from unnormalised logits after temperature and top-k. */
export function sampleFromLogits(logits: Float32Array, temperature: number, topK: number | undefined, random: Random): number {
  if (logits.length === 0) throw new Error("sampleFromLogits: no logits to sample from");
  checkFunction("sampleFromLogits", "random.next (a Random)", random?.next);
  checkThat(Number.isFinite(temperature) && temperature > 0, "sampleFromLogits", "temperature", temperature, "a positive number");
  if (topK !== undefined) checkThat(Number.isInteger(topK) && topK >= 1, "sampleFromLogits", "topK", topK, "a positive integer (or undefined for all)");
  const bad = logits.findIndex((l) => Number.isNaN(l) || l === Infinity);
  if (bad >= 0) refuse("sampleFromLogits", `logits[${bad}]`, logits[bad], "finite, or -Infinity for a token that cannot be drawn");
  const scaled = Array.from(logits, (l) => l / temperature);
  if (topK !== undefined && topK < scaled.length) {
    const threshold = [...scaled].sort((a, b) => b - a)[topK - 1];
    for (let i = 0; i < scaled.length; i++) if (scaled[i] < threshold) scaled[i] = -Infinity;
  }
  const max = Math.max(...scaled);
  const weights = scaled.map((l) => Math.exp(l - max));
  const total = weights.reduce((a, b) => a + b, 0);
  let r = random.next() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  // Rounding left r ≥ 0 after the last token: it is the last one with weight.
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
  throw new Error("sampleFromLogits: every logit is -Infinity; at least one token must be possible");
}

/** The prompt followed by `maxNewTokens` sampled tokens. */
export async function generate(model: GPT, prompt: Int32Array, options: SampleOptions): Promise<Int32Array> {
  checkObject("generate", "options", options, "{ maxNewTokens, temperature?, topK?, seed? }");
  const { maxNewTokens, temperature = 1, topK, seed = 1337 } = options;
  const { blockSize, vocabSize } = model.config;
  if (prompt.length < 1) throw new Error("generate: the prompt is empty; give at least one token (e.g. a newline)");
  checkThat(Number.isInteger(maxNewTokens) && maxNewTokens >= 0 && maxNewTokens <= 1e6, "generate", "maxNewTokens", maxNewTokens,
    "an integer from 0 to 1,000,000 (one model call each)");
  checkThat(temperature > 0, "generate", "temperature", temperature, "positive");
  if (topK !== undefined) checkInteger("generate", "topK", topK, 1, vocabSize);
  const random = new Random(seed);
  const out = new Int32Array(prompt.length + maxNewTokens);
  out.set(prompt);
  for (let n = prompt.length; n < out.length; n++) {
    const context = out.subarray(Math.max(0, n - blockSize), n);
    const last = tf.tidy(() => {
      const { logits } = model.forward(context, 1, context.length);
      return tf.slice(logits, [context.length - 1, 0], [1, vocabSize]); // [1, V]
    });
    const values = (await last.data()) as Float32Array;
    last.dispose();
    out[n] = sampleFromLogits(values, temperature, topK, random);
  }
  return out;
}
