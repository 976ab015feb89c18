// npm run bench:train [-- [--backends webgpu,wasm,cpu] [--steps N] [--quality-minutes M] [--skip-quality]]
//
// Training speed of the baby GPT (4 layers, 4 heads, 128 wide, context 64, batch 12) on every
// backend that loads here, each configuration in its own process so that peak RSS is its own;
// next to the same backend's matmul peak measured in the same process, so the ratio means
// something. On single-threaded backends, 1, 2, … threads (data parallelism), beside as many
// independent one-thread processes at once (what the cores give work that shares nothing: the
// ceiling for the threads); wasm once more with tfjs's own kernels, as the engine was before the
// course's, and once with the course's kernels in plain SIMD (no fused multiply-add). Beside them,
// the same model in PyTorch on this CPU where python3 has torch (bench/torch_gpt.py).
// Then a time-to-quality run with the fastest configuration: train until validation loss ≤ 1.88.
import * as tf from "@tensorflow/tfjs";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";

import { activeBackendIsGpu, BACKENDS, chooseBackend, parseBackendName, type BackendName } from "../lib/core/backend";
import { CharTokenizer, loadDataset, splitTrainVal } from "../lib/core/data";
import { wasmFeatures } from "../lib/core/wasmKernels";
import { cpuDescription, measureMatmul } from "../lib/core/machine";
import { BABY_GPT, flopsPerToken, GPT, type GPTConfig } from "../lib/gpt/model";
import { train } from "../lib/gpt/train";
import { parseCommandLine, runMain } from "../tools/cli";

const USAGE = "usage: npm run bench:train [-- [--backends webgpu,wasm,cpu] [--steps N] [--quality-minutes M] [--skip-quality]]";

const TARGET_VAL_LOSS = 1.88;

interface SpeedRow {
  backend: BackendName;
  /** What differs from the default engine, if anything. */
  variant: string;
  /** On webgpu, the adapter. */
  device?: string;
  workers: number;
  steps: number;
  /** Median over the timed steps: this machine's neighbours make single steps noisy. */
  msPerStep: number;
  tokensPerSecond: number;
  gflops: number;
  peakGflops: number;
  peakRssMiB: number;
  profile: { kernel: string; ms: number; share: number }[];
}

function shakespeare() {
  const text = loadDataset("tinyshakespeare.txt");
  const tokenizer = CharTokenizer.fromText(text);
  const config: GPTConfig = { ...BABY_GPT, vocabSize: tokenizer.vocabSize };
  return { config, data: splitTrainVal(tokenizer.encode(text)) };
}

/** The best of a few square fp32 matmul sizes: the backend's practical peak. */
async function matmulPeak(): Promise<number> {
  let best = 0;
  for (const n of [256, 512, 1024]) best = Math.max(best, (await measureMatmul(n, 5)).gflops);
  return best;
}

/** Where one training step's kernel time goes, by kernel name. */
async function profileStep(model: GPT, data: { train: Int32Array; val: Int32Array }) {
  const info = await tf.profile(async () => {
    await train(model, data, { steps: 1, evalBatches: 0, warmupSteps: 0 });
  });
  const byKernel = new Map<string, number>();
  // customGrad records a "forward"/scope entry around kernels it also lists: count kernels only.
  for (const k of info.kernels) {
    if (/scope|forward/i.test(k.name)) continue;
    // Attention's batched matmuls take a different (slow) path than the 2-D ones on wasm.
    const name = k.name === "BatchMatMul" ? `BatchMatMul ${k.inputShapes[0].length > 2 ? "batched (attention)" : "2-D (linear layers)"}` : k.name;
    byKernel.set(name, (byKernel.get(name) ?? 0) + (k.kernelTimeMs as number));
  }
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
  return [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([kernel, ms]) => ({ kernel, ms, share: ms / total }));
}

