// npm run learning-curve [-- --grid smoke|full] [--out FILE] [--jobs N]
//
// Trains lesson 03's learning curve in data (lib/scaling/learningCurve.ts): one fixed model on
// prefixes of the King James Bible's training text from a thousand characters to all of it, each
// run stopped early on validation batches. One JSON line per finished run; safe to interrupt, a
// rerun skips finished runs. The full study is stored in datasets/sweeps/, its default output.
import { join } from "node:path";

import { initBackend } from "../lib/core/backend";
import { CharTokenizer, loadDataset, splitTrainValTest } from "../lib/core/data";
import { parseScale } from "../lib/core/scale";
import {
  bestGuessLoss, curvePoints, fitThreeRegions, learningCurveDesign, pooledSeedSd, regionBoundaries, runLearningCurve, storedCurvePath,
} from "../lib/scaling/learningCurve";
import { parseCommandLine, parseJobs, runMain } from "./cli";
import { ROOT } from "./runner";

const USAGE = "usage: npm run learning-curve [-- --grid smoke|full] [--out FILE] [--jobs N]";

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, { options: { grid: { type: "string", default: "smoke" }, out: { type: "string" }, jobs: { type: "string" } } });
  const scale = parseScale(values.grid!, "--grid (smoke or full)");
  const jobs = parseJobs(values.jobs);
  const design = learningCurveDesign(scale);
  const out = values.out ?? join(ROOT, scale === "full" ? storedCurvePath(design) : join("build", "sweeps", `${design.name}.jsonl`));
  const command = `npm run learning-curve -- --grid ${scale}${values.out ? ` --out ${values.out}` : ""}`;
  const backend = await initBackend();
  const corpus = loadDataset(design.corpus), tokenizer = CharTokenizer.fromText(corpus);
  const data = splitTrainValTest(tokenizer.encode(corpus));
  const started = Date.now();
  const results = await runLearningCurve(design, {
    path: out, data, vocabSize: tokenizer.vocabSize, backend: backend.name, command, jobs,
    onRunEnd: (r, done, total) => console.log(`run ${done}/${total}: D ${r.tokens}, seed ${r.seed}: best at step ${r.bestStep} of ${r.steps} `
      + `(${r.epochs.toFixed(1)} epochs), validation ${r.validationLoss.toFixed(3)}, test ${r.testLoss.toFixed(3)} in ${r.seconds.toFixed(0)} s`),
  });
  const points = curvePoints(results);
  const fit = fitThreeRegions(points.map((p) => p.tokens), points.map((p) => p.loss), bestGuessLoss(data, tokenizer.vocabSize));
  const noise = pooledSeedSd(points);
  const { smallData, irreducible } = regionBoundaries(fit, noise);
  console.log(`best guess ${fit.guess.toFixed(3)}, floor ${fit.floor.toFixed(3)}, exponent ${fit.exponent.toFixed(3)}; small data below D ≈ ${smallData.toExponential(1)}, `
    + `irreducible beyond D ≈ ${irreducible.toExponential(1)} (seed SD ${noise.toFixed(3)})`);
  console.log(`${results.length} runs in ${out}; this call took ${((Date.now() - started) / 60000).toFixed(1)} min`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) runMain(main);
