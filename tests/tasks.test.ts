import { beforeAll, describe, expect, it } from "vitest";

import { CharTokenizer, loadDataset } from "../lib/core/data";
import { Random } from "../lib/core/random";
import {
  classCounts, encodeTask, labelledSample, parseSpeeches, pickExamples, realOrAlteredTask, realOrScrambledTask, realOrShuffledTask,
  reserveTaskSpeeches, scrambleWords, shuffleWordsInLines, speakerTask, splitPoolAndTest, trainingRoom, verseProseTask, type TextTask,
} from "../lib/reuse/tasks";
import { reuseData, reuseDesign, seedSample, TASKS, tuningCounts, tuningRuns, verbatimInPretraining, type ReuseData } from "../lib/reuse/study";

const CORPUS = [
  "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east.",
  "JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father.",
  "ROMEO:\nShall I hear more, or shall I speak at this?\nI will be brief.",
  "MERCUTIO:\nNay, I'll conjure too. Romeo! humours! madman!\npassion! lover! Appear thou in the likeness of a sigh.",
  "not a speech",
].join("\n\n");

/** Every window of `length` characters starting at a multiple of `stride`, by brute force over all start positions. */
function windowsByBruteForce(text: string, length: number, stride = length): string[] {
  const out: string[] = [];
  for (let start = 0; start + length <= text.length; start++) if (start % stride === 0) out.push(text.slice(start, start + length));
  return out;
}

/** The characters of some texts as a sorted string: equal for two sets of texts exactly when they hold the same multiset of characters. */
const characters = (texts: string[]) => [...texts.join("")].sort().join("");

/** The texts of one class. */
const ofClass = (task: TextTask, c: number) => task.texts.filter((_, i) => task.labels[i] === c);

