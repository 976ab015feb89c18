// npm run sweep [-- --grid smoke|full [--out FILE] [--jobs N]]
//
// Trains the scaling lessons' grid of character-level GPTs on Tiny Shakespeare, one JSON line
// per finished run. Safe to interrupt: a rerun skips finished runs. --jobs N trains N runs side
// by side, each on its own thread (default: one per core).
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { initBackend } from "../lib/core/backend";
import { CharTokenizer, loadDataset, splitTrainVal } from "../lib/core/data";
import { parseScale } from "../lib/core/scale";
import { runSweep, shakespeareGrid } from "../lib/scaling/sweep";
import { ROOT } from "./runner";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { grid: { type: "string", default: "smoke" }, out: { type: "string" }, jobs: { type: "string" } } });
  const scale = parseScale(values.grid!, "--grid");
  const jobs = values.jobs === undefined ? availableParallelism() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs must be a positive integer; got ${JSON.stringify(values.jobs)}`);
  const out = values.out ?? join(ROOT, "build", "sweeps", `shakespeare-${scale}.jsonl`);
  const backend = await initBackend();
  const corpus = loadDataset("tinyshakespeare.txt");
  const tokenizer = CharTokenizer.fromText(corpus);
  const runs = shakespeareGrid(scale, tokenizer.vocabSize);
  const results = await runSweep(runs, {
    path: out, data: splitTrainVal(tokenizer.encode(corpus)), backend: backend.name, jobs,
    onRunStart: (run, i, total) => console.log(`run ${i + 1}/${total}: ${run.label} started`),
    onRunEnd: (r, i, total) => console.log(`run ${i + 1}/${total}: ${r.label}: N ${r.params.toLocaleString("en")}, D ${r.tokens.toLocaleString("en")}, val loss ${r.valLoss.toFixed(3)} in ${r.seconds.toFixed(0)} s`),
  });
  console.log(`${results.length} runs in ${out}`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) await main();
