// One sweep run in a worker thread (runSweep with jobs > 1): its own backend, its own model.
import { chooseBackend, parseBackendName } from "../core/backend";
import { trainSweepRun, type SweepJob } from "./sweep";
import type { SweepResult } from "./sweepDesign";
import { serveOnce } from "../core/threads";

await serveOnce<SweepJob, SweepResult>(async (job) => {
  await chooseBackend(parseBackendName(job.context.backend, "sweep backend"));
  return trainSweepRun(job);
});
