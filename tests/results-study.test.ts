import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { readResults, stamp, type RunContext, type StampedResult } from "../lib/core/results";
import { StudyFile, type PlannedRun } from "../lib/core/study";

// A study whose "training" is arithmetic: what the shared loop does is the same for any run.
interface Line extends StampedResult {
  x: number;
  square: number;
}
const context: RunContext = { dataHash: "data", backend: "wasm" };
const read = (path: string) => readResults<Line>(path, ["x", "square"], "npm run toy");
const plan = (xs: number[]): PlannedRun<number>[] => xs.map((x) => ({ run: x, id: stamp({ x }, context, {}).id }));
const train = async (x: number): Promise<Line> => stamp({ x }, context, { x, square: x * x });
const dir = mkdtempSync(join(tmpdir(), "study-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("StudyFile", () => {
  it("trains only the runs missing from the file, writes it after each, and counts the stored ones as done", async () => {
    const path = join(dir, "a.jsonl");
    const first = await new StudyFile(path, read).resume("toy", plan([1, 2]), { describe: String, train });
    expect(first.map((l) => l.square)).toEqual([1, 4]);
    const written: number[] = [];
    const ended: [number, number, number][] = [];
    const again = await new StudyFile(path, read).resume("toy", plan([3, 1, 2, 4]), {
      describe: String,
      train: async (x) => { written.push(read(path).length); return train(x); },
      onRunEnd: (line, index, done, total) => ended.push([index, done, total]),
    });
    expect(again.map((l) => l.x)).toEqual([3, 1, 2, 4]);
    expect(written).toEqual([2, 3]); // the file held every finished run before the next one started
    expect(ended).toEqual([[0, 3, 4], [3, 4, 4]]);
    expect(read(path).map((l) => l.x)).toEqual([1, 2, 3, 4]);
  });

  it("finds a stored study's runs, or names how many are missing, the first, and the command", () => {
    const path = join(dir, "b.jsonl");
    writeFileSync(path, [1, 2].map((x) => JSON.stringify(stamp({ x }, context, { x, square: x * x }))).join("\n") + "\n");
    const file = new StudyFile(path, read);
    expect(file.find(plan([2, 1]), { file: "b.jsonl", backend: "wasm", command: "npm run toy", describe: (x) => `x ${x}` }).map((l) => l.x)).toEqual([2, 1]);
    expect(() => file.find(plan([1, 5, 6]), { file: "b.jsonl", backend: "wasm", command: "npm run toy", describe: (x) => `x ${x}`, note: "; a note" })).toThrow(
      "b.jsonl lacks 2 of 3 runs on wasm (first: x 5); a note; run `npm run toy` (it resumes)",
    );
  });

  it("reports, and on request removes, the lines of its backend that no phase asked for", async () => {
    const path = join(dir, "c.jsonl");
    const lines = [1, 2, 3].map((x) => stamp({ x }, context, { x, square: x * x }));
    const elsewhere = stamp({ x: 9 }, { ...context, backend: "webgpu" }, { x: 9, square: 81 });
    writeFileSync(path, [...lines, elsewhere].map((l) => JSON.stringify(l)).join("\n") + "\n");
    const file = new StudyFile(path, read);
    await file.resume("toy", plan([1]), { describe: String, train });
    file.find(plan([2]), { file: path, backend: "wasm", command: "npm run toy", describe: String });
    expect(file.strays("wasm").map((l) => l.x)).toEqual([3]);
    expect(file.removeStrays("wasm")).toBe(1);
    expect(read(path).map((l) => l.x)).toEqual([1, 2, 9]); // another backend's line is kept
  });

  it("refuses two runs of one id, a bad number of jobs, and a line that comes back under another id, before writing it", async () => {
    const path = join(dir, "d.jsonl");
    const file = new StudyFile(path, read);
    await expect(file.resume("toy", plan([1, 2, 1]), { describe: (x) => `x ${x}`, train })).rejects.toThrow("toy: run 2 (x 1) repeats the settings of run 0");
    await expect(file.resume("toy", plan([1]), { describe: String, train, jobs: 0 })).rejects.toThrow("toy: jobs must be a positive integer; got 0");
    await expect(file.resume("toy", plan([1]), { describe: (x) => `x ${x}`, train: async (x) => train(x + 1) })).rejects.toThrow(
      /^toy: run 0 \(x 1\) came back with id "[0-9a-f]{16}", not its own [0-9a-f]{16}; it was not written$/,
    );
    expect(() => readFileSync(path)).toThrow(); // nothing was written
  });
});
