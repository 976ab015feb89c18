import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { countParameters, type GPTConfig } from "../lib/gpt/model";
import { Random } from "../lib/core/random";
import {
  isoflopGrid, longestRunPerSize, lossAtCompute, SIZE_LADDER, lossComputeFrontier, readSweepResults, runId, runSweep, sizeByDataGrid, splitSweep, tokensToReach,
  type SweepResult, type SweepRun,
} from "../lib/scaling/sweep";
import { liveWorkerCount } from "../lib/core/threads";
import { ROOT } from "../tools/runner";
import { fixtureDir, TSX_CLI } from "./fixtures";

const base: Omit<GPTConfig, "nEmbd" | "nLayer" | "nHead"> = { vocabSize: 11, blockSize: 8, dropout: 0, bias: true, tieWeights: true };
const r = new Random(1);
const data = { train: Int32Array.from({ length: 3000 }, () => r.int(11)), val: Int32Array.from({ length: 400 }, () => r.int(11)) };
const runs: SweepRun[] = sizeByDataGrid(base, [{ nLayer: 1, nHead: 2, nEmbd: 8 }, { nLayer: 1, nHead: 2, nEmbd: 16 }], [192, 384]);
const dir = mkdtempSync(join(tmpdir(), "sweep-"));

beforeAll(async () => {
  await chooseBackend("wasm");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("runSweep", () => {
  it("writes one complete line per run with N, D and C = 6ND, and skips finished runs when rerun", async () => {
    const path = join(dir, "a.jsonl");
    let trained = 0;
    const results = await runSweep(runs, { path, data, backend: "wasm", onRunEnd: () => trained++ });
    expect(trained).toBe(4);
    const lines = readFileSync(path, "utf8").trim().split("\n");
    expect(lines).toHaveLength(4);
    for (const res of results) {
      expect(res.flops).toBe(6 * res.params * res.tokens);
      expect(res.tokens).toBeGreaterThanOrEqual(192);
      expect(Number.isFinite(res.valLoss)).toBe(true);
    }
    expect(results[1].params).toBe(results[0].params); // same shape, two budgets
    expect(results[2].params).toBeGreaterThan(results[0].params);
    trained = 0;
    const again = await runSweep(runs, { path, data, backend: "wasm", onRunEnd: () => trained++ });
    expect(trained).toBe(0);
    expect(again).toEqual(results);
  });

  it("killed mid-sweep leaves only complete lines; the rerun finishes the rest", async () => {
    const path = join(dir, "b.jsonl");
    await expect(runSweep(runs, {
      path, data, backend: "wasm",
      onRunStart: (_, i) => { if (i === 2) throw new Error("killed"); },
    })).rejects.toThrow("killed");
    expect(readSweepResults(path).map((x) => x.id)).toEqual(runs.slice(0, 2).map(runId));
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const results = await runSweep(runs, { path, data, backend: "wasm" });
    expect(results.map((x) => x.id)).toEqual(runs.map(runId));
  });

  it("names the line of a corrupt results file, and rejects repeated runs", async () => {
    const path = join(dir, "c.jsonl");
    writeFileSync(path, '{"id":"x"}\n');
    expect(() => readSweepResults(path)).toThrow(`${path}, line 1: missing label, model, params`);
    writeFileSync(path, "not json\n");
    expect(() => readSweepResults(path)).toThrow(`${path}, line 1: not JSON`);
    await expect(runSweep([runs[0], { ...runs[0], label: "again" }], { path: join(dir, "d.jsonl"), data, backend: "wasm" })).rejects.toThrow(
      `runSweep: run 1 ("again") repeats the settings of run 0`,
    );
  });
});

describe("runSweep with jobs side by side", () => {
  const withoutTime = (rs: SweepResult[]) => rs.map(({ seconds: _, ...rest }) => rest);

  it("gives the same results as one run after another, in the grid's order", async () => {
    const one = await runSweep(runs, { path: join(dir, "j1.jsonl"), data, backend: "wasm" });
    const started: number[] = [];
    const two = await runSweep(runs, { path: join(dir, "j2.jsonl"), data, backend: "wasm", jobs: 2, onRunStart: (_, i) => started.push(i) });
    expect(withoutTime(two)).toEqual(withoutTime(one));
    expect(started.sort()).toEqual([0, 1, 2, 3]);
    expect(readSweepResults(join(dir, "j2.jsonl"))).toHaveLength(4);
    expect(liveWorkerCount()).toBe(0);
  });

  it("reports a failing run by name, keeps the finished ones and leaves no workers", async () => {
    const path = join(dir, "j3.jsonl");
    const bad: SweepRun = { ...runs[0], label: "bad shape", model: { ...runs[0].model, nEmbd: 10, nHead: 4 } };
    await expect(runSweep([runs[0], bad, runs[1]], { path, data, backend: "wasm", jobs: 2 })).rejects.toThrow(
      'sweep run "bad shape" failed: GPTConfig.nEmbd (10) must be divisible by nHead (4)',
    );
    expect(readSweepResults(path).map((x) => x.label)).toContain(runs[0].label);
    expect(liveWorkerCount()).toBe(0);
  });

  it("killed (SIGKILL) mid-sweep leaves only complete, distinct lines; the rerun finishes the rest", async () => {
    const work = fixtureDir();
    const path = join(work, "killed.jsonl");
    const script = join(work, "sweep.ts");
    // Longer runs than above, so that the kill lands while both jobs are training.
    const slow = sizeByDataGrid(base, [{ nLayer: 1, nHead: 2, nEmbd: 8 }, { nLayer: 2, nHead: 2, nEmbd: 16 }], [1536, 3072, 6144]);
    writeFileSync(script, [
      `import { runSweep } from ${JSON.stringify(join(ROOT, "lib", "scaling", "sweep.ts"))};`,
      `import { chooseBackend } from ${JSON.stringify(join(ROOT, "lib", "core", "backend.ts"))};`,
      `await chooseBackend("wasm");`,
      `const data = { train: Int32Array.from(${JSON.stringify(Array.from(data.train))}), val: Int32Array.from(${JSON.stringify(Array.from(data.val))}) };`,
      `await runSweep(${JSON.stringify(slow)}, { path: ${JSON.stringify(path)}, data, backend: "wasm", jobs: 2 });`,
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
    expect(readdirSync(work).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const finished = await runSweep(slow, { path, data, backend: "wasm", jobs: 2 });
    expect(finished.map((x) => x.id)).toEqual(slow.map(runId));
    expect(readSweepResults(path)).toHaveLength(slow.length);
  });
});

describe("tokensToReach", () => {
  it("interpolates in log tokens between the points that bracket the loss", () => {
    const curve = [{ tokens: 100, valLoss: 3 }, { tokens: 400, valLoss: 2 }, { tokens: 800, valLoss: 1.5 }];
    expect(tokensToReach(curve, 2.5)).toBeCloseTo(200, 9); // halfway in loss, halfway in log tokens
    expect(tokensToReach(curve, 3.5)).toBe(100);
    expect(tokensToReach(curve, 1)).toBeNull();
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

describe("reading a sweep's parts", () => {
  const run = (nLayer: number, nEmbd: number, params: number, tokens: number, curve: [number, number][] = []) => ({
    label: `L${nLayer} W${nEmbd} D${tokens}`, model: { ...base, nLayer, nHead: 4, nEmbd }, params, tokens,
    curve: curve.map(([t, valLoss]) => ({ tokens: t, valLoss })),
  }) as unknown as SweepResult;

  it("splits the shape runs at fixed size from the size × data grid, by model shape", () => {
    const grid = [run(4, 96, 400, 100), run(4, 96, 400, 200), run(3, 64, 150, 200)];
    const shapes = [run(1, 128, 200, 200), run(2, 96, 190, 200), run(8, 48, 210, 200)];
    expect(splitSweep([...grid, ...shapes])).toEqual({ grid, shapes });
  });

  it("takes each size's run on the largest budget, smallest first, and reads a run's loss at a compute budget", () => {
    const big = run(4, 96, 400, 200, [[100, 3], [200, 2.5]]), small = run(3, 64, 150, 200, [[100, 3.2], [200, 2.9]]);
    expect(longestRunPerSize([big, run(4, 96, 400, 100), small])).toEqual([small, big]);
    expect(lossAtCompute(big, 6 * 400 * 150)).toBe(3);
    expect(lossAtCompute(big, 6 * 400 * 200)).toBe(2.5);
    expect(lossAtCompute(big, 6 * 400 * 50)).toBe(Infinity);
  });
});

describe("isoflopGrid", () => {
  it("gives every kept size D = C/6N in whole steps, and says which sizes it left out and why", () => {
    const ladderBase = { vocabSize: 65, blockSize: 64, dropout: 0, bias: true, tieWeights: true };
    const { runs, skipped } = isoflopGrid([1e11, 1e12], {
      base: ladderBase, trainTokens: 1_000_000, batchSize: 12, learningRate: (s) => (s.nEmbd <= 64 ? 2e-3 : 1e-3), seeds: [1, 2],
    });
    for (const r of runs) {
      const N = countParameters(r.model).nonEmbedding;
      const C = Number(r.label.slice(1, r.label.indexOf(" ")));
      expect(r.tokens % (12 * 64)).toBe(0);
      expect(Math.abs(6 * N * r.tokens - C) / C).toBeLessThan(0.5 / (r.tokens / (12 * 64))); // within half a step
      expect(r.tokens).toBeLessThanOrEqual(4_000_000);
      expect(r.tokens / (12 * 64)).toBeGreaterThanOrEqual(100);
      expect(r.learningRate).toBe(r.model.nEmbd <= 64 ? 2e-3 : 1e-3);
    }
    expect(runs.filter((r) => r.seed === 1)).toHaveLength(runs.length / 2);
    expect(skipped.find((x) => x.label === "C1e12 L1 W16")?.why).toMatch(/^50\.\d epochs > 4$/);
    expect(skipped).toContainEqual({ C: 1e11, label: "C1e11 L4 W128", why: "27 steps < 100" });
    expect(runs.length / 2 + skipped.length).toBe(2 * SIZE_LADDER.length);
    expect(() => isoflopGrid([0], { base: ladderBase, trainTokens: 1, learningRate: () => 1e-3 })).toThrow("isoflopGrid: budgets must be positive FLOPs; got 0");
  });
});
