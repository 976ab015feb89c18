// npm run reuse-study [-- --grid smoke|full] [--out FILE] [--jobs N] [--prune] [--stop-after pretraining|frozen] [--tasks A,B]
//
// Computes lesson 01's study (lib/reuse/study.ts, reuseDesign), resumably, in three phases:
//   1. pretraining: the foundation model (stored in datasets/checkpoints/ at full scale, like
//      `npm run course -- 01 --precompute`; a killed run goes on from its last save);
//   2. frozen: every method that trains no network weight (baselines, zero-shot questions, linear
//      probes of the model before and after pretraining) on every task, label count and seed,
//      with its test predictions (datasets/reuse/<name>-frozen.jsonl);
//   3. tuned: fine-tuning, LoRA and training from scratch, every learning rate on the tuning
//      seeds, then the other seeds at the rate chosen on validation accuracy (datasets/reuse/<name>.jsonl).
// One JSON line per finished unit or run, the file rewritten after each: safe to interrupt, a
// rerun skips what is done. --jobs N trains N tuned runs side by side, one thread each (default:
// one per core). Lines of a file that are no run of this design (left by an earlier design) are
// counted, and removed with --prune. --out names the tuned study's file (the frozen one goes beside it).
// --tasks limits the frozen phase to some tasks: two processes with different tasks and --out
// files use both cores, and their files, concatenated, are the whole study's.
import { dirname, join } from "node:path";

import { initBackend } from "../lib/core/backend";
import { parseScale } from "../lib/core/scale";
import { trainCached } from "../lib/gpt/cache";
import { GPT } from "../lib/gpt/model";
import { frozenStudyPath, runFrozenStudy } from "../lib/reuse/frozen";
import { readStudyResults, reuseData, reuseDesign, runReuseStudy, storedStudyPath, taskNamed } from "../lib/reuse/study";
import { noteOtherBackend, parseCommandLine, parseJobs, runMain } from "./cli";
import { ROOT } from "./runner";

const USAGE = "usage: npm run reuse-study [-- --grid smoke|full] [--out FILE] [--jobs N] [--prune] [--stop-after pretraining|frozen] [--tasks A,B]";

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, {
    options: { grid: { type: "string", default: "smoke" }, out: { type: "string" }, jobs: { type: "string" }, prune: { type: "boolean" }, "stop-after": { type: "string" }, tasks: { type: "string" } },
  });
  const scale = parseScale(values.grid!, "--grid (smoke or full)");
  const jobs = parseJobs(values.jobs);
  const stopAfter = values["stop-after"];
  if (stopAfter !== undefined && !["pretraining", "frozen"].includes(stopAfter)) throw new Error(`--stop-after must be "pretraining" or "frozen"; got ${JSON.stringify(stopAfter)}`);
  const design = reuseDesign(scale);
  const out = values.out ?? join(ROOT, scale === "full" ? storedStudyPath(design) : join("build", "reuse", `${design.name}.jsonl`));
  const frozenOut = join(dirname(out), frozenStudyPath(design).split("/").at(-1)!);
  const command = `npm run reuse-study -- --grid ${scale}${values.out ? ` --out ${values.out}` : ""}`;
  const backend = await initBackend();
  const data = reuseData(design);
  const started = Date.now();
  const minutes = () => ((Date.now() - started) / 60000).toFixed(1);
  // The full study starts from the stored pretrained model the lesson loads, so it is stored too.
  if (scale === "full") {
    process.env.COURSE_PRECOMPUTE = "1";
    process.env.COURSE_PRECOMPUTE_COMMAND ??= "npm run reuse-study -- --grid full";
  }
  const config = { ...design.model, vocabSize: data.tokenizer.vocabSize };
  const model = GPT.create(config, design.modelSeed);
  const pretraining = await trainCached("01-pretrained", model, data.pretraining, design.pretraining, {
    onEval: (e) => console.log(`pretraining step ${e.step}: validation loss ${e.valLoss.toFixed(3)} (${minutes()} min)`),
  });
  console.log(`pretrained model: ${pretraining.checkpoint} (${pretraining.source})`);
  if (stopAfter === "pretraining") return;

  const initial = GPT.create(config, design.modelSeed);
  const tasks = values.tasks?.split(",").map((name) => taskNamed(data, name.trim(), "--tasks").name);
  const frozen = await runFrozenStudy(design, data, [{ name: "pretrained", model }, { name: "before pretraining", model: initial }], pretraining.checkpoint, {
    path: frozenOut, backend: backend.name, command, tasks,
    onTaskReady: (task, seconds) => console.log(`"${task.name}": model outputs for ${task.pool.texts.length} pool and ${task.test.texts.length} test examples in ${seconds.toFixed(0)} s`),
    onUnitEnd: (line, done, total) => console.log(`frozen ${done}/${total}: "${line.task}", ${line.perClass} per class, seed ${line.seed}: `
      + line.runs.map((r) => `${r.method} ${r.testAccuracy.toFixed(3)}`).join(", ")),
  });
  initial.dispose();
  console.log(`${frozen.length} frozen runs in ${frozenOut} (${minutes()} min)`);
  if (stopAfter === "frozen") return;

  noteOtherBackend(out, readStudyResults(out, command), backend.name);
  const study = await runReuseStudy(design, data, { model, checkpoint: pretraining.checkpoint }, {
    path: out, backend: backend.name, jobs, command,
    onRunEnd: (r, done, total) => console.log(`run ${done}/${total}: ${r.method} on "${r.task}" with ${r.perClass} per class at ${r.learningRate}, seed ${r.seed}: `
      + `validation ${r.validationAccuracy.toFixed(3)}, test ${r.testAccuracy.toFixed(3)} in ${r.seconds.toFixed(0)} s`),
    // Lines of this backend that are no run of the design; those of other backends were reported above.
    pruneStrays: values.prune,
    onStrays: (stray, pruned) => console.log(`${stray.length} line(s) of ${out} are no run of this design: ${pruned ? "removed" : "kept; --prune removes them"}`),
  });
  for (const c of study.chosen) console.log(`${c.method} on "${c.task}" with ${c.perClass} per class: rate ${c.learningRate}${c.atEdge ? " (at the edge of the grid)" : ""}`);
  console.log(`${study.tuning.length} tuning and ${study.reported.length} reported runs in ${out}; this call took ${minutes()} min`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) runMain(main);
