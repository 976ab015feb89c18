// Lesson 01's study, in one place: the corpus split (task text reserved before pretraining), the
// pretraining run, the three tasks, and the grid of tuned methods × learning rates × seeds.
// `npm run reuse-study -- --grid full` trains it once and stores it; the lesson reads it back.
import { rmSync } from "node:fs";
import { join } from "node:path";

import { fingerprint, readResults, resultId, stamp, storedBackend, type RunContext, type StampedResult } from "../core/results";
import { cpuDescription } from "../core/machine";
import { projectRoot } from "../core/paths";
import { StudyFile } from "../core/study";
import { CharTokenizer, loadDataset, splitTrainVal, type Tokenizer } from "../core/data";
import { shown } from "../core/checks";
import { parseScale, type Scale } from "../core/scale";
import { BABY_GPT, GPT, type GPTConfig } from "../gpt/model";
import type { TrainConfig } from "../gpt/train";
import type { LabeledSequences } from "./transfer";
import { tuneClassifier, type TunedMethod, type TuneData, type TuneResult } from "./methods";
import {
  encodeTask, labelledSample, parseSpeeches, pickExamples, realOrAlteredTask, realOrScrambledTask, realOrShuffledTask, reserveTaskSpeeches, speakerTask, splitPoolAndTest,
  trainingRoom, verseProseTask, type ReserveOptions, type TaskSplit, type TextTask,
} from "./tasks";
import { ngramSampler } from "../core/ngram";
import { ladderRate, sweepRates, untilSettled } from "../core/rateSweep";
import { Random } from "../core/random";

/** The study's tasks, in the order reuseData builds them. */
export const TASKS = ["speaker", "verse or prose", "real or scrambled", "real or word-shuffled", "real or n-gram"] as const;
export type TaskName = (typeof TASKS)[number];

/** How a linear probe reads a layer: its states averaged over positions, the last position's, or the average and the maximum side by side. */
export type Readout = "mean" | "last" | "mean+max";

export interface ReuseDesign {
  /** Names the stored study: datasets/reuse/<name>.jsonl. */
  name: string;
  corpus: string;
  model: Omit<GPTConfig, "vocabSize">;
  modelSeed: number;
  pretraining: Partial<TrainConfig>;
  /** With a stored pretraining run, the steps the lesson retrains live beside it. */
  liveSteps: number;
  reserve: ReserveOptions;
  /** The order of the n-gram table (counted on the pretraining text) that writes the fake half of "real or n-gram". */
  ngramOrder: number;
  /** Per task, examples per class: the held-out test set, and each seed's validation set (from other speeches than its training set). */
  sizes: Record<TaskName, { testPerClass: number; valPerClass: number }>;
  /** Seeds the tasks' test sets and the alterations are drawn with. */
  splitSeed: number;
  /** At most this many examples per class in a task's pool (whole speeches; the rest left out): smoke scale's small pools. */
  poolLimit?: number;
  /** Labelled examples per class every method without network training is run at (each task up to what its pool holds), and the seeds. */
  labels: { perClass: number[]; seeds: number[] };
  /** How probes read a layer, and the L2 strengths they choose from (both chosen with the layer on validation examples). */
  readouts: Readout[];
  l2Grid: number[];
  /** The tuned methods: the label counts they are trained at, and their steps and batch. */
  tuning: { perClass: number[]; steps: number; batchSize: number };
  methods: TunedMethod[];
  /**
   * When the best rate on validation is the lowest or highest tried, the next rate beyond it (on the
   * 1–3 ladder: …, 1e-4, 3e-4, 1e-3, …) is tried too, up to this many times per task, label count and method.
   */
  rateSteps: number;
  /** Seeds trained at every rate; the rate is chosen on their mean validation accuracy. */
  tuningSeeds: number[];
  /** Seeds reported at the chosen rate (the tuning seeds among them). */
  seeds: number[];
}

