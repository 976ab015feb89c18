// Pretraining as lesson 01 shows it: a live chart and progress bar over a run that is trained
// here, or, where the course precomputed it, a live slice beside the stored run.
import { checkPositiveInteger, shown } from "../core/checks";
import { livePlot, progress } from "../core/display";
import { findStoredRun, precomputing, trainCached, type CacheDirs, type CachedTrainResult } from "../gpt/cache";
import type { GPT } from "../gpt/model";
import { DEFAULT_TRAIN, train, validateTrainConfig, type EvalInfo, type StepInfo, type TrainConfig, type TrainResult } from "../gpt/train";
import { cloneModel } from "./methods";

export interface PretrainingRun extends CachedTrainResult {
  /** With a stored run: its first steps, trained again here from the same start. */
  liveSlice?: {
    steps: number;
    seconds: number;
    workers: number;
    /** Largest |live − stored| batch loss over the slice's steps (float rounding only, if all is well). */
    maxLossDifference: number;
  };
}

/**
 * Pretraining as a lesson shows it. When the full run was precomputed (datasets/checkpoints/,
 * made by `npm run course -- NN --precompute`), its first `liveSteps` steps are trained here
 * from the same initial weights, batches and learning-rate schedule and drawn over the stored
 * curve, then the stored weights are loaded into `model`. Otherwise the whole run trains live
 * (or comes from this machine's cache). Either way one chart and one progress bar show it.
 */
export async function pretrain(
  name: string, model: GPT, data: { train: Int32Array; val: Int32Array }, config: Partial<TrainConfig>,
  options: { title: string; liveSteps: number; dirs?: CacheDirs },
): Promise<PretrainingRun> {
  const full = validateTrainConfig({ ...DEFAULT_TRAIN, ...config }, "pretrain");
  checkPositiveInteger("pretrain", "liveSteps", options?.liveSteps);
  const stored = precomputing() ? null : await findStoredRun(name, model, data, full, options.dirs?.storedDir);
  const curve = trainingCurve(options.title, { reference: stored?.result });
  const liveSteps = stored ? Math.min(options.liveSteps, full.steps) : full.steps;
  const bar = progress(stored ? `pretraining: the stored run's first ${liveSteps} steps, live` : "pretraining");
  const callbacks = {
    onStep: (s: StepInfo) => { curve.onStep(s); bar.update({ step: s.step + 1, total: liveSteps, values: { loss: s.loss, "tokens/s": s.tokensPerSecond } }); },
    onEval: curve.onEval,
  };
  try {
    if (!stored) return await trainCached(name, model, data, full, callbacks, options.dirs);
    const copy = await cloneModel(model);
    let slice: TrainResult;
    try {
      // The stored run's schedule: warm-up and decay as over all its steps, cut after liveSteps.
      slice = await train(copy, data, { ...full, steps: liveSteps, decaySteps: full.decaySteps ?? full.steps }, callbacks);
    } finally {
      copy.dispose();
    }
    const maxLossDifference = Math.max(...slice.steps.map((s, i) => Math.abs(s.loss - stored.result.steps[i].loss)));
    const result = await trainCached(name, model, data, full, {}, options.dirs);
    return { ...result, liveSlice: { steps: liveSteps, seconds: slice.seconds, workers: slice.workers, maxLossDifference } };
  } finally {
    curve.done();
    bar.done();
  }
}

/** One sentence on where a pretrained model came from and how good it is, from the run's own record. */
export function describePretraining(run: PretrainingRun): string {
  const last = run.evals.at(-1);
  const quality = last ? `validation loss ${last.valLoss.toFixed(3)} after ${run.tokens.toLocaleString("en")} tokens` : `${run.tokens.toLocaleString("en")} tokens`;
  if (run.source === "stored" && run.provenance) {
    const p = run.provenance;
    const made = `precomputed by \`${p.command}\` on ${p.createdAt.slice(0, 10)} (${p.machine}, ${p.backend}, ${run.seconds.toFixed(0)} s on ${run.workers} thread(s)${p.commit ? `, commit ${p.commit.slice(0, 7)}` : ""})`;
    const live = run.liveSlice;
    const agreement = live && (live.maxLossDifference === 0
      ? "match the stored batch losses exactly"
      : `differ from the stored batch losses by at most ${live.maxLossDifference.toExponential(1)}`);
    const slice = live ? `; its first ${live.steps} steps, retrained here in ${live.seconds.toFixed(0)} s on ${live.workers} thread(s), ${agreement}` : "";
    return `${quality}: ${made}${slice}`;
  }
  if (run.source === "cache") return `${quality} (an earlier run on this machine, loaded from ${run.checkpoint})`;
  return `${quality} in ${run.seconds.toFixed(0)} s on ${run.workers} thread(s)`;
}

/**
 * A live chart of training and validation loss against tokens seen, for train()'s callbacks.
 * With a `reference` run (a stored one), its curves are drawn faint underneath for comparison.
 */
export function trainingCurve(title: string, options: { reference?: TrainResult } = {}) {
  const evals: EvalInfo[] = [];
  const steps: StepInfo[] = [];
  const chart = livePlot();
  const ref = options.reference;
  if (ref !== undefined && !(Array.isArray(ref.steps) && Array.isArray(ref.evals))) {
    throw new Error(`trainingCurve: reference must be a finished run (what train() returns, with steps and evals); got ${shown(ref)}`);
  }
  const referenceTraces = ref ? [
    { x: ref.steps.map((s) => s.tokens), y: ref.steps.map((s) => s.loss), name: "stored run: train (batch)", mode: "lines", line: { width: 1, color: "#bbb" } },
    { x: ref.evals.map((e) => e.tokens), y: ref.evals.map((e) => e.valLoss), name: "stored run: validation", mode: "lines", line: { dash: "dot", color: "#888" } },
  ] : [];
  const figure = () => ({
    data: [
      ...referenceTraces,
      { x: steps.map((s) => s.tokens), y: steps.map((s) => s.loss), name: "train (batch)", mode: "lines", line: { width: 1 }, opacity: 0.4 },
      { x: evals.map((e) => e.tokens), y: evals.map((e) => e.trainLoss), name: "train", mode: "lines+markers" },
      { x: evals.map((e) => e.tokens), y: evals.map((e) => e.valLoss), name: "validation", mode: "lines+markers" },
    ],
    layout: { title: { text: title }, xaxis: { title: { text: "tokens seen" } }, yaxis: { title: { text: "cross-entropy (nats per token)" } }, height: 380 },
  });
  return {
    evals,
    onStep: (s: StepInfo) => { steps.push(s); chart.update(figure()); },
    onEval: (e: EvalInfo) => { evals.push(e); chart.update(figure()); },
    done: () => chart.done(),
  };
}
