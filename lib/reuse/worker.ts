// One run of a tuning grid in a worker thread (tuneClassifiers with jobs > 1).
import { chooseBackend, parseBackendName } from "../core/backend";
import { GPT } from "../gpt/model";
import { tuneClassifier, type ReuseRow, type TuneWorkerInput } from "./methods";
import { serveOnce } from "../core/threads";

await serveOnce<TuneWorkerInput, ReuseRow>(async (input) => {
  await chooseBackend(parseBackendName(input.backend, "tuning backend"));
  const pretrained = GPT.fromWeights(input.config, new Map(input.weights));
  try {
    return await tuneClassifier(input.kind, pretrained, { ...input.task, testTexts: [] }, input.options);
  } finally {
    pretrained.dispose();
  }
});
