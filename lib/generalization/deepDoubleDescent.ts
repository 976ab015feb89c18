// Deep double descent (Nakkiran et al. 2019): the random-features peak of doubleDescent.ts, with
// every weight trained. A two-layer ReLU network f(x) = Σⱼ aⱼ·relu(wⱼ·x + bⱼ) + c is fitted to n
// noisy points by full-batch Adam until it (nearly) interpolates them, at widths from far below
// to far above the interpolation threshold, where its parameter count passes n. The target is a
// small two-layer ReLU "teacher", so that narrow networks underfit it. Float64 throughout, plain
// loops: these networks are small enough, and the arithmetic is the same on every machine.
import { join } from "node:path";

import { checkNonEmpty, checkNumber, checkObject, checkPositive, checkPositiveInteger, shown } from "../core/checks";
import { interruptWatch } from "../core/interrupt";
import { projectRoot } from "../core/paths";
import { quantile } from "../core/numerics";
import { fingerprint, readResults, resultId, stamp, type RunContext, type StampedResult } from "../core/results";
import { Random } from "../core/random";
import { parseScale, type Scale } from "../core/scale";
import { StudyFile } from "../core/study";

export interface TeacherTask {
  /** Input dimension d (inputs are standard normal). */
  inputDim: number;
  /** Hidden units of the teacher network. */
  teacherUnits: number;
  nTrain: number;
  nTest: number;
}

export interface RegressionData {
  /** [rows, d] inputs, row-major. */
  x: Float64Array;
  /** Targets: the teacher's output, plus label noise on the training set. */
  y: Float64Array;
  rows: number;
}

/**
 * Seed `seed`'s task: a teacher, n training and nTest test inputs, the clean targets, and the
 * training targets with label noise of standard deviation `noise`. The noise is drawn from a
 * stream of its own, so that every noise level of a seed shares the teacher and the inputs.
 */
export function teacherData(task: TeacherTask, seed: number, noise: number): { train: RegressionData; test: RegressionData } {
  const { inputDim: d, teacherUnits: m } = task;
  const r = new Random(seed);
  const u = Float64Array.from({ length: m * d }, () => r.normal() / Math.sqrt(d));
  // Signs alternate so that the target has no large mean; √(2/m) makes its variance about 1.
  const teacher = (x: Float64Array, i: number) => {
    let out = 0;
    for (let j = 0; j < m; j++) {
      let t = 0;
      for (let k = 0; k < d; k++) t += u[j * d + k] * x[i * d + k];
      if (t > 0) out += (j % 2 === 0 ? 1 : -1) * t;
    }
    return out * Math.sqrt(2 / m);
  };
  const sample = (rows: number) => {
    const x = Float64Array.from({ length: rows * d }, () => r.normal());
    return { x, y: Float64Array.from({ length: rows }, (_, i) => teacher(x, i)), rows };
  };
  const train = sample(task.nTrain);
  const test = sample(task.nTest);
  const noiseRandom = new Random(seed + 1_000_003);
  for (let i = 0; i < train.rows; i++) train.y[i] += noise * noiseRandom.normal();
  return { train, test };
}

/** A two-layer ReLU network of width h on d inputs: W [h, d], b [h], a [h], c. */
export interface TwoLayerNet {
  inputDim: number;
  width: number;
  w: Float64Array;
  b: Float64Array;
  a: Float64Array;
  c: Float64Array;
}

/** Parameters of a two-layer network of width h on d inputs: h(d + 2) + 1. */
export const twoLayerParams = (inputDim: number, width: number) => width * (inputDim + 2) + 1;

/** He-style initialisation: wⱼ ~ N(0, I/d), aⱼ ~ N(0, 1/h), biases zero. */
export function initTwoLayerNet(inputDim: number, width: number, seed: number): TwoLayerNet {
  checkPositiveInteger("initTwoLayerNet", "inputDim", inputDim);
  checkPositiveInteger("initTwoLayerNet", "width", width);
  const r = new Random(seed);
  return {
    inputDim, width,
    w: Float64Array.from({ length: width * inputDim }, () => r.normal() / Math.sqrt(inputDim)),
    b: new Float64Array(width),
    a: Float64Array.from({ length: width }, () => r.normal() / Math.sqrt(width)),
    c: new Float64Array(1),
  };
}

