// npm run bench:attention [-- [--sizes 256,512,1024,2048,4096] [--d 64] [--runs 3] [--causal both|yes|no] [--blocks 64x64] [--skip-tuning] [--skip-backward]]
//
// Standard attention against FlashAttention, one head, plain TypeScript on Float32Arrays:
// median time of a few runs, the working memory each held at its peak (measured by the kernels'
// own trackers), the HBM accesses of the IO model of Dao et al. Theorem 2, and how far apart
// their outputs are. Standard attention is this machine's reference, measured in the same run,
// interleaved with the tiled one so that background load hits both alike.
import { cpus } from "node:os";

import {
  attentionMemoryAccesses, FLASH_BLOCK_COLS, FLASH_BLOCK_ROWS, flashAttention, flashAttentionBackward, naiveAttention, naiveAttentionBackward,
} from "../lib/efficiency/attention";
import { compareAttention, randomAttentionInputs } from "../lib/efficiency/compare";
import { maxAbsDifference } from "../lib/efficiency/precision";
import { parseCommandLine, runMain } from "../tools/cli";

const USAGE = "usage: npm run bench:attention [-- [--sizes 256,512,1024,2048,4096] [--d 64] [--runs 3] [--causal both|yes|no] [--blocks 64x64] [--skip-tuning] [--skip-backward]]";

const SRAM_BYTES = 100 * 1024; // "M around 100KB" (Dao et al., after Theorem 2); float32 elements
const GOAL_MEMORY = 1 / 16; // tiled peak ≤ 1/16 of naive at the largest N
const GOAL_TIME = 1.5; // tiled time ≤ 1.5× naive

interface Blocks {
  blockRows: number;
  blockCols: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1);
const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const millions = (x: number) => (x / 1e6).toFixed(1);

const inputs = randomAttentionInputs;

function time<T>(f: () => T): { ms: number; result: T } {
  const start = performance.now();
  const result = f();
  return { ms: performance.now() - start, result };
}

/** The median (or `summary`) time of each of several functions, run in turn `runs` times. */
function interleaved<T>(runs: number, fs: (() => T)[], summary: (...ms: number[]) => number = (...ms) => median(ms)): { ms: number[]; results: T[] } {
  const times: number[][] = fs.map(() => []);
  const results: T[] = [];
  for (let r = 0; r < runs; r++) {
    fs.forEach((f, i) => {
      const { ms, result } = time(f);
      times[i].push(ms);
      results[i] = result;
    });
  }
  return { ms: times.map((t) => summary(...t)), results };
}

function tuneBlocks(n: number, d: number, runs: number): void {
  const { q, k, v } = inputs(n, d);
  const candidates: Blocks[] = [[16, 16], [32, 32], [64, 64], [128, 64], [64, 128], [128, 128], [16, 256], [256, 256]].map(([blockRows, blockCols]) => ({ blockRows, blockCols }));
  // Best of the runs rather than the median: the differences are small and background load only adds time.
  console.log(`\nTile sizes, forward, N = ${n}, d = ${d}, not causal (best of ${runs}; naive in the same rounds as the reference)`);
  console.log("| B_r × B_c | ms | vs naive | peak KiB |");
  console.log("|---|---:|---:|---:|");
  const { ms, results } = interleaved(runs, [() => naiveAttention(q, k, v, n, d), ...candidates.map((b) => () => flashAttention(q, k, v, n, d, b))], Math.min);
  candidates.forEach((b, i) => {
    const isDefault = b.blockRows === FLASH_BLOCK_ROWS && b.blockCols === FLASH_BLOCK_COLS ? " (default)" : "";
    console.log(`| ${b.blockRows} × ${b.blockCols}${isDefault} | ${ms[i + 1].toFixed(0)} | ${(ms[i + 1] / ms[0]).toFixed(2)}× | ${kib(results[i + 1].peakBytes)} |`);
  });
  console.log(`| naive | ${ms[0].toFixed(0)} | 1.00× | ${kib(results[0].peakBytes)} |`);
}

interface ForwardRow {
  n: number;
  naiveMs: number;
  flashMs: number;
  naivePeak: number;
  flashPeak: number;
  maxAbsDiff: number;
}

function forward(sizes: number[], d: number, causal: boolean, runsFor: (n: number) => number, blocks: Blocks): ForwardRow[] {
  const rows: ForwardRow[] = [];
  console.log(`\nForward, d = ${d}, ${causal ? "causal" : "not causal"}, tiles ${blocks.blockRows} × ${blocks.blockCols}; IO model with M = ${SRAM_BYTES / 1024} KiB of SRAM = ${SRAM_BYTES / 4} float32`);
  console.log("| N | runs | naive ms | flash ms | flash / naive time | naive peak MiB | flash peak MiB | flash / naive memory | IO standard (M elem.) | IO flash (M elem.) | IO flash / standard | max abs diff |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const n of sizes) {
    const runs = runsFor(n);
    const c = compareAttention(n, d, { causal, runs, blocks });
    const io = attentionMemoryAccesses(n, d, SRAM_BYTES);
    const row = { n, naiveMs: c.naiveMs, flashMs: c.flashMs, naivePeak: c.naivePeakBytes, flashPeak: c.flashPeakBytes, maxAbsDiff: c.maxAbsDiff };
    rows.push(row);
    console.log(
      `| ${n} | ${runs} | ${row.naiveMs.toFixed(0)} | ${row.flashMs.toFixed(0)} | ${(row.flashMs / row.naiveMs).toFixed(2)}× | ${mib(row.naivePeak)} | ${mib(row.flashPeak)} | ` +
      `1/${(row.naivePeak / row.flashPeak).toFixed(0)} | ${millions(io.standard)} | ${millions(io.flash)} | ${(io.flash / io.standard).toFixed(3)} | ${row.maxAbsDiff.toExponential(1)} |`,
    );
  }
  return rows;
}

