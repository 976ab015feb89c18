import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { CharTokenizer, loadDataset } from "../lib/core/data";
import { findStoredRun, trainCached } from "../lib/gpt/cache";
import { GPT, type GPTConfig } from "../lib/gpt/model";
import { train, type EvalInfo, type StepInfo } from "../lib/gpt/train";
import { probeRow, reuseGains, shakespeareTasks, tuneClassifiers, typicalityPredict, zeroShotAccuracy, type ReuseTask, type TuneJob } from "../lib/reuse/methods";
import { describePretraining, pretrain } from "../lib/reuse/pretrain";
import { Random } from "../lib/core/random";
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
    expect(first.weights()).toEqual(reference.weights());

    const second = GPT.create(TINY, 1);
    const replay = record();
    const loaded = await trainCached("tiny", second, DATA, SETTINGS, replay.callbacks, dirs);
    expect(loaded.source).toBe("cache");
    expect(loaded.checkpoint).toBe(trained.checkpoint);
    expect(second.weights()).toEqual(first.weights());
    expect(replay.steps).toEqual(seen.steps);
    expect(replay.evals).toEqual(seen.evals);
    expect(loaded.tokens).toBe(trained.tokens);
    for (const m of [first, reference, second]) m.dispose();
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
    expect(findStoredRun("pre", model, DATA, SETTINGS, storedDir)).toBeNull();
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
    const found = findStoredRun("pre", fresh, DATA, SETTINGS, storedDir);
    expect(found?.result.steps).toHaveLength(SETTINGS.steps);
    const loaded = await trainCached("pre", fresh, DATA, SETTINGS, {}, precomputeDirs);
    expect(loaded.source).toBe("stored");
    expect(loaded.provenance).toEqual(found!.provenance);
    expect(fresh.weights()).toEqual(model.weights());
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
    expect(student.weights()).toEqual(original.weights());
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

describe("comparing reuse methods", () => {
  const row = (task: string, method: string, accuracy: number, bytesPerTask: number) => ({ task, method, accuracy, trainableParams: bytesPerTask / 4, bytesPerTask, seconds: 1 });

  it("counts a probe's head and finds pretraining's gain and LoRA's gap per task", () => {
    const task = { name: "t", classes: ["a", "b", "c"] } as ReuseTask;
    expect(probeRow(task, [0.4, 0.7, 0.6], 128)).toEqual({
      task: "t", method: "linear probe (best layer)", accuracy: 0.7, trainableParams: 129 * 3, bytesPerTask: 4 * 129 * 3, seconds: 0,
    });
    const runs = [row("t", "fine-tune (all weights)", 0.8, 4000), row("t", "from scratch", 0.55, 4000), row("t", "LoRA r=4", 0.75, 100)];
    const [gains] = reuseGains(runs, 4);
    expect(gains.task).toBe("t");
    expect(gains.pretrainingGain).toBeCloseTo(25, 12);
    expect(gains.loraGap).toBeCloseTo(-5, 12);
    expect(gains.loraBytesPercent).toBeCloseTo(2.5, 12);
    expect(() => reuseGains(runs, 16)).toThrow('reuseGains: no "LoRA r=16" run for task "t"; have fine-tune (all weights), from scratch, LoRA r=4');
  });
});