export function reuseDesign(scale: Scale): ReuseDesign {
  parseScale(scale, "reuseDesign: scale");
  // Hu et al. fix α and never tune it, so a larger rank does not mean a larger update; the rate
  // is tuned per rank instead.
  const lora = (rank: number, rates: number[]): TunedMethod => ({ name: `LoRA r=${rank}`, kind: { method: "lora", rank, alpha: 1 }, rates });
  // [test, validation] examples per class of each task, in TASKS order.
  const sizes = (...perTask: [number, number][]) => Object.fromEntries(TASKS.map((t, k) => [t, { testPerClass: perTask[k][0], valPerClass: perTask[k][1] }])) as ReuseDesign["sizes"];
  if (scale === "smoke") {
    return {
      name: "tinyshakespeare-reuse-smoke", corpus: "tinyshakespeare.txt",
      model: { ...BABY_GPT, nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 32 }, modelSeed: 1337,
      pretraining: { steps: 40, batchSize: 8, learningRate: 1e-3, minLearningRate: 1e-4, warmupSteps: 4, evalInterval: 20, evalBatches: 2, seed: 1337 },
      liveSteps: 40,
      reserve: { length: 32, speakers: 4, speakerShare: 0.7, otherShare: 0.3, seed: 1 },
      ngramOrder: 3, sizes: sizes([8, 4], [16, 4], [16, 4], [16, 4], [16, 4]), splitSeed: 7, poolLimit: 40,
      labels: { perClass: [4, 8], seeds: [1, 2] }, readouts: ["mean", "last", "mean+max"], l2Grid: [1e-2, 1e-1],
      tuning: { perClass: [8], steps: 6, batchSize: 8 },
      methods: [
        { name: "fine-tune (all weights)", kind: { method: "fine-tune" }, rates: [3e-4] },
        lora(1, [1e-2, 3e-2]),
        { name: "from scratch", kind: { method: "scratch" }, rates: [1e-3] },
      ],
      rateSteps: 1, tuningSeeds: [1], seeds: [1, 2],
    };
  }
  return {
    name: "tinyshakespeare-reuse", corpus: "tinyshakespeare.txt",
    // Four blocks 256 wide with heads of 64 (53 GFLOP/s here, against 32 at 128 wide) and a
    // context of 128 characters; dropout because pretraining sees its text about 20 times.
    model: { blockSize: 128, nLayer: 4, nHead: 4, nEmbd: 256, dropout: 0.1, bias: true, tieWeights: true }, modelSeed: 1337,
    pretraining: { steps: 3000, batchSize: 32, learningRate: PRETRAINING_RATE, minLearningRate: PRETRAINING_RATE / 10, warmupSteps: 100, evalInterval: 200, evalBatches: 16, seed: 1337 },
    liveSteps: 100,
    // Most of the four main speakers' speeches go to the speaker task; a fifth of them stay in pretraining, so the model knows their names.
    reserve: { length: 128, speakers: 4, speakerShare: 0.8, otherShare: 0.3, seed: 1 },
    // Test sets as large as each task's text allows beside a pool for its largest label count.
    ngramOrder: 5, sizes: sizes([30, 12], [100, 30], [400, 50], [400, 50], [400, 50]), splitSeed: 7,
    labels: { perClass: [16, 32, 64, 128, 256, 512, 1024], seeds: [1, 2, 3, 4, 5] },
    readouts: ["mean", "last", "mean+max"], l2Grid: [1e-3, 1e-2, 1e-1, 1],
    tuning: { perClass: [64], steps: 100, batchSize: 16 },
    methods: [
      { name: "fine-tune (all weights)", kind: { method: "fine-tune" }, rates: [3e-5, 1e-4, 3e-4] },
      lora(4, [3e-3, 1e-2, 3e-2]),
      { name: "from scratch", kind: { method: "scratch" }, rates: [3e-4, 1e-3, 3e-3] },
    ],
    rateSteps: 2, tuningSeeds: [1], seeds: [1, 2, 3],
  };
}

/** The peak learning rate of the full pretraining run, chosen by a 300-step pilot on validation loss (datasets/README.md). */
const PRETRAINING_RATE = 2e-3;

