// What a learned method must beat: the majority class, a logistic regression on which characters
// a text contains (no order, no model), and, where the label is visible to a simple rule, the rule.
// The same L2-regularised logistic regression, its L2 chosen by cross-validation on the training
// set alone, is the linear probe on a frozen model's features.
import { checkInteger, checkNonEmpty, checkPositiveInteger, checkThat, refuse, shown } from "../core/checks";
import { Random } from "../core/random";
import { minimizeLbfgs } from "../core/lbfgs";

export interface LogisticModel {
  dims: number;
  classes: number;
  l2: number;
  /** Standardisation learnt on the training set: (x − mean) / scale. */
  mean: Float64Array;
  scale: Float64Array;
  /** [(dims + 1) × classes]: a row per feature, the bias last. */
  weights: Float64Array;
}

function checkData(x: ArrayLike<number>, y: ArrayLike<number>, classes: number, where: string): number {
  const n = y.length;
  if (n === 0) throw new Error(`${where}: no examples`);
  const dims = x.length / n;
  if (!Number.isInteger(dims) || dims < 1) throw new Error(`${where}: ${x.length} feature values is not a whole number of rows for ${n} examples`);
  checkInteger(where, "classes", classes, 2);
  for (let i = 0; i < n; i++) {
    if (!(Number.isInteger(y[i]) && y[i] >= 0 && y[i] < classes)) refuse(where, `y[${i}]`, y[i], `a label in [0, ${classes})`);
  }
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) refuse(where, `x[${i}]`, x[i], "a finite feature value");
  return dims;
}

/**
 * Multinomial logistic regression minimising mean cross-entropy + l2·‖W‖² (the bias is not
 * penalised) on standardised features, by L-BFGS to convergence: a convex problem, so the answer
 * does not depend on a learning rate or a step count.
 */
export function fitLogistic(x: ArrayLike<number>, y: ArrayLike<number>, classes: number, l2: number, options: { tolerance?: number } = {}): LogisticModel {
  const dims = checkData(x, y, classes, "fitLogistic");
  checkThat(l2 > 0 && Number.isFinite(l2), "fitLogistic", "l2", l2, "a positive number");
  const tolerance = options.tolerance ?? 1e-6;
  checkThat(tolerance > 0 && tolerance < 1, "fitLogistic", "options.tolerance", tolerance, "in (0, 1): the gradient norm at which L-BFGS stops");
  return fitUnchecked(x, y, dims, classes, l2, tolerance);
}

/**
 * fitLogistic without its checks, for fitLogisticCV: it checked the data and every l2 once, and
 * fits subsets of them. A tolerance of 1e-4 rather than 1e-6 changes few predictions and takes a
 * fraction of the iterations: where hundreds of probes are fitted, it is what they can afford.
 */
function fitUnchecked(x: ArrayLike<number>, y: ArrayLike<number>, dims: number, classes: number, l2: number, tolerance = 1e-6): LogisticModel {
  const n = y.length, K = classes, D = dims + 1;
  const mean = new Float64Array(dims), scale = new Float64Array(dims);
  for (let i = 0; i < n; i++) for (let j = 0; j < dims; j++) mean[j] += x[i * dims + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < dims; j++) scale[j] += (x[i * dims + j] - mean[j]) ** 2 / n;
  // A feature constant on the training set carries nothing: its scale is left at 1.
  for (let j = 0; j < dims; j++) scale[j] = scale[j] > 1e-12 ? Math.sqrt(scale[j]) : 1;
  const z = new Float64Array(n * D);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dims; j++) z[i * D + j] = (x[i * dims + j] - mean[j]) / scale[j];
    z[i * D + dims] = 1;
  }
  const logits = new Float64Array(K);
  const objective = (w: Float64Array, grad: Float64Array) => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let j = 0; j < D; j++) s += z[i * D + j] * w[j * K + k];
        logits[k] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let k = 0; k < K; k++) sum += Math.exp(logits[k] - max);
      const logSum = max + Math.log(sum);
      loss += logSum - logits[y[i]];
      for (let k = 0; k < K; k++) {
        const g = (Math.exp(logits[k] - logSum) - (k === y[i] ? 1 : 0)) / n;
        for (let j = 0; j < D; j++) grad[j * K + k] += g * z[i * D + j];
      }
    }
    loss /= n;
    for (let j = 0; j < dims; j++) {
      for (let k = 0; k < K; k++) {
        loss += l2 * w[j * K + k] ** 2;
        grad[j * K + k] += 2 * l2 * w[j * K + k];
      }
    }
    return loss;
  };
  const { x: weights } = minimizeLbfgs(objective, new Float64Array(D * K), { gradientTolerance: tolerance, maxIterations: 2000 });
  return { dims, classes, l2, mean, scale, weights };
}

