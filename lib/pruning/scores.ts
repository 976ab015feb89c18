// Scores of how hard (informative) each training example is; higher means harder for every one:
//   EL2N       ‖softmax(f(x)) − onehot(y)‖₂ early in training, averaged over runs (Paul et al. 2021)
//   GraNd      ‖∇θ loss(x, y)‖₂, the per-example gradient norm, averaged over runs (Paul et al. 2021)
//   forgetting how often an example goes from correctly to wrongly classified during training;
//              never learned counts as infinitely forgotten (Toneva et al. 2019)
//   prototype  distance to the nearest k-means centroid in an embedding, no labels (Sorscher et al. 2022)
//   random     a seeded uniform draw: the baseline every score must beat
import { checkSgd, SoftmaxClassifier, trainUnchecked } from "./classifier";
import { checkExamples, type Examples } from "./examples";
import { kMeans } from "./kmeans";
import { Random } from "../core/random";
import { checkFloat64Count, checkInteger, checkNonEmpty, checkNumber, checkObject, checkPositiveInteger, checkThat } from "../core/checks";

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

/** Checks the probe options once, for every run: the runs, and the SGD each probe is trained with. */
function checkProbe(fn: string, o: ProbeOptions): void {
  checkObject(fn, "options", o, "{hidden, epochs, batchSize, learningRate, runs, seed}");
  checkPositiveInteger(fn, "runs", o.runs);
  checkSgd({ epochs: o.epochs, batchSize: o.batchSize, learningRate: o.learningRate, weightDecay: o.weightDecay, seed: o.seed }, fn);
}

/** Seeds for each probe run's initialisation and example order, all drawn from one seed. */
export function probeSeeds(seed: number, runs: number): { init: number; order: number }[] {
  checkPositiveInteger("probeSeeds", "runs", runs);
  checkNumber("probeSeeds", "seed", seed);
  return seedsOf(seed, runs);
}

function seedsOf(seed: number, runs: number): { init: number; order: number }[] {
  const r = new Random(seed);
  return Array.from({ length: runs }, () => ({ init: r.int(2 ** 31), order: r.int(2 ** 31) }));
}

/** Trains `runs` probes on the pool and averages `score(model)` over them. */
function averageOverProbes(fn: string, data: Examples, o: ProbeOptions, score: (model: SoftmaxClassifier) => Float64Array): Float64Array {
  const n = checkExamples(fn, data);
  checkProbe(fn, o);
  const sum = new Float64Array(n);
  // Data and options were checked above, once: each run trains and scores unchecked.
  for (const s of seedsOf(o.seed, o.runs)) {
    const model = SoftmaxClassifier.init({ inputDim: data.dim, classes: data.classes, hidden: o.hidden }, s.init);
    trainUnchecked(model, data, { epochs: o.epochs, batchSize: o.batchSize, learningRate: o.learningRate, weightDecay: o.weightDecay, seed: s.order });
    const scores = score(model);
    for (let i = 0; i < n; i++) sum[i] += scores[i] / o.runs;
  }
  return sum;
}

/** A per-example score as lessons call it: the data checked against the model once, at the door. */
function checkedScore(fn: string, score: (model: SoftmaxClassifier, data: Examples) => Float64Array) {
  return (model: SoftmaxClassifier, data: Examples): Float64Array => {
    model.checkData(fn, data);
    return score(model, data);
  };
}

function el2nOf(model: SoftmaxClassifier, data: Examples): Float64Array {
  const n = data.labels.length;
  const k = data.classes;
  const prob = new Float64Array(k);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    model.probabilitiesAt(data.x, i, prob);
    let s = 0;
    for (let c = 0; c < k; c++) { const e = prob[c] - (c === data.labels[i] ? 1 : 0); s += e * e; }
    out[i] = Math.sqrt(s);
  }
  return out;
}

