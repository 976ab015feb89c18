// The small classifier the pruning scores are read from, and the one trained on the pruned
// sets: softmax over a linear map, or over one hidden ReLU layer. Float64 and one example at a
// time, so that every per-example gradient is exact (GraNd needs them) and checkable by hand.
import { checkExamples, type Examples } from "./examples";
import { Random } from "../core/random";
import { checkFloat64Count, checkFunction, checkInteger, checkNonEmpty, checkNumber, checkObject, checkPositive, checkPositiveInteger, checkThat, describeValue, refuse, shown } from "../core/checks";

export interface ClassifierConfig {
  inputDim: number;
  classes: number;
  /** Hidden ReLU units; 0 gives a linear softmax classifier (logistic regression for 2 classes). */
  hidden: number;
  /** Initial weights ~ N(0, initScale²/fanIn), biases 0. Default 1; 0 starts from all zeros. */
  initScale?: number;
}

export interface SgdOptions {
  epochs: number;
  /** Examples per step; the last step of an epoch takes the remainder. */
  batchSize: number;
  learningRate: number;
  /** L2 penalty (weightDecay/2)·‖θ‖² on every parameter, biases included. Default 0. */
  weightDecay?: number;
  /** Seeds the order of examples in every epoch. */
  seed: number;
  /**
   * Called for each example as it is presented, before the step that uses it, with whether
   * the model then classified it correctly (Toneva et al.'s bookkeeping for forgetting).
   */
  onPresented?: (index: number, correct: boolean, epoch: number) => void;
  onEpochEnd?: (epoch: number) => void;
}

/** Throws unless the shape is whole numbers (inputDim ≥ 1, hidden ≥ 0, classes ≥ 2) and initScale a finite number ≥ 0; `fn` names the caller. */
export function checkConfig(c: ClassifierConfig, fn = "SoftmaxClassifier"): void {
  checkObject(fn, "config", c, "{inputDim, classes, hidden}");
  for (const [k, v] of Object.entries({ inputDim: c.inputDim, classes: c.classes, hidden: c.hidden })) {
    checkInteger(fn, k, v, k === "hidden" ? 0 : 1);
  }
  checkInteger(fn, "classes", c.classes, 2);
  const s = c.initScale ?? 1;
  checkNumber(fn, "initScale", s, 0);
}

/** Throws unless every parameter is finite (a NaN would make every prediction class 0, silently). */
function checkFinite(fn: string, params: Float64Array, advice: string): void {
  for (let j = 0; j < params.length; j++) {
    if (!Number.isFinite(params[j])) throw new Error(`${fn}: params[${j}] is ${params[j]}; ${advice}`);
  }
}

/** A logit that is not finite: parameters too large for the inputs, as after diverged training. */
class LogitOverflowError extends Error {
  constructor(readonly row: number, readonly unit: number, readonly logit: number) {
    super(`probabilitiesInto: the logit of class ${unit} for row ${row} is ${logit}; the parameters are too large for these inputs (did training diverge? lower the learning rate)`);
  }
}

/**
 * Parameters in one flat Float64Array: with a hidden layer [W1 (hidden×inputDim), b1, W2
 * (classes×hidden), b2]; without one [W (classes×inputDim), b]. Weights are row-major, one row
 * per output unit.
 */
export class SoftmaxClassifier {
  readonly config: ClassifierConfig;
  readonly params: Float64Array;
  private readonly hiddenBuffer: Float64Array;
  private readonly logitBuffer: Float64Array;
  private readonly deltaBuffer: Float64Array;
  private readonly probBuffer: Float64Array;

  constructor(config: ClassifierConfig, params?: Float64Array) {
    checkConfig(config);
    this.config = { ...config };
    const size = SoftmaxClassifier.parameterCount(config);
    checkFloat64Count("SoftmaxClassifier", `the parameters of inputDim ${config.inputDim}, hidden ${config.hidden}, classes ${config.classes}`, size);
    if (params && params.length !== size) {
      throw new Error(`SoftmaxClassifier: expected ${size} parameters for inputDim ${config.inputDim}, hidden ${config.hidden}, classes ${config.classes}; got ${params.length}`);
    }
    if (params) checkFinite("SoftmaxClassifier", params, "every parameter must be a finite number");
    this.params = params ? Float64Array.from(params) : new Float64Array(size);
    this.hiddenBuffer = new Float64Array(config.hidden);
    this.logitBuffer = new Float64Array(config.classes);
    this.deltaBuffer = new Float64Array(config.hidden);
    this.probBuffer = new Float64Array(config.classes);
  }