describe("corpus-derived tasks", () => {
  it("parses speeches by their NAME: header, remembering which block each came from", () => {
    const speeches = parseSpeeches(CORPUS);
    expect(speeches.map((s) => s.speaker)).toEqual(["ROMEO", "JULIET", "ROMEO", "MERCUTIO"]);
    expect(speeches.map((s) => s.block)).toEqual([0, 1, 2, 3]);
    expect(speeches[1].text).toBe("O Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father.");
    expect(() => parseSpeeches("no speeches here")).toThrow("parseSpeeches: found no speeches");
  });

  it("labels every whole window: by speaker, verse against prose, real against scrambled", () => {
    const speeches = parseSpeeches(CORPUS);
    const speaker = speakerTask(speeches, { speakers: ["ROMEO", "JULIET"], length: 20 });
    // ROMEO's speeches have 66 and 61 characters (3 whole windows each), JULIET's 58 (2).
    expect(speaker.labels).toEqual([0, 0, 0, 1, 1, 0, 0, 0]);
    expect(speaker.groups).toEqual([0, 0, 0, 1, 1, 2, 2, 2]);
    expect(speaker.texts.slice(0, 2)).toEqual(["But soft, what light", " through yonder wind"]);
    expect(() => speakerTask(speeches, { speakers: ["ROMEO", "TYBALT"], length: 20 })).toThrow("speakerTask: no window of 20 characters spoken by TYBALT");
    // MERCUTIO's second line starts in lower case: prose; the others are verse. ROMEO is left out.
    const vp = verseProseTask(speeches, { length: 20, exclude: ["ROMEO"] });
    expect(vp.groups).toEqual([1, 1, 3, 3, 3, 3, 3]);
    expect(vp.labels).toEqual([0, 0, 1, 1, 1, 1, 1]);
    const rs = realOrScrambledTask(speeches, { length: 10, seed: 1 });
    const all = speeches.flatMap((s) => Array.from({ length: Math.floor(s.text.length / 10) }, (_, k) => s.text.slice(k * 10, k * 10 + 10)));
    rs.texts.forEach((t, i) => {
      // A real window is verbatim; a scrambled one is not, but holds the letters of the window it came from.
      expect(all.includes(t)).toBe(rs.labels[i] === 0);
      if (rs.labels[i] === 1) expect(all.some((w) => [...w].sort().join("") === [...t].sort().join(""))).toBe(true);
    });
    expect(new Set(rs.labels)).toEqual(new Set([0, 1]));
  });

  it("cuts overlapping windows every `stride` characters, grouped by speech, and refuses a bad stride", () => {
    const speeches = parseSpeeches(CORPUS);
    for (const stride of [1, 7, 10, 20]) {
      const task = speakerTask(speeches, { speakers: ["ROMEO", "JULIET"], length: 20, stride });
      const expected = speeches.filter((s) => s.speaker !== "MERCUTIO").flatMap((s) =>
        windowsByBruteForce(s.text, 20, stride).map((text) => ({ text, label: s.speaker === "ROMEO" ? 0 : 1, group: s.block })));
      expect(task.texts, `stride ${stride}`).toEqual(expected.map((e) => e.text));
      expect(task.labels).toEqual(expected.map((e) => e.label));
      expect(task.groups).toEqual(expected.map((e) => e.group));
    }
    // At stride 10, ROMEO's first speech (66 characters) gives windows at 0, 10, …, 40: each overlaps the next by half.
    const half = speakerTask(speeches, { speakers: ["ROMEO", "JULIET"], length: 20, stride: 10 });
    expect(half.groups.filter((g) => g === 0)).toHaveLength(5);
    expect(half.texts[1].slice(0, 10)).toBe(half.texts[0].slice(10));
    // The default is the window's length: no overlap.
    expect(speakerTask(speeches, { speakers: ["ROMEO", "JULIET"], length: 20 })).toEqual(speakerTask(speeches, { speakers: ["ROMEO", "JULIET"], length: 20, stride: 20 }));
    for (const stride of [0, 21, 2.5, -1]) {
      expect(() => speakerTask(speeches, { speakers: ["ROMEO", "JULIET"], length: 20, stride })).toThrow(
        `speakerTask: stride must be an integer in [1, length = 20]; got ${stride}`,
      );
    }
  });

  it("scrambles the inner letters of words of four or more letters only", () => {
    const random = new Random(3);
    const original = "O Romeo, thy father's name!".split(/([^A-Za-z]+)/);
    let changed = 0;
    for (let trial = 0; trial < 20; trial++) {
      const words = scrambleWords(original.join(""), random).split(/([^A-Za-z]+)/);
      expect(words.length).toBe(original.length);
      words.forEach((w, i) => {
        if (original[i].length < 4) return expect(w).toBe(original[i]); // separators, "O", "thy", "s"
        expect(w[0] + w.at(-1)).toBe(original[i][0] + original[i].at(-1));
        expect([...w].sort().join("")).toBe([...original[i]].sort().join(""));
      });
      if (words.join("") !== original.join("")) changed++;
    }
    expect(changed).toBeGreaterThan(10);
  });

  it("shuffles words within lines only: same lines, each with the same words and length, line breaks kept", () => {
    const text = "But soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\nArise,\n\nfair sun, and kill the envious moon";
    const lines = text.split("\n");
    const random = new Random(5);
    let changed = 0;
    for (let trial = 0; trial < 20; trial++) {
      const out = shuffleWordsInLines(text, random);
      const outLines = out.split("\n");
      expect(outLines).toHaveLength(lines.length);
      outLines.forEach((line, k) => {
        // Equal lengths line by line put every line break where it was.
        expect(line.length).toBe(lines[k].length);
        expect(line.split(" ").sort()).toEqual(lines[k].split(" ").sort());
      });
      if (out !== text) changed++;
    }
    // Three lines of 5 to 8 words: an unchanged text is a rare draw, not the rule.
    expect(changed).toBeGreaterThan(17);
    expect(() => shuffleWordsInLines(text, {} as Random)).toThrow("shuffleWordsInLines: random must be a Random; got {}");
  });

  it("pairs every window the alteration changes with its altered copy in the window's speech; unchanged windows are dropped", () => {
    const speeches = parseSpeeches(CORPUS);
    // Changes only the windows that hold a "th" (3 of JULIET's and MERCUTIO's 12): the others must be left out.
    const shout = (w: string) => w.replaceAll("th", "TH");
    const task = realOrAlteredTask(speeches, { name: "real or shouted", altered: "shouted", length: 12, seed: 1, alter: shout, exclude: ["ROMEO"] });
    expect(task.classes).toEqual(["real", "shouted"]);
    const expected = speeches.filter((s) => s.speaker !== "ROMEO").flatMap((s) =>
      windowsByBruteForce(s.text, 12).filter((w) => w.includes("th")).map((w) => ({ w, group: s.block })));
    expect(expected.map(({ group }) => group)).toEqual([1, 3, 3]);
    expect(task.texts).toEqual(expected.flatMap(({ w }) => [w, shout(w)]));
    expect(task.labels).toEqual(expected.flatMap(() => [0, 1]));
    expect(task.groups).toEqual(expected.flatMap(({ group }) => [group, group]));
    expect(() => realOrAlteredTask(speeches, { name: "t", altered: "longer", length: 12, seed: 1, alter: (w) => `${w}!` })).toThrow(
      "realOrAlteredTask (t): alter turned a window of 12 characters into 13; it must keep the length",
    );
    expect(() => realOrAlteredTask(speeches, { name: "t", altered: "same", length: 12, seed: 1, alter: (w) => w })).toThrow(
      "realOrAlteredTask (t): no window of 12 characters in the speeches that the alteration changes",
    );
    // A random alteration is drawn from the seed: the same seed, the same task.
    const coin = (w: string, r: Random) => (r.next() < 0.5 ? w : w.toUpperCase());
    const a = realOrAlteredTask(speeches, { name: "t", altered: "coin", length: 8, seed: 4, alter: coin });
    expect(realOrAlteredTask(speeches, { name: "t", altered: "coin", length: 8, seed: 4, alter: coin })).toEqual(a);
    expect(realOrAlteredTask(speeches, { name: "t", altered: "coin", length: 8, seed: 5, alter: coin }).texts).not.toEqual(a.texts);
  });

  it("scrambled and word-shuffled windows hold exactly the characters of their real ones: no count of characters tells them apart", () => {
    const speeches = parseSpeeches(CORPUS);
    for (const task of [realOrScrambledTask(speeches, { length: 16, seed: 2 }), realOrShuffledTask(speeches, { length: 16, seed: 2 })]) {
      const windows = speeches.flatMap((s) => windowsByBruteForce(s.text, 16));
      expect(task.labels).toEqual(task.texts.map((_, i) => i % 2));
      for (let i = 0; i < task.texts.length; i += 2) {
        const [real, altered] = [task.texts[i], task.texts[i + 1]];
        expect(windows, task.name).toContain(real);
        expect(altered).not.toBe(real);
        expect(task.groups[i + 1]).toBe(task.groups[i]);
        expect(characters([altered])).toBe(characters([real]));
      }
      expect(characters(ofClass(task, 1)), task.name).toBe(characters(ofClass(task, 0)));
    }
    // Word-shuffling keeps each line's words: the two windows split into the same words line by line.
    const shuffled = realOrShuffledTask(speeches, { length: 16, seed: 2 });
    for (let i = 0; i < shuffled.texts.length; i += 2) {
      const lines = (t: string) => t.split("\n").map((l) => l.split(" ").sort());
      expect(lines(shuffled.texts[i + 1])).toEqual(lines(shuffled.texts[i]));
    }
  });
});

