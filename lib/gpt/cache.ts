// Training once, reusing the result. A run is keyed by everything that determines its outcome
// (model config, initial weights, data and training settings) and looked up in two places:
// datasets/checkpoints/, runs precomputed by the course and committed with their provenance
// (`npm run course -- NN --precompute`), then build/checkpoints/, this machine's own earlier runs.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";

import * as tf from "@tensorflow/tfjs";

import { cpuDescription } from "../core/machine";
import { projectRoot } from "../core/paths";
import { loadCheckpoint, readTensorFile, saveCheckpoint, writeTensorFile } from "./checkpoint";
import { parameterSpecs, type GPT } from "./model";
import { DEFAULT_TRAIN, optimizerOnDevice, train, validateTrainConfig, type TrainCallbacks, type TrainConfig, type TrainingState, type TrainResult } from "./train";
import { checkIds, shown } from "../core/checks";

/** Where precomputed runs are committed. */
export const storedRunsDir = () => join(projectRoot(), "datasets", "checkpoints");
/** Where this machine's own runs are kept (not committed). */
export const cachedRunsDir = () => join(projectRoot(), "build", "checkpoints");

/** How a stored run was made, saved beside its weights. */
export interface Provenance {
  command: string;
  lesson: string | null;
  commit: string | null;
  createdAt: string;
  machine: string;
  backend: string;
  node: string;
}

export interface CachedTrainResult extends TrainResult {
  /** Where the trained weights are stored. */
  checkpoint: string;
  /** "stored": precomputed and committed in datasets/; "cache": an earlier run on this machine; "trained": now. */
  source: "stored" | "cache" | "trained";
  /** For a stored run: how it was made. */
  provenance?: Provenance;
}

export interface CacheDirs {
  /** This machine's runs (default build/checkpoints). */
  dir?: string;
  /** Precomputed runs (default datasets/checkpoints). */
  storedDir?: string;
}

/** A hex digest of everything that decides what training `model` on `data` with `config` produces. */
export async function trainingKey(model: GPT, data: { train: Int32Array; val: Int32Array }, config: TrainConfig): Promise<string> {
  checkIds("trainingKey", "data.train", data?.train);
  checkIds("trainingKey", "data.val", data?.val);
  const hash = createHash("sha256");
  // Threads and where AdamW runs (host or device) change the result only by float rounding: a run
  // cached with one is valid for any. A setting added after runs were stored enters the key only
  // when it differs from what those runs did (fp32 master weights), so they are still found.
  const masterWeights = config.masterWeights === "fp32" ? undefined : config.masterWeights;
  hash.update(JSON.stringify({ model: model.config, train: { ...config, workers: undefined, optimizer: undefined, masterWeights } }));
  for (const [name, values] of await model.weights()) hash.update(name).update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  for (const ids of [data.train, data.val]) hash.update(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
  return hash.digest("hex");
}

function checkName(name: string): void {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`trainCached: name must be letters, digits, ".", "-" or "_" (it names a file); got ${shown(name)}`);
}

const fileName = (name: string, key: string) => `${name}-${key.slice(0, 16)}.ckpt`;

/** Whether this process precomputes runs into datasets/ (the runner's --precompute sets it for the kernel). */
export function precomputing(): boolean {
  return process.env.COURSE_PRECOMPUTE === "1";
}

/** The precomputed run identical to this one (same config, initial weights, data and settings), or null. */
export async function findStoredRun(
  name: string, model: GPT, data: { train: Int32Array; val: Int32Array }, config: Partial<TrainConfig> = {}, storedDir = storedRunsDir(),
): Promise<{ checkpoint: string; result: TrainResult; provenance: Provenance } | null> {
  checkName(name);
  const checkpoint = join(storedDir, fileName(name, await trainingKey(model, data, validateTrainConfig({ ...DEFAULT_TRAIN, ...config }))));
  if (!existsSync(checkpoint)) return null;
  let meta: RunRecord;
  try {
    meta = runRecord(readTensorFile(checkpoint).header.meta);
  } catch (err) {
    throw damagedStoredRun("findStoredRun", checkpoint, err);
  }
  return { checkpoint, result: meta.result, provenance: meta.provenance! };
}

