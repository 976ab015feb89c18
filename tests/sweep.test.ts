import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { countParameters, type GPTConfig } from "../lib/gpt/model";
import { Random } from "../lib/core/random";
import { lossComputeFrontier } from "../lib/scaling/analysis";
import { readSweepResults, runSweep, strayResults, upgradeSweepResults } from "../lib/scaling/sweep";
import {
  budgetSizes, isoflopRuns, learningRateRuns, learningRateStepRuns, runId, scalingDesign, shapeName, shapeRunsOf, shapeStepRunsOf, shapeTuningRunsOf, sweepContext,
  tuneLearningRates, tuneShapesOf, type Shape, type SweepResult, type SweepRun,
} from "../lib/scaling/sweepDesign";
import { formatOneId, RESULTS_FORMAT } from "../lib/core/results";
import { liveWorkerCount } from "../lib/core/threads";
import { ROOT } from "../tools/runner";
import { fixtureDir, TSX_CLI } from "./fixtures";

const base: Omit<GPTConfig, "nEmbd" | "nLayer" | "nHead"> = { vocabSize: 11, blockSize: 8, dropout: 0, bias: true, tieWeights: true };
const r = new Random(1);
const data = {
  train: Int32Array.from({ length: 3000 }, () => r.int(11)), val: Int32Array.from({ length: 400 }, () => r.int(11)),
  test: Int32Array.from({ length: 400 }, () => r.int(11)),
};
/** Each shape trained on each token count. */
const grid = (shapes: Shape[], tokenCounts: number[]): SweepRun[] => shapes.flatMap((shape) => tokenCounts.map((tokens) => ({
  label: `${shapeName(shape)} D${tokens}`, model: { ...base, ...shape }, tokens, batchSize: 12, learningRate: 2e-3, seed: 1, dataset: "random",
})));
const runs = grid([{ nLayer: 1, nHead: 2, nEmbd: 8 }, { nLayer: 1, nHead: 2, nEmbd: 16 }], [192, 384]);
const context = sweepContext(data, "wasm");
const idOf = (run: SweepRun) => runId(run, context);
const evalTokens = 200;
const dir = mkdtempSync(join(tmpdir(), "sweep-"));

