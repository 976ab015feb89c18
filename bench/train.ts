// npm run bench:train [-- [--backends wasm,cpu] [--steps N] [--quality-minutes M] [--skip-quality]]
//
// Training speed of the baby GPT (4 layers, 4 heads, 128 wide, context 64, batch 12) on every
// backend that loads here, each in its own process so that peak RSS is its own; next to the
// same backend's matmul peak measured in the same process, so the ratio means something.
// Then a time-to-quality run on the fastest backend: train until validation loss ≤ 1.88.
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { parseArgs } from "node:util";

import { BACKENDS, chooseBackend, parseBackendName, type BackendName } from "../lib/backend";
import { CharTokenizer, loadDataset, splitTrainVal } from "../lib/data";
import { measureMatmul } from "../lib/machine";
import { BABY_GPT, flopsPerToken, GPT, type GPTConfig } from "../lib/gpt/model";
import { train } from "../lib/gpt/train";

const TARGET_VAL_LOSS = 1.88;

interface SpeedRow {
  backend: BackendName;
  steps: number;
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

/** Runs in a child process: one backend's numbers as a JSON line. */
async function measureBackend(name: BackendName, steps: number): Promise<SpeedRow> {
  await chooseBackend(name);
  const peakGflops = await matmulPeak();
  const { config, data } = shakespeare();
  const model = GPT.create(config, 1337);
  const run = { batchSize: 12, evalBatches: 0, warmupSteps: 10, learningRate: 1e-3 };
  await train(model, data, { ...run, steps: 2 }); // warm-up: kernels compiled, memory allocated
  const result = await train(model, data, { ...run, steps });
  const stepSeconds = result.seconds;
  const tokensPerSecond = result.tokens / stepSeconds;
  const profile = await profileStep(model, data);
  model.dispose();
  return {
    backend: name, steps, msPerStep: (stepSeconds * 1000) / steps, tokensPerSecond,
    gflops: (tokensPerSecond * flopsPerToken(config)) / 1e9, peakGflops,
    peakRssMiB: process.resourceUsage().maxRSS / 1024, profile,
  };
}

async function timeToQuality(name: BackendName, minutes: number): Promise<void> {
  await chooseBackend(name);
  const { config, data } = shakespeare();
  const model = GPT.create(config, 1337);
  const deadline = minutes * 60;
  console.log(`\nTime to quality on ${name}: baby GPT, batch 12, lr 1e-3 (cosine to 1e-4 over 2000 steps), until val loss ≤ ${TARGET_VAL_LOSS} or ${minutes} min`);
  console.log("| step | tokens | train loss | val loss | wall s |");
  console.log("|---:|---:|---:|---:|---:|");
  let reached: { tokens: number; seconds: number } | null = null;
  const result = await train(model, data, {
    steps: 100_000, decaySteps: 2000, warmupSteps: 100, batchSize: 12, learningRate: 1e-3, minLearningRate: 1e-4,
    evalInterval: 100, evalBatches: 20, weightDecay: 0.1, gradClip: 1, seed: 1337,
  }, {
    onEval: (e) => console.log(`| ${e.step} | ${e.tokens} | ${e.trainLoss.toFixed(3)} | ${e.valLoss.toFixed(3)} | ${e.elapsedSeconds.toFixed(0)} |`),
    shouldStop: (e) => {
      if (e.valLoss <= TARGET_VAL_LOSS) reached = { tokens: e.tokens, seconds: e.elapsedSeconds };
      return reached !== null || e.elapsedSeconds > deadline;
    },
  });
  const r = reached as { tokens: number; seconds: number } | null;
  console.log(r
    ? `\nreached val loss ≤ ${TARGET_VAL_LOSS} after ${r.seconds.toFixed(0)} s wall and ${r.tokens.toLocaleString("en")} tokens (target: ≤ 300 s)`
    : `\nnot reached within ${minutes} min: best val loss ${Math.min(...result.evals.map((e) => e.valLoss)).toFixed(3)} after ${result.tokens.toLocaleString("en")} tokens`);
  model.dispose();
}

function table(rows: SpeedRow[]): void {
  console.log(`\nBaby GPT training speed (4 layers, 4 heads, 128 wide, context 64, batch 12; ${cpus().length} × ${cpus()[0]?.model.trim()}; target ≥ 8,000 tokens/s)`);
  console.log("| backend | steps | ms/step | tokens/s | GFLOP/s (6N + attn) | matmul peak GFLOP/s | of peak | peak RSS MiB |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(`| ${r.backend} | ${r.steps} | ${r.msPerStep.toFixed(0)} | ${r.tokensPerSecond.toFixed(0)} | ${r.gflops.toFixed(2)} | ${r.peakGflops.toFixed(1)} | ${((100 * r.gflops) / r.peakGflops).toFixed(0)}% | ${r.peakRssMiB.toFixed(0)} |`);
  }
  for (const r of rows) {
    console.log(`\nOne step on ${r.backend}, kernel time by kernel (tf.profile):`);
    console.log("| kernel | ms | share |");
    console.log("|---|---:|---:|");
    for (const p of r.profile) console.log(`| ${p.kernel} | ${p.ms.toFixed(1)} | ${(100 * p.share).toFixed(0)}% |`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: "string" },
      steps: { type: "string", default: "30" },
      child: { type: "string" },
      quality: { type: "string" },
      "quality-minutes": { type: "string", default: "30" },
      "skip-quality": { type: "boolean", default: false },
    },
  });
  const steps = Number(values.steps);
  if (values.child) {
    const name = parseBackendName(values.child, "--child");
    // The pure-JS backend is ~10x slower: fewer steps keep the benchmark short.
    console.log(JSON.stringify(await measureBackend(name, name === "cpu" ? Math.min(steps, 3) : steps)));
    return;
  }
  if (values.quality) {
    await timeToQuality(parseBackendName(values.quality, "--quality"), Number(values["quality-minutes"]));
    return;
  }
  const wanted = values.backends ? values.backends.split(",").map((b) => parseBackendName(b.trim(), "--backends")) : [...BACKENDS];
  const rows: SpeedRow[] = [];
  for (const name of wanted) {
    process.stdout.write(`measuring ${name}… `);
    const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], "--child", name, "--steps", String(steps)], { encoding: "utf8" });
    if (r.status !== 0) {
      const reason = (r.stderr.match(/unavailable: [^\n]*/)?.[0] ?? r.stderr.trim().split("\n").at(-1)) || `exit ${r.status}`;
      console.log(`skipped (${reason})`);
      continue;
    }
    rows.push(JSON.parse(r.stdout.trim().split("\n").at(-1)!));
    console.log("done");
  }
  table(rows);
  if (!values["skip-quality"] && rows.length) {
    const fastest = rows.reduce((a, b) => (b.tokensPerSecond > a.tokensPerSecond ? b : a));
    // Its own process, so that the speed runs above do not share its memory or warm state.
    spawnSync(process.execPath, [...process.execArgv, process.argv[1], "--quality", fastest.backend, "--quality-minutes", values["quality-minutes"]!], { stdio: "inherit" });
  }
}

await main();