  static parameterCount(c: ClassifierConfig): number {
    checkConfig(c, "SoftmaxClassifier.parameterCount");
    const { inputDim: d, classes: k, hidden: h } = c;
    return h > 0 ? h * d + h + k * h + k : k * d + k;
  }

  /** A classifier with weights ~ N(0, initScale²/fanIn) drawn from `seed`, biases 0. */
  static init(config: ClassifierConfig, seed: number): SoftmaxClassifier {
    const model = new SoftmaxClassifier(config);
    const scale = config.initScale ?? 1;
    if (scale === 0) return model;
    const r = new Random(seed);
    const { inputDim: d, classes: k, hidden: h } = config;
    const fill = (from: number, count: number, fanIn: number) => {
      const std = scale / Math.sqrt(fanIn);
      for (let i = 0; i < count; i++) model.params[from + i] = r.normal() * std;
    };
    if (h > 0) {
      fill(0, h * d, d);
      fill(h * d + h, k * h, h);
    } else {
      fill(0, k * d, d);
    }
    return model;
  }

  /** The last layer's input for one example: the hidden ReLU activations, or the input itself. */
  private features(x: Float64Array, offset: number): { f: Float64Array; off: number } {
    const { inputDim: d, hidden: h } = this.config;
    if (h === 0) return { f: x, off: offset };
    const p = this.params, a = this.hiddenBuffer;
    for (let j = 0; j < h; j++) {
      let z = p[h * d + j];
      const row = j * d;
      for (let i = 0; i < d; i++) z += p[row + i] * x[offset + i];
      a[j] = z > 0 ? z : 0;
    }
    return { f: a, off: 0 };
  }

  /** Throws unless `row` is a whole row of `x` ([?, inputDim]). O(1): called once per example. */
  private checkRow(fn: string, x: Float64Array, row: number): void {
    const d = this.config.inputDim;
    if (!(x instanceof Float64Array)) refuse(fn, "x", x, "a Float64Array [rows, inputDim]", describeValue(x));
    const rows = Math.floor(x.length / d);
    checkThat(Number.isInteger(row) && row >= 0 && row < rows, fn, "row", row, `a row of x in [0, ${rows}) (x holds ${rows} rows of inputDim ${d})`);
  }

  /**
   * Softmax probabilities of the example at row `row` of `x` ([?, inputDim]), written into `out`.
   * Unlike the methods that take Examples, it does not scan x or the parameters for NaN.
   */
  probabilitiesInto(x: Float64Array, row: number, out: Float64Array): Float64Array {
    const k = this.config.classes;
    this.checkRow("probabilitiesInto", x, row);
    if (!(out != null && out.length >= k)) refuse("probabilitiesInto", "out", out, `${k} values long (one per class)`, out == null ? shown(out) : `${out.length}`);
    return this.probabilitiesAt(x, row, out);
  }

