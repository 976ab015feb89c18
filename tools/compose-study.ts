// npm run compose-study [-- --grid smoke|full] [--out FILE] [--upgrade]
//
// Trains lesson 05's study of composition (lib/zeroshot/study.ts, compositionDesign): for every
// generated world and training seed, a small and a larger GPT on half and on all of the corpus,
// each asked zero-shot about every concept. One JSON line per finished run; safe to interrupt, a
// rerun skips finished runs, and lines that are no run of this design are reported (and kept).
// The full study's results are stored in datasets/zeroshot/, its default output. A run's id
// covers the generated text and the backend (see tools/sweep.ts); --upgrade rewrites a file of
// format 1 in the current format and exits.
import { join } from "node:path";

import { initBackend } from "../lib/core/backend";
import { parseScale } from "../lib/core/scale";
import {
  compositionDesign, readCompositionResults, runCompositionStudy, storedCompositionPath, summarizeComposition, upgradeCompositionResults,
} from "../lib/zeroshot/study";
import { noteOtherBackend, parseCommandLine, runMain } from "./cli";
import { ROOT } from "./runner";

const USAGE = "usage: npm run compose-study [-- --grid smoke|full] [--out FILE] [--upgrade]";

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, { options: { grid: { type: "string", default: "smoke" }, out: { type: "string" }, upgrade: { type: "boolean" } } });
  const scale = parseScale(values.grid!, "--grid (smoke or full)");
  const design = compositionDesign(scale);
  const out = values.out ?? join(ROOT, scale === "full" ? storedCompositionPath(design) : join("build", "zeroshot", `${design.name}.jsonl`));
  const command = `npm run compose-study -- --grid ${scale}${values.out ? ` --out ${values.out}` : ""}`;
  if (values.upgrade) {
    console.log(`${out}: ${upgradeCompositionResults(out, design)} line(s) upgraded to the current format`);
    return;
  }
  const backend = await initBackend();
  noteOtherBackend(out, readCompositionResults(out, command), backend.name);
  const started = Date.now();
  const results = await runCompositionStudy(design, {
    path: out, command,
    onRunStart: (s, i, total) => console.log(`run ${i + 1}/${total}: world ${s.world}, seed ${s.seed}, ${s.model} model, ${s.data} data`),
    onRunEnd: (r) => console.log(`  traits right: seen ${r.traitsSeen.toFixed(1)}%, held out ${r.traitsHeldOut.toFixed(1)}%; `
      + `place ${r.place.toFixed(1)}% (recall ${r.placeRecall.toFixed(1)}%) in ${r.seconds.toFixed(0)} s`),
    onStrays: (stray) => console.log(`${stray.length} line(s) of ${out} are no run of this design (first: world ${stray[0].world}, seed ${stray[0].seed}, `
      + `${stray[0].model} model, ${stray[0].data} data); they are kept but not used`),
  });
  for (const c of summarizeComposition(results)) {
    console.log(`${c.model} model, ${c.data} data: gap ${c.gap.mean.toFixed(1)} [${c.gap.low.toFixed(1)}, ${c.gap.high.toFixed(1)}] points over ${c.gap.n} runs`);
  }
  console.log(`${results.length} runs in ${out}; this call took ${((Date.now() - started) / 60000).toFixed(1)} min`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) runMain(main);
