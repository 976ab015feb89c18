// Reusing a pretrained model for a labelled task: score label continuations with the language
// model (zero-shot), read frozen features of every layer (for a linear probe), or train a small
// classification head together with all weights (fine-tuning) or with low-rank adapters.
import * as tf from "@tensorflow/tfjs";

import type { Tokenizer } from "../core/data";
import { checkPositiveInteger, shown } from "../core/checks";
import { Random } from "../core/random";
import type { Adapters, GPT } from "./model";
import { crossEntropy, matMul2d } from "./ops";
import { interruptWatch } from "../core/interrupt";
import { AdamW, learningRateAt, TrainingDivergedError, yieldToEventLoop } from "./train";

/** N labelled sequences of the same length T, row-major ids [N, T]. */
export interface LabeledSequences {
  ids: Int32Array;
  labels: Int32Array;
  length: number;
  classes: string[];
}

export function checkLabeled(data: LabeledSequences, where: string): number {
  const n = data.labels.length;
  if (n === 0) throw new Error(`${where}: no examples`);
  if (data.ids.length !== n * data.length) {
    throw new Error(`${where}: ${data.ids.length} token ids for ${n} examples of length ${data.length} (expected ${n * data.length})`);
  }
  for (let i = 0; i < n; i++) {
    if (!(data.labels[i] >= 0 && data.labels[i] < data.classes.length)) {
      throw new Error(`${where}: label ${data.labels[i]} of example ${i} is outside [0, ${data.classes.length}) (${data.classes.join(", ")})`);
    }
  }
  return n;
}

/** A head must answer with as many classes as the data has. */
function checkHeadFits(fn: string, head: ClassifierHead, data: LabeledSequences): void {
  const classes = head.b.shape[0];
  if (classes !== data.classes.length) throw new Error(`${fn}: the head has ${classes} classes but the data ${data.classes.length} (${data.classes.join(", ")})`);
}

function rows(data: LabeledSequences, indices: ArrayLike<number>): { ids: Int32Array; labels: Int32Array } {
  const T = data.length;
  const ids = new Int32Array(indices.length * T);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    ids.set(data.ids.subarray(indices[i] * T, indices[i] * T + T), i * T);
    labels[i] = data.labels[indices[i]];
  }
  return { ids, labels };
}

/** A linear classifier on pooled features: logits = h·W + b. */
export class ClassifierHead {
  private constructor(readonly w: tf.Variable, readonly b: tf.Variable) {}

  static create(width: number, classes: number, seed = 1): ClassifierHead {
    if (!(Number.isInteger(width) && width >= 1)) throw new Error(`ClassifierHead: width must be a positive integer (the features' size); got ${width}`);
    if (!(Number.isInteger(classes) && classes >= 2)) throw new Error(`ClassifierHead: needs at least 2 classes; got ${classes}`);
    const r = new Random(seed);
    return new ClassifierHead(
      tf.tidy(() => tf.variable(tf.tensor2d(r.normals(width * classes, 0.02), [width, classes]), true)),
      tf.tidy(() => tf.variable(tf.zeros([classes]), true)),
    );
  }

  logits(features: tf.Tensor2D): tf.Tensor2D {
    return tf.add(matMul2d(features, this.w as unknown as tf.Tensor2D), this.b) as tf.Tensor2D;
  }

  get parameterCount(): number {
    return this.w.size + this.b.size;
  }

  dispose(): void {
    tf.dispose([this.w, this.b]);
  }
}

/**
 * The final (post-LayerNorm) hidden states of each sequence averaged over its positions: [B, C].
 * Averaging, rather than reading the last position alone, lets evidence anywhere in the text
 * (a misspelt word, a lower-case line start) reach the classifier without training attention
 * to carry it to the end.
 */
export function pooledFeatures(model: GPT, ids: Int32Array, batchSize: number, T: number, adapters?: Adapters): tf.Tensor2D {
  const { final } = model.forward(ids, batchSize, T, { adapters });
  return tf.mean(tf.reshape(final, [batchSize, T, model.config.nEmbd]), 1) as tf.Tensor2D;
}

export interface FineTuneOptions {
  model: GPT;
  head: ClassifierHead;
  adapters?: Adapters;
  /** What the optimizer updates (model weights, adapters, the head), with their weight-decay flags. */
  trainable: { variable: tf.Variable; decay: boolean }[];
  data: LabeledSequences;
  steps: number;
  batchSize: number;
  learningRate: number;
  weightDecay?: number;
  seed?: number;
  onStep?: (step: number, loss: number) => void;
}

