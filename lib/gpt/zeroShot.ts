// Zero-shot answers from the language model alone: the log-likelihood of a continuation after
// a prompt, summed over its tokens, compared across the answers a question allows. Lesson 01
// scores label continuations this way; lesson 05 asks a concept's trait.
import * as tf from "@tensorflow/tfjs";

import type { Tokenizer } from "../core/data";
import { checkPositiveInteger, checkThat, shown } from "../core/checks";
import type { GPT } from "./model";

/**
 * Log-likelihood under the language model of the tokens from position `scoreFrom` on, for N
 * sequences of equal length L (row-major [N, L]): Σ_t log p(x_t | x_<t), t ≥ scoreFrom.
 */
export async function continuationLogLikelihood(model: GPT, ids: Int32Array, length: number, scoreFrom: number, batchSize = 32): Promise<Float64Array> {
  checkThat(Number.isInteger(length) && length >= 2, "continuationLogLikelihood", "length", length, "an integer ≥ 2 (a token of context and one to score)");
  checkPositiveInteger("continuationLogLikelihood", "batchSize", batchSize);
  checkThat(Number.isInteger(scoreFrom) && scoreFrom >= 1 && scoreFrom < length, "continuationLogLikelihood", "scoreFrom", scoreFrom,
    `in [1, ${length - 1}] (at least one token of context and one to score)`);
  const n = ids.length / length;
  if (!Number.isInteger(n)) throw new Error(`continuationLogLikelihood: ${ids.length} ids is not a whole number of sequences of length ${length}`);
  const V = model.config.vocabSize;
  const out = new Float64Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const batch = ids.subarray(start * length, (start + count) * length);
    const logpT = tf.tidy(() => tf.logSoftmax(model.forward(batch, count, length).logits));
    const logp = (await logpT.data()) as Float32Array; // [count*L, V]
    logpT.dispose();
    for (let s = 0; s < count; s++) {
      let sum = 0;
      // Logits at position t predict the token at t + 1.
      for (let t = scoreFrom - 1; t < length - 1; t++) sum += logp[(s * length + t) * V + batch[s * length + t + 1]];
      out[start + s] = sum;
    }
  }
  return out;
}

/**
 * Zero-shot classification with the language model alone: for every example and class, the
 * log-likelihood of the class's continuation after its prompt; the most likely class wins.
 * `render` turns (example, class) into that prompt and continuation, e.g. a speaker's name
 * header before a speech, or "?" against "." after a line.
 *
 * A language model's raw likelihoods carry its priors: "." follows a line far more often than
 * "?", so raw scores pick "statement" almost always. With `calibrate` (the default) each class's
 * scores are centred on their mean over the examples, which removes a constant per-class bias
 * without using any label (in the spirit of Zhao et al. 2021's contextual calibration).
 */
export async function zeroShotPredict(
  model: GPT,
  tokenizer: Tokenizer,
  examples: string[],
  classes: number,
  render: (example: string, cls: number) => { prompt: string; continuation: string },
  options: { calibrate?: boolean } = {},
): Promise<Int32Array> {
  checkThat(Number.isInteger(classes) && classes >= 2, "zeroShotPredict", "classes", classes, "an integer ≥ 2 (a choice needs two answers)");
  const scores = await zeroShotScores(model, tokenizer, examples, classes, render);
  return predictFromScores(scores, options.calibrate ?? true ? classMeans(scores) : undefined);
}

/** For every example, the log-likelihood of each class's continuation after its prompt. */
export async function zeroShotScores(
  model: GPT,
  tokenizer: Tokenizer,
  examples: string[],
  classes: number,
  render: (example: string, cls: number) => { prompt: string; continuation: string },
): Promise<Float64Array[]> {
  checkPositiveInteger("zeroShotScores", "classes", classes);
  const scores = examples.map(() => new Float64Array(classes).fill(-Infinity));
  for (let c = 0; c < classes; c++) {
    // Group sequences of equal shape so each group is one batched forward pass.
    const groups = new Map<string, { rows: number[]; ids: Int32Array[]; length: number; scoreFrom: number }>();
    examples.forEach((example, i) => {
      const rendered = render(example, c);
      if (typeof rendered?.prompt !== "string" || typeof rendered.continuation !== "string") {
        throw new Error(`zeroShotScores: render(example ${i}, class ${c}) must return { prompt, continuation } as strings; got ${shown(rendered)}`);
      }
      const { prompt, continuation } = rendered;
      const p = tokenizer.encode(prompt), q = tokenizer.encode(continuation);
      const length = p.length + q.length;
      if (p.length < 1 || q.length < 1) throw new Error(`zeroShotScores: example ${i}, class ${c}: the prompt and the continuation must each have at least one token`);
      if (length > model.config.blockSize) {
        throw new Error(`zeroShotScores: example ${i}, class ${c} is ${length} tokens long; the model's context is ${model.config.blockSize}`);
      }
      const key = `${length}:${p.length}`;
      const g = groups.get(key) ?? { rows: [], ids: [], length, scoreFrom: p.length };
      const seq = new Int32Array(length);
      seq.set(p);
      seq.set(q, p.length);
      g.rows.push(i);
      g.ids.push(seq);
      groups.set(key, g);
    });
    for (const g of groups.values()) {
      const flat = new Int32Array(g.ids.length * g.length);
      g.ids.forEach((s, j) => flat.set(s, j * g.length));
      const ll = await continuationLogLikelihood(model, flat, g.length, g.scoreFrom);
      g.rows.forEach((row, j) => { scores[row][c] = ll[j]; });
    }
  }
  return scores;
}

/** Every example scores the same classes, each with a number (-Infinity allowed: an impossible answer; NaN not). */
function checkScores(fn: string, scores: Float64Array[]): void {
  scores.forEach((s, i) => {
    if (s.length !== scores[0].length) throw new Error(`${fn}: example ${i} has ${s.length} class scores, example 0 has ${scores[0].length}`);
    const c = s.findIndex(Number.isNaN);
    if (c >= 0) throw new Error(`${fn}: example ${i}, class ${c}: the score is NaN`);
  });
}

/** Each class's mean score over a set of (unlabelled) examples. */
export function classMeans(scores: Float64Array[]): Float64Array {
  if (scores.length === 0) throw new Error("classMeans: no examples to average");
  checkScores("classMeans", scores);
  const means = new Float64Array(scores[0].length);
  for (const s of scores) s.forEach((v, c) => { means[c] += v / scores.length; });
  return means;
}

/** The class with the highest score, after subtracting each class's `bias` (a calibration) if given. */
export function predictFromScores(scores: Float64Array[], bias?: Float64Array): Int32Array {
  checkScores("predictFromScores", scores);
  const classes = scores[0]?.length ?? 0;
  if (bias !== undefined && bias.length !== classes) throw new Error(`predictFromScores: bias has ${bias.length} values for ${classes} classes`);
  if (bias?.some((b) => !Number.isFinite(b))) throw new Error(`predictFromScores: bias[${bias.findIndex((b) => !Number.isFinite(b))}] is not finite`);
  return Int32Array.from(scores, (s) => {
    let best = 0;
    for (let c = 1; c < s.length; c++) if (s[c] - (bias?.[c] ?? 0) > s[best] - (bias?.[best] ?? 0)) best = c;
    return best;
  });
}
