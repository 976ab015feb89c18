// One run of the learning-curve study in a worker thread (runLearningCurve with jobs > 1).
import { chooseBackend, parseBackendName } from "../core/backend";
import { serveOnce } from "../core/threads";
import type { RunContext } from "../core/results";
import { trainCurveRun, type CurveResult, type CurveRun, type LearningCurveDesign } from "./learningCurve";
import type { SweepData } from "./sweepDesign";

await serveOnce<{ design: LearningCurveDesign; data: SweepData; vocabSize: number; run: CurveRun; context: RunContext }, CurveResult>(async (job) => {
  await chooseBackend(parseBackendName(job.context.backend, "learning-curve backend"));
  return trainCurveRun(job.design, job.data, job.vocabSize, job.run, job.context);
});
