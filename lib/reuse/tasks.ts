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

/** The speech cut into consecutive whole windows of `length` characters. */
function windowsOf(text: string, length: number): string[] {
  return Array.from({ length: Math.floor(text.length / length) }, (_, k) => text.slice(k * length, (k + 1) * length));
}

/** Positions of the examples of class `c`. */
function classIndices(task: TextTask, c: number): number[] {
  return task.labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
}

/** The examples at `keep`, in their original order. */
function subset(task: TextTask, keep: Set<number>): TextTask {
  const idx = task.texts.map((_, i) => i).filter((i) => keep.has(i));
  return { ...task, texts: idx.map((i) => task.texts[i]), labels: idx.map((i) => task.labels[i]), groups: idx.map((i) => task.groups[i]) };
}

function shuffle<T>(items: T[], random: Random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Which of these speakers says this? Every whole window of their speeches. */
export function speakerTask(speeches: Speech[], options: { speakers: string[]; length: number }): TextTask {
  checkLength(options.length, "speakerTask");
  if (options.speakers.length < 2) throw new Error(`speakerTask: speakers must name at least 2 speakers (a task needs two classes); got ${shown(options.speakers)}`);
  const repeat = options.speakers.findIndex((name, c) => options.speakers.indexOf(name) !== c);
  if (repeat >= 0) throw new Error(`speakerTask: speakers[${repeat}] repeats ${shown(options.speakers[repeat])}; every speaker must be a class of its own`);
  const task: TextTask = { name: "speaker", classes: options.speakers, texts: [], labels: [], groups: [] };
  for (const s of speeches) {
    const c = options.speakers.indexOf(s.speaker);
    if (c < 0) continue;
    for (const w of windowsOf(s.text, options.length)) {
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
 * Real or scrambled? Every whole window of the speeches (of speakers not in `exclude`), each
 * scrambled with probability ½; a window the shuffle left unchanged is dropped. A model that
 * knows English spelling tells them apart at a glance.
 */
export function realOrScrambledTask(speeches: Speech[], options: { length: number; seed: number; exclude?: string[] }): TextTask {
  checkLength(options.length, "realOrScrambledTask");
  const random = new Random(options.seed);
  const task: TextTask = { name: "real or scrambled", classes: ["real", "scrambled"], texts: [], labels: [], groups: [] };
  for (const s of speeches) {
    if (options.exclude?.includes(s.speaker)) continue;
    for (const w of windowsOf(s.text, options.length)) {
      const scramble = random.next() < 0.5;
      const text = scramble ? scrambleWords(w, random) : w;
      if (scramble && text === w) continue;
      task.texts.push(text);
      task.labels.push(scramble ? 1 : 0);
      task.groups.push(s.block);
    }
  }
  if (task.texts.length === 0) throw new Error(`realOrScrambledTask: no window of ${options.length} characters in the speeches${excluding(options.exclude)}`);
  return task;
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
  /** The labelled pool: every seed draws its small training and validation sets from it. */
  pool: TextTask;
  /** Held out for reporting only: never trained on, never used to choose anything. */
  test: TextTask;
}

/**
 * Splits a task by speech: for every class, whole speeches (in random order) go to the pool until
 * it holds `poolPerClass` examples of that class, then to the test set, which keeps at most
 * `testPerClass` examples per class and is balanced (every class as many as the rarest).
 */
export function splitPoolAndTest(task: TextTask, options: { poolPerClass: number; testPerClass: number; seed: number }): PoolAndTest {
  const { poolPerClass, testPerClass } = options;
  for (const [key, v] of Object.entries({ poolPerClass, testPerClass })) {
    checkPositiveInteger("splitPoolAndTest", `${key}`, v);
  }
  checkTask(task, "splitPoolAndTest");
  const random = new Random(options.seed);
  const pool = new Set<number>();
  const testByClass: number[][] = [];
  task.classes.forEach((name, c) => {
    const indices = classIndices(task, c);
    const bySpeech = new Map<number, number[]>();
    for (const i of indices) bySpeech.set(task.groups[i], [...(bySpeech.get(task.groups[i]) ?? []), i]);
    const test: number[] = [];
    let inPool = 0;
    for (const group of shuffle([...bySpeech.keys()], random)) {
      const members = bySpeech.get(group)!;
      if (inPool < poolPerClass) {
        members.forEach((i) => pool.add(i));
        inPool += members.length;
      } else test.push(...members);
    }
    if (inPool < poolPerClass || test.length === 0) {
      throw new Error(`splitPoolAndTest: task "${task.name}" has ${indices.length} examples of class "${name}"; `
        + `needs more than ${poolPerClass} for the labelled pool and at least one for the test set`);
    }
    testByClass.push(shuffle(test, random));
  });
  // A pool can hold a few examples of another class (a speech's windows share its label, so
  // only when the task's classes split speeches); the test set never shares a speech with it.
  const poolSpeeches = new Set([...pool].map((i) => task.groups[i]));
  const perClass = Math.min(testPerClass, ...testByClass.map((t) => t.filter((i) => !poolSpeeches.has(task.groups[i])).length));
  const test = new Set(testByClass.flatMap((t) => t.filter((i) => !poolSpeeches.has(task.groups[i])).slice(0, perClass)));
  return { pool: subset(task, pool), test: subset(task, test) };
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
 * One seed's small labelled set: positions in the pool of `trainPerClass` examples of every class
 * to train on and `valPerClass` others to choose settings with.
 */
export function labelledSample(pool: TextTask, options: { trainPerClass: number; valPerClass: number; seed: number }): { train: number[]; val: number[] } {
  const { trainPerClass, valPerClass } = options;
  for (const [key, v] of Object.entries({ trainPerClass, valPerClass })) {
    checkPositiveInteger("labelledSample", `${key}`, v);
  }
  checkTask(pool, "labelledSample", false);
  const random = new Random(options.seed);
  const train: number[] = [], val: number[] = [];
  pool.classes.forEach((name, c) => {
    const indices = shuffle(classIndices(pool, c), random);
    if (indices.length < trainPerClass + valPerClass) {
      throw new Error(`labelledSample: the pool of "${pool.name}" has ${indices.length} examples of "${name}"; needs ${trainPerClass} + ${valPerClass}`);
    }
    train.push(...indices.slice(0, trainPerClass));
    val.push(...indices.slice(trainPerClass, trainPerClass + valPerClass));
  });
  return { train: train.sort((a, b) => a - b), val: val.sort((a, b) => a - b) };
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