/** One task ready for the study: its labelled pool and test set as text and as token ids. */
export interface StudyTask {
  name: TaskName;
  classes: string[];
  /** Every example of the task, before the split into pool and test. */
  all: TextTask;
  pool: TextTask;
  test: TextTask;
  testIds: LabeledSequences;
}

export interface ReuseData {
  tokenizer: Tokenizer;
  split: TaskSplit;
  /** The pretraining text's ids, 90% to train on and 10% to validate the language model. */
  pretraining: { train: Int32Array; val: Int32Array };
  tasks: StudyTask[];
}

/** Everything the study reads from the corpus, the same for the lesson and the study tool. */
export function reuseData(design: ReuseDesign): ReuseData {
  if (design.reserve.length !== design.model.blockSize) {
    throw new Error(`reuseData: task windows of ${design.reserve.length} characters must fill the model's context of ${design.model.blockSize}`);
  }
  const corpus = loadDataset(design.corpus);
  // The character set of the whole corpus (no text of it): the tasks' characters all have ids.
  const tokenizer = CharTokenizer.fromText(corpus);
  const split = reserveTaskSpeeches(corpus, design.reserve);
  const pretraining = splitTrainVal(tokenizer.encode(split.pretrainText));
  const { length } = design.reserve;
  const seed = design.splitSeed;
  // The fake half of "real or n-gram": text the n-gram table writes after the real window's first n − 1
  // characters. Counted on the pretraining text's speeches in the windows' form (no name headers, no
  // blank lines), so that the fake text has no mark the real text lacks but its order.
  const n = design.ngramOrder;
  const sample = ngramSampler(tokenizer.encode(parseSpeeches(split.pretrainText).map((s) => s.text).join("\n")), tokenizer.vocabSize, n);
  const ngramText = (window: string, random: Random) => tokenizer.decode(sample(tokenizer.encode(window.slice(0, n - 1)), window.length, random));
  const speeches = split.taskSpeeches;
  const texts = [
    speakerTask(speeches, { speakers: split.speakers, length }),
    verseProseTask(speeches, { length }),
    realOrScrambledTask(speeches, { length, seed }),
    realOrShuffledTask(speeches, { length, seed }),
    realOrAlteredTask(speeches, { name: "real or n-gram", altered: `${n}-gram`, length, seed, alter: ngramText }),
  ];
  const tasks = texts.map((task, k) => {
    const name = TASKS[k];
    const { pool, test } = splitPoolAndTest(task, { testPerClass: design.sizes[name].testPerClass, seed, poolPerClass: design.poolLimit });
    return { name, classes: task.classes, all: task, pool, test, testIds: encodeTask(test, tokenizer) };
  });
  return { tokenizer, split, pretraining, tasks };
}

/**
 * One seed's labelled set of a task at `perClass` examples per class: positions in its pool to
 * train on, and validation positions from other speeches to choose with. It depends on the task,
 * seed and size, never on the method: every method of a seed sees the same examples.
 */
export function seedSample(design: ReuseDesign, task: StudyTask, seed: number, perClass: number): { train: number[]; val: number[] } {
  return labelledSample(task.pool, { trainPerClass: perClass, valPerClass: design.sizes[task.name].valPerClass, seed: 100_000 * seed + perClass });
}

/** The label counts a task's pool allows every seed: those of `perClass` that fit beside the seed's validation examples. */
export function labelCounts(design: ReuseDesign, task: StudyTask, perClass = design.labels.perClass, seeds = design.labels.seeds): number[] {
  const valPerClass = design.sizes[task.name].valPerClass;
  return perClass.filter((n) => seeds.every((seed) => trainingRoom(task.pool, { valPerClass, seed: 100_000 * seed + n }) >= n));
}

/**
 * The label counts each task's tuned runs use: those of `tuning.perClass` its pool allows every
 * tuned seed, else the largest smaller count of `labels.perClass` it allows (the speaker task's
 * pool holds too few speeches of some speakers for 64 per class beside every seed's validation set).
 */
