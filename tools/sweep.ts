// npm run sweep [-- --grid smoke|full|isoflop-pilot [--out FILE] [--jobs N]]
//
// Trains the scaling lessons' grid of character-level GPTs on Tiny Shakespeare, one JSON line
// per finished run. Safe to interrupt: a rerun skips finished runs. --jobs N trains N runs side
// by side, each on its own thread (default: one per core). isoflop-pilot: an IsoFLOP grid over
// SIZE_LADDER at four budgets (3e10 to 1e12 FLOPs), each model scored on 100k validation tokens,
// to see where the compute-optimal size lies before the real IsoFLOP sweep is designed.
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { initBackend } from "../lib/core/backend";
import { CharTokenizer, loadDataset, splitTrainVal } from "../lib/core/data";
import { parseScale } from "../lib/core/scale";
import { BABY_GPT } from "../lib/gpt/model";
import { isoflopGrid, runSweep, shakespeareGrid, widthLearningRate } from "../lib/scaling/sweep";
import { ROOT } from "./runner";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { grid: { type: "string", default: "smoke" }, out: { type: "string" }, jobs: { type: "string" } } });
  const pilot = values.grid === "isoflop-pilot";
  const scale = pilot ? "full" : parseScale(values.grid!, "--grid (smoke, full or isoflop-pilot)");
  const jobs = values.jobs === undefined ? availableParallelism() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs must be a positive integer; got ${JSON.stringify(values.jobs)}`);
  const out = values.out ?? join(ROOT, "build", "sweeps", `shakespeare-${values.grid}.jsonl`);
  const backend = await initBackend();
  const corpus = loadDataset("tinyshakespeare.txt");
  const tokenizer = CharTokenizer.fromText(corpus);
  const data = splitTrainVal(tokenizer.encode(corpus));
  const runs = pilot
    ? isoflopGrid([3e10, 1e11, 3e11, 1e12], {
      base: { ...BABY_GPT, vocabSize: tokenizer.vocabSize }, trainTokens: data.train.length, batchSize: 8,
      learningRate: widthLearningRate,
    }).runs
    : shakespeareGrid(scale, tokenizer.vocabSize);
  const results = await runSweep(runs, {
    path: out, data, backend: backend.name, jobs, finalEvalTokens: pilot ? 100_000 : undefined,
    onRunStart: (run, i, total) => console.log(`run ${i + 1}/${total}: ${run.label} started`),
    onRunEnd: (r, i, total) => console.log(`run ${i + 1}/${total}: ${r.label}: N ${r.params.toLocaleString("en")}, D ${r.tokens.toLocaleString("en")}, `
      + `val loss ${r.valLoss.toFixed(3)}${r.heldOutLoss === undefined ? "" : ` (held out: ${r.heldOutLoss.toFixed(3)})`} in ${r.seconds.toFixed(0)} s`),
  });
  console.log(`${results.length} runs in ${out}`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) await main();
