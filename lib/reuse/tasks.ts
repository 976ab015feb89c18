// Labelled tasks derived from Tiny Shakespeare itself, so that a model pretrained on the
// corpus can be reused on them: who speaks, verse or prose, real or scrambled spelling.
// Every label is read off the text; nothing is annotated by hand.
import type { Tokenizer } from "../core/data";
import type { LabeledSequences } from "../gpt/transfer";
import { Random } from "../core/random";

export interface Speech {
  speaker: string;
  /** The speech without its "NAME:" header line. */
  text: string;
}

/** Splits the corpus into speeches: blocks separated by blank lines that start with "NAME:". */
export function parseSpeeches(corpus: string): Speech[] {
  const speeches: Speech[] = [];
  for (const block of corpus.split("\n\n")) {
    const lines = block.split("\n").filter((l) => l !== "");
    const header = lines[0] ?? "";
    if (lines.length < 2 || !/^[A-Z][A-Za-z ']*:$/.test(header)) continue;
    speeches.push({ speaker: header.slice(0, -1), text: lines.slice(1).join("\n") });
  }
  if (speeches.length === 0) throw new Error('parseSpeeches: found no speeches (blocks starting with a "NAME:" line)');
  return speeches;
}

export interface TextTask {
  name: string;
  classes: string[];
  texts: string[];
  labels: number[];
}

function checkLength(length: number, where: string): void {
  if (!Number.isInteger(length) || length < 8) throw new Error(`${where}: length must be an integer ≥ 8 characters; got ${length}`);
}

/** Positions of the examples of class `c`. */
function classIndices(task: TextTask, c: number): number[] {
  return task.labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
}

/** The examples at `keep` (any order), in their original order. */
function subset(task: TextTask, keep: Set<number>): TextTask {
  const idx = task.texts.map((_, i) => i).filter((i) => keep.has(i));
  return { ...task, texts: idx.map((i) => task.texts[i]), labels: idx.map((i) => task.labels[i]) };
}

/** Keeps an equal number of examples of every class (the rarest class's count), chosen at random. */
export function balance(task: TextTask, seed = 1): TextTask {
  const random = new Random(seed);
  const byClass = task.classes.map((_, c) => classIndices(task, c));
  const keep = Math.min(...byClass.map((b) => b.length));
  if (keep === 0) throw new Error(`balance: task "${task.name}" has no examples of class ${task.classes[byClass.findIndex((b) => b.length === 0)]}`);
  return subset(task, new Set(byClass.flatMap((indices) => shuffle(indices, random).slice(0, keep))));
}

function shuffle<T>(items: T[], random: Random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Which of the `speakers` most frequent speakers says this? The first `length` characters of each long-enough speech. */
export function speakerTask(speeches: Speech[], options: { speakers: number; length: number }): TextTask {
  checkLength(options.length, "speakerTask");
  const long = speeches.filter((s) => s.text.length >= options.length);
  const counts = new Map<string, number>();
  for (const s of long) counts.set(s.speaker, (counts.get(s.speaker) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (!(Number.isInteger(options.speakers) && options.speakers >= 2 && options.speakers <= ranked.length)) {
    throw new Error(`speakerTask: speakers must be an integer in [2, ${ranked.length}]; got ${options.speakers}`);
  }
  const classes = ranked.slice(0, options.speakers).map(([name]) => name);
  const chosen = long.filter((s) => classes.includes(s.speaker));
  return { name: "speaker", classes, texts: chosen.map((s) => s.text.slice(0, options.length)), labels: chosen.map((s) => classes.indexOf(s.speaker)) };
}

/**
 * Verse or prose? Verse lines each start with a capital letter; in prose the text runs on and
 * a wrapped line starts in lower case. Speeches of at least two lines; balanced.
 */
export function verseProseTask(speeches: Speech[], options: { length: number; seed?: number }): TextTask {
  checkLength(options.length, "verseProseTask");
  const texts: string[] = [];
  const labels: number[] = [];
  for (const s of speeches) {
    const lines = s.text.split("\n");
    if (lines.length < 2 || s.text.length < options.length) continue;
    const prose = lines.slice(1).some((l) => /^[a-z]/.test(l));
    texts.push(s.text.slice(0, options.length));
    labels.push(prose ? 1 : 0);
  }
  return balance({ name: "verse or prose", classes: ["verse", "prose"], texts, labels }, options.seed);
}

/** Shuffles the inner letters of every word of four letters or more, keeping its first and last ("queen" → "qeeun"). */
export function scrambleWords(text: string, random: Random): string {
  return text.replace(/[A-Za-z]{4,}/g, (word) => {
    const inner = shuffle([...word.slice(1, -1)], random).join("");
    return word[0] + inner + word[word.length - 1];
  });
}

/**
 * Real or scrambled? Disjoint windows of `length` characters of the corpus; every other window
 * has the inner letters of its words shuffled (only windows that the shuffle changed are kept
 * as "scrambled"). A model that knows English spelling tells them apart at a glance.
 */
export function realOrScrambledTask(corpus: string, options: { length: number; seed?: number }): TextTask {
  checkLength(options.length, "realOrScrambledTask");
  const random = new Random(options.seed ?? 1);
  const windows = Array.from({ length: Math.floor(corpus.length / options.length) }, (_, i) => corpus.slice(i * options.length, (i + 1) * options.length));
  const texts: string[] = [];
  const labels: number[] = [];
  shuffle(windows, random).forEach((text, i) => {
    if (i % 2 === 0) {
      texts.push(text);
      labels.push(0);
      return;
    }
    const scrambled = scrambleWords(text, random);
    if (scrambled === text) return;
    texts.push(scrambled);
    labels.push(1);
  });
  return balance({ name: "real or scrambled", classes: ["real", "scrambled"], texts, labels }, options.seed);
}

/** A stratified split: `testFraction` of every class goes to the test set. */
export function splitTask(task: TextTask, testFraction: number, seed = 1): { train: TextTask; test: TextTask } {
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`splitTask: testFraction must be in (0, 1); got ${testFraction}`);
  if (task.texts.length !== task.labels.length) throw new Error(`splitTask: ${task.texts.length} texts but ${task.labels.length} labels`);
  const random = new Random(seed);
  const test = new Set<number>();
  task.classes.forEach((_, c) => {
    const indices = shuffle(classIndices(task, c), random);
    indices.slice(0, Math.round(indices.length * testFraction)).forEach((i) => test.add(i));
  });
  const train = new Set(task.texts.map((_, i) => i).filter((i) => !test.has(i)));
  return { train: subset(task, train), test: subset(task, test) };
}

/** Keeps at most `perClass` examples of every class (the small labelled set of a downstream task). */
export function limitPerClass(task: TextTask, perClass: number, seed = 1): TextTask {
  if (!(Number.isInteger(perClass) && perClass >= 1)) throw new Error(`limitPerClass: perClass must be a positive integer; got ${perClass}`);
  const random = new Random(seed);
  return subset(task, new Set(task.classes.flatMap((_, c) => shuffle(classIndices(task, c), random).slice(0, perClass))));
}

/** Token ids of every text (all the same length in characters), as the engine's labelled sequences. */
export function encodeTask(task: TextTask, tokenizer: Tokenizer): LabeledSequences {
  if (task.texts.length === 0) throw new Error(`encodeTask: task "${task.name}" has no examples`);
  const encoded = task.texts.map((t) => tokenizer.encode(t));
  const length = encoded[0].length;
  const ragged = encoded.findIndex((e) => e.length !== length);
  if (ragged >= 0) throw new Error(`encodeTask: example ${ragged} has ${encoded[ragged].length} tokens; expected ${length} like the first`);
  const ids = new Int32Array(encoded.length * length);
  encoded.forEach((e, i) => ids.set(e, i * length));
  return { ids, labels: Int32Array.from(task.labels), length, classes: task.classes };
}
