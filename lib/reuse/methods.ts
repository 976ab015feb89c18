// Lesson 01's methods in functions: one pretrained model reused on labelled tasks by zero-shot
// scoring, linear probes, full fine-tuning and LoRA; the same network trained from scratch and
// probed before pretraining as controls; what each costs in trainable parameters and bytes.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { checkPositiveInteger, checkThat, shown } from "../core/checks";
import type { Tokenizer } from "../core/data";
import { loadCheckpoint, readTensorFile, saveCheckpoint, writeTensorFile } from "../gpt/checkpoint";
import { LoRA, type LoRATarget } from "../gpt/lora";
import { GPT } from "../gpt/model";
import { TrainingDivergedError } from "../gpt/train";
import { continuationLogLikelihood, zeroShotScores } from "../gpt/zeroShot";
import { ClassifierHead, evaluateClassifier, fineTune, type LabeledSequences } from "./transfer";

/** A way of training a classifier on a task, with the learning rates it is tried at. */
export interface TunedMethod {
  name: string;
  kind: { method: "fine-tune" } | { method: "lora"; rank: number; alpha: number } | { method: "scratch" };
  rates: number[];
}

const BYTES_PER_FLOAT = 4;

export async function cloneModel(model: GPT): Promise<GPT> {
  return GPT.fromWeights(model.config, await model.weights());
}

/** What a tuned run reports; accuracies are fractions, losses mean cross-entropy in nats. */
export interface TuneResult {
  validationAccuracy: number;
  validationLoss: number;
  testAccuracy: number;
  /** The class predicted for every test example, one digit each, in the test set's order ("" if the run diverged). */
  testPredictions: string;
  /** How many test examples were predicted as each class: one class only means the run failed. */
  testPredictedCounts: number[];
  /** The loss stopped being finite (the run is kept as a result: that rate is too high). */
  diverged: boolean;
  /** Numbers the method trains for this task. */
  trainableParams: number;
  /** What must be stored per task on top of the shared pretrained model. */
  bytesPerTask: number;
  seconds: number;
}

export interface TuneOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

export interface TuneData {
  train: LabeledSequences;
  val: LabeledSequences;
  test: LabeledSequences;
}

/**
 * Trains a classification head on the model's pooled final features together with all weights of
 * a copy of the pretrained model, with LoRA adapters on its linear layers, or with every weight of
 * the same network from random initial weights; scores it on validation and test examples.
 */
export async function tuneClassifier(kind: TunedMethod["kind"], pretrained: GPT, data: TuneData, options: TuneOptions): Promise<TuneResult> {
  const started = performance.now();
  if (!["fine-tune", "lora", "scratch"].includes(kind?.method)) {
    throw new Error(`tuneClassifier: kind.method must be "fine-tune", "lora" or "scratch"; got ${shown(kind?.method)}`);
  }
  const { seed } = options;
  const model = kind.method === "scratch" ? GPT.create(pretrained.config, seed) : kind.method === "fine-tune" ? await cloneModel(pretrained) : pretrained;
  const classes = data.train.classes.length;
  const head = ClassifierHead.create(model.config.nEmbd, classes, seed);
  const lora = kind.method === "lora" ? LoRA.create(model, { rank: kind.rank, alpha: kind.alpha, targets: ["attn", "mlp"] }, seed) : undefined;
  try {
    const weights = lora ? lora.variables : [...model.params.values()];
    const trainable = [...weights, head.w, head.b].map((variable) => ({ variable, decay: variable.shape.length === 2 && lora === undefined }));
    const params = trainable.reduce((n, t) => n + t.variable.size, 0);
    const cost = { trainableParams: params, bytesPerTask: params * BYTES_PER_FLOAT };
    try {
      await fineTune({ model, head, adapters: lora, data: data.train, trainable, ...options });
    } catch (err) {
      if (!(err instanceof TrainingDivergedError)) throw err;
      return {
        validationAccuracy: NaN, validationLoss: NaN, testAccuracy: NaN, testPredictions: "", testPredictedCounts: [], diverged: true, ...cost,
        seconds: (performance.now() - started) / 1000,
      };
    }
    const val = await evaluateClassifier(model, head, data.val, lora);
    const test = await evaluateClassifier(model, head, data.test, lora);
    const counts = new Array(classes).fill(0);
    test.predicted.forEach((p) => counts[p]++);
    return {
      validationAccuracy: val.accuracy, validationLoss: val.loss, testAccuracy: test.accuracy, testPredictions: test.predicted.join(""), testPredictedCounts: counts, diverged: false,
      ...cost, seconds: (performance.now() - started) / 1000,
    };
  } finally {
    head.dispose();
    lora?.dispose();
    if (model !== pretrained) model.dispose();
  }
}