/** The network's outputs on `data`'s inputs; `hidden` receives the pre-activations [rows, h] if given. */
export function netOutputs(net: TwoLayerNet, data: Pick<RegressionData, "x" | "rows">, hidden?: Float64Array): Float64Array {
  const { inputDim: d, width: h, w, b, a } = net;
  const out = new Float64Array(data.rows);
  for (let i = 0; i < data.rows; i++) {
    let s = net.c[0];
    for (let j = 0; j < h; j++) {
      let t = b[j];
      for (let k = 0; k < d; k++) t += w[j * d + k] * data.x[i * d + k];
      if (hidden) hidden[i * h + j] = t;
      if (t > 0) s += a[j] * t;
    }
    out[i] = s;
  }
  return out;
}

export function meanSquaredError(net: TwoLayerNet, data: RegressionData): number {
  const out = netOutputs(net, data);
  let sum = 0;
  for (let i = 0; i < data.rows; i++) sum += (out[i] - data.y[i]) ** 2;
  return sum / data.rows;
}

/**
 * The mean squared error on `data` and its gradient with respect to every parameter, in the
 * order w, b, a, c: the backward pass written out.
 */
export function lossAndGradient(net: TwoLayerNet, data: RegressionData): { loss: number; grad: [Float64Array, Float64Array, Float64Array, Float64Array] } {
  const { inputDim: d, width: h, a } = net;
  const hidden = new Float64Array(data.rows * h);
  const out = netOutputs(net, data, hidden);
  const gw = new Float64Array(h * d), gb = new Float64Array(h), ga = new Float64Array(h), gc = new Float64Array(1);
  let loss = 0;
  for (let i = 0; i < data.rows; i++) {
    const e = out[i] - data.y[i];
    loss += (e * e) / data.rows;
    const g = (2 * e) / data.rows; // ∂loss/∂outᵢ
    gc[0] += g;
    for (let j = 0; j < h; j++) {
      const t = hidden[i * h + j];
      if (t <= 0) continue; // relu passes no gradient where it is off
      ga[j] += g * t;
      const gt = g * a[j];
      gb[j] += gt;
      for (let k = 0; k < d; k++) gw[j * d + k] += gt * data.x[i * d + k];
    }
  }
  return { loss, grad: [gw, gb, ga, gc] };
}

export interface NetTraining {
  steps: number;
  learningRate: number;
}

/** Full-batch Adam (β 0.9, 0.999, ε 1e-8, no weight decay) on the training MSE, in place; returns the last training loss. */
export function trainTwoLayerNet(net: TwoLayerNet, data: RegressionData, o: NetTraining): number {
  checkPositiveInteger("trainTwoLayerNet", "steps", o.steps);
  checkPositive("trainTwoLayerNet", "learningRate", o.learningRate);
  const params = [net.w, net.b, net.a, net.c];
  const m = params.map((p) => new Float64Array(p.length)), v = params.map((p) => new Float64Array(p.length));
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  let loss = NaN;
  for (let step = 1; step <= o.steps; step++) {
    const r = lossAndGradient(net, data);
    loss = r.loss;
    const c1 = 1 - beta1 ** step, c2 = 1 - beta2 ** step;
    r.grad.forEach((g, q) => {
      const p = params[q], mq = m[q], vq = v[q];
      for (let i = 0; i < p.length; i++) {
        mq[i] = beta1 * mq[i] + (1 - beta1) * g[i];
        vq[i] = beta2 * vq[i] + (1 - beta2) * g[i] * g[i];
        p[i] -= (o.learningRate * (mq[i] / c1)) / (Math.sqrt(vq[i] / c2) + eps);
      }
    });
  }
  return loss;
}

/** The study: every width, at every noise level and seed, trained to (near) interpolation. */
export interface DeepDoubleDescentDesign extends TeacherTask, NetTraining {
  /** Names the stored study: datasets/generalization/<name>.jsonl. */
  name: string;
  widths: number[];
  /** Label noise standard deviations; the teacher's output has variance about 1. */
  noises: number[];
  seeds: number[];
  /** At full scale, the widths and seed the lesson trains again live beside the stored study. */
  live: { widths: number[]; seed: number };
}

export function deepDoubleDescentDesign(scale: Scale): DeepDoubleDescentDesign {
  parseScale(scale, "deepDoubleDescentDesign: scale");
  if (scale === "smoke") {
    return {
      name: "deep-double-descent-smoke", inputDim: 5, teacherUnits: 4, nTrain: 40, nTest: 200,
      widths: [1, 2, 4, 6, 8, 12, 24, 96], noises: [0, 0.5], seeds: [1, 2], steps: 1500, learningRate: 1e-2, live: { widths: [2, 6], seed: 1 },
    };
  }
  // n = 200 points in d = 20: the threshold h(d + 2) + 1 = n lies at width 9.
  return {
    name: "deep-double-descent", inputDim: 20, teacherUnits: 8, nTrain: 200, nTest: 2000,
    widths: [1, 2, 3, 4, 6, 8, 9, 10, 11, 12, 14, 16, 20, 24, 32, 48, 64, 128, 256, 512],
    noises: [0, 0.5], seeds: [1, 2, 3, 4, 5], steps: 5000, learningRate: 1e-2, live: { widths: [2, 9, 64], seed: 1 },
  };
}

