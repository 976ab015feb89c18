// Counting baselines for a character model: an n-gram table with add-k smoothing. A trained
// network that does not beat the bigram table has learned nothing a count could not; the
// trigram table is the next bar (lessons 01 and 03 set them beside their models). The same
// counts also write text (ngramSampler): lesson 01's fake text that only n-gram statistics know.
import { checkNonEmpty, checkPositiveInteger, checkThat, refuse } from "./checks";

/** Counts of each (context of n − 1 tokens, next token), and of each context. */
function countNgrams(ids: Int32Array, vocabSize: number, n: number): { pairs: Map<number, number>; contexts: Map<number, number> } {
  const pairs = new Map<number, number>();
  const contexts = new Map<number, number>();
  for (let i = n - 1; i < ids.length; i++) {
    let context = 0;
    for (let j = i - n + 1; j < i; j++) context = context * vocabSize + ids[j];
    const pair = context * vocabSize + ids[i];
    pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
    contexts.set(context, (contexts.get(context) ?? 0) + 1);
  }
  return { pairs, contexts };
}

/** k must be finite and > 0: at k = 0 an unseen sequence has probability 0, at k = ∞ every probability is ∞/∞ = NaN. */
function checkSmoothing(fn: string, label: string, k: number): void {
  checkThat(typeof k === "number" && k > 0 && Number.isFinite(k), fn, `the smoothing ${label}`, k,
    "> 0 and finite (at 0 a test sequence unseen in training has probability 0; at Infinity every one is NaN)");
}

function check(fn: string, ids: Int32Array, vocabSize: number, n: number, label: string): void {
  checkPositiveInteger(fn, "vocabSize", vocabSize);
  checkThat(Number.isInteger(n) && n >= 1 && vocabSize ** n <= Number.MAX_SAFE_INTEGER, fn, "n", n, `a positive integer with vocabSize^n a safe integer (vocabSize ${vocabSize})`);
  checkThat(ids != null && typeof ids.length === "number", fn, label, ids, "an Int32Array of token ids");
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < vocabSize)) refuse(fn, `${label}[${i}]`, ids[i], `a token id in [0, ${vocabSize - 1}]`);
  }
}

/**
 * Mean cross-entropy (nats per token) on `test` of the n-gram model counted on `train`:
 * p(x | context) = (count(context, x) + k) / (count(context) + k·V). Every test position with a
 * full context of n − 1 tokens is scored.
 */
export function ngramCrossEntropy(train: Int32Array, test: Int32Array, vocabSize: number, n: number, k: number): number {
  check("ngramCrossEntropy", train, vocabSize, n, "train");
  check("ngramCrossEntropy", test, vocabSize, n, "test");
  checkSmoothing("ngramCrossEntropy", "k", k);
  if (test.length < n) throw new Error(`ngramCrossEntropy: the test sequence needs at least n = ${n} tokens; got ${test.length}`);
  const { pairs, contexts } = countNgrams(train, vocabSize, n);
  let total = 0;
  for (let i = n - 1; i < test.length; i++) {
    let context = 0;
    for (let j = i - n + 1; j < i; j++) context = context * vocabSize + test[j];
    const pair = context * vocabSize + test[i];
    total -= Math.log(((pairs.get(pair) ?? 0) + k) / ((contexts.get(context) ?? 0) + k * vocabSize));
  }
  return total / (test.length - n + 1);
}

export interface NgramBaseline {
  n: number;
  /** The smoothing chosen on a held-out tenth of the training tokens. */
  k: number;
  /** Cross-entropy on the test tokens of the table counted on all training tokens with that k. */
  loss: number;
}

/**
 * The n-gram baseline with its smoothing tuned without touching `test`: each k in `ks` is scored
 * on the last tenth of `train` by a table counted on the first nine tenths; the best k is then used
 * with a table counted on all of `train`.
 */
export function ngramBaseline(train: Int32Array, test: Int32Array, vocabSize: number, n: number, ks = [0.001, 0.01, 0.1, 0.5, 1]): NgramBaseline {
  const fn = "ngramBaseline";
  checkThat(Array.isArray(ks), fn, "ks", ks, "the smoothing values to choose from");
  checkNonEmpty(fn, "ks", ks, "the smoothing values to choose from");
  ks.forEach((k, i) => checkSmoothing(fn, `ks[${i}]`, k));
  check(fn, train, vocabSize, n, "train");
  check(fn, test, vocabSize, n, "test");
  if (test.length < n) throw new Error(`${fn}: the test sequence needs at least n = ${n} tokens; got ${test.length}`);
  const cut = Math.floor(train.length * 0.9);
  if (train.length - cut < n) {
    throw new Error(`${fn}: train has ${train.length} tokens; its last tenth (${train.length - cut} tokens), on which k is chosen, needs at least n = ${n}: give more training tokens`);
  }
  const fit = train.subarray(0, cut), tune = train.subarray(cut);
  const scored = ks.map((k) => ({ k, loss: ngramCrossEntropy(fit, tune, vocabSize, n, k) }));
  const { k } = scored.reduce((a, b) => (b.loss < a.loss ? b : a));
  return { n, k, loss: ngramCrossEntropy(train, test, vocabSize, n, k) };
}

/**
 * Text from the n-gram counts of `train`: each token drawn in proportion to how often it followed
 * the n − 1 tokens before it, backing off to the longest shorter context seen in `train` where
 * those were never seen (no smoothing, so no character appears where the text never had one).
 * Sampling starts after `context` (its last n − 1 tokens). Locally plausible text with no sense
 * beyond n characters: what a model that knows only n-gram statistics would write.
 */
export function ngramSampler(train: Int32Array, vocabSize: number, n: number): (context: Int32Array, length: number, random: { next(): number }) => Int32Array {
  const fn = "ngramSampler";
  check(fn, train, vocabSize, n, "train");
  if (train.length < n) throw new Error(`${fn}: train needs at least n = ${n} tokens; got ${train.length}`);
  // orders[m]: counts of (m tokens of context, next token), for m = 0 … n − 1.
  const orders = Array.from({ length: n }, (_, m) => countNgrams(train, vocabSize, m + 1).pairs);
  return (context, length, random) => {
    checkThat(context?.length >= n - 1, fn, "context", context, `at least n − 1 = ${n - 1} token ids`);
    checkPositiveInteger(fn, "length", length);
    const out = new Int32Array(n - 1 + length);
    out.set(context.subarray(context.length - (n - 1)), 0);
    const counts = new Float64Array(vocabSize);
    for (let i = n - 1; i < out.length; i++) {
      let total = 0;
      for (let m = n - 1; m >= 0 && total === 0; m--) {
        let key = 0;
        for (let j = i - m; j < i; j++) key = key * vocabSize + out[j];
        for (let x = 0; x < vocabSize; x++) total += counts[x] = orders[m].get(key * vocabSize + x) ?? 0;
      }
      let u = random.next() * total, x = 0;
      while (x < vocabSize - 1 && u >= counts[x]) u -= counts[x++];
      out[i] = x;
    }
    return out.subarray(n - 1);
  };
}