function backward(sizes: number[], d: number, causal: boolean, runsFor: (n: number) => number, blocks: Blocks): void {
  console.log(`\nBackward, d = ${d}, ${causal ? "causal" : "not causal"}, tiles ${blocks.blockRows} × ${blocks.blockCols} (naive from the stored P; flash recomputes P from the logsumexp)`);
  console.log("| N | runs | naive ms | flash ms | flash / naive time | naive peak MiB (+ P kept from forward) | flash peak MiB | max abs diff dQ, dK, dV |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const n of sizes) {
    const { q, k, v, dOut } = inputs(n, d);
    const naive = naiveAttention(q, k, v, n, d, { causal });
    const flash = flashAttention(q, k, v, n, d, { causal, ...blocks });
    const runs = runsFor(n);
    const { ms, results } = interleaved(runs, [
      () => naiveAttentionBackward(q, k, v, naive.probs, dOut, n, d),
      () => flashAttentionBackward(q, k, v, flash.out, dOut, flash.logsumexp, n, d, { causal, ...blocks }),
    ]);
    const [gn, gf] = results;
    const diff = Math.max(maxAbsDifference(gn.dq, gf.dq), maxAbsDifference(gn.dk, gf.dk), maxAbsDifference(gn.dv, gf.dv));
    console.log(
      `| ${n} | ${runs} | ${ms[0].toFixed(0)} | ${ms[1].toFixed(0)} | ${(ms[1] / ms[0]).toFixed(2)}× | ${mib(gn.peakBytes)} (+ ${mib(naive.probs.byteLength)}) | ${mib(gf.peakBytes)} | ${diff.toExponential(1)} |`,
    );
  }
}

function goals(rows: ForwardRow[], causal: boolean): void {
  const last = rows.at(-1)!;
  const memory = last.flashPeak / last.naivePeak;
  const timeRatio = last.flashMs / last.naiveMs;
  const mark = (ok: boolean) => (ok ? "met" : "NOT met");
  console.log(`\nGoals at N = ${last.n}, ${causal ? "causal" : "not causal"}: tiled peak memory ${(memory * 100).toFixed(3)}% of naive (goal ≤ ${(GOAL_MEMORY * 100).toFixed(2)}%: ${mark(memory <= GOAL_MEMORY)}); ` +
    `time ${timeRatio.toFixed(2)}× naive (goal ≤ ${GOAL_TIME}×: ${mark(timeRatio <= GOAL_TIME)})`);
}

function parseBlocks(text: string): Blocks {
  const match = /^(\d+)x(\d+)$/.exec(text);
  if (!match) throw new Error(`--blocks must look like 64x64 (B_r x B_c); got "${text}"`);
  return { blockRows: Number(match[1]), blockCols: Number(match[2]) };
}

function main(): void {
  const { values } = parseCommandLine(USAGE, {
    options: {
      sizes: { type: "string", default: "256,512,1024,2048,4096" },
      d: { type: "string", default: "64" },
      runs: { type: "string", default: "3" },
      causal: { type: "string", default: "both" },
      blocks: { type: "string", default: `${FLASH_BLOCK_ROWS}x${FLASH_BLOCK_COLS}` },
      "skip-tuning": { type: "boolean", default: false },
      "skip-backward": { type: "boolean", default: false },
    },
  });
  const sizes = values.sizes!.split(",").map(Number);
  const d = Number(values.d);
  const runs = Number(values.runs);
  const blocks = parseBlocks(values.blocks!);
  if (!["both", "yes", "no"].includes(values.causal!)) throw new Error(`--causal must be one of both, yes, no; got "${values.causal}"`);
  const masks = values.causal === "both" ? [false, true] : [values.causal === "yes"];
  // Small sizes are quick and noisier: more runs.
  const runsFor = (n: number) => (n <= 1024 ? Math.max(runs, 5) : runs);

  const cpu = cpus();
  console.log(`Attention for one head in plain TypeScript (Float32Array), Node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim()}`);
  const warm = inputs(256, d); // warm-up, so that the JIT has compiled the kernels before timing
  naiveAttention(warm.q, warm.k, warm.v, 256, d);
  flashAttention(warm.q, warm.k, warm.v, 256, d);

  if (!values["skip-tuning"]) tuneBlocks(1024, d, 5);
  for (const causal of masks) goals(forward(sizes, d, causal, runsFor, blocks), causal);
  if (!values["skip-backward"]) {
    const backwardSizes = sizes.filter((n) => n <= 2048); // naive backward holds dP, dS and P: 3·N² floats
    for (const causal of masks) backward(backwardSizes, d, causal, runsFor, blocks);
  }
}

runMain(main);