/** The speaker task's zero-shot question: the window as it would read after each speaker's name. */
export function speakerPrompt(speakers: string[], length: number): (text: string, c: number) => { prompt: string; continuation: string } {
  if (speakers.length === 0) throw new Error("speakerPrompt: speakers must name at least one speaker; got []");
  checkThat(Number.isInteger(length) && length >= 1, "speakerPrompt", "length", length, "a positive integer (the model's window)");
  const header = (c: number) => `\n${speakers[c]}:\n`;
  // Every class scores the same characters: the window cut to fit after the longest header.
  const longest = Math.max(...speakers.map((_, c) => header(c).length));
  if (longest >= length) throw new Error(`speakerPrompt: a header of ${longest} characters leaves nothing of a ${length}-character window`);
  return (text, c) => ({ prompt: header(c), continuation: text.slice(0, length - longest) });
}

/** Each speaker's log-likelihood for each text (the model's answer to "who says this?"). */
export function speakerScores(model: GPT, tokenizer: Tokenizer, texts: string[], speakers: string[]): Promise<Float64Array[]> {
  return zeroShotScores(model, tokenizer, texts, speakers.length, speakerPrompt(speakers, model.config.blockSize));
}

/** Mean log-likelihood per character of every text after its first: how typical the model finds it. */
export async function typicality(model: GPT, data: LabeledSequences): Promise<Float64Array> {
  if (!(Number.isInteger(data.length) && data.length >= 2)) {
    throw new Error(`typicality: data.length must be an integer ≥ 2 (a first token of context and at least one to score); got ${shown(data.length)}`);
  }
  return (await continuationLogLikelihood(model, data.ids, data.length, 1)).map((ll) => ll / (data.length - 1));
}

export interface SwitchingCost {
  fullCopyBytes: number;
  adapterBytes: number;
  /** Median milliseconds to make the model ready for another task. */
  loadFullCopyMs: number;
  swapAdapterMs: number;
}

/**
 * Measures switching tasks both ways: load a whole fine-tuned copy from disk, or keep the base
 * model in memory and read and load only a task's adapter weights.
 */
export async function measureSwitching(model: GPT, rank: number, targets: LoRATarget[], repeats = 5): Promise<SwitchingCost> {
  checkPositiveInteger("measureSwitching", "repeats", repeats);
  const dir = mkdtempSync(join(tmpdir(), "course-switch-"));
  const lora = LoRA.create(model, { rank, targets });
  try {
    const full = join(dir, "task.ckpt");
    const adapter = join(dir, "task.lora");
    await saveCheckpoint(full, model);
    writeTensorFile(adapter, { rank }, new Map([...(await lora.weights())].map(([name, values]) => [name, { shape: [values.length], values }])));
    const median = (f: () => void) => {
      const times: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const t0 = performance.now();
        f();
        times.push(performance.now() - t0);
      }
      return times.sort((a, b) => a - b)[Math.floor(repeats / 2)];
    };
    const loadFullCopyMs = median(() => loadCheckpoint(full, model.config).model.dispose());
    const swapAdapterMs = median(() => {
      const { tensors } = readTensorFile(adapter);
      lora.load(new Map([...tensors].map(([name, t]) => [name, t.values])));
    });
    return { fullCopyBytes: statSync(full).size, adapterBytes: statSync(adapter).size, loadFullCopyMs, swapAdapterMs };
  } finally {
    lora.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