export function tuningCounts(design: ReuseDesign, data: Pick<ReuseData, "tasks">): Record<string, number[]> {
  const seeds = [...new Set([...design.tuningSeeds, ...design.seeds])];
  return Object.fromEntries(data.tasks.map((task) => {
    const fits = labelCounts(design, task, design.tuning.perClass, seeds);
    if (fits.length > 0) return [task.name, fits];
    const smaller = labelCounts(design, task, design.labels.perClass.filter((n) => n < Math.min(...design.tuning.perClass)), seeds);
    if (smaller.length === 0) throw new Error(`tuningCounts: the pool of "${task.name}" allows no label count of ${design.labels.perClass.join(", ")} for seeds ${seeds.join(", ")}`);
    return [task.name, [Math.max(...smaller)]];
  }));
}

/** One tuned run of the study: a method on a task at a label count, a learning rate and a seed. */
export interface StudyRun {
  task: TaskName;
  method: TunedMethod;
  perClass: number;
  learningRate: number;
  seed: number;
}

export interface StudyResult extends TuneResult, StampedResult {
  task: TaskName;
  method: string;
  perClass: number;
  learningRate: number;
  seed: number;
  /** The pretrained checkpoint the run started from (its name carries the run's fingerprint). */
  pretrained: string;
  cpu: string;
}

const REQUIRED: (keyof StudyResult)[] = ["task", "method", "perClass", "learningRate", "seed", "validationAccuracy", "testAccuracy", "testPredictions", "pretrained"];

/** The command that writes the stored study, named in errors about its file. */
const STUDY_COMMAND = "npm run reuse-study -- --grid full";

/** Reads a study's results file; a damaged, old or incomplete line is an error naming the line and the repair. */
export function readStudyResults(path: string, command = STUDY_COMMAND): StudyResult[] {
  return readResults<StudyResult>(path, REQUIRED, command);
}

/** What decides every run's data besides the text: the corpus, its split, the tasks' sizes and alterations. */
export function dataSettings(design: ReuseDesign) {
  const { corpus, model, reserve, sizes, splitSeed, ngramOrder, poolLimit } = design;
  return { corpus, model, reserve, sizes, splitSeed, ngramOrder, poolLimit };
}

/** What decides a run's result besides the data: the design, the pretrained checkpoint (its name carries its fingerprint), the run. */
function studySettings(design: ReuseDesign, pretrained: string, run: StudyRun) {
  return {
    ...dataSettings(design), tuning: { steps: design.tuning.steps, batchSize: design.tuning.batchSize }, pretrained,
    task: run.task, kind: run.method.kind, perClass: run.perClass, learningRate: run.learningRate, seed: run.seed,
  };
}

/** The data (pretraining text and every task's examples) and backend of a study's runs. */
export function studyContext(data: ReuseData, backend: string): RunContext {
  if (!(data?.pretraining?.train instanceof Int32Array && Array.isArray(data.tasks))) {
    throw new Error("studyContext: data must be what reuseData(design) returns (pretraining ids and tasks)");
  }
  const tasks = data.tasks.map((t) => [t.name, t.pool.texts, t.pool.labels, t.test.texts, t.test.labels]);
  return { dataHash: fingerprint(data.pretraining.train, data.pretraining.val, JSON.stringify(tasks)), backend };
}

/** A stable id of everything that decides a run's result: a rerun with the same id is skipped. */
export function studyRunId(design: ReuseDesign, pretrained: string, run: StudyRun, context: RunContext): string {
  return resultId(studySettings(design, pretrained, run), context);
}

/** Refuses a design with no method, rate or seed to run: its study would be silently empty. */
function checkGrid(design: ReuseDesign, where: string): void {
  if (design.methods.length === 0) throw new Error(`${where}: design "${design.name}" has no methods; expected at least one`);
  for (const m of design.methods) {
    if (m.rates.length === 0) throw new Error(`${where}: method "${m.name}" of design "${design.name}" has no rates; expected at least one`);
    const bad = m.rates.findIndex((r) => !(r > 0 && Number.isFinite(r)));
    if (bad >= 0) throw new Error(`${where}: method "${m.name}" of design "${design.name}": rates[${bad}] must be a positive number; got ${shown(m.rates[bad])}`);
  }
  for (const key of ["tuningSeeds", "seeds"] as const) {
    if (design[key].length === 0) throw new Error(`${where}: design "${design.name}" has no ${key}; expected at least one`);
  }
}