describe("splits", () => {
  // 30 speeches of class 0 and 10 of class 1, three windows each.
  const task: TextTask = {
    name: "t", classes: ["a", "b"],
    texts: Array.from({ length: 120 }, (_, i) => `text ${String(i).padStart(3, "0")}`),
    labels: Array.from({ length: 120 }, (_, i) => (i < 90 ? 0 : 1)),
    groups: Array.from({ length: 120 }, (_, i) => Math.floor(i / 3)),
  };
  // 60 speeches that each hold one window of each class (like real or altered).
  const mixed: TextTask = { ...task, labels: Array.from({ length: 120 }, (_, i) => i % 2), groups: Array.from({ length: 120 }, (_, i) => Math.floor(i / 2)) };
  const groupsOf = (t: TextTask, indices: number[]) => new Set(indices.map((i) => t.groups[i]));

  it("counts examples per class, a class without any included", () => {
    expect(classCounts(task)).toEqual([90, 30]);
    expect(classCounts({ ...task, classes: ["a", "b", "c"] })).toEqual([90, 30, 0]);
    expect(classCounts(mixed)).toEqual([60, 60]);
  });

  it("fills the test set first with whole speeches, exactly testPerClass of each class, and puts every other speech in the pool", () => {
    for (const seed of [1, 2, 3, 4]) {
      const { pool, test } = splitPoolAndTest(task, { testPerClass: 8, seed });
      expect(classCounts(test)).toEqual([8, 8]);
      const poolGroups = new Set(pool.groups);
      expect(test.groups.some((g) => poolGroups.has(g))).toBe(false);
      // The pool is every window of its speeches, in the task's order: no speech is cut.
      expect(pool.texts).toEqual(task.texts.filter((_, i) => poolGroups.has(task.groups[i])));
      // Test examples are the task's own, with their labels and speeches.
      test.texts.forEach((t, k) => {
        const i = task.texts.indexOf(t);
        expect([task.labels[i], task.groups[i]]).toEqual([test.labels[k], test.groups[k]]);
      });
      // Speeches go to the test set only while a class is short: one of them was the last needed,
      // and without it some class falls below 8.
      const taken = [...new Set(task.groups)].filter((g) => !poolGroups.has(g));
      const short = (without: number) => classCounts(pickExamples(task, task.groups.flatMap((g, i) => (g !== without && taken.includes(g) ? [i] : [])))).some((n) => n < 8);
      expect(taken.some(short)).toBe(true);
    }
  });

  it("draws the test speeches at random: over seeds, every speech of the rarer class is tested", () => {
    const tested = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) splitPoolAndTest(task, { testPerClass: 8, seed }).test.groups.forEach((g) => tested.add(g));
    for (let g = 30; g < 40; g++) expect(tested.has(g), `speech ${g}`).toBe(true);
    expect(splitPoolAndTest(task, { testPerClass: 8, seed: 1 })).toEqual(splitPoolAndTest(task, { testPerClass: 8, seed: 1 }));
    expect(splitPoolAndTest(task, { testPerClass: 8, seed: 2 }).test.texts).not.toEqual(splitPoolAndTest(task, { testPerClass: 8, seed: 1 }).test.texts);
  });

  it("never lets a speech whose windows carry both labels straddle pool and test", () => {
    const { pool, test } = splitPoolAndTest(mixed, { testPerClass: 10, seed: 1 });
    // Each speech holds one of each class: exactly 10 speeches make the test set, the other 50 the pool.
    expect(new Set(test.groups).size).toBe(10);
    expect(classCounts(test)).toEqual([10, 10]);
    expect(classCounts(pool)).toEqual([50, 50]);
    const poolGroups = new Set(pool.groups);
    expect(test.groups.some((g) => poolGroups.has(g))).toBe(false);
  });

  it("says when a class is too rare for the test set, or no speech is left for the pool", () => {
    expect(() => splitPoolAndTest(task, { testPerClass: 31, seed: 1 })).toThrow('splitPoolAndTest: task "t" has 30 examples of "b" left for the test set; needs 31');
    // 60 per class takes every speech of the mixed task.
    expect(() => splitPoolAndTest(mixed, { testPerClass: 60, seed: 1 })).toThrow(
      'splitPoolAndTest: task "t" has no speech left for the labelled pool once the test set has 60 examples per class',
    );
    expect(splitPoolAndTest(mixed, { testPerClass: 59, seed: 1 }).pool.texts).toHaveLength(2);
    expect(() => splitPoolAndTest(task, { testPerClass: 0, seed: 1 })).toThrow("splitPoolAndTest: testPerClass must be a positive integer; got 0");
  });

  it("draws validation from whole speeches and training, exactly so many per class, from the other speeches only", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      // Four per class from speeches of three: the second speech of each class is only partly used, and still never trained on.
      const { train, val } = labelledSample(task, { trainPerClass: 5, valPerClass: 4, seed });
      expect(classCounts(pickExamples(task, train))).toEqual([5, 5]);
      expect(classCounts(pickExamples(task, val))).toEqual([4, 4]);
      const valGroups = groupsOf(task, val);
      expect(train.some((i) => valGroups.has(task.groups[i]))).toBe(false);
    }
    // Speeches holding both classes: three whole speeches give the 3 + 3 validation examples.
    const { train, val } = labelledSample(mixed, { trainPerClass: 20, valPerClass: 3, seed: 1 });
    expect(groupsOf(mixed, val).size).toBe(3);
    expect(classCounts(pickExamples(mixed, train))).toEqual([20, 20]);
    expect(train.some((i) => groupsOf(mixed, val).has(mixed.groups[i]))).toBe(false);
  });

  it("draws the same sample for the same seed and another for another seed, training examples at random among the rest", () => {
    const a = labelledSample(task, { trainPerClass: 5, valPerClass: 3, seed: 1 });
    expect(labelledSample(task, { trainPerClass: 5, valPerClass: 3, seed: 1 })).toEqual(a);
    const b = labelledSample(task, { trainPerClass: 5, valPerClass: 3, seed: 2 });
    expect(b.train).not.toEqual(a.train);
    expect(b.val).not.toEqual(a.val);
    // 20 seeds × 5 of class "a" drawn among its ~85 other windows reach about 60 of them; the first
    // five candidates of every seed would reach barely a dozen.
    const reached = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) labelledSample(task, { trainPerClass: 5, valPerClass: 3, seed }).train.filter((i) => task.labels[i] === 0).forEach((i) => reached.add(i));
    expect(reached.size).toBeGreaterThan(40);
  });

  it("says how many examples are left outside the validation speeches when too few are", () => {
    // Three mixed speeches go to validation: 57 of each class remain.
    expect(labelledSample(mixed, { trainPerClass: 57, valPerClass: 3, seed: 1 }).train).toHaveLength(114);
    expect(() => labelledSample(mixed, { trainPerClass: 58, valPerClass: 3, seed: 1 })).toThrow(
      'labelledSample: the pool of "t" has 57 examples of "a" outside the validation speeches; needs 58',
    );
    expect(() => labelledSample(task, { trainPerClass: 5, valPerClass: 31, seed: 1 })).toThrow('labelledSample: task "t" has 30 examples of "b" left for validation; needs 31');
  });

  it("gives as training room the most labelledSample can draw: it succeeds there and fails at one more", () => {
    expect(trainingRoom(mixed, { valPerClass: 3, seed: 1 })).toBe(57);
    expect(trainingRoom(mixed, { valPerClass: 4, seed: 1 })).toBe(56);
    const rooms = new Set<number>();
    for (const valPerClass of [1, 3, 4, 7]) {
      for (let seed = 1; seed <= 10; seed++) {
        const room = trainingRoom(task, { valPerClass, seed });
        rooms.add(room);
        expect(labelledSample(task, { trainPerClass: room, valPerClass, seed }).train).toHaveLength(2 * room);
        expect(() => labelledSample(task, { trainPerClass: room + 1, valPerClass, seed })).toThrow(`has ${room} examples of "b" outside the validation speeches; needs ${room + 1}`);
      }
    }
    // How many speeches validation takes depends on the seed's order, so the room does too.
    expect(rooms.size).toBeGreaterThan(2);
  });

  it("encodes to equal-length sequences, and refuses ragged ones", () => {
    const encoded = encodeTask(task, CharTokenizer.fromText(task.texts.join("")));
    expect(encoded.length).toBe(8);
    expect(encoded.ids.length).toBe(120 * 8);
    expect(() => encodeTask({ ...task, texts: ["short", ...task.texts.slice(1)] }, CharTokenizer.fromText("shortext 0123456789"))).toThrow(
      "encodeTask: example 1 has 8 tokens; expected 5 like the first",
    );
  });
});

