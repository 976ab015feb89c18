// Training once, reusing the result: a long pretraining run is saved under build/checkpoints,
// keyed by everything that determines its outcome (model config, initial weights, data and
// training settings), and loaded instead of retrained when a lesson runs again.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

import { projectRoot } from "../paths";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint";
import type { GPT } from "./model";
import { DEFAULT_TRAIN, train, validateTrainConfig, type TrainCallbacks, type TrainConfig, type TrainResult } from "./train";

export interface CachedTrainResult extends TrainResult {
  /** Where the trained weights are stored. */
  checkpoint: string;
  /** True when the weights were loaded from an earlier identical run instead of trained now. */
  fromCache: boolean;
}

/** A hex digest of everything that decides what training `model` on `data` with `config` produces. */
export function trainingKey(model: GPT, data: { train: Int32Array; val: Int32Array }, config: TrainConfig): string {
  const hash = createHash("sha256");
  // Threads change the result only by float rounding: a run cached with one is valid for any.
  hash.update(JSON.stringify({ model: model.config, train: { ...config, workers: undefined } }));
  for (const [name, values] of model.weights()) hash.update(name).update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  for (const ids of [data.train, data.val]) hash.update(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
  return hash.digest("hex");
}

/**
 * Like train(), but an identical earlier run (same config, initial weights, data and settings)
 * is loaded from `dir` instead of retrained; its recorded steps and evaluations are replayed
 * through the callbacks, so charts look the same either way. Delete the folder to retrain.
 */
export async function trainCached(
  name: string,
  model: GPT,
  data: { train: Int32Array; val: Int32Array },
  config: Partial<TrainConfig> = {},
  callbacks: TrainCallbacks = {},
  dir = join(projectRoot(), "build", "checkpoints"),
): Promise<CachedTrainResult> {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`trainCached: name must be letters, digits, ".", "-" or "_" (it names a file); got ${JSON.stringify(name)}`);
  const full = validateTrainConfig({ ...DEFAULT_TRAIN, ...config });
  const checkpoint = join(dir, `${name}-${trainingKey(model, data, full).slice(0, 16)}.ckpt`);
  if (existsSync(checkpoint)) {
    const cached = loadCheckpoint(checkpoint, model.config);
    for (const [name, variable] of model.params) variable.assign(cached.model.params.get(name)!);
    cached.model.dispose();
    const result = (cached.meta as { result: TrainResult }).result;
    for (const s of result.steps) callbacks.onStep?.(s);
    for (const e of result.evals) callbacks.onEval?.(e);
    // Runs cached before threads were recorded trained on one.
    return { ...result, workers: result.workers ?? 1, checkpoint, fromCache: true };
  }
  const result = await train(model, data, full, callbacks);
  mkdirSync(dir, { recursive: true });
  saveCheckpoint(checkpoint, model, { step: full.steps, meta: { result } });
  return { ...result, checkpoint, fromCache: false };
}