/** Trains a classifier end to end on labelled sequences; returns the loss of every step. */
export async function fineTune(o: FineTuneOptions): Promise<number[]> {
  const n = checkLabeled(o.data, "fineTune");
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`fineTune: steps must be a positive integer; got ${o.steps}`);
  checkPositiveInteger("fineTune", "batchSize", o.batchSize);
  checkHeadFits("fineTune", o.head, o.data);
  if (!(o.learningRate > 0 && o.learningRate < Infinity)) throw new Error(`fineTune: learningRate must be a positive number; got ${o.learningRate}`);
  const batchSize = Math.min(o.batchSize, n);
  const random = new Random(o.seed ?? 1);
  const optimizer = new AdamW(o.trainable, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: o.weightDecay ?? 0.01, gradClip: 1 });
  const schedule = { learningRate: o.learningRate, minLearningRate: o.learningRate / 10, warmupSteps: Math.ceil(o.steps / 10), steps: o.steps };
  const vars = o.trainable.map((t) => t.variable);
  const losses: number[] = [];
  const interrupt = interruptWatch("fine-tuning");
  try {
    for (let step = 0; step < o.steps; step++) {
      interrupt.check(`before step ${step + 1} of ${o.steps}`);
      const batch = rows(o.data, Array.from({ length: batchSize }, () => random.int(n)));
      const { value, grads } = tf.variableGrads(() => {
        const features = pooledFeatures(o.model, batch.ids, batchSize, o.data.length, o.adapters);
        return crossEntropy(o.head.logits(features), tf.tensor1d(batch.labels, "int32"));
      }, vars);
      const loss = (await value.data())[0];
      value.dispose();
      if (!Number.isFinite(loss)) {
        tf.dispose(Object.values(grads));
        throw new TrainingDivergedError(`fineTune: the loss became ${loss} at step ${step}; lower the learning rate (${o.learningRate})`);
      }
      await optimizer.step(vars.map((v) => grads[v.name]), learningRateAt(step, schedule));
      tf.dispose(Object.values(grads));
      losses.push(loss);
      o.onStep?.(step, loss);
      await yieldToEventLoop();
    }
  } finally {
    interrupt.dispose();
  }
  return losses;
}

/** Every example's likeliest class, the mean cross-entropy and the accuracy of a trained head. */
export async function evaluateClassifier(
  model: GPT, head: ClassifierHead, data: LabeledSequences, adapters?: Adapters, batchSize = 32,
): Promise<{ predicted: Int32Array; loss: number; accuracy: number }> {
  const n = checkLabeled(data, "evaluateClassifier");
  checkPositiveInteger("evaluateClassifier", "batchSize", batchSize);
  checkHeadFits("evaluateClassifier", head, data);
  const predicted = new Int32Array(n);
  let lossSum = 0, correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    const batch = rows(data, idx);
    const [bestT, lossT] = tf.tidy(() => {
      const logits = head.logits(pooledFeatures(model, batch.ids, idx.length, data.length, adapters));
      return [tf.argMax(logits, 1), crossEntropy(logits, tf.tensor1d(batch.labels, "int32"))];
    });
    const [best, [loss]] = await Promise.all([bestT.data() as Promise<Int32Array>, lossT.data()]);
    tf.dispose([bestT, lossT]);
    predicted.set(best, start);
    lossSum += loss * idx.length;
    best.forEach((p: number, i: number) => { if (p === batch.labels[i]) correct++; });
  }
  return { predicted, loss: lossSum / n, accuracy: correct / n };
}

/**
 * Pooled features of every layer, frozen (each layer's hidden states averaged over positions):
 * layer 0 is the embeddings, layer l the output of block l, and the last entry the final
 * LayerNorm. Each is [N, C] row-major.
 */
export async function layerFeatures(model: GPT, data: LabeledSequences, batchSize = 32): Promise<Float32Array[]> {
  const n = checkLabeled(data, "layerFeatures");
  checkPositiveInteger("layerFeatures", "batchSize", batchSize);
  const { nLayer, nEmbd: C } = model.config;
  const T = data.length;
  const out = Array.from({ length: nLayer + 2 }, () => new Float32Array(n * C));
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const ids = data.ids.subarray(start * T, (start + count) * T);
    const layers = tf.tidy(() => {
      const { hidden, final } = model.forward(ids, count, T, { keepHidden: true });
      const pool = (x: tf.Tensor3D) => tf.mean(x, 1);
      return [...hidden.map(pool), pool(tf.reshape(final, [count, T, C]))];
    });
    const values = await Promise.all(layers.map((l) => l.data() as Promise<Float32Array>));
    values.forEach((v, i) => out[i].set(v, start * C));
    tf.dispose(layers);
  }
  return out;
}

/**
 * Log-likelihood under the language model of the tokens from position `scoreFrom` on, for N
 * sequences of equal length L (row-major [N, L]): Σ_t log p(x_t | x_<t), t ≥ scoreFrom.
 */
export async function continuationLogLikelihood(model: GPT, ids: Int32Array, length: number, scoreFrom: number, batchSize = 32): Promise<Float64Array> {
  if (!(Number.isInteger(length) && length >= 2)) {
    throw new Error(`continuationLogLikelihood: length must be an integer ≥ 2 (a token of context and one to score); got ${length}`);
  }
  checkPositiveInteger("continuationLogLikelihood", "batchSize", batchSize);
  if (!(Number.isInteger(scoreFrom) && scoreFrom >= 1 && scoreFrom < length)) {
    throw new Error(`continuationLogLikelihood: scoreFrom must be in [1, ${length - 1}] (at least one token of context and one to score); got ${scoreFrom}`);
  }
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
  if (!(Number.isInteger(classes) && classes >= 2)) throw new Error(`zeroShotPredict: classes must be an integer ≥ 2 (a choice needs two answers); got ${classes}`);
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
  if (!(Number.isInteger(classes) && classes >= 1)) throw new Error(`zeroShotScores: classes must be a positive integer; got ${classes}`);
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
