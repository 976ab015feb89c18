// npm run double-descent-study [-- --grid smoke|full] [--out FILE] [--jobs N]
//
// Trains lesson 02's deep double-descent study (lib/generalization/deepDoubleDescent.ts): a
// two-layer ReLU network at every width, label-noise level and seed of the design, each trained
// to (near) interpolation. One JSON line per finished run; safe to interrupt, a rerun skips
// finished runs. The full study is stored in datasets/generalization/, its default output.
import { join } from "node:path";

import { parseScale } from "../lib/core/scale";
import { deepDoubleDescentDesign, readWidthCurve, runDeepDoubleDescent, storedNetStudyPath, widthCurve } from "../lib/generalization/deepDoubleDescent";
import { parseCommandLine, parseJobs, runMain } from "./cli";
import { ROOT } from "./runner";

const USAGE = "usage: npm run double-descent-study [-- --grid smoke|full] [--out FILE] [--jobs N]";

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, { options: { grid: { type: "string", default: "smoke" }, out: { type: "string" }, jobs: { type: "string" } } });
  const scale = parseScale(values.grid!, "--grid (smoke or full)");
  const jobs = parseJobs(values.jobs);
  const design = deepDoubleDescentDesign(scale);
  const out = values.out ?? join(ROOT, scale === "full" ? storedNetStudyPath(design) : join("build", "generalization", `${design.name}.jsonl`));
  const command = `npm run double-descent-study -- --grid ${scale}${values.out ? ` --out ${values.out}` : ""}`;
  const started = Date.now();
  const results = await runDeepDoubleDescent(design, {
    path: out, command, jobs,
    onRunEnd: (r, done, total) => console.log(`run ${done}/${total}: width ${r.width} (${r.params} parameters), noise ${r.noise}, seed ${r.seed}: `
      + `train ${r.trainMse.toExponential(2)}, test ${r.testMse.toFixed(3)} in ${r.seconds.toFixed(1)} s`),
  });
  for (const noise of design.noises) {
    const { peak, widest } = readWidthCurve(widthCurve(results, noise), design.nTrain);
    console.log(`noise ${noise}: median test error peaks at width ${peak.width} (${peak.params} parameters) at ${peak.testMse.toFixed(3)}; `
      + `width ${widest.width}: ${widest.testMse.toFixed(3)}`);
  }
  console.log(`${results.length} runs in ${out}; this call took ${((Date.now() - started) / 60000).toFixed(1)} min`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) runMain(main);