/** Every task at the design's tuning counts: what tuningRuns and chooseRates use when not given tuningCounts. */
const designCounts = (design: ReuseDesign): Record<string, number[]> => Object.fromEntries(TASKS.map((task) => [task, design.tuning.perClass]));

/** The learning-rate sweep: every method on every task at every rate (at each task's `counts`, see tuningCounts), for the tuning seeds. */
export function tuningRuns(design: ReuseDesign, counts = designCounts(design)): StudyRun[] {
  checkGrid(design, "tuningRuns");
  return TASKS.flatMap((task) => (counts[task] ?? []).flatMap((perClass) => design.methods.flatMap((method) =>
    method.rates.flatMap((learningRate) => design.tuningSeeds.map((seed) => ({ task, method, perClass, learningRate, seed }))))));
}

export interface ChosenRate {
  task: TaskName;
  method: string;
  perClass: number;
  learningRate: number;
  /** Mean validation accuracy of every rate tried, lowest rate first, over the tuning seeds (NaN where a run diverged). */
  validationByRate: { learningRate: number; accuracy: number }[];
  /** The chosen rate is still the lowest or the highest tried after design.rateSteps steps beyond the grid. */
  atEdge: boolean;
}

/**
 * One task, label count and method's sweep as far as `results` go: the chosen rate, or the runs
 * at the rate beyond an edge that are to be trained next. The grid's own rates must all have been run.
 */
function sweepCell(design: ReuseDesign, results: StudyResult[], task: TaskName, perClass: number, method: TunedMethod): ChosenRate | { next: StudyRun[] } {
  const summary = (learningRate: number, required: boolean) => {
    const runs = results.filter((r) => r.task === task && r.perClass === perClass && r.method === method.name && r.learningRate === learningRate && design.tuningSeeds.includes(r.seed));
    if (runs.length !== design.tuningSeeds.length) {
      if (!required) return undefined;
      throw new Error(`chooseRates: ${runs.length} of ${design.tuningSeeds.length} tuning runs of ${method.name} on "${task}" (${perClass} per class) at rate ${learningRate}`);
    }
    const mean = (f: (r: StudyResult) => number) => runs.reduce((s, r) => s + (r.diverged ? NaN : f(r)), 0) / runs.length;
    return { rate: learningRate, accuracy: mean((r) => r.validationAccuracy), loss: mean((r) => r.validationLoss) };
  };
  const sweep = sweepRates({
    grid: method.rates, steps: design.rateSteps, beyond: ladderRate, summary,
    best: (tried) => {
      const usable = tried.filter((b) => Number.isFinite(b.accuracy));
      if (usable.length === 0) throw new Error(`chooseRates: every rate of ${method.name} on "${task}" diverged; add lower rates`);
      return usable.reduce((a, b) => (b.accuracy > a.accuracy || (b.accuracy === a.accuracy && b.loss < a.loss) ? b : a));
    },
  });
  if ("next" in sweep) return { next: design.tuningSeeds.map((seed) => ({ task, method, perClass, learningRate: sweep.next, seed })) };
  return {
    task, method: method.name, perClass, learningRate: sweep.best.rate, atEdge: sweep.atEdge,
    validationByRate: sweep.tried.map((b) => ({ learningRate: b.rate, accuracy: b.accuracy })),
  };
}

/** Every task, label count and method's sweep as far as `results` go. */
function sweepCells(design: ReuseDesign, results: StudyResult[], counts: Record<string, number[]>, where: string) {
  checkGrid(design, where);
  return TASKS.flatMap((task) => (counts[task] ?? []).flatMap((perClass) => design.methods.map((method) => sweepCell(design, results, task, perClass, method))));
}

/**
 * The tuning runs the sweep needs next: for every task, label count and method whose best rate on
 * validation is so far at an edge, the next rate beyond it (none once design.rateSteps are taken).
 */
export function tuningStepRuns(design: ReuseDesign, results: StudyResult[], counts = designCounts(design)): StudyRun[] {
  return sweepCells(design, results, counts, "tuningStepRuns").flatMap((cell) => ("next" in cell ? cell.next : []));
}

