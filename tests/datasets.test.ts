import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { CharTokenizer, loadDataset, splitTrainValTest } from "../lib/core/data";
import { findStoredRun } from "../lib/gpt/cache";
import { GPT } from "../lib/gpt/model";
import { frozenStudy, frozenUnits } from "../lib/reuse/frozen";
import { reuseData, reuseDesign, reuseStudy, storedStudyPath, TASKS } from "../lib/reuse/study";
import { deepDoubleDescentDesign, deepDoubleDescentStudy, netRuns } from "../lib/generalization/deepDoubleDescent";
import { curveRuns, learningCurveDesign, learningCurveStudy } from "../lib/scaling/learningCurve";
import { scalingSweep } from "../lib/scaling/sweep";
import { scalingDesign } from "../lib/scaling/sweepDesign";
import { compositionDesign, compositionStudy } from "../lib/zeroshot/study";
import { kjvText } from "../tools/make-kjv";
import { ROOT } from "../tools/runner";

const DATASETS = join(ROOT, "datasets");
/** Distinct runs of the stored scaling study: the learning-rate sweeps (steps beyond the grid included), IsoFLOP runs, seeds and shapes. */
const SWEEP_RUNS = 128;

/** Rows of the table in datasets/README.md: file, what, size, sha256. */
function listedFiles(): { file: string; bytes: number; sha256: string }[] {
  const readme = readFileSync(join(DATASETS, "README.md"), "utf8");
  return readme.split("\n")
    .filter((l) => /^\| [^ ]+\.[a-z]+ \|/.test(l))
    .map((l) => {
      const cells = l.split("|").map((c) => c.trim());
      return { file: cells[1], bytes: Number(cells[3].replace(/[^0-9]/g, "")), sha256: cells[4] };
    });
}

describe("datasets/", () => {
  it("holds every listed file, byte for byte", () => {
    const files = listedFiles();
    expect(files.map((f) => f.file)).toContain("tinyshakespeare.txt");
    for (const f of files) {
      const path = join(DATASETS, f.file);
      expect(statSync(path).size, f.file).toBe(f.bytes);
      expect(createHash("sha256").update(readFileSync(path)).digest("hex"), f.file).toBe(f.sha256);
    }
  });

  it("lists every file it holds: nothing is stored without its provenance and checksum", () => {
    const listed = new Set(listedFiles().map((f) => f.file));
    const held = (readdirSync(DATASETS, { recursive: true }) as string[])
      .filter((f) => f !== "README.md" && statSync(join(DATASETS, f)).isFile());
    expect(held.filter((f) => !listed.has(f))).toEqual([]);
  });

  it("kjv.txt is the verses in order, one per line, chapters apart, without the edition's marks", () => {
    const verses = { "Genesis 1:1": "# In the beginning", "Genesis 1:2": "And the earth [was] void.", "Genesis 2:1": "Thus the heavens" };
    expect(kjvText(verses)).toBe("In the beginning\nAnd the earth was void.\n\nThus the heavens\n");
    const text = readFileSync(join(DATASETS, "kjv.txt"), "utf8");
    expect(text.startsWith("In the beginning God created the heaven and the earth.\n")).toBe(true);
    expect(text).not.toMatch(/[#[\]]/);
  });
});

describe("what the lessons read from datasets/ is found by their full-scale designs", () => {
  beforeAll(async () => {
    await chooseBackend("wasm");
  });

  describe("lesson 01", () => {
    const design = reuseDesign("full");
    const data = reuseData(design);
    let model: GPT, checkpoint: string;
    beforeAll(async () => {
      model = GPT.create({ ...design.model, vocabSize: data.tokenizer.vocabSize }, design.modelSeed);
      checkpoint = (await findStoredRun("01-pretrained", model, data.pretraining, design.pretraining))?.checkpoint ?? "";
    });

    it("the pretrained model, by its training key, and every unit of the frozen study", async () => {
      expect(checkpoint).toMatch(/01-pretrained-[0-9a-f]{16}\.ckpt$/);
      const runs = await frozenStudy("full", design, data, [], checkpoint, { backend: "wasm" });
      expect(new Set(runs.map((r) => `${r.task}|${r.perClass}|${r.seed}`)).size).toBe(frozenUnits(design, data).length);
    });

    // The tuned study of the current design is recomputed by `npm run reuse-study -- --grid full` (datasets/README.md).
    it.skipIf(!existsSync(join(ROOT, storedStudyPath(design))))("every run of the tuned study", async () => {
      const study = await reuseStudy("full", design, data, { model, checkpoint }, { backend: "wasm" });
      expect(study.reported).toHaveLength(TASKS.length * design.tuning.perClass.length * design.methods.length * design.seeds.length);
    });
  });

  it("lessons 02 and 03: every run of the scaling study, its learning-rate steps and shapes included, and of the learning curve", async () => {
    const design = scalingDesign("full");
    const corpus = loadDataset(design.corpus);
    const tokenizer = CharTokenizer.fromText(corpus);
    const data = splitTrainValTest(tokenizer.encode(corpus));
    const sweep = await scalingSweep("full", tokenizer.vocabSize, { data, backend: "wasm" });
    expect(new Set([...sweep.tuning, ...sweep.runs].map((r) => r.id)).size).toBe(SWEEP_RUNS);
    expect(sweep.shapeRates.map((t) => t.losses.length).every((n) => n >= 3)).toBe(true);
    expect(await learningCurveStudy("full", data, tokenizer.vocabSize, "wasm")).toHaveLength(curveRuns(learningCurveDesign("full")).length);
  });

  it("lesson 02: every run of the deep double-descent study", async () => {
    expect(await deepDoubleDescentStudy("full")).toHaveLength(netRuns(deepDoubleDescentDesign("full")).length);
  });

  it("lesson 05: every run of the composition study", async () => {
    expect(await compositionStudy("full", compositionDesign("full"))).toHaveLength(36);
  });
});