/** Class probabilities, [n × classes] row-major. */
export function logisticProbabilities(model: LogisticModel, x: ArrayLike<number>): Float64Array {
  const { dims } = model;
  const n = x.length / dims;
  if (!Number.isInteger(n)) throw new Error(`logisticProbabilities: ${x.length} values is not a whole number of rows of ${dims} features`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) refuse("logisticProbabilities", `x[${i}] (row ${Math.floor(i / dims)}, feature ${i % dims})`, x[i], "a finite feature value");
  }
  return probabilitiesUnchecked(model, x);
}

/** logisticProbabilities without its checks, for fitLogisticCV's held-out rows (checked with the rest of x). */
function probabilitiesUnchecked(model: LogisticModel, x: ArrayLike<number>): Float64Array {
  const { dims, classes: K } = model;
  const n = x.length / dims;
  const out = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = model.weights[dims * K + k];
      for (let j = 0; j < dims; j++) s += ((x[i * dims + j] - model.mean[j]) / model.scale[j]) * model.weights[j * K + k];
      out[i * K + k] = s;
      max = Math.max(max, s);
    }
    let sum = 0;
    for (let k = 0; k < K; k++) sum += (out[i * K + k] = Math.exp(out[i * K + k] - max));
    for (let k = 0; k < K; k++) out[i * K + k] /= sum;
  }
  return out;
}

/** The likeliest class of every row (the lowest on a tie). */
export function argmaxRows(p: Float64Array, classes: number): Int32Array {
  checkPositiveInteger("argmaxRows", "classes", classes);
  const n = p.length / classes;
  if (!Number.isInteger(n)) throw new Error(`argmaxRows: ${p.length} values is not a whole number of rows of ${classes} classes`);
  const nan = p.findIndex(Number.isNaN);
  if (nan >= 0) refuse("argmaxRows", `p[${nan}] (row ${Math.floor(nan / classes)}, class ${nan % classes})`, p[nan], "a score (every class needs one)");
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (p[i * classes + k] > p[i * classes + best]) best = k;
    out[i] = best;
  }
  return out;
}

export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length || labels.length === 0) throw new Error(`accuracy: ${predicted.length} predictions for ${labels.length} labels`);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

/** Rows `idx` of a row-major matrix with `dims` columns, as float64. */
export function selectRows(x: ArrayLike<number>, dims: number, idx: readonly number[]): Float64Array {
  checkPositiveInteger("selectRows", "dims", dims);
  const rows = x.length / dims;
  if (!Number.isInteger(rows)) throw new Error(`selectRows: ${x.length} values is not a whole number of rows of ${dims} columns`);
  const bad = idx.findIndex((i) => !(Number.isInteger(i) && i >= 0 && i < rows));
  if (bad >= 0) throw new Error(`selectRows: idx[${bad}] must be an integer in [0, ${rows}) (the matrix's rows); got ${shown(idx[bad])}`);
  const out = new Float64Array(idx.length * dims);
  idx.forEach((i, r) => { for (let j = 0; j < dims; j++) out[r * dims + j] = x[i * dims + j]; });
  return out;
}

/** The L2 strengths a probe chooses from by cross-validation. */
export const L2_GRID = [1e-4, 1e-3, 1e-2, 1e-1, 1];

/**
 * Chooses l2 from `grid` by stratified `folds`-fold cross-validation accuracy on the training set
 * alone (ties go to the stronger penalty), then refits on the whole training set.
 */
export function fitLogisticCV(x: ArrayLike<number>, y: ArrayLike<number>, classes: number, options: { grid?: number[]; folds?: number; seed?: number } = {}): LogisticModel & { cvAccuracy: number[] } {
  const dims = checkData(x, y, classes, "fitLogisticCV");
  const { grid = L2_GRID, folds = 4, seed = 1 } = options;
  checkNonEmpty("fitLogisticCV", "grid", grid, "at least one l2 to choose from");
  const badL2 = grid.findIndex((l2) => !(l2 > 0 && Number.isFinite(l2)));
  if (badL2 >= 0) throw new Error(`fitLogisticCV: grid[${badL2}] must be a positive number (an l2 strength); got ${shown(grid[badL2])}`);
  checkInteger("fitLogisticCV", "folds", folds, 2);
  const n = y.length;
  const random = new Random(seed);
  // Stratified folds: every class dealt round the folds in random order.
  const fold = new Int32Array(n);
  for (let c = 0; c < classes; c++) {
    const members = Array.from({ length: n }, (_, i) => i).filter((i) => y[i] === c);
    for (let i = members.length - 1; i > 0; i--) {
      const j = random.int(i + 1);
      [members[i], members[j]] = [members[j], members[i]];
    }
    members.forEach((i, k) => { fold[i] = k % folds; });
  }
  // Classes are dealt from the first fold on: only when no class has two examples does every example land in it.
  if (fold.every((f) => f === 0)) {
    throw new Error(`fitLogisticCV: no class has more than one of the ${n} examples, so cross-validation would train on nothing; needs at least 2 examples of some class`);
  }
  const rowsOf = (keep: (i: number) => boolean) => {
    const idx = Array.from({ length: n }, (_, i) => i).filter(keep);
    return { x: selectRows(x, dims, idx), y: Int32Array.from(idx, (i) => y[i]) };
  };
  const cvAccuracy = grid.map((l2) => {
    let correct = 0;
    for (let f = 0; f < folds; f++) {
      const train = rowsOf((i) => fold[i] !== f), held = rowsOf((i) => fold[i] === f);
      if (held.y.length === 0) continue;
      const predicted = argmaxRows(probabilitiesUnchecked(fitUnchecked(train.x, train.y, dims, classes, l2), held.x), classes);
      correct += accuracy(predicted, held.y) * held.y.length;
    }
    return correct / n;
  });
  let best = 0;
  cvAccuracy.forEach((a, i) => { if (a > cvAccuracy[best] || (a === cvAccuracy[best] && grid[i] > grid[best])) best = i; });
  return { ...fitUnchecked(x, y, dims, classes, grid[best]), cvAccuracy };
}