/**
 * For every task, label count and method, the rate with the best mean validation accuracy over
 * the tuning seeds (on a tie, the lower mean validation loss), after the steps beyond the grid's
 * edges (tuningStepRuns): test accuracy is never looked at.
 */
export function chooseRates(design: ReuseDesign, results: StudyResult[], counts = designCounts(design)): ChosenRate[] {
  return sweepCells(design, results, counts, "chooseRates").map((cell) => {
    if ("next" in cell) {
      const run = cell.next[0];
      throw new Error(`chooseRates: ${run.method.name} on "${run.task}" (${run.perClass} per class) is best at an edge of its rates; the rate beyond it, ${run.learningRate}, has no tuning runs (tuningStepRuns lists them)`);
    }
    return cell;
  });
}

/** The rate sweep: the grid's runs, then the steps beyond its edges until none is needed; `results` trains or looks up runs. */
async function tuneRates(
  design: ReuseDesign, counts: Record<string, number[]>, results: (runs: StudyRun[]) => StudyResult[] | Promise<StudyResult[]>,
): Promise<{ tuning: StudyResult[]; chosen: ChosenRate[] }> {
  const tuning = await untilSettled(tuningRuns(design, counts), (done) => tuningStepRuns(design, done, counts), results);
  return { tuning, chosen: chooseRates(design, tuning, counts) };
}

/** The reported runs: every method on every task at its chosen rate, for every seed. */
export function reportedRuns(design: ReuseDesign, chosen: ChosenRate[], seeds = design.seeds): StudyRun[] {
  if (seeds.length === 0) throw new Error("reportedRuns: seeds must hold at least one seed; got []");
  return chosen.flatMap((c, k) => {
    const method = design.methods.find((m) => m.name === c.method);
    if (!method) throw new Error(`reportedRuns: chosen[${k}].method ${shown(c.method)} is not a method of design "${design.name}"; have ${design.methods.map((m) => m.name).join(", ")}`);
    return seeds.map((seed) => ({ task: c.task, method, perClass: c.perClass, learningRate: c.learningRate, seed }));
  });
}

/** The run a stored result came from (its method looked up in the design by name). */
export function runOf(design: ReuseDesign, result: Pick<StudyResult, "task" | "method" | "perClass" | "learningRate" | "seed">): StudyRun {
  const method = design.methods.find((m) => m.name === result.method);
  if (!method) throw new Error(`runOf: ${shown(result.method)} is not a method of design "${design.name}"; have ${design.methods.map((m) => m.name).join(", ")}`);
  return { task: result.task, method, perClass: result.perClass, learningRate: result.learningRate, seed: result.seed };
}

/** The labelled sets of one run: its seed's training and validation examples, and the task's test set. */
export function runData(design: ReuseDesign, data: ReuseData, run: { task: string; seed: number; perClass: number }): TuneData {
  const task = taskNamed(data, run.task, "runData");
  const sample = seedSample(design, task, run.seed, run.perClass);
  const encode = (idx: number[]) => encodeTask(pickExamples(task.pool, idx), data.tokenizer);
  return { train: encode(sample.train), val: encode(sample.val), test: task.testIds };
}

/** The task of this name, or an error naming the tasks there are. */
export function taskNamed(data: ReuseData, name: string, where = "taskNamed"): StudyTask {
  const task = data.tasks.find((t) => t.name === name);
  if (!task) throw new Error(`${where}: no task "${name}"; have ${data.tasks.map((t) => t.name).join(", ")}`);
  return task;
}

/** What a study worker gets (lib/reuse/worker.ts): everything cloneable, the pretrained weights included. */
export interface StudyJob {
  backend: string;
  config: GPTConfig;
  weights: [string, Float32Array][];
  kind: TunedMethod["kind"];
  data: TuneData;
  options: { steps: number; batchSize: number; learningRate: number; seed: number };
}