export interface NetRun {
  width: number;
  noise: number;
  seed: number;
}

export interface NetResult extends StampedResult, NetRun {
  params: number;
  trainMse: number;
  /** Against the clean teacher: what the network learned of the function, not of the noise. */
  testMse: number;
  seconds: number;
}

const REQUIRED: (keyof NetResult)[] = ["width", "noise", "seed", "params", "trainMse", "testMse"];
const STUDY_COMMAND = "npm run double-descent-study -- --grid full";
/** The arithmetic is plain float64 JavaScript, not a tfjs backend. */
const BACKEND = "float64";

export function readNetResults(path: string, command = STUDY_COMMAND): NetResult[] {
  return readResults<NetResult>(path, REQUIRED, command);
}

/** What decides a run's result: the task, the training, the run. */
function netSettings(design: DeepDoubleDescentDesign, run: NetRun) {
  const { inputDim, teacherUnits, nTrain, nTest, steps, learningRate } = design;
  return { inputDim, teacherUnits, nTrain, nTest, steps, learningRate, ...run };
}

function netRunId(design: DeepDoubleDescentDesign, run: NetRun): string {
  const settings = netSettings(design, run);
  return resultId(settings, netContext(settings));
}

function netContext(settings: object): RunContext {
  // The data are generated from the settings and seed: their fingerprint is the settings'.
  return { dataHash: fingerprint(JSON.stringify(settings)), backend: BACKEND };
}

export function checkNetDesign(fn: string, design: DeepDoubleDescentDesign): void {
  checkObject(fn, "design", design, "a deepDoubleDescentDesign(scale)");
  for (const key of ["inputDim", "teacherUnits", "nTrain", "nTest", "steps"] as const) checkPositiveInteger(fn, `design.${key}`, design[key]);
  checkPositive(fn, "design.learningRate", design.learningRate);
  for (const key of ["widths", "noises", "seeds"] as const) checkNonEmpty(fn, `design.${key}`, design[key]);
  design.widths.forEach((h, i) => checkPositiveInteger(fn, `design.widths[${i}]`, h));
  design.noises.forEach((s, i) => checkNumber(fn, `design.noises[${i}]`, s, 0));
}

/** Trains one run: its seed's data at its noise, a network of its width from its own initialisation. */
export function trainNetRun(design: DeepDoubleDescentDesign, run: NetRun): NetResult {
  const started = performance.now();
  const { train, test } = teacherData(design, run.seed, run.noise);
  // The initialisation depends on the seed and width, not the noise: the noise levels are paired.
  const net = initTwoLayerNet(design.inputDim, run.width, 1_000 * run.seed + run.width);
  trainTwoLayerNet(net, train, design);
  const settings = netSettings(design, run);
  return stamp(settings, netContext(settings), {
    ...run, params: twoLayerParams(design.inputDim, run.width), trainMse: meanSquaredError(net, train), testMse: meanSquaredError(net, test),
    seconds: (performance.now() - started) / 1000,
  });
}

/** Every run of the design: widest first within a seed, so that the long runs start early. */
export function netRuns(design: DeepDoubleDescentDesign): NetRun[] {
  return design.seeds.flatMap((seed) => design.noises.flatMap((noise) => [...design.widths].sort((a, b) => b - a).map((width) => ({ width, noise, seed }))));
}

/** Trains every run not yet in `path` (rewritten after each); returns the design's results in netRuns order. */
export async function runDeepDoubleDescent(
  design: DeepDoubleDescentDesign, options: { path: string; command?: string; jobs?: number; onRunEnd?: (r: NetResult, done: number, total: number) => void },
): Promise<NetResult[]> {
  checkNetDesign("runDeepDoubleDescent", design);
  const file = new StudyFile(options.path, (path) => readNetResults(path, options.command));
  return file.resume("runDeepDoubleDescent", netRuns(design).map((run) => ({ run, id: netRunId(design, run) })), {
    describe: (run) => `width ${run.width}, noise ${run.noise}, seed ${run.seed}`, jobs: options.jobs,
    train: async (run) => trainNetRun(design, run),
    worker: { module: "generalization/worker.ts", input: (run) => ({ design, run }), describe: (run) => `width ${run.width}, noise ${run.noise}, seed ${run.seed}` },
    onRunEnd: options.onRunEnd && ((line, _, done, total) => options.onRunEnd!(line, done, total)),
  });
}

