import { describe, expect, it } from "vitest";

import { CharTokenizer, loadDataset } from "../lib/core/data";
import { Random } from "../lib/core/random";
import {
  encodeTask, labelledSample, parseSpeeches, pickExamples, realOrScrambledTask, reserveTaskSpeeches, scrambleWords, speakerTask,
  splitPoolAndTest, verseProseTask, type TextTask,
} from "../lib/reuse/tasks";
import { reuseData, reuseDesign, verbatimInPretraining } from "../lib/reuse/study";

const CORPUS = [
  "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east.",
  "JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father.",
  "ROMEO:\nShall I hear more, or shall I speak at this?\nI will be brief.",
  "MERCUTIO:\nNay, I'll conjure too. Romeo! humours! madman!\npassion! lover! Appear thou in the likeness of a sigh.",
  "not a speech",
].join("\n\n");

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
    // ROMEO's speeches have 70 and 62 characters (3 whole windows each), JULIET's 58 (2).
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
});

describe("splits", () => {
  // 30 speeches of class 0 and 10 of class 1, three windows each.
  const task: TextTask = {
    name: "t", classes: ["a", "b"],
    texts: Array.from({ length: 120 }, (_, i) => `text ${String(i).padStart(3, "0")}`),
    labels: Array.from({ length: 120 }, (_, i) => (i < 90 ? 0 : 1)),
    groups: Array.from({ length: 120 }, (_, i) => Math.floor(i / 3)),
  };

  it("keeps whole speeches on one side: a labelled pool per class, and a balanced test set", () => {
    const { pool, test } = splitPoolAndTest(task, { poolPerClass: 8, testPerClass: 50, seed: 3 });
    // Whole speeches of three windows until at least 8 per class: 9 each.
    expect(pool.labels.filter((l) => l === 0)).toHaveLength(9);
    expect(pool.labels.filter((l) => l === 1)).toHaveLength(9);
    // The rarer class has 30 − 9 = 21 left; the test set keeps as many of each.
    expect(test.labels.filter((l) => l === 0)).toHaveLength(21);
    expect(test.labels.filter((l) => l === 1)).toHaveLength(21);
    const poolGroups = new Set(pool.groups);
    expect(test.groups.some((g) => poolGroups.has(g))).toBe(false);
    expect(new Set([...pool.texts, ...test.texts]).size).toBe(pool.texts.length + test.texts.length);
    expect(splitPoolAndTest(task, { poolPerClass: 8, testPerClass: 5, seed: 3 }).test.labels).toHaveLength(10);
    expect(() => splitPoolAndTest(task, { poolPerClass: 30, testPerClass: 5, seed: 3 })).toThrow(
      'splitPoolAndTest: task "t" has 30 examples of class "b"; needs more than 30 for the labelled pool and at least one for the test set',
    );
  });

  it("never lets a speech whose windows carry both labels straddle pool and test", () => {
    // Every speech has one window of each class (like real or scrambled).
    const mixed: TextTask = { ...task, labels: Array.from({ length: 120 }, (_, i) => i % 2), groups: Array.from({ length: 120 }, (_, i) => Math.floor(i / 2)) };
    const { pool, test } = splitPoolAndTest(mixed, { poolPerClass: 10, testPerClass: 100, seed: 1 });
    const poolGroups = new Set(pool.groups);
    expect(test.groups.some((g) => poolGroups.has(g))).toBe(false);
    expect(test.labels.filter((l) => l === 0).length).toBe(test.labels.filter((l) => l === 1).length);
  });

  it("draws a seed's training and validation examples from the pool, disjoint and the same for the same seed", () => {
    const a = labelledSample(task, { trainPerClass: 5, valPerClass: 3, seed: 1 });
    expect(a.train).toHaveLength(10);
    expect(a.val).toHaveLength(6);
    expect(a.train.some((i) => a.val.includes(i))).toBe(false);
    expect(pickExamples(task, a.train).labels.filter((l) => l === 1)).toHaveLength(5);
    expect(labelledSample(task, { trainPerClass: 5, valPerClass: 3, seed: 1 })).toEqual(a);
    expect(labelledSample(task, { trainPerClass: 5, valPerClass: 3, seed: 2 }).train).not.toEqual(a.train);
    expect(() => labelledSample(task, { trainPerClass: 25, valPerClass: 6, seed: 1 })).toThrow('labelledSample: the pool of "t" has 30 examples of "b"; needs 25 + 6');
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

  it("no task example, pool or test, is pretraining text; test sets are large enough for a 2-point standard error", () => {
    const data = reuseData(reuseDesign("full"));
    const pretraining = data.tokenizer.decode(data.pretraining.train) + data.tokenizer.decode(data.pretraining.val);
    let found = 0;
    for (const task of data.tasks) {
      // A window found verbatim in pretraining text would be a leak; scrambled windows are never there by construction.
      const real = [...task.pool.texts, ...task.test.texts];
      const leaked = real.filter((t) => pretraining.includes(t));
      found += leaked.length;
      // Shakespeare repeats a few lines word for word (refrains, stage formulas): a handful may recur, no more.
      expect(leaked.length / real.length).toBeLessThan(0.01);
      const n = task.test.labels.length;
      expect(100 * Math.sqrt(0.25 / n)).toBeLessThanOrEqual(2); // the worst case, p = 0.5
      const poolGroups = new Set(task.pool.groups);
      expect(task.test.groups.some((g) => poolGroups.has(g))).toBe(false);
    }
    // The lesson's own count agrees (it skips scrambled windows, which are never corpus text).
    expect(verbatimInPretraining(data).found).toBe(found);
  });
});
