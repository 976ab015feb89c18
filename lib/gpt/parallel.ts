// Data-parallel training on the cores of one machine. tfjs's wasm and cpu backends use one
// thread in Node, so a second core idles unless there is a second backend: each worker thread
// holds a replica of the model on its own backend. A step has three phases, each shared by every
// thread (the main thread included) and ended by a barrier:
//   1. gradient: the batch's rows are split across the threads; each writes the gradient of its
//      rows' mean loss into its own region of shared memory;
//   2. reduce: each thread owns a slice of the parameters and sums the threads' gradients over
//      it, weighted by rows, into the averaged gradient (and its slice of the global norm);
//   3. apply: each thread runs AdamW on its slice (its own moments only) and writes the new
//      weights into shared memory; the main thread loads all of them at once, each worker
//      before its next request.
// So the replicas stay identical without ever sending weights, and no phase runs on one thread
// while the others wait.
import * as tf from "@tensorflow/tfjs";
import type { Worker } from "node:worker_threads";

import type { Batch } from "../core/data";
import { startWorker, usefulThreads, type ThreadError } from "../core/threads";
import { readInto } from "../core/wasmKernels";
import { assignWeights, checkMoments, clipFactor, spansOf, SliceAdamW, type AdamWConfig, type OptimizerMoments } from "./adamw";
import type { HalfFormat } from "./precision";
import { modelParameters, type GPT, type GPTConfig } from "./model";
import { checkNumber, shown } from "../core/checks";

/** Below this much training compute (FLOPs), starting workers (~1 s each) costs more than it saves. */
export const MIN_PARALLEL_FLOPS = 2e11;

/**
 * How many threads train: an explicit request wins, then COURSE_WORKERS, then "auto": one per
 * core on a single-threaded backend for runs big enough to pay for starting them, else 1.
 * Never more than the batch has rows, since each thread needs at least one.
 */
export function resolveWorkers(requested: number | "auto", run: { batchSize: number; flops: number; backend?: string }): number {
  const env = process.env.COURSE_WORKERS;
  const choice = requested !== "auto" ? requested : env !== undefined && env !== "" && env !== "auto" ? Number(env) : "auto";
  if (choice !== "auto") {
    const where = requested !== "auto" ? "TrainConfig.workers" : "COURSE_WORKERS";
    if (!Number.isInteger(choice) || choice < 1) throw new Error(`${where} must be a positive integer or "auto"; got ${shown(requested !== "auto" ? requested : env)}`);
    return Math.min(choice, run.batchSize);
  }
  if (run.flops < MIN_PARALLEL_FLOPS) return 1;
  return Math.min(usefulThreads(run.backend), run.batchSize);
}

/** Rows of a batch of `batchSize` for each of `workers` threads, as even as possible. */
export function splitRows(batchSize: number, workers: number): number[] {
  return Array.from({ length: workers }, (_, w) => Math.floor(((w + 1) * batchSize) / workers) - Math.floor((w * batchSize) / workers));
}

/** splitRows as consecutive [start, end) ranges. */
function rowRanges(total: number, workers: number): { start: number; end: number }[] {
  let start = 0;
  return splitRows(total, workers).map((count) => ({ start, end: (start += count) }));
}

export interface ShardRequest {
  x: Int32Array;
  y: Int32Array;
  rows: number;
  dropoutSeed: number;
  /** The loss is multiplied by this before differentiating (loss scaling). */
  scale: number;
  precision?: HalfFormat;
}

/** What every shard of one micro-batch shares: its dropout seed, loss scale and precision. */
export type ShardSettings = Omit<ShardRequest, "x" | "y" | "rows">;

/**
 * Gradient of `scale` × the mean loss over the shard's rows, written into `out` in `vars` order;
 * returns the unscaled loss.
 */
