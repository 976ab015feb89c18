// Scores of how hard (informative) each training example is; higher means harder for every one:
//   EL2N       ‖softmax(f(x)) − onehot(y)‖₂ early in training, averaged over runs (Paul et al. 2021)
//   GraNd      ‖∇θ loss(x, y)‖₂, the per-example gradient norm, averaged over runs (Paul et al. 2021)
//   forgetting how often an example goes from correctly to wrongly classified during training;
//              never learned counts as infinitely forgotten (Toneva et al. 2019)
//   prototype  distance to the nearest k-means centroid in an embedding, no labels (Sorscher et al. 2022)
//   random     a seeded uniform draw: the baseline every score must beat
import { SoftmaxClassifier, trainClassifier } from "./classifier";
import { checkExamples, type Examples } from "./examples";
import { kMeans } from "./kmeans";
import { Random } from "../core/random";
import { checkFloat64Count, shown } from "../core/checks";

/** How the probe classifiers behind EL2N, GraNd and forgetting are trained on the whole pool. */
export interface ProbeOptions {
  /** Hidden ReLU units of the probe; 0 for a linear softmax classifier. */
  hidden: number;
  /** Epochs of SGD before scoring (0 scores at initialisation, as Paul et al. did for GraNd). */
  epochs: number;
  batchSize: number;
  learningRate: number;
  weightDecay?: number;
  /** Independent probes (initialisation and example order) averaged over. */
  runs: number;
  seed: number;
}

function checkProbe(fn: string, o: ProbeOptions): void {
  if (o == null) throw new Error(`${fn}: options {hidden, epochs, batchSize, learningRate, runs, seed} are required; got ${o}`);
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error(`${fn}: runs must be a positive integer; got ${o.runs}`);
  if (!Number.isInteger(o.epochs) || o.epochs < 0) throw new Error(`${fn}: epochs must be an integer ≥ 0; got ${o.epochs}`);
  if (!Number.isFinite(o.seed)) throw new Error(`${fn}: seed must be a finite number; got ${shown(o.seed)}`);
}

/** Seeds for each probe run's initialisation and example order, all drawn from one seed. */
export function probeSeeds(seed: number, runs: number): { init: number; order: number }[] {
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`probeSeeds: runs must be a positive integer; got ${shown(runs)}`);
  if (!Number.isFinite(seed)) throw new Error(`probeSeeds: seed must be a finite number; got ${shown(seed)}`);
  const r = new Random(seed);
  return Array.from({ length: runs }, () => ({ init: r.int(2 ** 31), order: r.int(2 ** 31) }));
}

/** Trains `runs` probes on the pool and averages `score(model)` over them. */
function averageOverProbes(fn: string, data: Examples, o: ProbeOptions, score: (model: SoftmaxClassifier) => Float64Array): Float64Array {
  const n = checkExamples(fn, data);
  checkProbe(fn, o);
  const sum = new Float64Array(n);
  for (const s of probeSeeds(o.seed, o.runs)) {
    const model = SoftmaxClassifier.init({ inputDim: data.dim, classes: data.classes, hidden: o.hidden }, s.init);
    trainClassifier(model, data, { epochs: o.epochs, batchSize: o.batchSize, learningRate: o.learningRate, weightDecay: o.weightDecay, seed: s.order });
    const scores = score(model);
    for (let i = 0; i < n; i++) sum[i] += scores[i] / o.runs;
  }
  return sum;
}