/** Where the full study is stored, produced by `npm run double-descent-study -- --grid full`. */
export function storedNetStudyPath(design: DeepDoubleDescentDesign): string {
  return `datasets/generalization/${design.name}.jsonl`;
}

/** The stored study's results for `design`, in netRuns order; an error names what is missing and the command. */
export function storedNetResults(design: DeepDoubleDescentDesign, path: string): NetResult[] {
  checkNetDesign("storedNetResults", design);
  const file = new StudyFile(path, (p) => readNetResults(p));
  return file.find(netRuns(design).map((run) => ({ run, id: netRunId(design, run) })), {
    file: storedNetStudyPath(design), backend: BACKEND, command: STUDY_COMMAND, describe: (run) => `width ${run.width}, noise ${run.noise}, seed ${run.seed}`,
  });
}

/**
 * Trains `runs` here, one after another, yielding between runs so that Kernel → Interrupt stops
 * them (InterruptedError) at the next run: a run of the full design takes at most a few seconds.
 */
export async function trainNetRuns(design: DeepDoubleDescentDesign, runs: readonly NetRun[], onRunEnd?: (r: NetResult, done: number, total: number) => void): Promise<NetResult[]> {
  checkNetDesign("trainNetRuns", design);
  const watch = interruptWatch("deep double descent");
  try {
    const results: NetResult[] = [];
    for (const run of runs) {
      await new Promise((resolve) => setImmediate(resolve));
      watch.check(`before width ${run.width}, noise ${run.noise}, seed ${run.seed} (${results.length} of ${runs.length} runs done)`);
      results.push(trainNetRun(design, run));
      onRunEnd?.(results.at(-1)!, results.length, runs.length);
    }
    return results;
  } finally {
    watch.dispose();
  }
}

/**
 * The study for the lesson: at full scale the stored results (`npm run double-descent-study --
 * --grid full`; an error names what is missing), at smoke scale the smoke design trained now.
 */
export async function deepDoubleDescentStudy(scale: Scale, onRunEnd?: (r: NetResult, done: number, total: number) => void): Promise<NetResult[]> {
  const design = deepDoubleDescentDesign(scale);
  if (scale === "full") return storedNetResults(design, join(projectRoot(), storedNetStudyPath(design)));
  return trainNetRuns(design, netRuns(design), onRunEnd);
}

/** The design's live slice (its live widths at every noise level, for its live seed), trained now. */
export function liveNetRuns(design: DeepDoubleDescentDesign): NetRun[] {
  return design.noises.flatMap((noise) => design.live.widths.map((width) => ({ width, noise, seed: design.live.seed })));
}

export interface WidthPoint {
  width: number;
  params: number;
  seeds: number;
  /** Medians over seeds, and the 10th and 90th percentiles of the test error. */
  trainMse: number;
  testMse: number;
  testLow: number;
  testHigh: number;
}

/** Per width, the medians over seeds of the runs at one noise level, narrowest first. */
export function widthCurve(results: readonly NetResult[], noise: number): WidthPoint[] {
  const at = results.filter((r) => r.noise === noise);
  if (at.length === 0) throw new Error(`widthCurve: no results at noise ${shown(noise)}; have ${[...new Set(results.map((r) => r.noise))].join(", ")}`);
  const widths = [...new Set(at.map((r) => r.width))].sort((a, b) => a - b);
  return widths.map((width) => {
    const runs = at.filter((r) => r.width === width);
    const test = runs.map((r) => r.testMse).sort((a, b) => a - b);
    const train = runs.map((r) => r.trainMse).sort((a, b) => a - b);
    return {
      width, params: runs[0].params, seeds: runs.length, trainMse: quantile(train, 0.5), testMse: quantile(test, 0.5),
      testLow: quantile(test, 0.1), testHigh: quantile(test, 0.9),
    };
  });
}

/** What a curve says: where it peaks, the best before the peak, the widest network's error, where training error first falls below a share of the noise. */
export function readWidthCurve(curve: readonly WidthPoint[], nTrain: number) {
  const peak = curve.reduce((a, b) => (b.testMse > a.testMse ? b : a));
  const before = curve.filter((p) => p.width < peak.width);
  const bestBefore = before.length > 0 ? before.reduce((a, b) => (b.testMse < a.testMse ? b : a)) : null;
  const widest = curve.at(-1)!;
  const threshold = curve.find((p) => p.params >= nTrain) ?? null;
  return { peak, bestBefore, widest, threshold, secondDescent: peak !== widest && widest.testMse < peak.testMse };
}
