// One run of lesson 01's study in a worker thread (runStudy with jobs > 1).
import { chooseBackend, parseBackendName } from "../core/backend";
import { serveOnce } from "../core/threads";
import { GPT } from "../gpt/model";
import { tuneClassifier, type TuneResult } from "./methods";
import type { StudyJob } from "./study";

await serveOnce<StudyJob, TuneResult>(async (input) => {
  await chooseBackend(parseBackendName(input.backend, "tuning backend"));
  const pretrained = GPT.fromWeights(input.config, new Map(input.weights));
  try {
    return await tuneClassifier(input.kind, pretrained, input.data, input.options);
  } finally {
    pretrained.dispose();
  }
});