/** Runs in a child process: one configuration's numbers as a JSON line. */
async function measureBackend(name: BackendName, steps: number, workers: number, variant: string): Promise<SpeedRow> {
  const { device } = await chooseBackend(name);
  const peakGflops = await matmulPeak();
  const { config, data } = shakespeare();
  const model = GPT.create(config, 1337);
  const warmup = 3; // kernels compiled, memory allocated, workers started: not timed
  const settings = { batchSize: 12, evalBatches: 0, warmupSteps: 10, learningRate: 1e-3, workers };
  let msPerStep: number;
  if (activeBackendIsGpu()) {
    // On a GPU losses are read a batch of steps at a time, so single steps have no time of their own: the mean of a timed run.
    await train(model, data, { ...settings, steps: warmup });
    msPerStep = ((await train(model, data, { ...settings, steps })).seconds * 1000) / steps;
  } else {
    const result = await train(model, data, { ...settings, steps: warmup + steps });
    const times = result.steps.slice(warmup).map((s, i) => s.elapsedSeconds - result.steps[warmup + i - 1].elapsedSeconds).sort((a, b) => a - b);
    msPerStep = times[Math.floor(times.length / 2)] * 1000;
  }
  const tokensPerSecond = (12 * config.blockSize * 1000) / msPerStep;
  // tf.profile's kernel times on webgpu need timestamp queries, which adapters need not offer.
  const profile = workers === 1 && name !== "webgpu" ? await profileStep(model, data) : [];
  model.dispose();
  return {
    backend: name, variant, device, workers, steps, msPerStep, tokensPerSecond,
    gflops: (tokensPerSecond * flopsPerToken(config)) / 1e9, peakGflops,
    peakRssMiB: process.resourceUsage().maxRSS / 1024, profile,
  };
}

interface TorchRow {
  threads: number;
  msPerStep: number;
  tokensPerSecond: number;
  torch: string;
}

/** What torch's matmuls ran on (bench/torch_gpt.py): the BLAS, its kernel, its 1-thread 1024² fp32 matmul speed. */
interface TorchReport {
  blas: string;
  kernel: string;
  coretypeForced: string | null;
  matmulGflops: number;
}

// The widest vectors each of OpenBLAS's x86 kernels uses.
const KERNEL_VECTORS: Record<string, "AVX-512" | "AVX2" | "AVX"> = {
  SkylakeX: "AVX-512", Cooperlake: "AVX-512", SapphireRapids: "AVX-512", Haswell: "AVX2", Zen: "AVX2", Excavator: "AVX2",
  Sandybridge: "AVX", Bulldozer: "AVX", Piledriver: "AVX", Steamroller: "AVX",
};

/** This CPU's widest vector instructions, from /proc/cpuinfo (Linux); null elsewhere. */
function cpuVectors(): "AVX-512" | "AVX2" | "AVX" | "SSE" | null {
  if (!existsSync("/proc/cpuinfo")) return null;
  const flags = new Set(readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1].trim().split(/\s+/) ?? []);
  return flags.has("avx512f") ? "AVX-512" : flags.has("avx2") ? "AVX2" : flags.has("avx") ? "AVX" : "SSE";
}

/**
 * Why PyTorch's speed here would flatter the course (torch on the reference BLAS, or on an
 * OpenBLAS kernel below the CPU's AVX2), or null when it is a fair yardstick.
 */
function unfairYardstick(report: TorchReport, cpu: ReturnType<typeof cpuVectors>): string | null {
  if (report.blas === "MKL") return null;
  if (!report.blas.startsWith("OpenBLAS")) return `torch runs on ${report.blas} (${report.matmulGflops.toFixed(1)} GFLOP/s), not an optimised BLAS`;
  const kernel = KERNEL_VECTORS[report.kernel];
  const forced = report.coretypeForced ? ` (OPENBLAS_CORETYPE=${report.coretypeForced})` : "";
  if ((cpu === "AVX2" || cpu === "AVX-512") && kernel !== "AVX2" && kernel !== "AVX-512") {
    return `torch's OpenBLAS runs its ${report.kernel} kernel${forced}, ${kernel ?? "older"} vectors on a CPU with ${cpu}`;
  }
  return null;
}

