// Text in, token ids out: a character tokenizer, the train/validation split and seeded
// random batches of (context, next-token) pairs, as in nanoGPT's shakespeare_char.
import { readFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";

import { checkFunction, checkIds, checkPositiveInteger, shown } from "./checks";
import { projectRoot } from "./paths";
import type { Random } from "./random";

/** What the engine needs of any tokenizer (characters here; any other with encode, decode and vocabSize). */
export interface Tokenizer {
  readonly vocabSize: number;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
}

function describeChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  return `${JSON.stringify(ch)} (U+${code.toString(16).toUpperCase().padStart(4, "0")})`;
}

/** One token per distinct character of the training text, in code-point order. */
export class CharTokenizer implements Tokenizer {
  readonly chars: string[];
  private readonly index: Map<string, number>;

  constructor(chars: string[]) {
    if (!Array.isArray(chars)) throw new Error(`CharTokenizer: chars must be an array of one-character strings; got ${shown(chars)}`);
    if (chars.length === 0) throw new Error("CharTokenizer: the vocabulary is empty; build it from a non-empty text");
    const long = chars.findIndex((c) => typeof c !== "string" || Array.from(c).length !== 1);
    if (long >= 0) throw new Error(`CharTokenizer: every token must be one character; token ${long} is ${shown(chars[long])}`);
    const seen = new Set(chars);
    if (seen.size !== chars.length) throw new Error(`CharTokenizer: the vocabulary repeats characters (${chars.length} given, ${seen.size} distinct)`);
    this.chars = chars;
    this.index = new Map(chars.map((c, i) => [c, i]));
  }

  static fromText(text: string): CharTokenizer {
    if (text.length === 0) throw new Error("CharTokenizer.fromText: the text is empty; a vocabulary needs at least one character");
    return new CharTokenizer([...new Set(Array.from(text))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  encode(text: string): Int32Array {
    const chars = Array.from(text);
    const ids = new Int32Array(chars.length);
    for (let i = 0; i < chars.length; i++) {
      const id = this.index.get(chars[i]);
      if (id === undefined) {
        throw new Error(`CharTokenizer.encode: character ${describeChar(chars[i])} at position ${i} is not in the vocabulary of ${this.vocabSize} characters`);
      }
      ids[i] = id;
    }
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    let out = "";
    for (let i = 0; i < ids.length; i++) {
      const ch = this.chars[ids[i]];
      if (ch === undefined) throw new Error(`CharTokenizer.decode: id ${ids[i]} at position ${i} is outside [0, ${this.vocabSize})`);
      out += ch;
    }
    return out;
  }
}

/** Reads a text file from the course's datasets/ folder (a name inside it, e.g. "kjv.txt"). */
export function loadDataset(name: string): string {
  const folder = join(projectRoot(), "datasets");
  const path = resolve(folder, name);
  if (relative(folder, path).startsWith("..") || isAbsolute(relative(folder, path))) {
    throw new Error(`loadDataset: ${shown(name)} is outside datasets/; give the name of a file listed in datasets/README.md`);
  }
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`loadDataset: cannot read ${path} (${(err as Error).message}); data sets are listed in datasets/README.md`);
  }
}

/** The first `trainFraction` of the ids for training, the rest for validation (no shuffling: the text is contiguous). */
export function splitTrainVal(ids: Int32Array, trainFraction = 0.9): { train: Int32Array; val: Int32Array } {
  checkIds("splitTrainVal", "ids", ids);
  if (!(trainFraction > 0 && trainFraction < 1)) throw new Error(`splitTrainVal: trainFraction must be in (0, 1); got ${trainFraction}`);
  const n = Math.floor(ids.length * trainFraction);
  if (n === 0 || n === ids.length) throw new Error(`splitTrainVal: ${ids.length} tokens leave one part empty at trainFraction ${trainFraction}`);
  return { train: ids.subarray(0, n), val: ids.subarray(n) };
}

/**
 * Three contiguous parts: the first `trainFraction` for training, and the rest halved into a
 * validation part (for choosing hyper-parameters) and a test part (for reporting).
 */
export function splitTrainValTest(ids: Int32Array, trainFraction = 0.9): { train: Int32Array; val: Int32Array; test: Int32Array } {
  checkIds("splitTrainValTest", "ids", ids);
  if (!(trainFraction > 0 && trainFraction < 1)) throw new Error(`splitTrainValTest: trainFraction must be in (0, 1); got ${trainFraction}`);
  const n = Math.floor(ids.length * trainFraction);
  const m = n + Math.floor((ids.length - n) / 2);
  if (n === 0 || m === n || m === ids.length) throw new Error(`splitTrainValTest: ${ids.length} tokens leave a part empty at trainFraction ${trainFraction}`);
  return { train: ids.subarray(0, n), val: ids.subarray(n, m), test: ids.subarray(m) };
}

export interface Batch {
  /** Contexts, row-major [batchSize, blockSize]. */
  x: Int32Array;
  /** The token after each position of x: targets, [batchSize, blockSize]. */
  y: Int32Array;
  batchSize: number;
  blockSize: number;
}

/** `batchSize` random windows of `blockSize + 1` tokens; the same generator state gives the same batch. */
export function sampleBatch(ids: Int32Array, batchSize: number, blockSize: number, random: Random): Batch {
  checkBatchInputs("sampleBatch", ids, batchSize, blockSize, random);
  return drawBatch(ids, batchSize, blockSize, random);
}

/** The checks of sampleBatch, for a caller that draws many batches from the same ids: it checks once, then calls drawBatch. */
export function checkBatchInputs(fn: string, ids: Int32Array, batchSize: number, blockSize: number, random: Random): void {
  checkIds(fn, "ids", ids);
  checkFunction(fn, "random.int (a Random)", random?.int);
  checkPositiveInteger(fn, "batchSize", batchSize);
  checkPositiveInteger(fn, "blockSize", blockSize);
  if (ids.length < blockSize + 1) {
    throw new Error(`${fn}: the data has ${ids.length} tokens but a window needs blockSize + 1 = ${blockSize + 1}`);
  }
  if (batchSize * blockSize > 2 ** 28) {
    throw new Error(`${fn}: ${batchSize} × ${blockSize} = ${batchSize * blockSize} tokens per batch is more than 2^28; use a smaller batch`);
  }
}

/** sampleBatch without its checks (checkBatchInputs), for the training loop: one call per step. */
export function drawBatch(ids: Int32Array, batchSize: number, blockSize: number, random: Random): Batch {
  const x = new Int32Array(batchSize * blockSize);
  const y = new Int32Array(batchSize * blockSize);
  for (let b = 0; b < batchSize; b++) {
    const start = random.int(ids.length - blockSize);
    x.set(ids.subarray(start, start + blockSize), b * blockSize);
    y.set(ids.subarray(start + 1, start + blockSize + 1), b * blockSize);
  }
  return { x, y, batchSize, blockSize };
}