interface RunRecord {
  result: TrainResult;
  provenance?: Provenance;
}

/** A checkpoint's meta as trainCached wrote it, or an error saying what is missing. */
function runRecord(meta: unknown): RunRecord {
  const result = (meta as { result?: Partial<TrainResult> } | undefined)?.result;
  if (!(Array.isArray(result?.steps) && Array.isArray(result?.evals))) {
    throw new Error(`it holds no training record (meta.result with steps and evals); got meta ${shown(meta)}`);
  }
  return meta as RunRecord;
}

/** A committed run that cannot be read: a lesson must not silently train for an hour instead. */
function damagedStoredRun(fn: string, checkpoint: string, err: unknown): Error {
  const file = relative(projectRoot(), checkpoint);
  return new Error(`${fn}: the stored run ${file} is damaged (${(err as Error).message}); restore it with \`git checkout -- ${file}\`, `
    + "or delete it and store it again with the lesson's --precompute (see datasets/README.md)");
}

function provenance(): Provenance {
  const git = spawnSync("git", ["rev-parse", "HEAD"], { cwd: projectRoot(), encoding: "utf8" });
  const lesson = process.env.COURSE_LESSON ?? null;
  return {
    command: process.env.COURSE_PRECOMPUTE_COMMAND ?? (lesson ? `npm run course -- ${lesson} --precompute` : "COURSE_PRECOMPUTE=1"),
    lesson,
    commit: git.status === 0 ? git.stdout.trim() : null,
    createdAt: new Date().toISOString(),
    machine: cpuDescription(),
    backend: tf.getBackend(),
    node: process.version,
  };
}

/**
 * Like train(), but an identical run precomputed in `storedDir` or saved earlier in `dir` is
 * loaded instead of retrained; its recorded steps and evaluations are replayed through the
 * callbacks, so charts look the same either way. Delete build/checkpoints/ to retrain. When
 * precomputing (COURSE_PRECOMPUTE=1), a run not yet stored is trained and saved into `storedDir`
 * with its provenance; one already stored is kept. A run being trained saves its state about every
 * 5% of its steps in `dir` (a .partial file); asked for again after an interruption or a kill, it
 * goes on from the last save to the weights an uninterrupted run would have.
 */