export interface StudyOptions {
  /** Where results go, one JSON line per run. */
  path: string;
  /** The backend in use (`initBackend().name`); part of every run's id. */
  backend: string;
  /** The command that writes `path`, named in errors about it (default: the stored study's). */
  command?: string;
  /** Runs trained side by side, each in its own worker thread (default 1: one after another, here). */
  jobs?: number;
  onRunEnd?: (result: StudyResult, done: number, total: number) => void;
}

/** A whole study's options: a phase's, and what to do with the file's lines that are no run of the design. */
export interface ReuseStudyOptions extends StudyOptions {
  /** Removes those lines from the file (the tool's --prune); they are kept otherwise. */
  pruneStrays?: boolean;
  /** Called once the study is complete, if lines trained on this backend are no run of the design. */
  onStrays?: (strays: StudyResult[], pruned: boolean) => void;
}

/** A run's line in the study's file and errors. */
const describeRun = (run: StudyRun) => `${run.method.name} on "${run.task}" with ${run.perClass} per class, rate ${run.learningRate}, seed ${run.seed}`;

/** Trains every run not yet in the results file (rewritten whole after each); returns the results of `runs`, in order. */
export async function runStudy(
  design: ReuseDesign, data: ReuseData, pretrained: { model: GPT; checkpoint: string }, runs: StudyRun[], options: StudyOptions,
): Promise<StudyResult[]> {
  return studyPhase(design, data, pretrained, runs, options, new StudyFile(options.path, (path) => readStudyResults(path, options.command)));
}

/** runStudy on a results file already read: one phase of the study. */
async function studyPhase(
  design: ReuseDesign, data: ReuseData, pretrained: { model: GPT; checkpoint: string }, runs: StudyRun[], options: StudyOptions, file: StudyFile<StudyResult>,
): Promise<StudyResult[]> {
  const name = pretrained.checkpoint.split(/[\\/]/).at(-1)!;
  const context = studyContext(data, options.backend);
  const jobs = options.jobs ?? 1;
  // One copy of the weights, shared by every worker's message; runs in this thread use the model itself.
  const weights = jobs > 1 ? [...(await pretrained.model.weights())] : [];
  const job = (run: StudyRun): StudyJob => ({
    backend: options.backend, config: pretrained.model.config, weights, kind: run.method.kind,
    data: runData(design, data, run), options: { ...design.tuning, learningRate: run.learningRate, seed: run.seed },
  });
  return file.resume<StudyRun, TuneResult>("runStudy", runs.map((run) => ({ run, id: studyRunId(design, name, run, context) })), {
    describe: describeRun, jobs,
    train: (run) => {
      const j = job(run);
      return tuneClassifier(j.kind, pretrained.model, j.data, j.options);
    },
    worker: {
      module: "reuse/worker.ts", input: job,
      describe: (run) => `tuning ${run.method.kind.method} at rate ${run.learningRate}, seed ${run.seed}`,
    },
    // Stamped here, on the main thread, with the checkpoint's name the worker never sees.
    line: (result, run) => stamp(studySettings(design, name, run), context, {
      task: run.task, method: run.method.name, perClass: run.perClass, learningRate: run.learningRate, seed: run.seed, ...result, pretrained: name, cpu: cpuDescription(),
    }),
    onRunEnd: options.onRunEnd && ((row, _, done, total) => options.onRunEnd!(row, done, total)),
  });
}

export interface ReuseStudy {
  chosen: ChosenRate[];
  tuning: StudyResult[];
  /** Every method × task at its chosen rate, one per seed. */
  reported: StudyResult[];
}

/** The rate sweep on the tuning seeds (steps beyond the grid's edges included), then the other seeds at the chosen rates; resumable. */
export async function runReuseStudy(
  design: ReuseDesign, data: ReuseData, pretrained: { model: GPT; checkpoint: string }, options: ReuseStudyOptions,
): Promise<ReuseStudy> {
  const file = new StudyFile(options.path, (path) => readStudyResults(path, options.command));
  const { tuning, chosen } = await tuneRates(design, tuningCounts(design, data), (runs) => studyPhase(design, data, pretrained, runs, options, file));
  const reported = await studyPhase(design, data, pretrained, reportedRuns(design, chosen), options, file);
  const strays = file.strays(options.backend);
  if (strays.length > 0) {
    if (options.pruneStrays) file.removeStrays(options.backend);
    options.onStrays?.(strays, options.pruneStrays === true);
  }
  return { chosen, tuning, reported };
}