describe("the lesson's split of Tiny Shakespeare", () => {
  const corpus = loadDataset("tinyshakespeare.txt");
  const design = reuseDesign("full");
  // Built once for the file: about two seconds.
  let data: ReuseData;
  beforeAll(() => {
    data = reuseData(design);
  });

  it("reserves whole speeches: pretraining text and task speeches partition the corpus's blocks", () => {
    const split = reserveTaskSpeeches(corpus, { length: 64, speakers: 4, speakerShare: 0.7, otherShare: 0.3, seed: 1 });
    const blocks = corpus.split("\n\n");
    const reserved = new Set(split.taskSpeeches.map((s) => s.block));
    expect(split.pretrainText).toBe(blocks.filter((_, i) => !reserved.has(i)).join("\n\n"));
    expect(split.speakers).toEqual(["GLOUCESTER", "KING RICHARD II", "DUKE VINCENTIO", "LEONTES"]);
    expect(() => reserveTaskSpeeches(corpus, { length: 64, speakers: 4, speakerShare: 1, otherShare: 0.3, seed: 1 })).toThrow(
      "reserveTaskSpeeches: speakerShare must be in (0, 1); got 1",
    );
  });

  it("tunes each task at 64 per class where every tuned seed's sample holds that many, else at the largest count that fits", () => {
    const counts = tuningCounts(design, data);
    expect(counts).toEqual({ speaker: [32], "verse or prose": [64], "real or scrambled": [64], "real or word-shuffled": [64], "real or n-gram": [64] });
    const speaker = data.tasks.find((t) => t.name === "speaker")!;
    // Every tuned seed can draw its sample at the chosen count; at 64 some seed cannot (the reason for the fallback).
    for (const seed of design.seeds) expect(seedSample(design, speaker, seed, 32).train.length).toBe(32 * speaker.classes.length);
    expect(() => design.seeds.forEach((seed) => seedSample(design, speaker, seed, 64))).toThrow(/labelledSample: the pool of "speaker" has \d+ examples of/);
    expect(new Set(tuningRuns(design, counts).filter((r) => r.task === "speaker").map((r) => r.perClass))).toEqual(new Set([32]));
  });

  it("pretrains on exactly the blocks not reserved, and cuts every task from reserved speeches only", () => {
    const blocks = corpus.split("\n\n");
    const reserved = new Set(data.split.taskSpeeches.map((s) => s.block));
    expect(data.split.pretrainText).toBe(blocks.filter((_, i) => !reserved.has(i)).join("\n\n"));
    // The language model's train and validation ids are that text and nothing else.
    expect(data.tokenizer.decode(data.pretraining.train) + data.tokenizer.decode(data.pretraining.val)).toBe(data.split.pretrainText);
    expect(data.tasks.map((t) => t.name)).toEqual([...TASKS]);
    for (const task of data.tasks) {
      for (const part of [task.all, task.pool, task.test]) expect(part.groups.every((g) => reserved.has(g)), task.name).toBe(true);
    }
  });

  it("no real task window occurs in the pretraining text", () => {
    const pretraining = data.split.pretrainText;
    let checked = 0;
    for (const task of data.tasks) {
      // Real windows: every example of the speaker and verse-or-prose tasks, class 0 of the real-or-X ones.
      const real = task.name.startsWith("real or ") ? ofClass(task.all, 0) : task.all.texts;
      checked += real.length;
      expect(real.filter((t) => pretraining.includes(t)), task.name).toEqual([]);
    }
    expect(checked).toBeGreaterThan(5000);
    // The lesson's own count agrees: it checks every distinct real window of the pools and test sets.
    const distinct = new Set(data.tasks.flatMap((task) => [task.pool, task.test].flatMap((part) => (task.name.startsWith("real or ") ? ofClass(part, 0) : part.texts))));
    expect(verbatimInPretraining(data)).toEqual({ checked: distinct.size, found: 0 });
  });

  it("every test set holds exactly testPerClass of each class, from speeches the pool never sees", () => {
    for (const task of data.tasks) {
      const { testPerClass } = design.sizes[task.name];
      expect(classCounts(task.test), task.name).toEqual(task.classes.map(() => testPerClass));
      const poolGroups = new Set(task.pool.groups);
      expect(task.test.groups.some((g) => poolGroups.has(g)), task.name).toBe(false);
      expect(task.testIds.labels.length).toBe(task.test.texts.length);
    }
  });

  it("scrambled and word-shuffled classes hold the same characters as the real one, in the pool and the test set alike", () => {
    for (const name of ["real or scrambled", "real or word-shuffled"]) {
      const task = data.tasks.find((t) => t.name === name)!;
      for (const part of [task.all, task.pool, task.test]) expect(characters(ofClass(part, 1)), name).toBe(characters(ofClass(part, 0)));
    }
  });
});