export async function trainCached(
  name: string,
  model: GPT,
  data: { train: Int32Array; val: Int32Array },
  config: Partial<TrainConfig> = {},
  callbacks: TrainCallbacks = {},
  dirs: CacheDirs = {},
): Promise<CachedTrainResult> {
  checkName(name);
  const { dir = cachedRunsDir(), storedDir = storedRunsDir() } = dirs;
  const full = validateTrainConfig({ ...DEFAULT_TRAIN, ...config });
  const file = fileName(name, await trainingKey(model, data, full));
  const store = precomputing();
  // A precompute trains what is not stored yet, whatever this machine has cached.
  const places = store ? [[storedDir, "stored"]] as const : [[storedDir, "stored"], [dir, "cache"]] as const;
  for (const [where, source] of places) {
    const checkpoint = join(where, file);
    if (!existsSync(checkpoint)) continue;
    let cached: ReturnType<typeof loadCheckpoint> | undefined;
    let meta: RunRecord;
    try {
      cached = loadCheckpoint(checkpoint, model.config);
      meta = runRecord(cached.meta);
    } catch (err) {
      cached?.model.dispose();
      if (source === "stored") throw damagedStoredRun("trainCached", checkpoint, err);
      // This machine's cache is only a shortcut: a damaged entry is trained again and replaced.
      console.log(`trainCached: ${relative(projectRoot(), checkpoint)} cannot be used (${(err as Error).message}); training the run again`);
      continue;
    }
    for (const [param, variable] of model.params) variable.assign(cached!.model.params.get(param)!);
    cached!.model.dispose();
    for (const s of meta.result.steps) callbacks.onStep?.(s);
    for (const e of meta.result.evals) callbacks.onEval?.(e);
    // Runs cached before threads were recorded trained on one.
    return { ...meta.result, workers: meta.result.workers ?? 1, checkpoint, source, provenance: meta.provenance };
  }
  const partial = join(dir, file.replace(/\.ckpt$/, ".partial"));
  // On a GPU AdamW's state stays on the device, where a run is neither saved midway nor resumed.
  const onHost = !optimizerOnDevice(full);
  const resume = onHost ? resumePartial(partial, model) : null;
  if (resume) {
    console.log(`trainCached: resuming ${name} after step ${resume.step} of ${full.steps} (saved in ${relative(projectRoot(), partial)})`);
    for (const s of resume.result.steps) callbacks.onStep?.(s);
    for (const e of resume.result.evals) callbacks.onEval?.(e);
  }
  const every = Math.max(MIN_STEPS_BETWEEN_SAVES, Math.ceil(full.steps / 20));
  const save = async (state: TrainingState) => savePartial(partial, model, state);
  const result = await train(model, data, full, onHost ? { ...callbacks, checkpoint: { every, save } } : callbacks, { resume: resume ?? undefined });
  const target = store ? storedDir : dir;
  const checkpoint = join(target, file);
  mkdirSync(target, { recursive: true });
  const made = store ? provenance() : undefined;
  await saveCheckpoint(checkpoint, model, { step: full.steps, meta: made ? { result, provenance: made } : { result } });
  rmSync(partial, { force: true });
  return { ...result, checkpoint, source: "trained", provenance: made };
}

/**
 * A long run saves its state about every 5% of its steps (but no more often than this), so that
 * a run killed or interrupted goes on from there the next time it is asked for.
 */
const MIN_STEPS_BETWEEN_SAVES = 50;

/** Writes an unfinished run: the model's weights, AdamW's moments, and the rest of its state in the header. */
async function savePartial(path: string, model: GPT, state: TrainingState): Promise<void> {
  const weights = await model.weights();
  const tensors = new Map(parameterSpecs(model.config).map((s) => [s.name, { shape: s.shape, values: weights.get(s.name)! }]));
  const { m, v, t } = state.optimizer;
  tensors.set("adamw.m", { shape: [m.length], values: m });
  tensors.set("adamw.v", { shape: [v.length], values: v });
  mkdirSync(dirname(path), { recursive: true });
  writeTensorFile(path, { config: model.config, step: state.step, meta: { partial: { ...state, optimizer: { t } } } }, tensors);
}

/**
 * Loads an unfinished run saved by savePartial into `model` and returns its state, or null if
 * there is none. Its name carries the run's key, so it is this run's; one that cannot be read is
 * only a lost shortcut: it is reported and the run starts over.
 */
function resumePartial(path: string, model: GPT): TrainingState | null {
  if (!existsSync(path)) return null;
  try {
    const { header, tensors } = readTensorFile(path);
    const state = (header.meta as { partial?: TrainingState } | undefined)?.partial;
    const m = tensors.get("adamw.m")?.values, v = tensors.get("adamw.v")?.values;
    if (!state || !m || !v) throw new Error("it holds no training state");
    const params = [...model.params];
    for (const [name, variable] of params) {
      if (tensors.get(name)?.values.length !== variable.size) throw new Error(`its ${name} does not fit the model`);
    }
    // Checked whole before any weight changes: a file that cannot be used leaves the model as it was.
    for (const [name, variable] of params) tf.tidy(() => variable.assign(tf.tensor(tensors.get(name)!.values, variable.shape)));
    return { ...state, optimizer: { m, v, t: state.optimizer.t } };
  } catch (err) {
    console.log(`trainCached: ${relative(projectRoot(), path)} cannot be resumed (${(err as Error).message}); training from the start`);
    rmSync(path, { force: true });
    return null;
  }
}