/** The same model in PyTorch, where some python3 here imports torch; null (with the reason) otherwise. */
function measureTorch(steps: number, threads: number[]): { rows: TorchRow[]; report: TorchReport } | { skipped: string } {
  const script = join(import.meta.dirname, "torch_gpt.py");
  for (const python of ["/usr/bin/python3", "python3"]) {
    const probe = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" });
    if (probe.status !== 0) continue;
    // One BLAS thread: torch sets its own thread count, and OpenBLAS's threads on top oversubscribe the cores.
    const r = spawnSync(python, [script, "--steps", String(steps), "--threads", threads.join(",")], {
      encoding: "utf8", env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: String(Math.max(...threads)) },
    });
    if (r.status !== 0) return { skipped: `bench/torch_gpt.py failed: ${r.stderr.trim().split("\n").at(-1)}` };
    const lines = r.stdout.trim().split("\n").map((line) => JSON.parse(line) as TorchRow | { report: TorchReport });
    const report = lines.find((l): l is { report: TorchReport } => "report" in l)!.report;
    return { rows: lines.filter((l): l is TorchRow => "threads" in l), report };
  }
  return { skipped: "no python3 with torch here (Debian: apt-get install python3-torch libopenblas0-pthread)" };
}

async function timeToQuality(name: BackendName, workers: number, minutes: number): Promise<void> {
  await chooseBackend(name);
  const { config, data } = shakespeare();
  const model = GPT.create(config, 1337);
  const deadline = minutes * 60;
  console.log(`\nTime to quality on ${name}, ${workers} thread(s): baby GPT, batch 12, lr 1e-3 (cosine to 1e-4 over 2000 steps), until val loss ≤ ${TARGET_VAL_LOSS} or ${minutes} min`);
  console.log("| step | tokens | train loss | val loss | wall s |");
  console.log("|---:|---:|---:|---:|---:|");
  let reached: { tokens: number; seconds: number } | null = null;
  const result = await train(model, data, {
    steps: 100_000, decaySteps: 2000, warmupSteps: 100, batchSize: 12, learningRate: 1e-3, minLearningRate: 1e-4,
    evalInterval: 100, evalBatches: 20, weightDecay: 0.1, gradClip: 1, seed: 1337, workers,
  }, {
    onEval: (e) => console.log(`| ${e.step} | ${e.tokens} | ${e.trainLoss.toFixed(3)} | ${e.valLoss.toFixed(3)} | ${e.elapsedSeconds.toFixed(0)} |`),
    shouldStop: (e) => {
      if (e.valLoss <= TARGET_VAL_LOSS) reached = { tokens: e.tokens, seconds: e.elapsedSeconds };
      return reached !== null || e.elapsedSeconds > deadline;
    },
  });
  const r = reached as { tokens: number; seconds: number } | null;
  console.log(r
    ? `\nreached val loss ≤ ${TARGET_VAL_LOSS} after ${r.seconds.toFixed(0)} s wall and ${r.tokens.toLocaleString("en")} tokens`
    : `\nnot reached within ${minutes} min: best val loss ${Math.min(...result.evals.map((e) => e.valLoss)).toFixed(3)} after ${result.tokens.toLocaleString("en")} tokens`);
  model.dispose();
}