beforeAll(async () => {
  await chooseBackend("wasm");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("runSweep", () => {
  it("writes one complete line per run with N, D and C = 6ND, and skips finished runs when rerun", async () => {
    const path = join(dir, "a.jsonl");
    let trained = 0;
    const results = await runSweep(runs, { path, data, backend: "wasm", evalTokens, onRunEnd: () => trained++ });
    expect(trained).toBe(4);
    const lines = readFileSync(path, "utf8").trim().split("\n");
    expect(lines).toHaveLength(4);
    for (const res of results) {
      expect(res.flops).toBe(6 * res.params * res.tokens);
      expect(res.tokens).toBeGreaterThanOrEqual(192);
      expect(Number.isFinite(res.valLoss)).toBe(true);
      expect(res.validationLoss).toBeGreaterThan(1); // a barely trained model on random tokens: near ln 11 ≈ 2.4
      expect(res.testLoss).toBeGreaterThan(1);
      expect(res.evalTokens).toBe(200);
    }
    expect(results[1].params).toBe(results[0].params); // same shape, two budgets
    expect(results[2].params).toBeGreaterThan(results[0].params);
    trained = 0;
    const again = await runSweep(runs, { path, data, backend: "wasm", evalTokens, onRunEnd: () => trained++ });
    expect(trained).toBe(0);
    expect(again).toEqual(results);
    // A line of another grid is kept in the file, found as stray, and not counted as a run of this one.
    expect(strayResults(path, runs.map(idOf))).toEqual([]);
    const foreign = { ...results[0], id: "0123456789abcdef", label: "another grid" };
    writeFileSync(path, readFileSync(path, "utf8") + JSON.stringify(foreign) + "\n");
    expect(strayResults(path, runs.map(idOf)).map((r) => r.label)).toEqual(["another grid"]);
    expect(await runSweep(runs, { path, data, backend: "wasm", evalTokens })).toEqual(results);
  });

  it("killed mid-sweep leaves only complete lines; the rerun finishes the rest", async () => {
    const path = join(dir, "b.jsonl");
    await expect(runSweep(runs, {
      path, data, backend: "wasm", evalTokens,
      onRunStart: (_, i) => { if (i === 2) throw new Error("killed"); },
    })).rejects.toThrow("killed");
    expect(readSweepResults(path).map((x) => x.id)).toEqual(runs.slice(0, 2).map(idOf));
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const results = await runSweep(runs, { path, data, backend: "wasm", evalTokens });
    expect(results.map((x) => x.id)).toEqual(runs.map(idOf));
  });

  it("names the line of a corrupt results file and its repair, and rejects repeated runs", async () => {
    const path = join(dir, "c.jsonl");
    writeFileSync(path, `{"id":"x","format":${RESULTS_FORMAT},"dataHash":"d","backend":"wasm"}\n`);
    expect(() => readSweepResults(path)).toThrow(`${path}, line 1: missing label, model, params`);
    writeFileSync(path, '{"id":"x","format":2,"la\n');
    expect(() => readSweepResults(path)).toThrow(`${path}, line 1: not one complete JSON result ("{\\"id\\":\\"x\\",\\"format\\":2,\\"la"…); `
      + "delete that line and rerun `npm run sweep -- --grid full`: it trains only the runs missing from the file");
    writeFileSync(path, "[1, 2]\n");
    expect(() => readSweepResults(path, "npm run sweep -- --grid smoke")).toThrow("line 1: not one complete JSON result");
    await expect(runSweep([runs[0], { ...runs[0], label: "again" }], { path: join(dir, "d.jsonl"), data, backend: "wasm", evalTokens })).rejects.toThrow(
      `runSweep: run 1 ("again") repeats the settings of run 0`,
    );
  });
});

describe("what a run's id covers", () => {
  it("its settings, the data (every token, every part) and the backend; not its label", () => {
    const run = runs[0];
    const changed = (d: typeof data) => runId(run, sweepContext(d, "wasm"));
    const flipped = (part: Int32Array) => { const c = part.slice(); c[c.length - 1] = (c[c.length - 1] + 1) % 11; return c; };
    const ids = [
      idOf(run), runId({ ...run, seed: 2 }, context), runId({ ...run, learningRate: 3e-3 }, context), runId(run, sweepContext(data, "webgpu")),
      changed({ ...data, train: flipped(data.train) }), changed({ ...data, val: flipped(data.val) }), changed({ ...data, test: flipped(data.test) }),
      // Moving a token from the end of one part to the start of the next changes the split, not the concatenation.
      changed({ ...data, train: data.train.slice(0, -1), val: Int32Array.of(data.train.at(-1)!, ...data.val) }),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    expect(runId({ ...run, label: "renamed" }, context)).toBe(idOf(run));
  });

  it("a run finished on another backend or other data is not counted as finished", async () => {
    const path = join(dir, "other.jsonl");
    const [result] = await runSweep(runs.slice(0, 1), { path, data, backend: "wasm", evalTokens });
    const stale = [{ ...result, id: runId(runs[0], sweepContext(data, "webgpu")), backend: "webgpu" }];
    writeFileSync(path, stale.map((r) => JSON.stringify(r) + "\n").join(""));
    let trained = 0;
    await runSweep(runs.slice(0, 1), { path, data, backend: "wasm", evalTokens, onRunEnd: () => trained++ });
    expect(trained).toBe(1);
    expect(readSweepResults(path).map((r) => r.backend)).toEqual(["webgpu", "wasm"]);
    await expect(runSweep(runs.slice(0, 1), { path, data, backend: "webgpu", evalTokens })).rejects.toThrow(
      "runSweep: options.backend is webgpu but tfjs runs wasm; the backend is part of every run's id",
    );
  });

  it("a format-1 file is refused with its upgrade command; the upgrade keeps every number and trains nothing", async () => {
    const design = { ...scalingDesign("smoke"), minSteps: 1 };
    const path = join(dir, "old.jsonl");
    const tuning = learningRateRuns(design, 11, data.train.length).slice(0, 2);
    const current = await runSweep(tuning, { path, data, backend: "wasm", evalTokens });
    // As format 1 wrote them: ids of the settings alone, no format or data fingerprint.
    const old = current.map(({ id: _, format: __, dataHash: ___, ...rest }, i) => {
      const { model, tokens, batchSize, learningRate, seed, dataset } = tuning[i];
      return { id: formatOneId({ model, tokens, batchSize, learningRate, seed, dataset }), ...rest };
    });
    writeFileSync(path, old.map((r) => JSON.stringify(r) + "\n").join(""));
    expect(() => readSweepResults(path, "npm run sweep -- --grid smoke")).toThrow(
      `${path}, line 1: a format-1 result (this course reads format 2, whose ids cover the data and backend); `
      + "upgrade the file with `npm run sweep -- --grid smoke --upgrade`",
    );
    expect(upgradeSweepResults(path, design, 11, data)).toBe(2);
    expect(readSweepResults(path)).toEqual(current);
    expect(upgradeSweepResults(path, design, 11, data)).toBe(0);
    let trained = 0;
    await runSweep(tuning, { path, data, backend: "wasm", evalTokens, onRunEnd: () => trained++ });
    expect(trained).toBe(0);
    // A line of another design is not guessed at: nothing is written.
    writeFileSync(path, JSON.stringify({ ...old[0], id: "0123456789abcdef" }) + "\n");
    expect(() => upgradeSweepResults(path, design, 11, data)).toThrow(`upgradeResults: ${path}, line 1 (id 0123456789abcdef) is no run of this design; nothing was changed`);
  });
});

describe("runSweep with jobs side by side", () => {
  const withoutTime = (rs: SweepResult[]) => rs.map(({ seconds: _, ...rest }) => rest);

  it("gives the same results as one run after another, in the grid's order", async () => {
    const one = await runSweep(runs, { path: join(dir, "j1.jsonl"), data, backend: "wasm", evalTokens });
    const started: number[] = [];
    const two = await runSweep(runs, { path: join(dir, "j2.jsonl"), data, backend: "wasm", evalTokens, jobs: 2, onRunStart: (_, i) => started.push(i) });
    expect(withoutTime(two)).toEqual(withoutTime(one));
    expect(started.sort()).toEqual([0, 1, 2, 3]);
    expect(readSweepResults(join(dir, "j2.jsonl"))).toHaveLength(4);
    expect(liveWorkerCount()).toBe(0);
  });

  it("reports a failing run by name, keeps the finished ones and leaves no workers", async () => {
    const path = join(dir, "j3.jsonl");
    const bad: SweepRun = { ...runs[0], label: "bad shape", model: { ...runs[0].model, nEmbd: 10, nHead: 4 } };
    await expect(runSweep([runs[0], bad, runs[1]], { path, data, backend: "wasm", evalTokens, jobs: 2 })).rejects.toThrow(
      'sweep run "bad shape" failed: GPT.create: config.nEmbd must be divisible by nHead (4); got 10',
    );
    expect(readSweepResults(path).map((x) => x.label)).toContain(runs[0].label);
    expect(liveWorkerCount()).toBe(0);
  });

  it("killed (SIGKILL) mid-sweep leaves only complete, distinct lines; the rerun finishes the rest", async () => {
    const work = fixtureDir();
    const path = join(work, "killed.jsonl");
    const script = join(work, "sweep.ts");
    // Longer runs than above, so that the kill lands while both jobs are training.
    const slow = grid([{ nLayer: 1, nHead: 2, nEmbd: 8 }, { nLayer: 2, nHead: 2, nEmbd: 16 }], [1536, 3072, 6144]);
    writeFileSync(script, [
      `import { runSweep } from ${JSON.stringify(join(ROOT, "lib", "scaling", "sweep.ts"))};`,
      `import { chooseBackend } from ${JSON.stringify(join(ROOT, "lib", "core", "backend.ts"))};`,
      `await chooseBackend("wasm");`,
      `const ids = (a: number[]) => Int32Array.from(a);`,
      `const data = { train: ids(${JSON.stringify(Array.from(data.train))}), val: ids(${JSON.stringify(Array.from(data.val))}), test: ids(${JSON.stringify(Array.from(data.test))}) };`,
      `await runSweep(${JSON.stringify(slow)}, { path: ${JSON.stringify(path)}, data, backend: "wasm", evalTokens: ${evalTokens}, jobs: 2 });`,
    ].join("\n"));
    const child = spawn(process.execPath, [TSX_CLI, script], { cwd: ROOT, stdio: "ignore" });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    for (let waited = 0; !(existsSync(path) && readSweepResults(path).length >= 1) && waited < 120_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGKILL");
    await exited;
    const kept = readSweepResults(path);
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(slow.length);
    expect(new Set(kept.map((x) => x.id)).size).toBe(kept.length);
    const finished = await runSweep(slow, { path, data, backend: "wasm", evalTokens, jobs: 2 });
    // A kill during a write may leave the writer's temp file; the rerun's first write removes it.
    expect(readdirSync(work).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(finished.map((x) => x.id)).toEqual(slow.map(idOf));
    expect(readSweepResults(path)).toHaveLength(slow.length);
  });
});

describe("lossComputeFrontier", () => {
  it("keeps the points that no cheaper point beats, across runs", () => {
    const run = (label: string, params: number, curve: [number, number][]) => ({ label, params, curve: curve.map(([tokens, valLoss]) => ({ tokens, valLoss })) }) as unknown as SweepResult;
    const small = run("small", 10, [[10, 3], [100, 2.5], [1000, 2.4]]);
    const big = run("big", 100, [[10, 2.9], [100, 2.2], [1000, 2.0]]);
    expect(lossComputeFrontier([small, big]).map((p) => [p.label, p.flops, p.valLoss])).toEqual([
      ["small", 600, 3], ["small", 6000, 2.5], ["big", 60000, 2.2], ["big", 600000, 2.0],
    ]);
  });
});

describe("the scaling design", () => {
  const design = scalingDesign("full");
  const V = 63, trainTokens = 3_725_813, perStep = 16 * 64;
  const N = (s: Shape) => countParameters({ ...design.base, ...s, vocabSize: V }).nonEmbedding;

  it("trains at each budget exactly the sizes with ≥ 100 steps and ≤ 4 epochs, with D = C/6N in whole steps", () => {
    const table = budgetSizes(design, V, trainTokens);
    for (const { C, sizes, skipped } of table) {
      expect(sizes.length + skipped.length).toBe(design.ladder.length);
      for (const s of sizes) {
        const steps = Math.round(C / (6 * N(s)) / perStep);
        expect(steps).toBeGreaterThanOrEqual(100);
        expect(steps * perStep).toBeLessThanOrEqual(4 * trainTokens);
      }
      for (const { why } of skipped) expect(why).toMatch(/steps < 100$|epochs > 4$/);
    }
    // The bar: at least 4 budgets spanning 30× with 5 or more sizes each.
    expect(table.filter((b) => b.sizes.length >= 5).map((b) => b.C)).toEqual(design.budgets);
    expect(design.budgets.at(-1)! / design.budgets[0]).toBeGreaterThanOrEqual(30);
    expect(design.budgets.filter((C) => !design.fitBudgets.includes(C)).at(-1)).toBeGreaterThanOrEqual(10 * design.fitBudgets.at(-1)!);
  });

  it("tunes each size once per rate and picks the rate by validation loss, never by test loss", () => {
    const tuning = learningRateRuns(design, V, trainTokens);
    expect(tuning).toHaveLength(design.ladder.length * design.rates.length);
    // Fake results: the validation loss is lowest at 4e-3, the test loss at 1e-3.
    const results = tuning.map((run) => ({
      id: idOf(run), validationLoss: Math.abs(Math.log(run.learningRate / 4e-3)), testLoss: Math.abs(Math.log(run.learningRate / 1e-3)),
    })) as unknown as SweepResult[];
    const rates = tuneLearningRates(design, V, trainTokens, results, context);
    expect(rates.map((t) => t.rate)).toEqual(design.ladder.map(() => 4e-3));
    expect(rates.every((t) => !t.atEdge)).toBe(true);
    expect(() => tuneLearningRates(design, V, trainTokens, results.slice(1), context)).toThrow(/tuneLearningRates: no result for the tuning run C\d/);
    const main = isoflopRuns(design, V, trainTokens, rates);
    expect(main.every((run) => run.learningRate === 4e-3 && run.dataset === design.dataset)).toBe(true);
    const atSeedBudget = main.filter((run) => run.label.startsWith(`C${design.seedBudget.toExponential(0).replace("+", "")} `));
    expect(new Set(atSeedBudget.map((run) => run.seed))).toEqual(new Set(design.seeds));
    expect(new Set(main.map(idOf)).size).toBe(main.length);
    // Every tuning run at the chosen rate is one of the main runs: it is trained once.
    const mainIds = new Set(main.map(idOf));
    expect(tuning.filter((run) => run.learningRate === 4e-3).every((run) => mainIds.has(idOf(run)))).toBe(true);
  });

  it("tunes each shape on a grid of its own around the nearest ladder size's rate, then trains it with every seed", () => {
    const fake = (runs: SweepRun[], best: (run: SweepRun) => number) =>
      runs.map((run) => ({ id: idOf(run), validationLoss: Math.abs(Math.log(run.learningRate / best(run))) })) as unknown as SweepResult[];
    const ladderRates = tuneLearningRates(design, V, trainTokens, fake(learningRateRuns(design, V, trainTokens), () => 4e-3), context);
    const grid = shapeTuningRunsOf(design, V, ladderRates);
    expect(grid).toHaveLength(3 * design.shapes.length);
    expect(grid.every((run) => run.label.startsWith(`C${design.seedBudget.toExponential(0).replace("+", "")} `) && run.seed === 1)).toBe(true);
    expect([...new Set(grid.map((run) => run.learningRate))].sort()).toEqual([2e-3, 4e-3, 8e-3]);
    // The deepest shape is best at 3e-2: above its grid, so it steps (×2) until the steps run out.
    const deepest = design.shapes.reduce((a, b) => (b.nLayer > a.nLayer ? b : a));
    const bestOf = (run: SweepRun) => (run.model.nLayer === deepest.nLayer ? 3e-2 : 4e-3);
    let results = fake(grid, bestOf);
    const steps: number[] = [];
    for (let more = shapeStepRunsOf("t", design, V, ladderRates, results, context); more.length > 0; more = shapeStepRunsOf("t", design, V, ladderRates, results, context)) {
      steps.push(...more.map((run) => run.learningRate));
      results = [...results, ...fake(more, bestOf)];
    }
    expect(steps).toEqual([1.6e-2, 3.2e-2]);
    const shapeRates = tuneShapesOf("t", design, V, ladderRates, results, context);
    expect(shapeRates.map((t) => [t.shape.nLayer, t.rate, t.atEdge])).toEqual(design.shapes.map((sh) => [sh.nLayer, sh.nLayer === deepest.nLayer ? 3.2e-2 : 4e-3, sh.nLayer === deepest.nLayer]));
    const runs = shapeRunsOf(design, V, shapeRates);
    expect(runs).toHaveLength(design.shapes.length * design.seeds.length);
    expect(new Set(runs.map(idOf)).size).toBe(runs.length);
  });

  it("steps one grid ratio beyond an edge, up to rateSteps, and trains the IsoFLOP runs at the rate the steps find", () => {
    // Fake validation losses lowest at 0.1: above the grid's top rate, 3.2e-2.
    const fake = (runs: SweepRun[]) => runs.map((run) => ({ id: idOf(run), validationLoss: Math.abs(Math.log(run.learningRate / 0.1)) })) as unknown as SweepResult[];
    let results = fake(learningRateRuns(design, V, trainTokens));
    const first = learningRateStepRuns(design, V, trainTokens, results, context);
    expect(first.map((run) => run.learningRate)).toEqual(design.ladder.map(() => 6.4e-2));
    expect(() => tuneLearningRates(design, V, trainTokens, results, context)).toThrow(/one step beyond the edge of the grid/);
    results = [...results, ...fake(first)];
    const second = learningRateStepRuns(design, V, trainTokens, results, context);
    expect(second.map((run) => run.learningRate)).toEqual(design.ladder.map(() => 1.28e-1));
    results = [...results, ...fake(second)];
    expect(learningRateStepRuns(design, V, trainTokens, results, context)).toEqual([]);
    const rates = tuneLearningRates(design, V, trainTokens, results, context);
    // log(0.128/0.1) < log(0.1/0.064): the second step is best, and still the highest tried.
    expect(rates.map((t) => [t.rate, t.atEdge, t.losses.length])).toEqual(design.ladder.map(() => [1.28e-1, true, 8]));
    expect(isoflopRuns(design, V, trainTokens, rates).every((run) => run.learningRate === 1.28e-1)).toBe(true);
  });
});