function gradNormsOf(model: SoftmaxClassifier, data: Examples): Float64Array {
  const n = data.labels.length;
  const grad = new Float64Array(model.params.length);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    grad.fill(0);
    model.gradientAt(data.x, i, data.labels[i], grad, 1);
    let s = 0;
    for (let j = 0; j < grad.length; j++) s += grad[j] * grad[j];
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** EL2N of each example under one model: ‖p − onehot(y)‖₂ with p the softmax output. */
export const exampleEl2n = checkedScore("exampleEl2n", el2nOf);

/** The norm of each example's cross-entropy gradient with respect to all of the model's parameters. */
export const exampleGradNorms = checkedScore("exampleGradNorms", gradNormsOf);

/** EL2N scores: mean over `runs` probes, each trained `epochs` epochs on the pool, of ‖p − onehot(y)‖₂. */
export function el2nScores(data: Examples, options: ProbeOptions): Float64Array {
  return averageOverProbes("el2nScores", data, options, (model) => el2nOf(model, data));
}

/** GraNd scores: mean over `runs` probes, each trained `epochs` epochs on the pool, of ‖∇θ loss‖₂. */
export function grandScores(data: Examples, options: ProbeOptions): Float64Array {
  return averageOverProbes("grandScores", data, options, (model) => gradNormsOf(model, data));
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
    checkPositiveInteger("ForgettingCounter", "n", n);
    checkFloat64Count("ForgettingCounter", `the counts of ${n} examples`, n);
    this.previous = new Int8Array(n).fill(-1); // −1: not presented yet
    this.events = new Float64Array(n);
    this.learned = new Uint8Array(n);
  }

  record(index: number, correct: boolean): void {
    checkInteger("ForgettingCounter.record", "index", index, 0, this.n - 1);
    checkThat(typeof correct === "boolean", "ForgettingCounter.record", "correct", correct, "true or false");
    this.tally(index, correct);
  }

  /** record without its checks, for presentations whose index and flag were checked once (or come from trainClassifier). */
  tally(index: number, correct: boolean): void {
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
  checkForgettingInputs("forgettingCounts", history);
  const counter = new ForgettingCounter(history.length);
  history.forEach((presentations, i) => presentations.forEach((correct: boolean) => counter.tally(i, correct)));
  return counter.counts();
}

/** Throws unless `history` holds, for at least one example, an array of true/false presentations. */
function checkForgettingInputs(fn: string, history: readonly (readonly boolean[])[]): void {
  checkThat(Array.isArray(history), fn, "history", history, "an array with one array of presentations per example");
  checkNonEmpty(fn, "history", history, "one array of presentations per example");
  history.forEach((presentations, i) => {
    checkThat(Array.isArray(presentations), fn, `history[${i}]`, presentations, "an array of true/false presentations");
    presentations.forEach((correct, j) => checkThat(typeof correct === "boolean", fn, `history[${i}][${j}]`, correct, "true or false"));
  });
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
  checkThat(options.epochs >= 2, fn, "epochs", options.epochs, "≥ 2 for an example to be forgotten");
  const sum = new Float64Array(n);
  for (const s of seedsOf(options.seed, options.runs)) {
    const model = SoftmaxClassifier.init({ inputDim: data.dim, classes: data.classes, hidden: options.hidden }, s.init);
    const counter = new ForgettingCounter(n);
    trainUnchecked(model, data, {
      epochs: options.epochs, batchSize: options.batchSize, learningRate: options.learningRate, weightDecay: options.weightDecay, seed: s.order,
      onPresented: (i, correct) => counter.tally(i, correct),
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
  checkObject("prototypeScores", "options", options, "{k, seed}");
  return kMeans(embedding, dim, { k: options.k, seed: options.seed, restarts: options.restarts }).distances;
}

/** Random scores, uniform in [0, 1): keeping the "hardest" of these keeps a random subset. */
export function randomScores(n: number, seed: number): Float64Array {
  checkPositiveInteger("randomScores", "n", n);
  checkFloat64Count("randomScores", `the scores of ${n} examples`, n);
  const r = new Random(seed);
  return Float64Array.from({ length: n }, () => r.next());
}