/** Where the full study is stored, produced by `npm run reuse-study -- --grid full`. */
export function storedStudyPath(design: ReuseDesign): string {
  return `datasets/reuse/${design.name}.jsonl`;
}

/**
 * The study for the lesson: at full scale the stored results (about an hour of training, done
 * once by `npm run reuse-study -- --grid full`; an error names what is missing); at smoke scale
 * trained now into a scratch file that is removed afterwards.
 */
export async function reuseStudy(
  scale: Scale, design: ReuseDesign, data: ReuseData, pretrained: { model: GPT; checkpoint: string }, options: Omit<StudyOptions, "path">,
): Promise<ReuseStudy> {
  parseScale(scale, "reuseStudy: scale");
  checkGrid(design, "reuseStudy");
  if (scale === "full") {
    const stored = storedStudyPath(design);
    const name = pretrained.checkpoint.split(/[\\/]/).at(-1)!;
    const file = new StudyFile(join(projectRoot(), stored), (path) => readStudyResults(path));
    // The runs the study was stored with, whichever backend runs the lesson.
    const context = studyContext(data, storedBackend(file.results, options.backend));
    const lookup = (runs: StudyRun[]) => file.find(runs.map((run) => ({ run, id: studyRunId(design, name, run, context) })), {
      file: stored, backend: context.backend, command: STUDY_COMMAND, describe: describeRun,
    });
    const { tuning, chosen } = await tuneRates(design, tuningCounts(design, data), lookup);
    return { chosen, tuning, reported: lookup(reportedRuns(design, chosen)) };
  }
  const path = join(projectRoot(), "build", "reuse", `smoke-${process.pid}.jsonl`);
  rmSync(path, { force: true });
  try {
    return await runReuseStudy(design, data, pretrained, { ...options, path });
  } finally {
    rmSync(path, { force: true });
  }
}

/**
 * Stored runs trained again now (in a scratch file that is removed afterwards), from the same
 * pretrained weights, examples and seed: a live slice to set beside the stored study.
 */
export async function retrainRuns(
  design: ReuseDesign, data: ReuseData, pretrained: { model: GPT; checkpoint: string }, runs: StudyRun[], options: Omit<StudyOptions, "path">,
): Promise<StudyResult[]> {
  const path = join(projectRoot(), "build", "reuse", `live-${process.pid}.jsonl`);
  rmSync(path, { force: true });
  try {
    return await runStudy(design, data, pretrained, runs, { ...options, path });
  } finally {
    rmSync(path, { force: true });
  }
}

/** How many of the tasks' distinct real windows (every one but the altered halves) occur word for word in the pretraining text. */
export function verbatimInPretraining(data: ReuseData): { checked: number; found: number } {
  const text = data.split.pretrainText;
  const windows = new Set<string>();
  for (const task of data.tasks) {
    for (const part of [task.pool, task.test]) {
      // The altered half of a "real or …" task is not corpus text.
      part.texts.forEach((t, i) => { if (!(task.name.startsWith("real or") && part.labels[i] === 1)) windows.add(t); });
    }
  }
  let found = 0;
  for (const w of windows) if (text.includes(w)) found++;
  return { checked: windows.size, found };
}

/** The rate sweep as table rows: every rate's mean validation accuracy, the chosen one marked. */
export function chosenRateRows(chosen: readonly ChosenRate[]): Record<string, string | number>[] {
  return chosen.map((c) => ({
    task: c.task, method: c.method, "chosen rate": c.learningRate, "at the grid's edge": c.atEdge ? "yes" : "",
    "mean validation accuracy by rate": c.validationByRate
      .map((v) => `${v.learningRate}: ${Number.isNaN(v.accuracy) ? "diverged" : v.accuracy.toFixed(3)}${v.learningRate === c.learningRate ? " ◀" : ""}`)
      .join(", "),
  }));
}
