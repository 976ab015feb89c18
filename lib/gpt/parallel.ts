// Data-parallel training on the cores of one machine. tfjs's wasm and cpu backends use one
// thread in Node, so a second core idles unless there is a second backend: each worker thread
// holds a replica of the model on its own backend. Every step, the batch's rows are split
// across the main thread and the workers; each computes the gradient of its rows' mean loss;
// the main thread averages them, weighted by rows, into shared memory; then every replica
// (main included) applies the same AdamW update from that memory, so the replicas stay
// identical without ever sending weights.
import * as tf from "@tensorflow/tfjs";
import type { Worker } from "node:worker_threads";

import type { Batch } from "../core/data";
import { startWorker, usefulThreads, type ThreadError } from "../core/threads";
import { AdamW, type AdamWConfig } from "./adamw";
import type { HalfFormat } from "./precision";
import type { GPT, GPTConfig } from "./model";
import { shown } from "../core/checks";

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

/**
 * Gradient of `scale` × the mean loss over the shard's rows, written into `out` in `vars` order;
 * returns the unscaled loss. The loss and every gradient are read together, asynchronously.
 */
export async function shardGradients(model: GPT, vars: tf.Variable[], r: ShardRequest, out: Float32Array): Promise<number> {
  const T = r.x.length / r.rows;
  const { value, grads } = tf.variableGrads(
    () => tf.mul(model.trainingLoss(r.x, r.y, r.rows, T, { training: true, dropoutSeed: r.dropoutSeed, precision: r.precision }), r.scale) as tf.Scalar,
    vars,
  );
  try {
    const [lossValue, ...parts] = await Promise.all([value, ...vars.map((v) => grads[v.name])].map((t) => t.data() as Promise<Float32Array>));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return lossValue[0] / r.scale;
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
  /** One region of P floats per thread: region 0 the averaged gradient, region w worker w's gradient. */
  shared: SharedArrayBuffer;
}

export type ToWorker =
  | ({ type: "grad" } & ShardRequest)
  | { type: "apply"; learningRate: number }
  | { type: "losses"; batches: Batch[] }
  | { type: "weights" };

export type FromWorker =
  | { type: "ready" }
  | { type: "grad"; loss: number }
  | { type: "losses"; losses: number[] }
  | { type: "weights"; weights: [string, Float32Array][] }
  | ThreadError;

/**
 * The main thread's side of data-parallel training: `workers - 1` worker threads beside the
 * main thread (none for one thread). Every method rejects with the worker's own error if one
 * throws or exits.
 */
export class DataParallel {
  private readonly pending = new Map<Worker, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  /** Set once the workers are being stopped on purpose: their exits are then no failure. */
  private closed = false;
  /** The averaged gradient, read by every replica. */
  readonly averaged: Float32Array;
  private readonly own: Float32Array;

  private constructor(
    private readonly model: GPT,
    private readonly vars: tf.Variable[],
    private readonly threads: Worker[],
    private readonly regions: Float32Array[],
  ) {
    this.averaged = regions[0];
    this.own = new Float32Array(regions[0].length);
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

  /** Starts `workers - 1` threads, each with a replica of `model` and a fresh AdamW like `optimizer`'s. */
  static async start(model: GPT, optimizer: AdamW, workers: number, settings: AdamWConfig): Promise<DataParallel> {
    const vars = optimizer.variables;
    const P = vars.reduce((s, v) => s + v.size, 0);
    const shared = new SharedArrayBuffer(workers * P * 4);
    const regions = Array.from({ length: workers }, (_, i) => new Float32Array(shared, i * P * 4, P));
    const weights = workers > 1 ? [...(await model.weights())] : [];
    const threads = Array.from({ length: workers - 1 }, (_, i) => {
      const setup: WorkerSetup = { index: i + 1, backend: tf.getBackend(), config: model.config, weights, optimizer: settings, shared };
      return startWorker("gpt/worker.ts", setup);
    });
    const team = new DataParallel(model, vars, threads, regions);
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

  /**
   * Gradients of one micro-batch, rows split across the threads, added into the averaged buffer
   * weighted by each shard's share of rows and divided by `divisor` (micro-batches × loss
   * scale); `first` starts the sum afresh. Returns the batch's mean loss, and whether every
   * entry of the buffer is finite so far (an overflow under loss scaling skips the step).
   */
  async accumulate(
    x: Int32Array, y: Int32Array, batchSize: number, first: boolean, divisor: number, shard: Omit<ShardRequest, "x" | "y" | "rows">,
  ): Promise<{ loss: number; finite: boolean }> {
    const T = x.length / batchSize;
    const ranges = rowRanges(batchSize, this.workers);
    const rows = ranges.map((r) => r.end - r.start);
    const slice = (ids: Int32Array, w: number) => ids.slice(ranges[w].start * T, ranges[w].end * T);
    const replies = this.threads.map((t, i) => this.request(t, { type: "grad", ...shard, x: slice(x, i + 1), y: slice(y, i + 1), rows: rows[i + 1] }));
    // The main thread's shard is computed while the workers compute theirs.
    const losses = [await shardGradients(this.model, this.vars, { ...shard, x: slice(x, 0), y: slice(y, 0), rows: rows[0] }, this.own)];
    for (const r of await Promise.all(replies)) losses.push((r as { loss: number }).loss);
    // One pass: weighted sum of the shards into the shared buffer; x·0 is 0 unless x is ±∞ or NaN.
    const avg = this.averaged;
    const parts = [this.own, ...this.regions.slice(1)];
    const weights = rows.map((r) => r / batchSize / divisor);
    let check = 0;
    for (let i = 0; i < avg.length; i++) {
      let sum = first ? 0 : avg[i];
      for (let w = 0; w < parts.length; w++) sum += weights[w] * parts[w][i];
      avg[i] = sum;
      check += sum * 0;
    }
    return { loss: losses.reduce((s, l, w) => s + (l * rows[w]) / batchSize, 0), finite: check === 0 };
  }

  /**
   * The loss of each batch (no dropout, no gradients), the batches shared among the threads:
   * the replicas are identical, so each loss is the one a single thread would compute.
   */
  async batchLosses(batches: Batch[]): Promise<number[]> {
    const ranges = rowRanges(batches.length, this.workers);
    const part = (w: number) => batches.slice(ranges[w].start, ranges[w].end);
    const replies = this.threads.map((t, i) => this.request(t, { type: "losses", batches: part(i + 1) }));
    const losses: number[] = [];
    for (const b of part(0)) losses.push(await batchLoss(this.model, b));
    for (const r of await Promise.all(replies)) losses.push(...(r as { losses: number[] }).losses);
    return losses;
  }

  /** Every replica applies the averaged gradient; returns the global gradient norm. */
  step(optimizer: AdamW, learningRate: number): Promise<number> {
    if (this.failure) throw this.failure;
    // Workers read the buffer before they take their next gradient request, so nothing overwrites it early.
    for (const w of this.threads) w.postMessage({ type: "apply", learningRate } satisfies ToWorker);
    return optimizer.step(this.averaged, learningRate);
  }

  /** Worker `index`'s (1-based) current weights: to check that the replicas agree. */
  async replicaWeights(index: number): Promise<Map<string, Float32Array>> {
    const r = (await this.request(this.threads[index - 1], { type: "weights" })) as { weights: [string, Float32Array][] };
    return new Map(r.weights);
  }

  /** Stops every worker; safe to call more than once. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((w) => w.terminate()));
  }
}