  /** probabilitiesInto without its checks, for loops over rows their caller checked once (checkData). */
  probabilitiesAt(x: Float64Array, row: number, out: Float64Array): Float64Array {
    const { inputDim: d, classes: k, hidden: h } = this.config;
    const { f, off } = this.features(x, row * d);
    const m = h > 0 ? h : d;
    const base = h > 0 ? h * d + h : 0; // where the last layer's weights start
    const p = this.params;
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      let z = p[base + k * m + c];
      const w = base + c * m;
      for (let i = 0; i < m; i++) z += p[w + i] * f[off + i];
      if (!Number.isFinite(z)) throw new LogitOverflowError(row, c, z);
      this.logitBuffer[c] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let c = 0; c < k; c++) { out[c] = Math.exp(this.logitBuffer[c] - max); sum += out[c]; }
    for (let c = 0; c < k; c++) out[c] /= sum;
    return out;
  }

  /** Softmax probabilities of every example, [n, classes]. */
  probabilities(data: Examples): Float64Array {
    const n = this.checkData("probabilities", data);
    const k = this.config.classes;
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) this.probabilitiesAt(data.x, i, out.subarray(i * k, i * k + k));
    return out;
  }

  /** Fraction of examples whose most probable class is not their label. */
  errorRate(data: Examples): number {
    const n = this.checkData("errorRate", data);
    const k = this.config.classes;
    const prob = new Float64Array(k);
    let wrong = 0;
    for (let i = 0; i < n; i++) if (argmax(this.probabilitiesAt(data.x, i, prob)) !== data.labels[i]) wrong++;
    return wrong / n;
  }

  /**
   * Cross-entropy loss of one example and its gradient with respect to every parameter, ADDED
   * into `grad` (scaled by `scale`). Returns the loss and whether the prediction was correct.
   * Backpropagation by hand: ∂L/∂z = p − onehot(y) for the logits z.
   */
  accumulateGradient(x: Float64Array, row: number, label: number, grad: Float64Array, scale = 1): { loss: number; correct: boolean } {
    const fn = "accumulateGradient";
    this.checkRow(fn, x, row);
    checkThat(Number.isInteger(label) && label >= 0 && label < this.config.classes, fn, "label", label, `a class in [0, ${this.config.classes})`);
    if (!(grad instanceof Float64Array) || grad.length !== this.params.length) {
      refuse(fn, "grad", grad, `a Float64Array of ${this.params.length} values (one per parameter)`, grad instanceof Float64Array ? `${grad.length}` : shown(grad));
    }
    checkNumber(fn, "scale", scale);
    return this.gradientAt(x, row, label, grad, scale);
  }

  /** accumulateGradient without its checks, for the training loop: its rows, labels and grad were checked once. */
  gradientAt(x: Float64Array, row: number, label: number, grad: Float64Array, scale: number): { loss: number; correct: boolean } {
    const { inputDim: d, classes: k, hidden: h } = this.config;
    const prob = this.probabilitiesAt(x, row, this.probBuffer);
    const correct = argmax(prob) === label;
    const loss = -Math.log(Math.max(prob[label], 1e-300));
    const { f, off } = this.features(x, row * d);
    const m = h > 0 ? h : d;
    const base = h > 0 ? h * d + h : 0;
    const p = this.params;
    if (h > 0) this.deltaBuffer.fill(0);
    for (let c = 0; c < k; c++) {
      const g = (prob[c] - (c === label ? 1 : 0)) * scale;
      if (g === 0) continue;
      const w = base + c * m;
      for (let i = 0; i < m; i++) {
        grad[w + i] += g * f[off + i];
        if (h > 0) this.deltaBuffer[i] += g * p[w + i];
      }
      grad[base + k * m + c] += g;
    }
    if (h > 0) {
      // Through the ReLU: only active units pass the gradient back to W1, b1.
      for (let j = 0; j < h; j++) {
        if (!(f[j] > 0)) continue;
        const g = this.deltaBuffer[j];
        const rowW = j * d;
        for (let i = 0; i < d; i++) grad[rowW + i] += g * x[row * d + i];
        grad[h * d + j] += g;
      }
    }
    return { loss, correct };
  }

  /** Mean cross-entropy over a set of examples. */
  meanLoss(data: Examples): number {
    const n = this.checkData("meanLoss", data);
    const k = this.config.classes;
    const prob = new Float64Array(k);
    let sum = 0;
    for (let i = 0; i < n; i++) sum -= Math.log(Math.max(this.probabilitiesAt(data.x, i, prob)[data.labels[i]], 1e-300));
    return sum / n;
  }

  clone(): SoftmaxClassifier {
    return new SoftmaxClassifier(this.config, this.params);
  }

  /** Checks `data` against the classifier, and that its parameters are still finite; returns the number of examples. */
  checkData(fn: string, data: Examples): number {
    const n = checkExamples(fn, data);
    if (data.dim !== this.config.inputDim || data.classes !== this.config.classes) {
      throw new Error(`${fn}: examples have dim ${data.dim} and ${data.classes} classes but the classifier expects inputDim ${this.config.inputDim} and ${this.config.classes} classes`);
    }
    checkFinite(fn, this.params, "the classifier's parameters must be finite (did training diverge? lower the learning rate)");
    return n;
  }
}

