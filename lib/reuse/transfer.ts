// Reusing a pretrained model for a labelled task: read frozen features of every layer (for a
// linear probe), or train a small classification head together with all weights (fine-tuning)
// or with low-rank adapters. Zero-shot scoring by likelihood is the engine's (lib/gpt/zeroShot.ts).
import * as tf from "@tensorflow/tfjs";

import { checkInteger, checkPositiveInteger, checkThat, refuse } from "../core/checks";
import { Random } from "../core/random";
import type { Adapters, GPT } from "../gpt/model";
import { crossEntropy, matMul2d } from "../gpt/ops";
import { interruptWatch } from "../core/interrupt";
import { AdamW, scheduledLearningRate, TrainingDivergedError, yieldToEventLoop } from "../gpt/train";

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
      refuse(where, `labels[${i}]`, data.labels[i], `a class in [0, ${data.classes.length}) (${data.classes.join(", ")})`);
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
    checkThat(Number.isInteger(width) && width >= 1, "ClassifierHead", "width", width, "a positive integer (the features' size)");
    checkInteger("ClassifierHead", "classes", classes, 2);
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
  checkPositiveInteger("fineTune", "steps", o.steps);
  checkPositiveInteger("fineTune", "batchSize", o.batchSize);
  checkHeadFits("fineTune", o.head, o.data);
  checkThat(o.learningRate > 0 && o.learningRate < Infinity, "fineTune", "learningRate", o.learningRate, "a finite positive number");
  const batchSize = Math.min(o.batchSize, n);
  const random = new Random(o.seed ?? 1);
  const optimizer = new AdamW(o.trainable, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: o.weightDecay ?? 0.01, gradClip: 1 });
  // Built from the checked steps and learningRate, so the loop need not check it again.
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
      await optimizer.step(vars.map((v) => grads[v.name]), scheduledLearningRate(step, schedule));
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

/** Frozen features of every layer, three ways: layer 0 is the embeddings, layer l the output of block l, the last the final LayerNorm. */
export interface LayerReadouts {
  /** Examples (rows) and channels (columns) of every array. */
  examples: number;
  width: number;
  /** The hidden states averaged over positions, one [N, C] row-major array per layer. */
  mean: Float32Array[];
  /** The last position's state (it attends to the whole window). */
  last: Float32Array[];
  /** The largest value of every channel over positions: a cue at a single position survives it, where an average dilutes it. */
  max: Float32Array[];
}

/** Frozen features of every layer for labelled sequences, read out by mean, last position and maximum. */
export async function layerFeatures(model: GPT, data: LabeledSequences, batchSize = 32): Promise<LayerReadouts> {
  const n = checkLabeled(data, "layerFeatures");
  checkPositiveInteger("layerFeatures", "batchSize", batchSize);
  const { nLayer, nEmbd: C } = model.config;
  const T = data.length;
  const layers = nLayer + 2;
  const out: LayerReadouts = { examples: n, width: C, mean: [], last: [], max: [] };
  for (const key of ["mean", "last", "max"] as const) out[key] = Array.from({ length: layers }, () => new Float32Array(n * C));
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const ids = data.ids.subarray(start * T, (start + count) * T);
    const pooled = tf.tidy(() => {
      const { hidden, final } = model.forward(ids, count, T, { keepHidden: true });
      return [...hidden, tf.reshape(final, [count, T, C]) as tf.Tensor3D].map((x) => [
        tf.mean(x, 1), tf.reshape(tf.slice(x, [0, T - 1, 0], [count, 1, C]), [count, C]), tf.max(x, 1),
      ]);
    });
    const values = await Promise.all(pooled.flat().map((t) => t.data() as Promise<Float32Array>));
    for (let l = 0; l < layers; l++) {
      out.mean[l].set(values[3 * l], start * C);
      out.last[l].set(values[3 * l + 1], start * C);
      out.max[l].set(values[3 * l + 2], start * C);
    }
    tf.dispose(pooled.flat());
  }
  return out;
}
