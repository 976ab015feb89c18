import { describe, expect, it } from "vitest";

import { CharTokenizer, loadDataset, sampleBatch, splitTrainVal, splitTrainValTest } from "../lib/core/data";
import { Random } from "../lib/core/random";

describe("CharTokenizer", () => {
  it("has one id per distinct character, in code-point order, and round-trips", () => {
    const tok = CharTokenizer.fromText("hello world");
    expect(tok.chars).toEqual([" ", "d", "e", "h", "l", "o", "r", "w"]);
    expect(Array.from(tok.encode("hello"))).toEqual([3, 2, 4, 4, 5]);
    expect(tok.decode(tok.encode("low world"))).toBe("low world");
  });

  it("builds the 65-character vocabulary of Tiny Shakespeare", () => {
    const text = loadDataset("tinyshakespeare.txt");
    const tok = CharTokenizer.fromText(text);
    expect(tok.vocabSize).toBe(65);
    expect(tok.decode(tok.encode(text.slice(0, 2000)))).toBe(text.slice(0, 2000));
  });

  it("rejects empty text, unknown characters and ids outside the vocabulary, saying what was expected", () => {
    expect(() => CharTokenizer.fromText("")).toThrow("CharTokenizer.fromText: the text is empty");
    const tok = CharTokenizer.fromText("abc");
    expect(() => tok.encode("abz")).toThrow(`CharTokenizer.encode: character "z" (U+007A) at position 2 is not in the vocabulary of 3 characters`);
    expect(() => tok.decode([0, 3])).toThrow("CharTokenizer.decode: id 3 at position 1 is outside [0, 3)");
  });
});

describe("splitTrainVal and sampleBatch", () => {
  const ids = Int32Array.from({ length: 1000 }, (_, i) => i % 97);

  it("splits 90/10 without shuffling", () => {
    const { train, val } = splitTrainVal(ids);
    expect(train.length).toBe(900);
    expect(val.length).toBe(100);
    expect(val[0]).toBe(ids[900]);
    expect(() => splitTrainVal(ids, 1)).toThrow("splitTrainVal: trainFraction must be in (0, 1); got 1");
  });

  it("splits 90/5/5 into three contiguous, disjoint parts that cover the text", () => {
    const { train, val, test } = splitTrainValTest(Int32Array.from({ length: 1001 }, (_, i) => i));
    expect([train.length, val.length, test.length]).toEqual([900, 50, 51]);
    expect([train.at(-1), val[0], val.at(-1), test[0], test.at(-1)]).toEqual([899, 900, 949, 950, 1000]);
    expect(() => splitTrainValTest(ids, 0)).toThrow("splitTrainValTest: trainFraction must be in (0, 1); got 0");
  });

  it("gives windows whose targets are the inputs shifted by one, the same for the same seed", () => {
    const b = sampleBatch(ids, 4, 16, new Random(7));
    for (let r = 0; r < 4; r++) {
      const x = b.x.subarray(r * 16, r * 16 + 16);
      // ids is i % 97, so a contiguous window counts up by one modulo 97.
      expect(Array.from(x)).toEqual(Array.from({ length: 16 }, (_, j) => (x[0] + j) % 97));
      expect(Array.from(b.y.subarray(r * 16, r * 16 + 16))).toEqual(Array.from({ length: 16 }, (_, j) => (x[0] + j + 1) % 97));
    }
    expect(sampleBatch(ids, 4, 16, new Random(7))).toEqual(b);
    expect(sampleBatch(ids, 4, 16, new Random(8)).x).not.toEqual(b.x);
  });

  it("rejects data shorter than a window and bad sizes", () => {
    expect(() => sampleBatch(ids.subarray(0, 10), 2, 10, new Random(1))).toThrow("sampleBatch: the data has 10 tokens but a window needs blockSize + 1 = 11");
    expect(() => sampleBatch(ids, 0, 10, new Random(1))).toThrow("sampleBatch: batchSize must be a positive integer; got 0");
  });
});
