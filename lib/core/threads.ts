// Worker threads for the course's parallel work: data-parallel replicas (gpt/parallel.ts) and
// independent runs side by side (sweeps, tuning grids). tfjs's wasm and cpu backends use one
// thread in Node, so each thread holds its own backend. Every worker is counted while alive,
// so tests can check that none outlives the work that started it.
import * as tf from "@tensorflow/tfjs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parentPort, Worker, workerData } from "node:worker_threads";

import { InterruptedError, onInterrupt } from "./interrupt";
import { projectRoot } from "./paths";
import { checkPositiveInteger } from "./checks";

/** Backends that run on one thread in Node, where more threads add cores. */
const SINGLE_THREADED = new Set(["wasm", "cpu"]);

/** Threads worth running side by side: one per core on a single-threaded backend, else 1 (native TensorFlow threads itself). */
export function usefulThreads(backend: string = tf.getBackend()): number {
  const known = ["cpu", "wasm", "webgl", "webgpu", "tensorflow"]; // tfjs's names for its backends
  if (!known.includes(backend)) throw new Error(`usefulThreads: backend must be one of ${known.join(", ")}; got ${JSON.stringify(backend)}`);
  return SINGLE_THREADED.has(backend) ? availableParallelism() : 1;
}

const live = new Set<Worker>();

/** Worker threads alive now (0 between trainings and sweeps). */
export function liveWorkerCount(): number {
  return live.size;
}

/** Starts `module` (a path under lib/) in a worker thread; it reads `payload` with workerPayload(). */
export function startWorker(module: string, payload: unknown): Worker {
  const root = projectRoot();
  const worker = new Worker(join(root, "lib", "core", "worker.mjs"), { workerData: { module: join(root, "lib", module), payload } });
  live.add(worker);
  worker.once("exit", () => live.delete(worker));
  return worker;
}

/** Inside a worker: what startWorker was given. */
export function workerPayload<T>(): T {
  return (workerData as { payload: T }).payload;
}

/** An error as it crosses threads (Error objects lose their class and stack when cloned). */
export interface ThreadError {
  type: "error";
  message: string;
  stack?: string;
}

export function threadError(err: unknown): ThreadError {
  return { type: "error", message: (err as Error)?.message ?? String(err), stack: (err as Error)?.stack };
}

/** Inside a worker: computes one result from the payload and posts it (or the error) back. */
export async function serveOnce<I, O>(compute: (input: I) => Promise<O>): Promise<void> {
  try {
    parentPort!.postMessage({ type: "result", value: await compute(workerPayload<I>()) });
  } catch (err) {
    parentPort!.postMessage(threadError(err));
  }
}

/** Runs `module` on `input` in a fresh worker and resolves to its one result; the worker is gone either way. */
export function runInWorker<O>(module: string, input: unknown, what: string, started?: (worker: Worker) => void): Promise<O> {
  const worker = startWorker(module, input);
  started?.(worker);
  return new Promise<O>((resolve, reject) => {
    let settled = false;
    // Settles once the worker is gone, so that no thread outlives the promise.
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      void worker.terminate().finally(f);
    };
    worker.once("message", (m: { type: "result"; value: O } | ThreadError) => settle(() => {
      if (m.type === "result") resolve(m.value);
      else reject(Object.assign(new Error(`${what} failed: ${m.message}`), { stack: `${what} failed: ${m.stack ?? m.message}` }));
    }));
    worker.once("error", (err) => settle(() => reject(new Error(`${what} crashed: ${err.message}`))));
    worker.once("exit", (code) => settle(() => reject(new Error(`${what} exited (code ${code}) before giving a result`))));
  });
}

export interface MapOptions<I, O> {
  /** Names a job in error messages. */
  describe: (input: I, index: number) => string;
  onStart?: (input: I, index: number) => void;
  /** Each result as it arrives (completion order). */
  onResult?: (result: O, index: number) => void;
}

/**
 * Runs `inputs.length` independent jobs, at most `jobs` at a time, each in its own worker.
 * Resolves to the results in input order; on the first failure, stops starting new jobs,
 * waits for the running ones, and rejects with that failure.
 */
export async function mapInWorkers<I, O>(module: string, inputs: I[], jobs: number, options: MapOptions<I, O>): Promise<O[]> {
  checkPositiveInteger("mapInWorkers", "jobs", jobs);
  const results: O[] = new Array(inputs.length);
  let next = 0;
  let finished = 0;
  let failure: Error | null = null;
  const running = new Set<Worker>();
  // Kernel → Interrupt ends the running jobs at once and starts no more.
  const stopWatching = onInterrupt(() => {
    failure ??= new InterruptedError(`interrupted with ${finished} of ${inputs.length} jobs finished (Kernel → Interrupt)`);
    for (const w of running) void w.terminate();
  });
  const lane = async () => {
    while (failure === null && next < inputs.length) {
      const i = next++;
      let worker: Worker | undefined;
      try {
        options.onStart?.(inputs[i], i);
        results[i] = await runInWorker<O>(module, inputs[i], options.describe(inputs[i], i), (w) => running.add((worker = w)));
        finished += 1;
        options.onResult?.(results[i], i);
      } catch (err) {
        failure ??= err as Error;
      } finally {
        if (worker) running.delete(worker);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, inputs.length) }, lane));
  } finally {
    stopWatching();
  }
  if (failure) throw failure;
  return results;
}
