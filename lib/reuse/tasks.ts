// Labelled tasks derived from Tiny Shakespeare itself, so that a model pretrained on the
// corpus can be reused on them: who speaks, verse or prose, real or scrambled spelling.
// Every label is read off the text; nothing is annotated by hand.
//
// The tasks' text is never pretraining text: `reserveTaskSpeeches` sets aside whole speeches
// before pretraining, and every task example is a window of a reserved speech. Within a task,
// train and test never share a speech either, so neighbouring windows cannot leak across.
import type { Tokenizer } from "../core/data";
import type { LabeledSequences } from "./transfer";
import { checkPositiveInteger, checkThat, shown } from "../core/checks";
import { Random } from "../core/random";

export interface Speech {
  speaker: string;
  /** The speech without its "NAME:" header line. */
  text: string;
  /** Its position among the corpus's blank-line-separated blocks: the speech's identity. */
  block: number;
}

const HEADER = /^[A-Z][A-Za-z ']*:$/;

function parseBlock(block: string, index: number): Speech | null {
  const lines = block.split("\n").filter((l) => l !== "");
  if (lines.length < 2 || !HEADER.test(lines[0])) return null;
  return { speaker: lines[0].slice(0, -1), text: lines.slice(1).join("\n"), block: index };
}

/** Splits the corpus into speeches: blocks separated by blank lines that start with "NAME:". */
export function parseSpeeches(corpus: string): Speech[] {
  if (typeof corpus !== "string") throw new Error(`parseSpeeches: corpus must be a string (the corpus's text); got ${shown(corpus)}`);
  const speeches = corpus.split("\n\n").map(parseBlock).filter((s): s is Speech => s !== null);
  if (speeches.length === 0) throw new Error('parseSpeeches: found no speeches (blocks starting with a "NAME:" line)');
  return speeches;
}

export interface TaskSplit {
  /** Everything not reserved, blocks in their original order: the only text pretraining sees. */
  pretrainText: string;
  /** The reserved speeches: the only text the tasks use. */
  taskSpeeches: Speech[];
  /** The `speakers` speakers with the most windows of text in the corpus, most first. */
  speakers: string[];
}

export interface ReserveOptions {
  /** Window length in characters: speakers are ranked by how many whole windows they speak. */
  length: number;
  /** How many top speakers the speaker task labels. */
  speakers: number;
  /** Share of the top speakers' speeches reserved for the tasks (the rest stays in pretraining, so the model knows their voices). */
  speakerShare: number;
  /** Share of every other speech reserved. */
  otherShare: number;
  seed: number;
}

/**
 * Sets whole speeches aside for the labelled tasks before anything is pretrained: each speech of
 * the top speakers with probability `speakerShare`, every other one with `otherShare`. Blocks
 * that are not speeches always stay in the pretraining text.
 */
export function reserveTaskSpeeches(corpus: string, o: ReserveOptions): TaskSplit {
  checkLength(o.length, "reserveTaskSpeeches");
  for (const key of ["speakerShare", "otherShare"] as const) {
    if (!(o[key] > 0 && o[key] < 1)) throw new Error(`reserveTaskSpeeches: ${key} must be in (0, 1); got ${o[key]}`);
  }
  const blocks = corpus.split("\n\n");
  const parsed = blocks.map(parseBlock);
  const windows = new Map<string, number>();
  for (const s of parsed) if (s) windows.set(s.speaker, (windows.get(s.speaker) ?? 0) + Math.floor(s.text.length / o.length));
  const ranked = [...windows].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (!(Number.isInteger(o.speakers) && o.speakers >= 2 && o.speakers <= ranked.length)) {
    throw new Error(`reserveTaskSpeeches: speakers must be an integer in [2, ${ranked.length}]; got ${o.speakers}`);
  }
  const speakers = ranked.slice(0, o.speakers).map(([name]) => name);
  const random = new Random(o.seed);
  const reserved = parsed.map((s) => s !== null && random.next() < (speakers.includes(s.speaker) ? o.speakerShare : o.otherShare));
  return {
    pretrainText: blocks.filter((_, i) => !reserved[i]).join("\n\n"),
    taskSpeeches: parsed.filter((s, i): s is Speech => reserved[i]),
    speakers,
  };
}

export interface TextTask {
  name: string;
  classes: string[];
  texts: string[];
  labels: number[];
  /** The speech each example was cut from: examples of one speech stay on one side of a split. */
  groups: number[];
}

function checkLength(length: number, where: string): void {
  checkThat(Number.isInteger(length) && length >= 8, where, "length", length, "an integer ≥ 8 characters");
}

/** The speech cut into whole windows of `length` characters, one starting every `stride` (default: consecutive). */
function windowsOf(text: string, length: number, stride = length): string[] {
  return Array.from({ length: text.length < length ? 0 : Math.floor((text.length - length) / stride) + 1 }, (_, k) => text.slice(k * stride, k * stride + length));
}

function shuffle<T>(items: T[], random: Random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Which of these speakers says this? Every whole window of their speeches, one starting every
 * `stride` characters (default: the window's length, so none overlap; overlapping windows of a
 * speech stay together, since splits go by speech).
 */
export function speakerTask(speeches: Speech[], options: { speakers: string[]; length: number; stride?: number }): TextTask {
  checkLength(options.length, "speakerTask");
  const stride = options.stride ?? options.length;
  checkThat(Number.isInteger(stride) && stride >= 1 && stride <= options.length, "speakerTask", "stride", stride, `an integer in [1, length = ${options.length}]`);
  if (options.speakers.length < 2) throw new Error(`speakerTask: speakers must name at least 2 speakers (a task needs two classes); got ${shown(options.speakers)}`);
  const repeat = options.speakers.findIndex((name, c) => options.speakers.indexOf(name) !== c);
  if (repeat >= 0) throw new Error(`speakerTask: speakers[${repeat}] repeats ${shown(options.speakers[repeat])}; every speaker must be a class of its own`);
  const task: TextTask = { name: "speaker", classes: options.speakers, texts: [], labels: [], groups: [] };
  for (const s of speeches) {
    const c = options.speakers.indexOf(s.speaker);
    if (c < 0) continue;
    for (const w of windowsOf(s.text, options.length, stride)) {
      task.texts.push(w);
      task.labels.push(c);
      task.groups.push(s.block);
    }
  }
  const empty = options.speakers.find((_, c) => !task.labels.includes(c));
  if (empty !== undefined) throw new Error(`speakerTask: no window of ${options.length} characters spoken by ${empty}`);
  return task;
}

/**
 * Verse or prose? A speech is prose if one of its wrapped lines starts in lower case (verse
 * lines each start with a capital). Every whole window of the speeches of two lines or more,
 * labelled by its speech; a window need not show a line start, so the label is not always
 * visible in it. Speakers in `exclude` (the speaker task's) are left out.
 */
export function verseProseTask(speeches: Speech[], options: { length: number; exclude?: string[] }): TextTask {
  checkLength(options.length, "verseProseTask");
  const task: TextTask = { name: "verse or prose", classes: ["verse", "prose"], texts: [], labels: [], groups: [] };
  for (const s of speeches) {
    const lines = s.text.split("\n");
    if (lines.length < 2 || options.exclude?.includes(s.speaker)) continue;
    const prose = lines.slice(1).some((l) => /^[a-z]/.test(l)) ? 1 : 0;
    for (const w of windowsOf(s.text, options.length)) {
      task.texts.push(w);
      task.labels.push(prose);
      task.groups.push(s.block);
    }
  }
  if (task.texts.length === 0) throw new Error(`verseProseTask: no window of ${options.length} characters in the speeches of two lines or more${excluding(options.exclude)}`);
  return task;
}

/** Shuffles the inner letters of every word of four letters or more, keeping its first and last ("queen" → "qeeun"). */
export function scrambleWords(text: string, random: Random): string {
  if (typeof random?.int !== "function") throw new Error(`scrambleWords: random must be a Random; got ${shown(random)}`);
  return text.replace(/[A-Za-z]{4,}/g, (word) => {
    const inner = shuffle([...word.slice(1, -1)], random).join("");
    return word[0] + inner + word[word.length - 1];
  });
}

/**
 * Shuffles the order of the words (runs of non-space characters) within every line, keeping the
 * line breaks and single spaces: the same characters and words, in an order no writer chose.
 */
export function shuffleWordsInLines(text: string, random: Random): string {
  if (typeof random?.int !== "function") throw new Error(`shuffleWordsInLines: random must be a Random; got ${shown(random)}`);
  return text.split("\n").map((line) => shuffle(line.split(" "), random).join(" ")).join("\n");
}

/**
 * Real or altered? Every whole window of the speeches (of speakers not in `exclude`) twice: as
 * written (class 0) and as `alter` rewrites it (class 1), both in the window's speech's group, so
 * a split keeps the pair together. A window the alteration leaves unchanged is dropped. Where the
 * alteration keeps the characters (scrambling letters, shuffling words), the two classes hold
 * exactly the same characters, so no count of them can tell the classes apart: only their order can.
 */
export function realOrAlteredTask(
  speeches: Speech[],
  options: { name: string; altered: string; length: number; seed: number; alter: (window: string, random: Random) => string; exclude?: string[] },
): TextTask {
  const where = `realOrAlteredTask (${options.name})`;
  checkLength(options.length, where);
  if (typeof options.alter !== "function") throw new Error(`${where}: alter must be a function (window, random) => text; got ${shown(options.alter)}`);
  const random = new Random(options.seed);
  const task: TextTask = { name: options.name, classes: ["real", options.altered], texts: [], labels: [], groups: [] };
  for (const s of speeches) {
    if (options.exclude?.includes(s.speaker)) continue;
    for (const w of windowsOf(s.text, options.length)) {
      const altered = options.alter(w, random);
      if (altered.length !== w.length) throw new Error(`${where}: alter turned a window of ${w.length} characters into ${altered.length}; it must keep the length`);
      if (altered === w) continue;
      task.texts.push(w, altered);
      task.labels.push(0, 1);
      task.groups.push(s.block, s.block);
    }
  }
  if (task.texts.length === 0) throw new Error(`${where}: no window of ${options.length} characters in the speeches${excluding(options.exclude)} that the alteration changes`);
  return task;
}

/** Real or scrambled? realOrAlteredTask with the inner letters of longer words shuffled (scrambleWords). */
export function realOrScrambledTask(speeches: Speech[], options: { length: number; seed: number; exclude?: string[] }): TextTask {
  return realOrAlteredTask(speeches, { ...options, name: "real or scrambled", altered: "scrambled", alter: scrambleWords });
}

/** Real or word-shuffled? realOrAlteredTask with the words of every line in random order (shuffleWordsInLines). */
export function realOrShuffledTask(speeches: Speech[], options: { length: number; seed: number; exclude?: string[] }): TextTask {
  return realOrAlteredTask(speeches, { ...options, name: "real or word-shuffled", altered: "word-shuffled", alter: shuffleWordsInLines });
}

function excluding(exclude: string[] | undefined): string {
  return exclude?.length ? ` (excluding ${exclude.join(", ")})` : "";
}

/** Refuses a task whose texts, labels and groups are not one per example, or whose labels are not classes. */
function checkTask(task: TextTask, where: string, groups = true): void {
  const n = task.texts.length;
  for (const key of groups ? (["labels", "groups"] as const) : (["labels"] as const)) {
    const values = task[key];
    if (!Array.isArray(values) || values.length !== n) {
      throw new Error(`${where}: task "${task.name}" has ${n} texts and ${Array.isArray(values) ? values.length : shown(values)} ${key}; expected one per text`);
    }
  }
  const K = task.classes.length;
  const bad = task.labels.findIndex((l) => !(Number.isInteger(l) && l >= 0 && l < K));
  if (bad >= 0) throw new Error(`${where}: task "${task.name}" labels[${bad}] must be an integer in [0, ${K}) (its ${K} classes); got ${shown(task.labels[bad])}`);
}

export interface PoolAndTest {
  /** The labelled pool: every seed draws its training and validation sets from it. */
  pool: TextTask;
  /** Held out for reporting only: never trained on, never used to choose anything. */
  test: TextTask;
}

/** The speeches (groups) of a task in random order, each with its examples' positions. */
function groupsInRandomOrder(task: TextTask, random: Random): number[][] {
  const byGroup = new Map<number, number[]>();
  task.groups.forEach((g, i) => byGroup.set(g, [...(byGroup.get(g) ?? []), i]));
  return shuffle([...byGroup.values()], random);
}

/**
 * Takes whole groups, in the given order, until every class has `perClass` examples in them;
 * returns the first `perClass` of each class (with `whole`, every example of the groups taken),
 * and the groups not taken.
 */
function takeGroups(task: TextTask, groups: number[][], perClass: number, where: string, what: string, whole = false): { taken: number[]; rest: number[][] } {
  const K = task.classes.length;
  const byClass: number[][] = Array.from({ length: K }, () => []);
  let g = 0;
  for (; g < groups.length && byClass.some((c) => c.length < perClass); g++) {
    for (const i of groups[g]) byClass[task.labels[i]].push(i);
  }
  const short = byClass.findIndex((c) => c.length < perClass);
  if (short >= 0) {
    throw new Error(`${where}: task "${task.name}" has ${byClass[short].length} examples of "${task.classes[short]}" left for ${what}; needs ${perClass}`);
  }
  const taken = whole ? groups.slice(0, g).flat() : byClass.flatMap((c) => c.slice(0, perClass));
  return { taken: taken.sort((a, b) => a - b), rest: groups.slice(g) };
}

/**
 * Splits a task by speech: whole speeches, in random order, go to the test set until it holds
 * `testPerClass` examples of every class (balanced: exactly that many of each are kept), and every
 * other speech goes to the labelled pool (or, with `poolPerClass`, the next whole speeches until the
 * pool holds at least that many of every class). Pool and test never share a speech.
 */
export function splitPoolAndTest(task: TextTask, options: { testPerClass: number; seed: number; poolPerClass?: number }): PoolAndTest {
  checkPositiveInteger("splitPoolAndTest", "testPerClass", options?.testPerClass);
  if (options.poolPerClass !== undefined) checkPositiveInteger("splitPoolAndTest", "poolPerClass", options.poolPerClass);
  checkTask(task, "splitPoolAndTest");
  const { taken, rest } = takeGroups(task, groupsInRandomOrder(task, new Random(options.seed)), options.testPerClass, "splitPoolAndTest", "the test set");
  if (rest.length === 0) throw new Error(`splitPoolAndTest: task "${task.name}" has no speech left for the labelled pool once the test set has ${options.testPerClass} examples per class`);
  const pool = options.poolPerClass === undefined ? rest.flat().sort((a, b) => a - b) : takeGroups(task, rest, options.poolPerClass, "splitPoolAndTest", "the pool", true).taken;
  return { pool: pickExamples(task, pool), test: pickExamples(task, taken) };
}

/** How many examples of each class the pool holds: the most a seed can train on, once validation is set aside. */
export function classCounts(task: TextTask): number[] {
  return task.classes.map((_, c) => task.labels.filter((l) => l === c).length);
}

/** The examples at these positions, in this order. */
export function pickExamples(task: TextTask, indices: number[]): TextTask {
  checkTask(task, "pickExamples");
  const n = task.texts.length;
  const bad = indices.findIndex((i) => !(Number.isInteger(i) && i >= 0 && i < n));
  if (bad >= 0) throw new Error(`pickExamples: indices[${bad}] must be an integer in [0, ${n}) (the examples of "${task.name}"); got ${shown(indices[bad])}`);
  return { ...task, texts: indices.map((i) => task.texts[i]), labels: indices.map((i) => task.labels[i]), groups: indices.map((i) => task.groups[i]) };
}

/**
 * One seed's labelled set from the pool: `valPerClass` examples of every class to choose settings
 * with, from speeches drawn at random, and `trainPerClass` of every class to train on, drawn at
 * random from the other speeches. Training and validation examples never share a speech.
 */
export function labelledSample(pool: TextTask, options: { trainPerClass: number; valPerClass: number; seed: number }): { train: number[]; val: number[] } {
  checkPositiveInteger("labelledSample", "trainPerClass", options?.trainPerClass);
  const { val, rest, random } = validationSpeeches(pool, options, "labelledSample");
  const train = pool.classes.flatMap((name, c) => {
    const candidates = shuffle(rest[c], random);
    if (candidates.length < options.trainPerClass) {
      throw new Error(`labelledSample: the pool of "${pool.name}" has ${candidates.length} examples of "${name}" outside the validation speeches; needs ${options.trainPerClass}`);
    }
    return candidates.slice(0, options.trainPerClass);
  });
  return { train: train.sort((a, b) => a - b), val };
}

/** The most training examples per class labelledSample can draw with these validation settings (the rarest class's). */
export function trainingRoom(pool: TextTask, options: { valPerClass: number; seed: number }): number {
  return Math.min(...validationSpeeches(pool, options, "trainingRoom").rest.map((r) => r.length));
}

/** A seed's validation examples (whole speeches drawn at random), and by class the examples of every other speech. */
function validationSpeeches(pool: TextTask, options: { valPerClass: number; seed: number }, where: string) {
  checkPositiveInteger(where, "valPerClass", options?.valPerClass);
  checkTask(pool, where);
  const random = new Random(options.seed);
  const { taken: val, rest } = takeGroups(pool, groupsInRandomOrder(pool, random), options.valPerClass, where, "validation");
  const byClass: number[][] = pool.classes.map(() => []);
  for (const i of rest.flat()) byClass[pool.labels[i]].push(i);
  byClass.forEach((c) => c.sort((a, b) => a - b));
  return { val, rest: byClass, random };
}

/** Token ids of every text (all the same length in characters), as the engine's labelled sequences. */
export function encodeTask(task: TextTask, tokenizer: Tokenizer): LabeledSequences {
  if (task.texts.length === 0) throw new Error(`encodeTask: task "${task.name}" has no examples`);
  checkTask(task, "encodeTask", false);
  const encoded = task.texts.map((t) => tokenizer.encode(t));
  const length = encoded[0].length;
  const ragged = encoded.findIndex((e) => e.length !== length);
  if (ragged >= 0) throw new Error(`encodeTask: example ${ragged} has ${encoded[ragged].length} tokens; expected ${length} like the first`);
  const ids = new Int32Array(encoded.length * length);
  encoded.forEach((e, i) => ids.set(e, i * length));
  return { ids, labels: Int32Array.from(task.labels), length, classes: task.classes };
}