/** Index of the largest value (the first, among ties). */
export function argmax(values: ArrayLike<number>): number {
  checkNonEmpty("argmax", "values", values, "at least one value");
  if (Number.isNaN(values[0])) refuse("argmax", "values[0]", values[0], "a number");
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    if (values[i] > values[best]) best = i;
    else if (Number.isNaN(values[i])) refuse("argmax", `values[${i}]`, values[i], "a number");
  }
  return best;
}

/** Throws unless `o` are options trainClassifier can follow; `fn` names the caller. */
export function checkSgd(o: SgdOptions, fn = "trainClassifier"): void {
  checkObject(fn, "options", o, "{epochs, batchSize, learningRate, seed}");
  checkInteger(fn, "epochs", o.epochs, 0);
  checkPositiveInteger(fn, "batchSize", o.batchSize);
  checkPositive(fn, "learningRate", o.learningRate);
  checkNumber(fn, "weightDecay", o.weightDecay ?? 0, 0);
  checkNumber(fn, "seed", o.seed);
  checkFunction(fn, "onPresented", o.onPresented, true);
  checkFunction(fn, "onEpochEnd", o.onEpochEnd, true);
}

/** A seeded permutation of 0..n−1 (Fisher–Yates); n = 0 gives an empty one. */
export function permutation(n: number, random: Random): Int32Array {
  checkInteger("permutation", "n", n, 0);
  if (n > 2 ** 28) refuse("permutation", "n", n, `≤ 2^28 (it would need an Int32Array of ${(n * 4 / 2 ** 30).toFixed(1)} GiB)`);
  checkThat(typeof random?.int === "function", "permutation", "random", random, "a Random (from lib/core/random)");
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const t = order[i]; order[i] = order[j]; order[j] = t;
  }
  return order;
}

/**
 * Minibatch SGD on the mean cross-entropy (plus weightDecay/2·‖θ‖²), in place: each epoch visits
 * every example once in a seeded order. Returns the model. Its cost is epochs × n example
 * gradients, the unit of compute in lesson 04.
 */
export function trainClassifier(model: SoftmaxClassifier, data: Examples, options: SgdOptions): SoftmaxClassifier {
  model.checkData("trainClassifier", data);
  checkSgd(options);
  return trainUnchecked(model, data, options);
}

/**
 * trainClassifier without its checks, for callers that train several probes on data and
 * options they checked once (checkExamples, checkSgd) and on a fresh, finite model.
 */
export function trainUnchecked(model: SoftmaxClassifier, data: Examples, options: SgdOptions): SoftmaxClassifier {
  const n = data.labels.length;
  const random = new Random(options.seed);
  const grad = new Float64Array(model.params.length);
  const p = model.params;
  const wd = options.weightDecay ?? 0;
  const diverged = (epoch: number) => `training diverged in epoch ${epoch}; lower learningRate (${options.learningRate})`;
  let epoch = 0;
  try {
    for (; epoch < options.epochs; epoch++) {
      const order = permutation(n, random);
      for (let start = 0; start < n; start += options.batchSize) {
        const end = Math.min(n, start + options.batchSize);
        grad.fill(0);
        const scale = 1 / (end - start);
        for (let b = start; b < end; b++) {
          const i = order[b];
          const { correct } = model.gradientAt(data.x, i, data.labels[i], grad, scale);
          options.onPresented?.(i, correct, epoch);
        }
        const lr = options.learningRate;
        let finite = true;
        for (let j = 0; j < p.length; j++) {
          p[j] -= lr * (grad[j] + wd * p[j]);
          if (!Number.isFinite(p[j])) finite = false;
        }
        // Divergence is caught here, before it silently turns every prediction into class 0.
        if (!finite) checkFinite("trainClassifier", p, diverged(epoch));
      }
      options.onEpochEnd?.(epoch);
    }
  } catch (e) {
    if (e instanceof LogitOverflowError) throw new Error(`trainClassifier: a logit of example ${e.row} became ${e.logit}; ${diverged(epoch)}`);
    throw e;
  }
  return model;
}