export async function shardGradients(model: GPT, vars: tf.Variable[], r: ShardRequest, out: Float32Array): Promise<number> {
  const T = r.x.length / r.rows;
  const { value, grads } = tf.variableGrads(
    () => tf.mul(model.trainingLoss(r.x, r.y, r.rows, T, { training: true, dropoutSeed: r.dropoutSeed, precision: r.precision }), r.scale) as tf.Scalar,
    vars,
  );
  try {
    const spans = spansOf(vars, out);
    for (let i = 0; i < vars.length; i++) await readInto(grads[vars[i].name], spans[i], 0);
    return (await value.data())[0] / r.scale;
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}

/** The mean loss of one batch, without dropout or gradients. */
export async function batchLoss(model: GPT, b: Batch): Promise<number> {
  const loss = tf.tidy(() => model.loss(b.x, b.y, b.batchSize, b.blockSize));
  try {
    return (await loss.data())[0];
  } finally {
    loss.dispose();
  }
}

/** What a worker needs to build its replica (sent once, at start). */
export interface WorkerSetup {
  index: number;
  backend: string;
  config: GPTConfig;
  weights: [string, Float32Array][];
  optimizer: AdamWConfig;
  workers: number;
  /** The team's shared memory (layout: sharedLayout). */
  shared: SharedArrayBuffer;
  /** AdamW updates made before the team started (a resumed run's). */
  updatesBefore: number;
}

/**
 * Views of the team's shared memory, P floats each: one gradient region per thread, the averaged
 * gradient, the weights as the last update left them, and AdamW's two moments (each thread
 * updates its slice of them; kept here so that the main thread can save and restore a run).
 */
function sharedLayout(shared: SharedArrayBuffer, workers: number, P: number) {
  const region = (i: number) => new Float32Array(shared, i * P * 4, P);
  return {
    grads: Array.from({ length: workers }, (_, w) => region(w)), averaged: region(workers), weights: region(workers + 1),
    m: region(workers + 2), v: region(workers + 3),
  };
}

type SharedLayout = ReturnType<typeof sharedLayout>;

/** Bytes of shared memory (sharedLayout's regions) a team of `workers` threads needs for P parameters. */
const sharedBytes = (workers: number, P: number) => (workers + 4) * P * 4;

/**
 * What thread `index` of `workers` holds (the main thread is 0): its replica's variables, the
 * views of the shared memory, the slice of the parameters it reduces and updates, and that
 * slice's AdamW.
 */
export function threadShare(model: GPT, shared: SharedArrayBuffer, workers: number, index: number, settings: AdamWConfig, updatesBefore: number) {
  const params = modelParameters(model);
  const vars = params.map((p) => p.variable);
  const P = vars.reduce((s, v) => s + v.size, 0);
  const slice = rowRanges(P, workers)[index];
  const layout = sharedLayout(shared, workers, P);
  const optimizer = new SliceAdamW(
    params.map((p) => ({ size: p.variable.size, decay: p.decay })), slice.start, slice.end, settings, { m: layout.m, v: layout.v, t: updatesBefore },
  );
  return { vars, layout, slice, optimizer };
}

/** Phase 2 on one thread's slice: averaged = (first ? 0 : averaged) + Σ_w coefficients[w] · grads[w], rounded once. */
export function reduceSlice(
  layout: SharedLayout, slice: { start: number; end: number }, coefficients: number[], first: boolean,
): { sumSquares: number; finite: boolean } {
  const { grads, averaged } = layout;
  let sumSquares = 0;
  if (grads.length <= 2) {
    // One or two threads (a 2-core machine): the loop without its inner loop runs ~3x faster.
    const [g0, g1 = g0] = grads;
    const [c0, c1 = 0] = coefficients;
    for (let i = slice.start; i < slice.end; i++) {
      const sum = (first ? 0 : averaged[i]) + c0 * g0[i] + c1 * g1[i];
      averaged[i] = sum;
      sumSquares += sum * sum;
    }
  } else {
    for (let i = slice.start; i < slice.end; i++) {
      let sum = first ? 0 : averaged[i];
      for (let w = 0; w < grads.length; w++) sum += coefficients[w] * grads[w][i];
      averaged[i] = sum;
      sumSquares += sum * sum;
    }
  }
  // Σ x² is finite exactly when no entry is ±∞ or NaN (short of overflowing the float64 sum).
  return { sumSquares, finite: Number.isFinite(sumSquares) };
}

export type ToWorker =
  | ({ type: "grad"; reload: boolean } & ShardRequest)
  | { type: "reduce"; coefficients: number[]; first: boolean }
  | { type: "apply"; learningRate: number; clip: number }
  | { type: "losses"; batches: Batch[]; reload: boolean }
  | { type: "weights"; reload: boolean };

export type FromWorker =
  | { type: "ready" }
  | { type: "grad"; loss: number }
  | { type: "reduced"; sumSquares: number; finite: boolean }
  | { type: "applied" }
  | { type: "losses"; losses: number[] }
  | { type: "weights"; weights: [string, Float32Array][] }
  | ThreadError;

/**
 * The main thread's side of data-parallel training: `workers - 1` worker threads beside the
 * main thread (none for one thread, which then runs every phase alone). Every method rejects
 * with the worker's own error if one throws or exits.
 */
export class DataParallel {
  private readonly pending = new Map<Worker, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  /** Set once the workers are being stopped on purpose: their exits are then no failure. */
  private closed = false;
  private readonly vars: tf.Variable[];
  private readonly layout: SharedLayout;
  private readonly slice: { start: number; end: number };
  private readonly optimizer: SliceAdamW;
  /** Updates applied by this team, and how many of them each thread's variables hold (main first). */
  private updates = 0;
  private readonly loaded: number[];
  /** Σ g² of the averaged gradient so far (after the last micro-batch: the global norm²). */
  private sumSquares = 0;

  private constructor(
    private readonly model: GPT,
    private readonly threads: Worker[],
    share: ReturnType<typeof threadShare>,
    private readonly settings: AdamWConfig,
    private readonly updatesBefore: number,
  ) {
    ({ vars: this.vars, layout: this.layout, slice: this.slice, optimizer: this.optimizer } = share);
    this.loaded = Array(threads.length + 1).fill(0);
    for (const w of threads) {
      w.on("message", (m: FromWorker) => {
        if (m.type === "error") {
          const err = new Error(`training worker ${threads.indexOf(w) + 1} failed: ${m.message}`);
          if (m.stack) err.stack = `${err.message}\n${m.stack.split("\n").slice(1).join("\n")}`;
          this.fail(err);
          return;
        }
        const p = this.pending.get(w);
        this.pending.delete(w);
        p?.resolve(m);
      });
      w.on("error", (err) => this.fail(new Error(`training worker ${threads.indexOf(w) + 1} crashed: ${err.message}`)));
      w.on("exit", (code) => {
        if (!this.closed) this.fail(new Error(`training worker ${threads.indexOf(w) + 1} exited unexpectedly (code ${code})`));
      });
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  private request(w: Worker, message: ToWorker | null): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(w, { resolve, reject });
      if (message) w.postMessage(message);
    });
  }

  /** Sends every worker its message (by index, 1-based), does the main thread's part meanwhile, then waits for all replies. */
  private async together<R>(message: (index: number) => ToWorker, own: () => Promise<R> | R): Promise<{ own: R; replies: FromWorker[] }> {
    const replies = this.threads.map((t, i) => this.request(t, message(i + 1)));
    try {
      return { own: await own(), replies: await Promise.all(replies) };
    } catch (err) {
      // The main thread's part failed: let the workers finish theirs before the error goes up.
      await Promise.allSettled(replies);
      throw err;
    }
  }

  /** The main thread's model takes the weights of the last update (the workers load them at their next request). */
  syncModel(): void {
    if (this.loaded[0] !== this.updates) assignWeights(this.vars, this.layout.weights);
    this.loaded[0] = this.updates;
  }

  /** Whether worker `index` (1-based) must load the shared weights before its next request; it will. */
  private reload(index: number): boolean {
    const behind = this.loaded[index] !== this.updates;
    this.loaded[index] = this.updates;
    return behind;
  }

  /**
   * Starts `workers - 1` threads, each with a replica of `model`; the team updates the weights with
   * AdamW(settings), from `moments` where a saved run resumes (else from zero).
   */
  static async start(model: GPT, workers: number, settings: AdamWConfig, moments?: OptimizerMoments): Promise<DataParallel> {
    const P = model.parameterCount.total;
    if (moments) checkMoments("DataParallel.start", moments, P);
    const shared = new SharedArrayBuffer(sharedBytes(workers, P));
    const updatesBefore = moments?.t ?? 0;
    const share = threadShare(model, shared, workers, 0, settings, updatesBefore);
    if (moments) {
      share.layout.m.set(moments.m);
      share.layout.v.set(moments.v);
    }
    const weights = [...(await model.weights())];
    // The shared weights start as the model's; every replica is built from the same values.
    spansOf(share.vars, share.layout.weights).forEach((span, i) => span.set(weights[i][1]));
    const threads = Array.from({ length: workers - 1 }, (_, i) => {
      const setup: WorkerSetup = { index: i + 1, backend: tf.getBackend(), config: model.config, weights, optimizer: settings, workers, shared, updatesBefore };
      return startWorker("gpt/worker.ts", setup);
    });
    const team = new DataParallel(model, threads, share, settings, updatesBefore);
    try {
      await Promise.all(threads.map((w) => team.request(w, null)));
    } catch (err) {
      await team.close();
      throw err;
    }
    return team;
  }

  get workers(): number {
    return this.threads.length + 1;
  }

  /** A copy of AdamW's state after the last update (every thread's slice): what a saved run needs to resume. */
  moments(): OptimizerMoments {
    return { m: this.layout.m.slice(), v: this.layout.v.slice(), t: this.updatesBefore + this.updates };
  }

  /**
   * Gradients of one micro-batch, rows split across the threads, added into the averaged
   * gradient weighted by each shard's share of rows and divided by `divisor` (micro-batches ×
   * loss scale); `first` starts the sum afresh. Returns the batch's mean loss, and whether every
   * entry of the averaged gradient is finite so far (an overflow under loss scaling skips the step).
   */
  async accumulate(
    x: Int32Array, y: Int32Array, batchSize: number, first: boolean, divisor: number, shard: ShardSettings,
  ): Promise<{ loss: number; finite: boolean }> {
    const T = x.length / batchSize;
    const ranges = rowRanges(batchSize, this.workers);
    const rows = ranges.map((r) => r.end - r.start);
    const part = (w: number) => ({ ...shard, x: x.slice(ranges[w].start * T, ranges[w].end * T), y: y.slice(ranges[w].start * T, ranges[w].end * T), rows: rows[w] });
    const gradients = await this.together((w) => ({ type: "grad", reload: this.reload(w), ...part(w) }), () => {
      this.syncModel();
      return shardGradients(this.model, this.vars, part(0), this.layout.grads[0]);
    });
    const losses = [gradients.own, ...gradients.replies.map((r) => (r as { loss: number }).loss)];
    const coefficients = rows.map((r) => r / batchSize / divisor);
    const reduced = await this.together(() => ({ type: "reduce", coefficients, first }), () => reduceSlice(this.layout, this.slice, coefficients, first));
    const parts = [reduced.own, ...(reduced.replies as { sumSquares: number; finite: boolean }[])];
    this.sumSquares = parts.reduce((s, p) => s + p.sumSquares, 0);
    return { loss: losses.reduce((s, l, w) => s + (l * rows[w]) / batchSize, 0), finite: parts.every((p) => p.finite) };
  }

  /** Every thread updates its slice of the weights from the averaged gradient; returns the global gradient norm. */
  async step(learningRate: number): Promise<number> {
    checkNumber("DataParallel.step", "learningRate", learningRate, 0);
    const norm = Math.sqrt(this.sumSquares);
    const clip = clipFactor(this.settings.gradClip, norm);
    await this.together(() => ({ type: "apply", learningRate, clip }), () => this.optimizer.update(this.layout.averaged, this.layout.weights, learningRate, clip));
    this.updates += 1;
    // At once, not at the next request: callbacks between steps (onStep, onEval) see the model as updated.
    this.syncModel();
    return norm;
  }

  /**
   * The loss of each batch (no dropout, no gradients), the batches shared among the threads:
   * the replicas are identical, so each loss is the one a single thread would compute.
   */
  async batchLosses(batches: Batch[]): Promise<number[]> {
    const ranges = rowRanges(batches.length, this.workers);
    const part = (w: number) => batches.slice(ranges[w].start, ranges[w].end);
    const r = await this.together((w) => ({ type: "losses", batches: part(w), reload: this.reload(w) }), async () => {
      this.syncModel();
      const losses: number[] = [];
      for (const b of part(0)) losses.push(await batchLoss(this.model, b));
      return losses;
    });
    return [...r.own, ...r.replies.flatMap((m) => (m as { losses: number[] }).losses)];
  }

  /** Worker `index`'s (1-based) current weights: to check that the replicas agree. */
  async replicaWeights(index: number): Promise<Map<string, Float32Array>> {
    const r = (await this.request(this.threads[index - 1], { type: "weights", reload: this.reload(index) })) as { weights: [string, Float32Array][] };
    return new Map(r.weights);
  }

  /**
   * Stops every worker; safe to call more than once. The main thread's model is left with the
   * weights of the last update every thread finished.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.syncModel();
    await Promise.all(this.threads.map((w) => w.terminate()));
  }
}
