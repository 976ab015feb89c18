// Lesson 01's experiment in functions: one pretrained model reused on several labelled tasks
// by zero-shot scoring, linear probes, full fine-tuning, LoRA and, as the baseline, the same
// network trained from scratch; with what each costs in trainable parameters and bytes per task.
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { Tokenizer } from "../core/data";
import { mapInWorkers, usefulThreads } from "../core/threads";
import { loadCheckpoint, readTensorFile, saveCheckpoint, writeTensorFile } from "../gpt/checkpoint";
import { LoRA, type LoRATarget } from "../gpt/lora";
import { GPT, type GPTConfig } from "../gpt/model";
import {
  ClassifierHead, classifierAccuracy, continuationLogLikelihood, fineTune, fitLinearProbe, layerFeatures, zeroShotPredict, type LabeledSequences,
} from "../gpt/transfer";
import { encodeTask, limitPerClass, parseSpeeches, realOrScrambledTask, speakerTask, splitTask, verseProseTask, type TextTask } from "./tasks";

const BYTES_PER_FLOAT = 4;

export interface ReuseTask {
  name: string;
  classes: string[];
  train: LabeledSequences;
  test: LabeledSequences;
  testTexts: string[];
  /**
   * How to ask the language model itself: score a continuation per class after a prompt, or
   * judge the text's own likelihood ("typicality": real text is likelier than scrambled text);
   * undefined where no natural question exists.
   */
  zeroShot?: ((text: string, cls: number) => { prompt: string; continuation: string }) | "typicality";
}

/**
 * Three tasks read off Tiny Shakespeare (who speaks, verse or prose, real or scrambled spelling), each with a small labelled training set
 * (`trainPerClass` examples of every class) and a held-out test set.
 */
export function shakespeareTasks(corpus: string, tokenizer: Tokenizer, options: { length: number; trainPerClass: number; testPerClass: number; seed?: number }): ReuseTask[] {
  const { length, trainPerClass, testPerClass, seed = 1 } = options;
  const speeches = parseSpeeches(corpus);
  const build = (task: TextTask, zeroShot?: ReuseTask["zeroShot"]): ReuseTask => {
    const { train, test } = splitTask(task, 0.3, seed);
    const small = limitPerClass(train, trainPerClass, seed);
    const held = limitPerClass(test, testPerClass, seed);
    return { name: task.name, classes: task.classes, train: encodeTask(small, tokenizer), test: encodeTask(held, tokenizer), testTexts: held.texts, zeroShot };
  };
  const speakers = speakerTask(speeches, { speakers: 4, length });
  // The speech as it would appear after each speaker's name; every class scores the same characters.
  const header = (c: number) => `\n${speakers.classes[c]}:\n`;
  const longestHeader = Math.max(...speakers.classes.map((_, c) => header(c).length));
  return [
    build(speakers, (text, c) => ({ prompt: header(c), continuation: text.slice(0, length - longestHeader) })),
    build(verseProseTask(speeches, { length, seed })),
    build(realOrScrambledTask(corpus, { length, seed }), "typicality"),
  ];
}

export interface ReuseRow {
  task: string;
  method: string;
  accuracy: number;
  /** Numbers the method trains for this task. */
  trainableParams: number;
  /** What must be stored per task on top of the shared pretrained model. */
  bytesPerTask: number;
  seconds: number;
}

export function cloneModel(model: GPT): GPT {
  return GPT.fromWeights(model.config, model.weights());
}

/**
 * Test accuracy of asking the language model itself, with no labelled example; null where the
 * task has no zero-shot question. A typicality task calls the likelier half of the test inputs
 * real (calibration by the unlabelled inputs' median), so it has no uncalibrated form: null.
 */
