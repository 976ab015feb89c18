// npm run reuse-study [-- --grid smoke|full] [--out FILE] [--jobs N] [--prune] [--upgrade] [--pretrain-only]
//
// Trains lesson 01's study (lib/reuse/study.ts, reuseDesign): the pretrained GPT (stored in
// datasets/checkpoints/ at full scale, like `npm run course -- 01 --precompute`), then every
// tuned method on every task at every learning rate for the tuning seeds, chosen on validation
// accuracy, then the other seeds at the chosen rates. One JSON line per finished run; safe to
// interrupt, a rerun skips finished runs. --jobs N trains N runs side by side, one thread each
// (default: one per core). Lines of the file that are no run of this design (left by an earlier
// design) are counted, and removed with --prune. The full study's results are stored in
// datasets/reuse/, its default output. A run's id covers the data and the backend (see
// tools/sweep.ts); --upgrade rewrites a file of format 1 in the current format and exits.
// --pretrain-only stops once the pretrained model is stored (a killed pretraining resumes from
// its last save in build/checkpoints/).
import { availableParallelism } from "node:os";
import { join } from "node:path";

import { initBackend } from "../lib/core/backend";
import { parseScale } from "../lib/core/scale";
import { trainCached } from "../lib/gpt/cache";
import { GPT } from "../lib/gpt/model";
import { readStudyResults, reuseData, reuseDesign, runReuseStudy, storedStudyPath, upgradeStudyResults } from "../lib/reuse/study";
import { noteOtherBackend, parseCommandLine, runMain } from "./cli";
import { ROOT } from "./runner";

const USAGE = "usage: npm run reuse-study [-- --grid smoke|full] [--out FILE] [--jobs N] [--prune] [--upgrade] [--pretrain-only]";

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, {
    options: { grid: { type: "string", default: "smoke" }, out: { type: "string" }, jobs: { type: "string" }, prune: { type: "boolean" }, upgrade: { type: "boolean" }, "pretrain-only": { type: "boolean" } },
  });
  const scale = parseScale(values.grid!, "--grid (smoke or full)");
  const jobs = values.jobs === undefined ? availableParallelism() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs must be a positive integer; got ${JSON.stringify(values.jobs)}`);
  const design = reuseDesign(scale);
  const out = values.out ?? join(ROOT, scale === "full" ? storedStudyPath(design) : join("build", "reuse", `${design.name}.jsonl`));
  const command = `npm run reuse-study -- --grid ${scale}${values.out ? ` --out ${values.out}` : ""}`;
  const backend = await initBackend();
  const data = reuseData(design);
  const started = Date.now();
  // The full study starts from the stored pretrained model the lesson loads, so it is stored too.
  if (scale === "full") {
    process.env.COURSE_PRECOMPUTE = "1";
    process.env.COURSE_PRECOMPUTE_COMMAND ??= "npm run reuse-study -- --grid full";
  }
  const model = GPT.create({ ...design.model, vocabSize: data.tokenizer.vocabSize }, design.modelSeed);
  const pretraining = await trainCached("01-pretrained", model, data.pretraining, design.pretraining, {
    onEval: (e) => console.log(`pretraining step ${e.step}: validation loss ${e.valLoss.toFixed(3)}`),
  });
  console.log(`pretrained model: ${pretraining.checkpoint} (${pretraining.source})`);
  if (values["pretrain-only"]) return;
  if (values.upgrade) {
    const upgraded = upgradeStudyResults(out, design, data, pretraining.checkpoint.split(/[\\/]/).at(-1)!);
    console.log(`${out}: ${upgraded} line(s) upgraded to the current format`);
    return;
  }
  noteOtherBackend(out, readStudyResults(out, command), backend.name);
  const study = await runReuseStudy(design, data, { model, checkpoint: pretraining.checkpoint }, {
    path: out, backend: backend.name, jobs, command,
    onRunEnd: (r, done, total) => console.log(`run ${done}/${total}: ${r.method} on "${r.task}" at ${r.learningRate}, seed ${r.seed}: `
      + `validation ${r.validationAccuracy.toFixed(3)}, test ${r.testAccuracy.toFixed(3)} in ${r.seconds.toFixed(0)} s`),
    // Lines of this backend that are no run of the design; those of other backends were reported above.
    pruneStrays: values.prune,
    onStrays: (stray, pruned) => console.log(`${stray.length} line(s) of ${out} are no run of this design: ${pruned ? "removed" : "kept; --prune removes them"}`),
  });
  for (const c of study.chosen) console.log(`${c.method} on "${c.task}": rate ${c.learningRate}${c.atEdge ? " (at the edge of the grid)" : ""}`);
  console.log(`${study.tuning.length} tuning and ${study.reported.length} reported runs in ${out}; this call took ${((Date.now() - started) / 60000).toFixed(1)} min`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) runMain(main);