/** Each text as the share of every vocabulary character in it: what a text contains, not in what order. */
export function characterCounts(texts: string[], vocabulary: string[]): Float64Array {
  const index = new Map(vocabulary.map((ch, i) => [ch, i]));
  const V = vocabulary.length;
  const out = new Float64Array(texts.length * V);
  texts.forEach((t, i) => {
    for (const ch of t) {
      const j = index.get(ch);
      if (j === undefined) throw new Error(`characterCounts: text ${i} has ${JSON.stringify(ch)}, not in the vocabulary`);
      out[i * V + j] += 1 / t.length;
    }
  });
  return out;
}

/** The most frequent training label (the lowest on a tie), predicted for every input. */
export function majorityClass(labels: ArrayLike<number>, classes: number): number {
  checkPositiveInteger("majorityClass", "classes", classes);
  if (labels.length === 0) throw new Error("majorityClass: no labels");
  for (let i = 0; i < labels.length; i++) {
    if (!(Number.isInteger(labels[i]) && labels[i] >= 0 && labels[i] < classes)) refuse("majorityClass", `labels[${i}]`, labels[i], `an integer in [0, ${classes})`);
  }
  const counts = new Array(classes).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts.indexOf(Math.max(...counts));
}

/** Verse or prose by one rule: prose (1) if a line starts in lower case after a line break, verse (0) otherwise. */
export function newlineRule(text: string): number {
  return /\n[a-z]/.test(text) ? 1 : 0;
}

/**
 * The area under the ROC curve: the probability that a random positive (label 1) scores above a
 * random negative, ties counting ½ (the Mann–Whitney U statistic / (n₁ n₀)).
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (scores.length !== labels.length) throw new Error(`auroc: ${scores.length} scores for ${labels.length} labels`);
  checkScores(scores, "auroc");
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPositive = 0, positives = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]] === scores[order[start]]) end++;
    const midRank = (start + end) / 2 + 1; // ranks from 1; tied scores share their mean rank
    for (let k = start; k <= end; k++) {
      if (labels[order[k]] === 1) { rankSumPositive += midRank; positives++; }
      else if (labels[order[k]] !== 0) throw new Error(`auroc: labels must be 0 or 1; got ${labels[order[k]]}`);
    }
    start = end + 1;
  }
  const negatives = scores.length - positives;
  if (positives === 0 || negatives === 0) throw new Error(`auroc: needs both classes; got ${positives} positive and ${negatives} negative`);
  return (rankSumPositive - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * A one-number classifier fitted on labelled training scores: predict 1 when score ≥ threshold.
 * The threshold is the midpoint between neighbouring training scores that gives the most
 * training examples right (the middle of the best range on a tie).
 */
export function fitThreshold(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (scores.length === 0 || scores.length !== labels.length) throw new Error(`fitThreshold: ${scores.length} scores for ${labels.length} labels`);
  checkScores(scores, "fitThreshold");
  for (let i = 0; i < labels.length; i++) if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`fitThreshold: labels[${i}] must be 0 or 1; got ${shown(labels[i])}`);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const sorted = order.map((i) => scores[i]);
  // Threshold below everything: every example predicted 1.
  let correct = order.reduce((c, i) => c + (labels[i] === 1 ? 1 : 0), 0);
  let best = correct;
  const bestCuts = [-Infinity];
  for (let k = 0; k < order.length; k++) {
    correct += labels[order[k]] === 0 ? 1 : -1; // example k now falls below the threshold: predicted 0
    if (k + 1 < order.length && sorted[k + 1] === sorted[k]) continue;
    const cut = k + 1 < order.length ? (sorted[k] + sorted[k + 1]) / 2 : Infinity;
    if (correct > best) { best = correct; bestCuts.length = 0; }
    if (correct === best) bestCuts.push(cut);
  }
  const finite = bestCuts.filter(Number.isFinite);
  return finite.length ? finite[Math.floor((finite.length - 1) / 2)] : bestCuts[0];
}

/** A NaN score has no place in an order; ±Infinity has. */
function checkScores(scores: ArrayLike<number>, where: string): void {
  for (let i = 0; i < scores.length; i++) if (Number.isNaN(scores[i])) refuse(where, `scores[${i}]`, scores[i], "a number that can be ordered");
}