export function zeroShotAccuracy(model: GPT, tokenizer: Tokenizer, task: ReuseTask, calibrate = true): number | null {
  if (!task.zeroShot || (task.zeroShot === "typicality" && !calibrate)) return null;
  const predicted = task.zeroShot === "typicality"
    ? typicalityPredict(model, task.test)
    : zeroShotPredict(model, tokenizer, task.testTexts, task.classes.length, task.zeroShot, { calibrate });
  return predicted.reduce((c, p, i) => c + (p === task.test.labels[i] ? 1 : 0), 0) / predicted.length;
}

/** Class 0 ("real") for the sequences whose log-likelihood is above the median, class 1 otherwise. */
export function typicalityPredict(model: GPT, data: LabeledSequences): Int32Array {
  const ll = continuationLogLikelihood(model, data.ids, data.length, 1);
  const median = Float64Array.from(ll).sort()[Math.floor(ll.length / 2)];
  return Int32Array.from(ll, (v) => (v >= median ? 0 : 1));
}

/** Test accuracy of a linear probe on each layer's frozen features (embeddings, blocks, final norm). */
export function probeAccuracyByLayer(model: GPT, task: ReuseTask): number[] {
  const train = layerFeatures(model, task.train);
  const test = layerFeatures(model, task.test);
  return train.map((x, l) => fitLinearProbe({ x, y: task.train.labels }, { x: test[l], y: task.test.labels }, task.classes.length).testAccuracy);
}

/** A linear probe on its best layer, as a row beside the tuned methods: one weight per feature and class, and a bias per class. */
export function probeRow(task: ReuseTask, accuracyByLayer: number[], nEmbd: number): ReuseRow {
  const trainableParams = (nEmbd + 1) * task.classes.length;
  return {
    task: task.name, method: "linear probe (best layer)", accuracy: Math.max(...accuracyByLayer),
    trainableParams, bytesPerTask: BYTES_PER_FLOAT * trainableParams, seconds: 0,
  };
}

export interface ReuseGains {
  task: string;
  /** Full fine-tuning of the pretrained model minus the same network from scratch, in accuracy points. */
  pretrainingGain: number;
  /** LoRA at the given rank minus full fine-tuning, in accuracy points. */
  loraGap: number;
  /** LoRA's bytes per task as a percentage of a full fine-tuned copy's. */
  loraBytesPercent: number;
}

/** Per task, what pretraining adds over scratch and what LoRA of rank `rank` gives up against full fine-tuning. */
export function reuseGains(runs: ReuseRow[], rank: number): ReuseGains[] {
  const tasks = [...new Set(runs.map((r) => r.task))];
  return tasks.map((task) => {
    const get = (method: string) => {
      const row = runs.find((r) => r.task === task && r.method === method);
      if (!row) throw new Error(`reuseGains: no "${method}" run for task "${task}"; have ${runs.filter((r) => r.task === task).map((r) => r.method).join(", ")}`);
      return row;
    };
    const full = get("fine-tune (all weights)"), scratch = get("from scratch"), lora = get(`LoRA r=${rank}`);
    return {
      task, pretrainingGain: 100 * (full.accuracy - scratch.accuracy), loraGap: 100 * (lora.accuracy - full.accuracy),
      loraBytesPercent: (100 * lora.bytesPerTask) / full.bytesPerTask,
    };
  });
}

export interface TuneOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed?: number;
  onStep?: (step: number, loss: number) => void;
}

