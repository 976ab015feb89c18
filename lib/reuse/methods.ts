// Lesson 01's experiment in functions: one pretrained model reused on several labelled tasks
// by zero-shot scoring, linear probes, full fine-tuning, LoRA and, as the baseline, the same
// network trained from scratch; with what each costs in trainable parameters and bytes per task.
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { Tokenizer } from "./data";
import { livePlot, progress } from "./display";
import { findStoredRun, precomputing, trainCached, type CacheDirs, type CachedTrainResult } from "./gpt/cache";
import { loadCheckpoint, readTensorFile, saveCheckpoint, writeTensorFile } from "./gpt/checkpoint";
import { LoRA, type LoRATarget } from "./gpt/lora";
import { GPT, type GPTConfig } from "./gpt/model";
import { DEFAULT_TRAIN, train, validateTrainConfig, type EvalInfo, type StepInfo, type TrainConfig, type TrainResult } from "./gpt/train";
import {
  ClassifierHead, classifierAccuracy, continuationLogLikelihood, fineTune, fitLinearProbe, layerFeatures, zeroShotPredict, type LabeledSequences,
} from "./gpt/transfer";
import { mapInWorkers, usefulThreads } from "./threads";
import { encodeTask, limitPerClass, parseSpeeches, realOrScrambledTask, speakerTask, splitTask, verseProseTask, type TextTask } from "./tasks";

const BYTES_PER_FLOAT = 4;

/**
 * A live chart of training and validation loss against tokens seen, for train()'s callbacks.
 * With a `reference` run (a stored one), its curves are drawn faint underneath for comparison.
 */
export function trainingCurve(title: string, options: { reference?: TrainResult } = {}) {
  const evals: EvalInfo[] = [];
  const steps: StepInfo[] = [];
  const chart = livePlot();
  const ref = options.reference;
  const referenceTraces = ref ? [
    { x: ref.steps.map((s) => s.tokens), y: ref.steps.map((s) => s.loss), name: "stored run: train (batch)", mode: "lines", line: { width: 1, color: "#bbb" } },
    { x: ref.evals.map((e) => e.tokens), y: ref.evals.map((e) => e.valLoss), name: "stored run: validation", mode: "lines", line: { dash: "dot", color: "#888" } },
  ] : [];
  const figure = () => ({
    data: [
      ...referenceTraces,
      { x: steps.map((s) => s.tokens), y: steps.map((s) => s.loss), name: "train (batch)", mode: "lines", line: { width: 1 }, opacity: 0.4 },
      { x: evals.map((e) => e.tokens), y: evals.map((e) => e.trainLoss), name: "train", mode: "lines+markers" },
      { x: evals.map((e) => e.tokens), y: evals.map((e) => e.valLoss), name: "validation", mode: "lines+markers" },
    ],
    layout: { title: { text: title }, xaxis: { title: { text: "tokens seen" } }, yaxis: { title: { text: "cross-entropy (nats per token)" } }, height: 380 },
  });
  return {
    evals,
    onStep: (s: StepInfo) => { steps.push(s); chart.update(figure()); },
    onEval: (e: EvalInfo) => { evals.push(e); chart.update(figure()); },
    done: () => chart.done(),
  };
}

export interface PretrainingRun extends CachedTrainResult {
  /** With a stored run: its first steps, trained again here from the same start. */
  liveSlice?: {
    steps: number;
    seconds: number;
    workers: number;
    /** Largest |live − stored| batch loss over the slice's steps (float rounding only, if all is well). */
    maxLossDifference: number;
  };
}

/**
 * Pretraining as a lesson shows it. When the full run was precomputed (datasets/checkpoints/,
 * made by `npm run course -- NN --precompute`), its first `liveSteps` steps are trained here
 * from the same initial weights, batches and learning-rate schedule and drawn over the stored
 * curve, then the stored weights are loaded into `model`. Otherwise the whole run trains live
 * (or comes from this machine's cache). Either way one chart and one progress bar show it.
 */
export async function pretrain(
  name: string, model: GPT, data: { train: Int32Array; val: Int32Array }, config: Partial<TrainConfig>,
  options: { title: string; liveSteps: number; dirs?: CacheDirs },
): Promise<PretrainingRun> {
  const full = validateTrainConfig({ ...DEFAULT_TRAIN, ...config });
  if (!Number.isInteger(options.liveSteps) || options.liveSteps < 1) throw new Error(`pretrain: liveSteps must be a positive integer; got ${options.liveSteps}`);
  const stored = precomputing() ? null : findStoredRun(name, model, data, full, options.dirs?.storedDir);
  const curve = trainingCurve(options.title, { reference: stored?.result });
  const liveSteps = stored ? Math.min(options.liveSteps, full.steps) : full.steps;
  const bar = progress(stored ? `pretraining: the stored run's first ${liveSteps} steps, live` : "pretraining");
  const callbacks = {
    onStep: (s: StepInfo) => { curve.onStep(s); bar.update({ step: s.step + 1, total: liveSteps, values: { loss: s.loss, "tokens/s": s.tokensPerSecond } }); },
    onEval: curve.onEval,
  };
  try {
    if (!stored) return await trainCached(name, model, data, full, callbacks, options.dirs);
    const copy = cloneModel(model);
    let slice: TrainResult;
    try {
      // The stored run's schedule: warm-up and decay as over all its steps, cut after liveSteps.
      slice = await train(copy, data, { ...full, steps: liveSteps, decaySteps: full.decaySteps ?? full.steps }, callbacks);
    } finally {
      copy.dispose();
    }
    const maxLossDifference = Math.max(...slice.steps.map((s, i) => Math.abs(s.loss - stored.result.steps[i].loss)));
    const result = await trainCached(name, model, data, full, {}, options.dirs);
    return { ...result, liveSlice: { steps: liveSteps, seconds: slice.seconds, workers: slice.workers, maxLossDifference } };
  } finally {
    curve.done();
    bar.done();
  }
}

/** One sentence on where a pretrained model came from and how good it is, from the run's own record. */
export function describePretraining(run: PretrainingRun): string {
  const last = run.evals.at(-1);
  const quality = last ? `validation loss ${last.valLoss.toFixed(3)} after ${run.tokens.toLocaleString("en")} tokens` : `${run.tokens.toLocaleString("en")} tokens`;
  if (run.source === "stored" && run.provenance) {
    const p = run.provenance;
    const made = `precomputed by \`${p.command}\` on ${p.createdAt.slice(0, 10)} (${p.machine}, ${p.backend}, ${run.seconds.toFixed(0)} s on ${run.workers} thread(s)${p.commit ? `, commit ${p.commit.slice(0, 7)}` : ""})`;
    const slice = run.liveSlice
      ? `; its first ${run.liveSlice.steps} steps, retrained here in ${run.liveSlice.seconds.toFixed(0)} s on ${run.liveSlice.workers} thread(s), differ from the stored batch losses by at most ${run.liveSlice.maxLossDifference.toExponential(1)}`
      : "";
    return `${quality}: ${made}${slice}`;
  }
  if (run.fromCache) return `${quality} (an earlier run on this machine, loaded from ${run.checkpoint})`;
  return `${quality} in ${run.seconds.toFixed(0)} s on ${run.workers} thread(s)`;
}

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

/** What a tuning worker gets (lib/reuseWorker.ts): everything cloneable, the pretrained weights included. */
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
  return mapInWorkers<TuneWorkerInput, ReuseRow>("reuseWorker.ts", inputs, jobs, {
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