function table(rows: SpeedRow[], torch: ReturnType<typeof measureTorch>): void {
  const unfair = "rows" in torch ? unfairYardstick(torch.report, cpuVectors()) : null;
  // A ratio against a crippled reference would flatter the course: no ratio then.
  const best = "rows" in torch && !unfair ? Math.max(...torch.rows.map((t) => t.tokensPerSecond)) : null;
  console.log(`\nBaby GPT training speed (4 layers, 4 heads, 128 wide, context 64, batch 12; ${cpuDescription()}; median step)`);
  // tfjs turns its own wasm threads off in Node; the course's threads are worker_threads, one backend each.
  console.log(`Node ${process.version}; ${wasmFeatures()}; threads: worker_threads, one single-threaded backend each`);
  console.log("| engine | threads | ms/step | tokens/s | of PyTorch's best | GFLOP/s (6N + attn) | matmul peak GFLOP/s (1 thread) | peak RSS MiB |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  const ratio = (tps: number) => (best ? `${((100 * tps) / best).toFixed(0)}%` : "–");
  for (const r of rows) {
    const name = `course, ${r.backend}${r.variant ? ` (${r.variant})` : ""}${r.device ? ` on ${r.device}` : ""}`;
    console.log(`| ${name} | ${r.workers} | ${r.msPerStep.toFixed(0)} | ${r.tokensPerSecond.toFixed(0)} | ${ratio(r.tokensPerSecond)} | ${r.gflops.toFixed(2)} | ${r.peakGflops.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} |`);
  }
  if ("rows" in torch) {
    const { blas, kernel, matmulGflops } = torch.report;
    for (const t of torch.rows) {
      console.log(`| PyTorch ${t.torch}, CPU, ${blas} (${kernel}) | ${t.threads} | ${t.msPerStep.toFixed(0)} | ${t.tokensPerSecond.toFixed(0)} | ${ratio(t.tokensPerSecond)} | | ${matmulGflops.toFixed(1)} | |`);
    }
    if (unfair) console.log(`\nNo ratio against PyTorch: ${unfair}, so its speed here is not what this CPU gives it.`);
  } else console.log(`\nPyTorch reference skipped: ${torch.skipped}`);
  const single = rows.find((r) => r.backend === "wasm" && !r.variant && r.workers === 1);
  if (single) {
    const scaled = rows.filter((r) => r.backend === "wasm" && r.workers > 1).map((r) => `${r.variant ? r.variant : `${r.workers} threads`}: ${(r.tokensPerSecond / single.tokensPerSecond).toFixed(2)}×`);
    if (scaled.length) console.log(`\nScaling on wasm against one thread: ${scaled.join("; ")}`);
  }
  for (const r of rows.filter((x) => x.profile.length)) {
    console.log(`\nOne step on ${r.backend}${r.variant ? ` (${r.variant})` : ""}, one thread, kernel time by kernel (tf.profile):`);
    console.log("| kernel | ms | share |");
    console.log("|---|---:|---:|");
    for (const p of r.profile) console.log(`| ${p.kernel} | ${p.ms.toFixed(1)} | ${(100 * p.share).toFixed(0)}% |`);
  }
}

/** One configuration to measure: a backend, its threads, and optionally another engine or several processes at once. */
interface Configuration {
  backend: BackendName;
  workers: number;
  variant: string;
  /** Independent one-thread processes run at the same time (their tokens/s summed); 1 otherwise. */
  processes: number;
}

const VARIANT_V1 = "tfjs's own kernels";
const VARIANT_PLAIN_SIMD = "course kernels without fused multiply-add";
const VARIANT_ENV: Record<string, Record<string, string>> = { [VARIANT_V1]: { COURSE_WASM_KERNELS: "0" }, [VARIANT_PLAIN_SIMD]: { COURSE_RELAXED_SIMD: "0" } };

function configurations(backends: BackendName[]): Configuration[] {
  const cores = Math.min(availableParallelism(), 4);
  const threads = Array.from({ length: cores }, (_, i) => i + 1);
  return backends.flatMap((backend): Configuration[] => {
    const one = { backend, workers: 1, variant: "", processes: 1 };
    // Native TensorFlow threads itself and a GPU is one device; wasm and cpu use one thread each, so they get workers.
    if (backend.startsWith("tensorflow") || backend === "webgpu") return [one];
    if (backend !== "wasm") return [one];
    return [
      { ...one, variant: VARIANT_V1 },
      { ...one, variant: VARIANT_PLAIN_SIMD },
      ...threads.map((workers) => ({ ...one, workers })),
      ...(cores > 1 ? [{ ...one, processes: cores, variant: `${cores} independent processes at once, summed` }] : []),
    ];
  });
}

/** Runs a child process to its end without blocking the event loop (several may run at once). */
function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, {
    options: {
      backends: { type: "string" },
      steps: { type: "string", default: "30" },
      child: { type: "string" },
      workers: { type: "string", default: "1" },
      variant: { type: "string", default: "" },
      quality: { type: "string" },
      "quality-minutes": { type: "string", default: "30" },
      "skip-quality": { type: "boolean", default: false },
    },
  });
  const steps = Number(values.steps);
  if (values.child) {
    const name = parseBackendName(values.child, "--child");
    // The pure-JS backend is ~10x slower, and webgpu may be a software adapter: fewer steps keep the benchmark short.
    const few = name === "cpu" || name === "webgpu" ? Math.min(steps, 3) : steps;
    console.log(JSON.stringify(await measureBackend(name, few, Number(values.workers), values.variant!)));
    return;
  }
  if (values.quality) {
    await timeToQuality(parseBackendName(values.quality, "--quality"), Number(values.workers), Number(values["quality-minutes"]));
    return;
  }
  const wanted = values.backends ? values.backends.split(",").map((b) => parseBackendName(b.trim(), "--backends")) : [...BACKENDS];
  const rows: SpeedRow[] = [];
  const unavailable = new Set<BackendName>();
  for (const c of configurations(wanted)) {
    if (unavailable.has(c.backend)) continue;
    process.stdout.write(`measuring ${c.backend}${c.variant ? ` (${c.variant})` : ""}, ${c.workers} thread(s)… `);
    const env = { ...process.env, ...(VARIANT_ENV[c.variant] ?? {}) };
    const args = [...process.execArgv, process.argv[1], "--child", c.backend, "--steps", String(steps), "--workers", String(c.workers), "--variant", c.variant];
    const runs = await Promise.all(Array.from({ length: c.processes }, () => runChild(args, env)));
    const failed = runs.find((r) => r.status !== 0);
    if (failed) {
      const reason = (failed.stderr.match(/unavailable: [^\n]*/)?.[0] ?? failed.stderr.trim().split("\n").at(-1)) || `exit ${failed.status}`;
      console.log(`skipped (${reason})`);
      unavailable.add(c.backend);
      continue;
    }
    const measured = runs.map((r) => JSON.parse(r.stdout.trim().split("\n").at(-1)!) as SpeedRow);
    // Several processes: one row with their summed speed (and the slowest one's step time).
    rows.push(measured.reduce((a, b) => ({ ...a, workers: a.workers + b.workers, tokensPerSecond: a.tokensPerSecond + b.tokensPerSecond, gflops: a.gflops + b.gflops, msPerStep: Math.max(a.msPerStep, b.msPerStep), profile: [] })));
    console.log("done");
  }
  process.stdout.write("measuring PyTorch… ");
  const torch = measureTorch(steps, Array.from({ length: Math.min(availableParallelism(), 2) }, (_, i) => i + 1));
  console.log("rows" in torch ? "done" : "skipped");
  table(rows, torch);
  if (!values["skip-quality"] && rows.length) {
    const fastest = rows.filter((r) => !r.variant).reduce((a, b) => (b.tokensPerSecond > a.tokensPerSecond ? b : a));
    // Its own process, so that the speed runs above do not share its memory or warm state.
    const args = [...process.execArgv, process.argv[1], "--quality", fastest.backend, "--workers", String(fastest.workers), "--quality-minutes", values["quality-minutes"]!];
    spawnSync(process.execPath, args, { stdio: "inherit" });
  }
}

runMain(main);
