import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { CharTokenizer } from "../lib/core/data";
import { findStoredRun, trainCached } from "../lib/gpt/cache";
import { GPT, type GPTConfig } from "../lib/gpt/model";
import { train, type EvalInfo, type StepInfo } from "../lib/gpt/train";
import { typicality } from "../lib/reuse/methods";
import { reuseData, reuseDesign, runData, runStudy, tuningRuns, type StudyResult } from "../lib/reuse/study";
import { describePretraining, pretrain } from "../lib/reuse/pretrain";
import { liveWorkerCount } from "../lib/core/threads";

const TINY: GPTConfig = { vocabSize: 4, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true, tieWeights: true };
const TEXT = CharTokenizer.fromText("abcd");
const IDS = TEXT.encode("abcdabcdabdc".repeat(40));
const DATA = { train: IDS, val: IDS.subarray(0, 120) };
const SETTINGS = { steps: 12, batchSize: 4, learningRate: 1e-2, warmupSteps: 2, evalInterval: 5, evalBatches: 1 };

let dir: string;
let dirs: { dir: string; storedDir: string };
beforeAll(async () => {
  await chooseBackend("wasm");
  dir = mkdtempSync(join(tmpdir(), "course-cache-"));
  dirs = { dir, storedDir: join(dir, "stored") };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function record() {
  const steps: StepInfo[] = [];
  const evals: EvalInfo[] = [];
  return { steps, evals, callbacks: { onStep: (s: StepInfo) => steps.push(s), onEval: (e: EvalInfo) => evals.push(e) } };
}

describe("trainCached", () => {
  it("trains and saves once; an identical run loads the same weights and replays the same curve", async () => {
    const first = GPT.create(TINY, 1);
    const seen = record();
    const trained = await trainCached("tiny", first, DATA, SETTINGS, seen.callbacks, dirs);
    expect(trained.source).toBe("trained");
    expect(existsSync(trained.checkpoint)).toBe(true);

    // The reference: plain train() from the same start gives the same weights.
    const reference = GPT.create(TINY, 1);
    await train(reference, DATA, SETTINGS);
    expect(await first.weights()).toEqual(await reference.weights());

    const second = GPT.create(TINY, 1);
    const replay = record();
    const loaded = await trainCached("tiny", second, DATA, SETTINGS, replay.callbacks, dirs);
    expect(loaded.source).toBe("cache");
    expect(loaded.checkpoint).toBe(trained.checkpoint);
    expect(await second.weights()).toEqual(await first.weights());
    expect(replay.steps).toEqual(seen.steps);
    expect(replay.evals).toEqual(seen.evals);
    expect(loaded.tokens).toBe(trained.tokens);
    for (const m of [first, reference, second]) m.dispose();
  });

  it("goes on from its last save after an interruption, to the weights and curve of a run never interrupted", async () => {
    const long = { ...SETTINGS, steps: 120, evalInterval: 40 };
    const interrupted = GPT.create(TINY, 3);
    await expect(trainCached("long", interrupted, DATA, long, { onStep: (s) => { if (s.step === 70) throw new Error("interrupted"); } }, dirs)).rejects.toThrow("interrupted");
    // Saved every 50 steps (at least; 5% of 120 is fewer): once, after step 50.
    const partial = readdirSync(dir).filter((f) => f.startsWith("long-") && f.endsWith(".partial"));
    expect(partial).toHaveLength(1);
    expect(readdirSync(dir).some((f) => f.startsWith("long-") && f.endsWith(".ckpt"))).toBe(false);

    const resumed = GPT.create(TINY, 3);
    const seen = record();
    const result = await trainCached("long", resumed, DATA, long, seen.callbacks, dirs);
    const reference = GPT.create(TINY, 3);
    const whole = await train(reference, DATA, long);
    expect(await resumed.weights()).toEqual(await reference.weights());
    expect(result.steps.map((s) => s.loss)).toEqual(whole.steps.map((s) => s.loss));
    expect(seen.steps.map((s) => s.step)).toEqual(whole.steps.map((s) => s.step));
    expect(seen.evals.map((e) => e.valLoss)).toEqual(whole.evals.map((e) => e.valLoss));
    expect(readdirSync(dir).filter((f) => f.startsWith("long-") && f.endsWith(".partial"))).toEqual([]);
    for (const m of [interrupted, resumed, reference]) m.dispose();
  });

  it("trains anew when anything that decides the outcome differs: settings, initial weights or data", async () => {
    const runs = [
      { seed: 1, data: DATA, settings: { ...SETTINGS, learningRate: 5e-3 } },
      { seed: 2, data: DATA, settings: SETTINGS },
      { seed: 1, data: { train: IDS.subarray(12), val: DATA.val }, settings: SETTINGS },
    ];
    for (const run of runs) {
      const model = GPT.create(TINY, run.seed);
      expect((await trainCached("tiny", model, run.data, run.settings, {}, dirs)).source).toBe("trained");
      model.dispose();
    }
    expect(readdirSync(dir).filter((f) => f.startsWith("tiny-"))).toHaveLength(4);
    expect(readdirSync(dir).some((f) => f.endsWith(".tmp"))).toBe(false);
    const model = GPT.create(TINY, 1);
    await expect(trainCached("../escape", model, DATA, SETTINGS, {}, dirs)).rejects.toThrow("trainCached: name must be letters, digits");
    model.dispose();
  });
});

describe("precomputed runs", () => {
  it("--precompute stores a run with its provenance; later runs load it as stored, and precomputing again trains nothing", async () => {
    const storedDir = join(dir, "precomputed");
    const precomputeDirs = { dir: join(dir, "local"), storedDir };
    const model = GPT.create(TINY, 3);
    expect(await findStoredRun("pre", model, DATA, SETTINGS, storedDir)).toBeNull();
    process.env.COURSE_PRECOMPUTE = "1";
    try {
      const made = await trainCached("pre", model, DATA, SETTINGS, {}, precomputeDirs);
      expect(made.source).toBe("trained");
      expect(made.checkpoint.startsWith(storedDir)).toBe(true);
      expect(existsSync(precomputeDirs.dir)).toBe(false);
      expect(made.provenance).toMatchObject({ backend: "wasm", node: process.version });
      expect(Date.parse(made.provenance!.createdAt)).toBeGreaterThan(Date.now() - 600_000);
      const again = GPT.create(TINY, 3);
      expect((await trainCached("pre", again, DATA, SETTINGS, {}, precomputeDirs)).source).toBe("stored");
      again.dispose();
    } finally {
      delete process.env.COURSE_PRECOMPUTE;
    }
    const fresh = GPT.create(TINY, 3);
    const found = await findStoredRun("pre", fresh, DATA, SETTINGS, storedDir);
    expect(found?.result.steps).toHaveLength(SETTINGS.steps);
    const loaded = await trainCached("pre", fresh, DATA, SETTINGS, {}, precomputeDirs);
    expect(loaded.source).toBe("stored");
    expect(loaded.provenance).toEqual(found!.provenance);
    expect(await fresh.weights()).toEqual(await model.weights());
    for (const m of [model, fresh]) m.dispose();
  });
});

describe("pretrain", () => {
  it("with a stored run: retrains its first steps live on the same batches and schedule, then loads the stored weights", async () => {
    const pretrainDirs = { dir: join(dir, "pretrain-local"), storedDir: join(dir, "pretrain-stored") };
    const settings = { ...SETTINGS, workers: 1 };
    const original = GPT.create(TINY, 4);
    process.env.COURSE_PRECOMPUTE = "1";
    try {
      await trainCached("pt", original, DATA, settings, {}, pretrainDirs);
    } finally {
      delete process.env.COURSE_PRECOMPUTE;
    }
    const student = GPT.create(TINY, 4);
    const run = await pretrain("pt", student, DATA, settings, { title: "t", liveSteps: 5, dirs: pretrainDirs });
    expect(run.source).toBe("stored");
    expect(run.liveSlice?.steps).toBe(5);
    // Same start, batches and learning rates: the same losses, up to float rounding.
    expect(run.liveSlice!.maxLossDifference).toBeLessThan(1e-6);
    expect(await student.weights()).toEqual(await original.weights());
    expect(describePretraining(run)).toMatch(/^validation loss \d\.\d{3} after 384 tokens: precomputed by `COURSE_PRECOMPUTE=1` on \d{4}-\d\d-\d\d .*; its first 5 steps, retrained here in \d+ s on 1 thread\(s\), match the stored batch losses exactly$/);
    for (const m of [original, student]) m.dispose();
  });

  it("without one: trains the whole run live, and a second time loads it from this machine's cache", async () => {
    const pretrainDirs = { dir: join(dir, "pretrain-fresh"), storedDir: join(dir, "none") };
    const first = await pretrain("pf", GPT.create(TINY, 5), DATA, SETTINGS, { title: "t", liveSteps: 5, dirs: pretrainDirs });
    expect(first.source).toBe("trained");
    expect(first.liveSlice).toBeUndefined();
    expect(first.steps).toHaveLength(SETTINGS.steps);
    expect(describePretraining(first)).toMatch(/^validation loss \d\.\d{3} after 384 tokens in \d+ s on 1 thread\(s\)$/);
    const second = await pretrain("pf", GPT.create(TINY, 5), DATA, SETTINGS, { title: "t", liveSteps: 5, dirs: pretrainDirs });
    expect(second.source).toBe("cache");
    await expect(pretrain("pf", GPT.create(TINY, 5), DATA, SETTINGS, { title: "t", liveSteps: 0, dirs: pretrainDirs })).rejects.toThrow("pretrain: liveSteps must be a positive integer; got 0");
  });
});

describe("typicality", () => {
  it("is each sequence's mean log-probability per scored character, as scoring each position alone gives", async () => {
    const model = GPT.create(TINY, 3);
    await train(model, DATA, { ...SETTINGS, steps: 80, evalBatches: 0 });
    const texts = ["abcdabcd", "dcbadcba", "bcdabcda", "ddddaaaa"];
    const ids = Int32Array.from(texts.flatMap((t) => Array.from(TEXT.encode(t))));
    const scores = await typicality(model, { ids, labels: new Int32Array(4), length: 8, classes: ["real", "scrambled"] });
    const reference = texts.map((t) => tf.tidy(() => {
      const x = TEXT.encode(t);
      const logp = tf.logSoftmax(model.forward(x, 1, 8).logits).arraySync() as number[][];
      return x.slice(1).reduce((sum, token, i) => sum + logp[i][token], 0) / 7;
    }));
    scores.forEach((v, i) => expect(v).toBeCloseTo(reference[i], 4));
    expect(scores[0]).toBeGreaterThan(scores[1]); // the training pattern is more typical than its reverse
    model.dispose();
  });
});

describe("the study", () => {
  const design = reuseDesign("smoke");
  const data = reuseData(design);
  const config = { ...design.model, vocabSize: data.tokenizer.vocabSize };

  it("trains the same results in worker threads as here, resumes without retraining, and keeps the grid's order", async () => {
    const pretrained = { model: GPT.create(config, 1), checkpoint: "/x/01-pretrained-test.ckpt" };
    const runs = tuningRuns(design).slice(0, 3);
    const path = join(dir, "study.jsonl");
    const here = await runStudy(design, data, pretrained, runs, { path: join(dir, "here.jsonl"), backend: "wasm", jobs: 1 });
    const ended: number[] = [];
    const threads = await runStudy(design, data, pretrained, runs, { path, backend: "wasm", jobs: 2, onRunEnd: (_, done) => ended.push(done) });
    const withoutTime = (rows: StudyResult[]) => rows.map((r) => ({ ...r, seconds: 0 }));
    expect(withoutTime(threads)).toEqual(withoutTime(here));
    expect(threads.map((r) => [r.task, r.method, r.learningRate, r.seed])).toEqual(runs.map((r) => [r.task, r.method.name, r.learningRate, r.seed]));
    expect(ended.sort()).toEqual([1, 2, 3]);
    expect(liveWorkerCount()).toBe(0);
    // Everything is in the file: a rerun trains nothing.
    let trained = 0;
    await runStudy(design, data, pretrained, runs, { path, backend: "wasm", onRunEnd: () => trained++ });
    expect(trained).toBe(0);
    pretrained.model.dispose();
  });

  it("every seed of every method sees the same labelled examples; the test set never changes", () => {
    const a = runData(design, data, { task: "speaker", seed: 1, perClass: 4 }), b = runData(design, data, { task: "speaker", seed: 2, perClass: 4 });
    expect(a.test).toBe(b.test);
    expect(Array.from(a.train.ids)).not.toEqual(Array.from(b.train.ids));
    expect(runData(design, data, { task: "speaker", seed: 1, perClass: 4 }).train).toEqual(a.train);
    expect(a.train.labels).toHaveLength(4 * 4);
    expect(() => runData(design, data, { task: "sentiment", seed: 1, perClass: 4 })).toThrow(
      'runData: no task "sentiment"; have speaker, verse or prose, real or scrambled, real or word-shuffled, real or n-gram',
    );
  });

  it("a LoRA update keeps its scale when the rank grows: α is fixed", () => {
    const lora = design.methods.filter((m) => m.kind.method === "lora").map((m) => m.kind);
    expect(new Set(lora.map((k) => (k as { alpha: number }).alpha)).size).toBe(1);
    expect(reuseDesign("full").methods.filter((m) => m.kind.method === "lora").every((m) => (m.kind as { alpha: number }).alpha === 1)).toBe(true);
  });
});
