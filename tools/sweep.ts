// npm run sweep [-- --grid smoke|full] [--out FILE] [--jobs N] [--upgrade]
//
// Trains the scaling lessons' study of character-level GPTs on the King James Bible
// (lib/scaling/sweepDesign.ts, scalingDesign): first a learning-rate sweep per model size, scored on
// validation text and stepped beyond its grid where the best rate is at an edge, then the IsoFLOP
// runs at the chosen rates, then each shape's own rate sweep and seeds, each scored on validation
// and test text. One JSON line per finished run; safe to interrupt, a rerun skips finished runs. --jobs N
// trains N runs side by side, one thread each (default: one per core). The full study's results
// are stored in datasets/sweeps/kjv-isoflop.jsonl, its default output. A run's id covers its
// settings, the data and the backend, so on another backend the runs are trained again (beside the
// stored ones, which the lessons keep reading). --upgrade rewrites a file of format 1 (ids of the
// settings alone) in the current format, trains nothing, and exits.
import { join } from "node:path";

import { initBackend } from "../lib/core/backend";
import { CharTokenizer, loadDataset, splitTrainValTest } from "../lib/core/data";
import { parseScale } from "../lib/core/scale";
import { readSweepResults, runScalingSweep, storedSweepPath, upgradeSweepResults } from "../lib/scaling/sweep";
import { scalingDesign, shapeName } from "../lib/scaling/sweepDesign";
import { noteOtherBackend, parseCommandLine, parseJobs, runMain } from "./cli";
import { ROOT } from "./runner";

const USAGE = "usage: npm run sweep [-- --grid smoke|full] [--out FILE] [--jobs N] [--upgrade]";

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, {
    options: { grid: { type: "string", default: "smoke" }, out: { type: "string" }, jobs: { type: "string" }, upgrade: { type: "boolean" } },
  });
  const scale = parseScale(values.grid!, "--grid (smoke or full)");
  const jobs = parseJobs(values.jobs);
  const design = scalingDesign(scale);
  const out = values.out ?? join(ROOT, scale === "full" ? storedSweepPath(design) : join("build", "sweeps", `${design.name}.jsonl`));
  const command = `npm run sweep -- --grid ${scale}${values.out ? ` --out ${values.out}` : ""}`;
  const corpus = loadDataset(design.corpus);
  const tokenizer = CharTokenizer.fromText(corpus);
  const data = splitTrainValTest(tokenizer.encode(corpus));
  if (values.upgrade) {
    console.log(`${out}: ${upgradeSweepResults(out, design, tokenizer.vocabSize, data)} line(s) upgraded to the current format (data ${design.dataset})`);
    return;
  }
  const backend = await initBackend();
  noteOtherBackend(out, readSweepResults(out, command), backend.name);
  const started = Date.now();
  const sweep = await runScalingSweep(design, tokenizer.vocabSize, {
    path: out, data, backend: backend.name, jobs, command,
    onRunStart: (run, i, total) => console.log(`run ${i + 1}/${total}: ${run.label} started`),
    onRunEnd: (r, i, total) => console.log(`run ${i + 1}/${total}: ${r.label}: N ${r.params.toLocaleString("en")}, D ${r.tokens.toLocaleString("en")}, `
      + `validation ${r.validationLoss.toFixed(3)}, test ${r.testLoss.toFixed(3)} in ${r.seconds.toFixed(0)} s`),
    // Lines of this backend that are no run of the grid; those of other backends were reported above.
    onStrays: (stray) => console.log(`${stray.length} line(s) of ${out} are no run of this grid (first: "${stray[0].label}"); they are kept but not used`),
  });
  for (const t of [...sweep.rates, ...sweep.shapeRates]) {
    console.log(`${shapeName(t.shape)} (N ${t.N}): learning rate ${t.rate}${t.atEdge ? " (still at the edge of its grid)" : ""}, ${t.losses.length} rates tried`);
  }
  console.log(`${sweep.tuning.length} tuning and ${sweep.runs.length} IsoFLOP runs in ${out}; this call took ${((Date.now() - started) / 60000).toFixed(1)} min`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) runMain(main);