describe("typicality zero-shot", () => {
  it("calls the likelier half real, by each sequence's own log-likelihood", async () => {
    const model = GPT.create(TINY, 3);
    await train(model, DATA, { ...SETTINGS, steps: 80, evalBatches: 0 });
    const texts = ["abcdabcd", "dcbadcba", "bcdabcda", "acbdacbd", "cdabcdab", "ddddaaaa"];
    const ids = Int32Array.from(texts.flatMap((t) => Array.from(TEXT.encode(t))));
    const predicted = typicalityPredict(model, { ids, labels: new Int32Array(6), length: 8, classes: ["real", "scrambled"] });
    // Brute force: each sequence's summed log-probability of its tokens 1..7, one at a time.
    const ll = texts.map((t) => tf.tidy(() => {
      const x = TEXT.encode(t);
      const logp = tf.logSoftmax(model.forward(x, 1, 8).logits).arraySync() as number[][];
      return x.slice(1).reduce((sum, token, i) => sum + logp[i][token], 0);
    }));
    const median = [...ll].sort((a, b) => a - b)[3];
    expect(Array.from(predicted)).toEqual(ll.map((v) => (v >= median ? 0 : 1)));
    expect(Array.from(predicted.subarray(0, 1))).toEqual([0]); // the training pattern itself is real
    model.dispose();
  });
});

describe("Shakespeare tasks", () => {
  it("builds three balanced tasks with disjoint train and test texts; zero-shot only where a question exists", async () => {
    const corpus = loadDataset("tinyshakespeare.txt");
    const tokenizer = CharTokenizer.fromText(corpus);
    const tasks = shakespeareTasks(corpus, tokenizer, { length: 32, trainPerClass: 5, testPerClass: 10, seed: 2 });
    expect(tasks.map((t) => t.name)).toEqual(["speaker", "verse or prose", "real or scrambled"]);
    for (const t of tasks) {
      expect(t.train.labels.length).toBe(5 * t.classes.length);
      expect(t.test.labels.length).toBe(10 * t.classes.length);
      expect(t.test.length).toBe(32);
      const trainTexts = new Set(Array.from({ length: t.train.labels.length }, (_, i) => tokenizer.decode(t.train.ids.subarray(i * 32, i * 32 + 32))));
      expect(t.testTexts.some((x) => trainTexts.has(x))).toBe(false);
    }
    const model = GPT.create({ ...TINY, vocabSize: tokenizer.vocabSize, blockSize: 64 }, 1);
    expect(zeroShotAccuracy(model, tokenizer, tasks[1])).toBeNull();
    expect(zeroShotAccuracy(model, tokenizer, tasks[2], false)).toBeNull();
    model.dispose();
  });
});

describe("tuneClassifiers", () => {
  // Two classes of length-8 sequences: "abab…" against random letters.
  const sequences = (n: number, seed: number) => {
    const r = new Random(seed);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    const ids = Int32Array.from({ length: n * 8 }, (_, j) => (labels[Math.floor(j / 8)] === 0 ? j % 2 : r.int(4)));
    return { ids, labels, length: 8, classes: ["pattern", "noise"] };
  };
  const task: ReuseTask = { name: "pattern or noise", classes: ["pattern", "noise"], train: sequences(16, 1), test: sequences(8, 2), testTexts: [] };
  const grid: TuneJob[] = [
    { kind: { method: "fine-tune" }, task, learningRate: 1e-3 },
    { kind: { method: "lora", rank: 2, targets: ["attn"] }, task, learningRate: 1e-2 },
    { kind: { method: "scratch", config: TINY }, task, learningRate: 1e-3 },
  ];

  it("gives the same rows in worker threads as one after another, in the grid's order", async () => {
    const pretrained = GPT.create(TINY, 3);
    const options = { steps: 4, batchSize: 4, seed: 1 };
    const here = await tuneClassifiers(grid, pretrained, options, { jobs: 1 });
    const seen: number[] = [];
    const threads = await tuneClassifiers(grid, pretrained, options, { jobs: 2, onResult: (_, i) => seen.push(i) });
    const withoutTime = (rows: typeof here) => rows.map(({ seconds: _, ...rest }) => rest);
    expect(withoutTime(threads)).toEqual(withoutTime(here));
    expect(here.map((r) => r.method)).toEqual(["fine-tune (all weights)", "LoRA r=2", "from scratch"]);
    expect(seen.sort()).toEqual([0, 1, 2]);
    expect(liveWorkerCount()).toBe(0);
    pretrained.dispose();
  });
});