/** EL2N of each example under one model: ‖p − onehot(y)‖₂ with p the softmax output. */
export function exampleEl2n(model: SoftmaxClassifier, data: Examples): Float64Array {
  const n = model.checkData("exampleEl2n", data);
  const k = data.classes;
  const prob = new Float64Array(k);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    model.probabilitiesInto(data.x, i, prob);
    let s = 0;
    for (let c = 0; c < k; c++) { const e = prob[c] - (c === data.labels[i] ? 1 : 0); s += e * e; }
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** The norm of each example's cross-entropy gradient with respect to all of the model's parameters. */
export function exampleGradNorms(model: SoftmaxClassifier, data: Examples): Float64Array {
  const n = model.checkData("exampleGradNorms", data);
  const grad = new Float64Array(model.params.length);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    grad.fill(0);
    model.accumulateGradient(data.x, i, data.labels[i], grad);
    let s = 0;
    for (let j = 0; j < grad.length; j++) s += grad[j] * grad[j];
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** EL2N scores: mean over `runs` probes, each trained `epochs` epochs on the pool, of ‖p − onehot(y)‖₂. */
export function el2nScores(data: Examples, options: ProbeOptions): Float64Array {
  return averageOverProbes("el2nScores", data, options, (model) => exampleEl2n(model, data));
}

/** GraNd scores: mean over `runs` probes, each trained `epochs` epochs on the pool, of ‖∇θ loss‖₂. */
export function grandScores(data: Examples, options: ProbeOptions): Float64Array {
  return averageOverProbes("grandScores", data, options, (model) => exampleGradNorms(model, data));
}

/**
 * Counts forgetting events from each example's record of presentations (true = classified
 * correctly when presented): a transition from correct to wrong is one event. An example never
 * classified correctly gets Infinity.
 */
export class ForgettingCounter {
  private readonly previous: Int8Array;
  private readonly events: Float64Array;
  private readonly learned: Uint8Array;

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`ForgettingCounter: n must be a positive integer; got ${shown(n)}`);
    checkFloat64Count("ForgettingCounter", `the counts of ${n} examples`, n);
    this.previous = new Int8Array(n).fill(-1); // −1: not presented yet
    this.events = new Float64Array(n);
    this.learned = new Uint8Array(n);
  }

  record(index: number, correct: boolean): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.n) throw new Error(`ForgettingCounter: index ${shown(index)} is outside [0, ${this.n})`);
    if (typeof correct !== "boolean") throw new Error(`ForgettingCounter.record: correct must be true or false; got ${shown(correct)}`);
    if (this.previous[index] === 1 && !correct) this.events[index]++;
    if (correct) this.learned[index] = 1;
    this.previous[index] = correct ? 1 : 0;
  }

  counts(): Float64Array {
    return this.events.map((e, i) => (this.learned[i] ? e : Infinity));
  }
}

/** Forgetting counts from a scripted history: history[i] is example i's correctness at each presentation, in order. */
export function forgettingCounts(history: readonly (readonly boolean[])[]): Float64Array {
  if (!Array.isArray(history) || history.length === 0) throw new Error("forgettingCounts: the history is empty; expected one array of presentations per example");
  history.forEach((presentations, i) => {
    if (!Array.isArray(presentations)) throw new Error(`forgettingCounts: history[${i}] must be an array of true/false presentations; got ${shown(presentations)}`);
    presentations.forEach((correct, j) => {
      if (typeof correct !== "boolean") throw new Error(`forgettingCounts: history[${i}][${j}] must be true or false; got ${shown(correct)}`);
    });
  });
  const counter = new ForgettingCounter(history.length);
  history.forEach((presentations, i) => presentations.forEach((correct: boolean) => counter.record(i, correct)));
  return counter.counts();
}

/**
 * Forgetting scores: each of `runs` probes is trained `epochs` epochs on the pool while every
 * presentation is recorded; the counts are averaged over runs (Infinity, never learned in some
 * run, stays Infinity).
 */
export function forgettingScores(data: Examples, options: ProbeOptions): Float64Array {
  const fn = "forgettingScores";
  const n = checkExamples(fn, data);
  checkProbe(fn, options);
  if (options.epochs < 2) throw new Error(`${fn}: epochs must be ≥ 2 for an example to be forgotten; got ${options.epochs}`);
  const sum = new Float64Array(n);
  for (const s of probeSeeds(options.seed, options.runs)) {
    const model = SoftmaxClassifier.init({ inputDim: data.dim, classes: data.classes, hidden: options.hidden }, s.init);
    const counter = new ForgettingCounter(n);
    trainClassifier(model, data, {
      epochs: options.epochs, batchSize: options.batchSize, learningRate: options.learningRate, weightDecay: options.weightDecay, seed: s.order,
      onPresented: (i, correct) => counter.record(i, correct),
    });
    const counts = counter.counts();
    for (let i = 0; i < n; i++) sum[i] += counts[i] / options.runs;
  }
  return sum;
}

export interface PrototypeOptions {
  /** Clusters (Sorscher et al. use as many as there are classes). */
  k: number;
  seed: number;
  restarts?: number;
}

/**
 * The self-supervised prototype score: distance from each point of an embedding [n, dim] to its
 * nearest k-means centroid. Uses no labels; far from every prototype = hard.
 */
export function prototypeScores(embedding: Float64Array, dim: number, options: PrototypeOptions): Float64Array {
  if (options == null) throw new Error(`prototypeScores: options {k, seed} are required; got ${options}`);
  return kMeans(embedding, dim, { k: options.k, seed: options.seed, restarts: options.restarts }).distances;
}

/** Random scores, uniform in [0, 1): keeping the "hardest" of these keeps a random subset. */
export function randomScores(n: number, seed: number): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new Error(`randomScores: n must be a positive integer; got ${shown(n)}`);
  checkFloat64Count("randomScores", `the scores of ${n} examples`, n);
  const r = new Random(seed);
  return Float64Array.from({ length: n }, () => r.next());
}
