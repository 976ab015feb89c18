import { describe, expect, it } from "vitest";

import { CharTokenizer } from "../lib/core/data";
import { Random } from "../lib/core/random";
import { balance, encodeTask, limitPerClass, parseSpeeches, realOrScrambledTask, scrambleWords, speakerTask, splitTask, verseProseTask } from "../lib/reuse/tasks";

const CORPUS = [
  "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east.",
  "JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father.",
  "ROMEO:\nShall I hear more, or shall I speak at this?\nI will be brief.",
  "MERCUTIO:\nNay, I'll conjure too. Romeo! humours! madman!\npassion! lover! Appear thou in the likeness of a sigh.",
  "not a speech",
].join("\n\n");

describe("corpus-derived tasks", () => {
  it("parses speeches by their NAME: header", () => {
    const speeches = parseSpeeches(CORPUS);
    expect(speeches.map((s) => s.speaker)).toEqual(["ROMEO", "JULIET", "ROMEO", "MERCUTIO"]);
    expect(speeches[1].text).toBe("O Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father.");
    expect(() => parseSpeeches("no speeches here")).toThrow("parseSpeeches: found no speeches");
  });

  it("labels speakers, verse against prose, and real against scrambled text from the text itself", () => {
    const speeches = parseSpeeches(CORPUS);
    const speaker = speakerTask(speeches, { speakers: 2, length: 20 });
    expect(speaker.classes).toEqual(["ROMEO", "JULIET"]);
    expect(speaker.labels).toEqual([0, 1, 0]);
    expect(speaker.texts[0]).toBe("But soft, what light");
    // MERCUTIO's second line starts in lower case: prose; the rest is verse. Balanced to one each.
    const vp = verseProseTask(speeches, { length: 20 });
    expect(vp.labels.sort()).toEqual([0, 1]);
    expect(vp.texts).toContain("Nay, I'll conjure to");
    const rs = realOrScrambledTask(CORPUS, { length: 10 });
    expect(rs.labels.filter((l) => l === 0)).toHaveLength(rs.labels.length / 2);
    expect(rs.texts.every((t) => t.length === 10)).toBe(true);
    // Real windows are verbatim slices at multiples of the length; scrambled ones are not, but hold the same letters.
    const slices = new Set(Array.from({ length: Math.floor(CORPUS.length / 10) }, (_, i) => CORPUS.slice(i * 10, i * 10 + 10)));
    rs.texts.forEach((t, i) => {
      expect(slices.has(t)).toBe(rs.labels[i] === 0);
      if (rs.labels[i] === 1) expect([...slices].some((w) => [...w].sort().join("") === [...t].sort().join(""))).toBe(true);
    });
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

  it("splits every class in proportion, without overlap, and encodes to equal-length sequences", () => {
    const task = { name: "t", classes: ["a", "b"], texts: Array.from({ length: 40 }, (_, i) => `text ${String(i).padStart(2, "0")}`), labels: Array.from({ length: 40 }, (_, i) => (i < 30 ? 0 : 1)) };
    const { train, test } = splitTask(task, 0.2, 3);
    expect(test.labels.filter((l) => l === 0)).toHaveLength(6);
    expect(test.labels.filter((l) => l === 1)).toHaveLength(2);
    expect(new Set([...train.texts, ...test.texts]).size).toBe(40);
    expect(balance(task).labels.filter((l) => l === 0)).toHaveLength(10);
    expect(limitPerClass(task, 4).texts).toHaveLength(8);
    const encoded = encodeTask(test, CharTokenizer.fromText(task.texts.join("")));
    expect(encoded.length).toBe(7);
    expect(encoded.ids.length).toBe(8 * 7);
    expect(() => encodeTask({ ...test, texts: ["short", ...test.texts.slice(1)] }, CharTokenizer.fromText("shortext 0123456789"))).toThrow(
      "encodeTask: example 1 has 7 tokens; expected 5 like the first",
    );
    expect(() => splitTask(task, 1)).toThrow("splitTask: testFraction must be in (0, 1); got 1");
    expect(() => speakerTask(parseSpeeches(CORPUS), { speakers: 9, length: 20 })).toThrow("speakerTask: speakers must be an integer in [2, 3]; got 9");
  });
});
