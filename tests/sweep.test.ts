import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/backend";
import type { GPTConfig } from "../lib/gpt/model";
import { Random } from "../lib/random";
import { lossComputeFrontier, readSweepResults, runId, runSweep, sizeByDataGrid, tokensToReach, type SweepResult, type SweepRun } from "../lib/sweep";

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