/** Trains a head on pooled features, with all weights, with LoRA, or from scratch. */
export async function tuneClassifier(
  kind: { method: "fine-tune" } | { method: "lora"; rank: number; targets: LoRATarget[] } | { method: "scratch"; config: GPTConfig },
  pretrained: GPT,
  task: ReuseTask,
  options: TuneOptions,
): Promise<ReuseRow> {
  const started = performance.now();
  const seed = options.seed ?? 1;
  const model = kind.method === "scratch" ? GPT.create(kind.config, seed) : kind.method === "fine-tune" ? cloneModel(pretrained) : pretrained;
  const head = ClassifierHead.create(model.config.nEmbd, task.classes.length, seed);
  const lora = kind.method === "lora" ? LoRA.create(model, { rank: kind.rank, targets: kind.targets }, seed) : undefined;
  try {
    const weights = lora ? lora.variables : [...model.params.values()];
    const trainable = [...weights, head.w, head.b].map((variable) => ({ variable, decay: variable.shape.length === 2 && lora === undefined }));
    await fineTune({ model, head, adapters: lora, data: task.train, trainable, ...options });
    const params = trainable.reduce((n, t) => n + t.variable.size, 0);
    const method = kind.method === "lora" ? `LoRA r=${kind.rank}` : kind.method === "fine-tune" ? "fine-tune (all weights)" : "from scratch";
    return {
      task: task.name, method, accuracy: classifierAccuracy(model, head, task.test, lora), trainableParams: params,
      bytesPerTask: params * BYTES_PER_FLOAT, seconds: (performance.now() - started) / 1000,
    };
  } finally {
    head.dispose();
    lora?.dispose();
    if (model !== pretrained) model.dispose();
  }
}

export type TuneKind = Parameters<typeof tuneClassifier>[0];

/** One run of a tuning grid: a method on a task at a learning rate. */
export interface TuneJob {
  kind: TuneKind;
  task: ReuseTask;
  learningRate: number;
}

/** What a tuning worker gets (lib/reuse/worker.ts): everything cloneable, the pretrained weights included. */
export interface TuneWorkerInput {
  backend: string;
  config: GPTConfig;
  weights: [string, Float32Array][];
  kind: TuneKind;
  task: Omit<ReuseTask, "zeroShot" | "testTexts">;
  options: Omit<TuneOptions, "onStep">;
}

/**
 * Runs a grid of tuneClassifier jobs, independent of each other: `jobs` at a time, each in its
 * own worker thread with its own backend and copy of the pretrained weights (default: one per
 * core on the single-threaded wasm and cpu backends), or one after another here when jobs is 1.
 * Results come back in the grid's order; `onResult` sees each as it finishes.
 */
export async function tuneClassifiers(
  grid: TuneJob[],
  pretrained: GPT,
  options: Omit<TuneOptions, "onStep" | "learningRate">,
  run: { jobs?: number; onResult?: (row: ReuseRow, index: number) => void } = {},
): Promise<ReuseRow[]> {
  const jobs = run.jobs ?? usefulThreads();
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`tuneClassifiers: jobs must be a positive integer; got ${jobs}`);
  if (jobs === 1 || grid.length === 1) {
    const rows: ReuseRow[] = [];
    for (const [i, job] of grid.entries()) {
      rows.push(await tuneClassifier(job.kind, pretrained, job.task, { ...options, learningRate: job.learningRate }));
      run.onResult?.(rows[i], i);
    }
    return rows;
  }
  const weights = [...pretrained.weights()];
  const inputs: TuneWorkerInput[] = grid.map((job) => ({
    backend: tf.getBackend(), config: pretrained.config, weights, kind: job.kind,
    task: { name: job.task.name, classes: job.task.classes, train: job.task.train, test: job.task.test },
    options: { ...options, learningRate: job.learningRate },
  }));
  return mapInWorkers<TuneWorkerInput, ReuseRow>("reuse/worker.ts", inputs, jobs, {
    describe: (input) => `tuning ${input.kind.method} on "${input.task.name}"`,
    onResult: run.onResult,
  });
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
export function measureSwitching(model: GPT, rank: number, targets: LoRATarget[], repeats = 5): SwitchingCost {
  const dir = mkdtempSync(join(tmpdir(), "course-switch-"));
  const lora = LoRA.create(model, { rank, targets });
  try {
    const full = join(dir, "task.ckpt");
    const adapter = join(dir, "task.lora");
    saveCheckpoint(full, model);
    writeTensorFile(adapter, { rank }, new Map([...lora.weights()].map(([name, values]) => [name, { shape: [values.length], values }])));
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
