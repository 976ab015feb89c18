// The loop every resumable study shares (`npm run sweep`, `reuse-study`, `compose-study`): given a
// design's runs, each with its id (lib/core/results.ts), and a way to train one run, find the runs
// already in the results file, train the missing ones, and rewrite the file after each, so that a
// killed study leaves only complete lines and a rerun resumes where it stopped. The studies differ
// only in what a run is and how it trains; this file knows nothing of either.
import { shown } from "./checks";
import { writeJsonLines } from "./files";
import type { StampedResult } from "./results";
import { mapInWorkers } from "./threads";

/** A run of a design and the id its result line will carry. */
export interface PlannedRun<R> {
  run: R;
  id: string;
}

/** How a study trains the runs missing from its file, and what it is told along the way. */
export interface TrainRuns<R, O, T> {
  /** Names a run in errors, e.g. `"C1e7 L1 H2 W4 lr1e-2 s1"`. */
  describe: (run: R) => string;
  /** Trains one run in this thread. */
  train: (run: R, index: number) => Promise<O>;
  /** Runs trained side by side (default 1: one after another, in this thread, in the design's order). */
  jobs?: number;
  /**
   * With jobs > 1, each run trains in a worker thread running `module` (a path under lib/, served
   * with `serveOnce`), on the cloneable `input` of the run; `describe` names the job in errors.
   */
  worker?: { module: string; input: (run: R, index: number) => unknown; describe: (run: R, index: number) => string };
  /** The line stored for a run's output (default: the output itself, stamped where it trained). */
  line?: (output: O, run: R, index: number) => T;
  /** `index` is the run's place in the design's list. */
  onRunStart?: (run: R, index: number, total: number) => void;
  /** `done` counts the design's runs finished so far, those found in the file included. */
  onRunEnd?: (line: T, index: number, done: number, total: number) => void;
}

/** What `find` says when a stored study lacks runs: the file as the reader knows it, the backend, the command that trains them. */
export interface MissingRuns<R> {
  file: string;
  backend: string;
  command: string;
  describe: (run: R) => string;
  /** Appended to the error, e.g. a hint that some lines were trained on other data. */
  note?: string;
}

/**
 * A study's results file, read once (with the study's own reader, so a damaged line fails before
 * any training) and written only by this thread, whole and atomically, after every finished run.
 * A study of several phases (a learning-rate sweep, then the runs at the chosen rates) keeps one
 * StudyFile across them, so that the lines no phase asked for are its strays.
 */
export class StudyFile<T extends StampedResult> {
  readonly path: string;
  private readonly lines: T[];
  /** Ids of every run asked for so far. */
  private readonly asked = new Set<string>();

  constructor(path: string, read: (path: string) => T[]) {
    this.path = path;
    this.lines = read(path);
  }

  /** Every line of the file, in file order. */
  get results(): readonly T[] {
    return this.lines;
  }

  /** The lines of `runs`, in order; an error names how many are missing, the first, and the command that trains them. */
  find<R>(runs: readonly PlannedRun<R>[], missing: MissingRuns<R>): T[] {
    const byId = new Map(this.lines.map((l) => [l.id, l]));
    for (const r of runs) this.asked.add(r.id);
    const absent = runs.filter((r) => !byId.has(r.id));
    if (absent.length > 0) {
      throw new Error(`${missing.file} lacks ${absent.length} of ${runs.length} runs on ${missing.backend} (first: ${missing.describe(absent[0].run)})`
        + `${missing.note ?? ""}; run \`${missing.command}\` (it resumes)`);
    }
    return runs.map((r) => byId.get(r.id)!);
  }

  /**
   * Trains the runs of `runs` not yet in the file, writing it after each; returns the lines of all
   * of `runs`, in order. `fn` names the study's function in errors. Two runs of one id are refused
   * before anything trains. With several jobs, a failure stops new runs, the running ones finish
   * and are kept, and the failure is thrown.
   */
  async resume<R, O = T>(fn: string, runs: readonly PlannedRun<R>[], how: TrainRuns<R, O, T>): Promise<T[]> {
    const first = new Map<string, number>();
    runs.forEach((r, i) => {
      const earlier = first.get(r.id);
      if (earlier !== undefined) throw new Error(`${fn}: run ${i} (${how.describe(r.run)}) repeats the settings of run ${earlier}`);
      first.set(r.id, i);
    });
    const jobs = how.jobs ?? 1;
    if (!(Number.isInteger(jobs) && jobs >= 1)) throw new Error(`${fn}: jobs must be a positive integer; got ${shown(jobs)}`);
    if (jobs > 1 && how.worker === undefined) throw new Error(`${fn}: jobs ${jobs} needs a worker module to train runs side by side`);
    for (const r of runs) this.asked.add(r.id);
    const done = new Map(this.lines.map((l) => [l.id, l]));
    const todo = runs.map((r, index) => ({ ...r, index })).filter((r) => !done.has(r.id));
    let finished = runs.length - todo.length;
    const record = (output: O, k: number) => {
      const { run, id, index } = todo[k];
      const line = how.line ? how.line(output, run, index) : (output as unknown as T);
      // A line under another id would never be found again: its run would train at every rerun.
      if (line?.id !== id) throw new Error(`${fn}: run ${index} (${how.describe(run)}) came back with id ${shown(line?.id)}, not its own ${id}; it was not written`);
      this.lines.push(line);
      done.set(id, line);
      writeJsonLines(this.path, this.lines);
      how.onRunEnd?.(line, index, ++finished, runs.length);
    };
    if (jobs === 1) {
      for (const [k, { run, index }] of todo.entries()) {
        how.onRunStart?.(run, index, runs.length);
        record(await how.train(run, index), k);
      }
    } else {
      const worker = how.worker!;
      await mapInWorkers<unknown, O>(worker.module, todo.map(({ run, index }) => worker.input(run, index)), jobs, {
        describe: (_, k) => worker.describe(todo[k].run, todo[k].index),
        onStart: (_, k) => how.onRunStart?.(todo[k].run, todo[k].index, runs.length),
        onResult: (output, k) => record(output, k),
      });
    }
    return runs.map((r) => done.get(r.id)!);
  }

  /**
   * Lines trained on `backend` that are no run asked for so far (left by another grid or an older
   * design): kept, never used. Lines of other backends are the runs another machine trained, which
   * the lessons may read; they are not strays.
   */
  strays(backend: string): T[] {
    return this.lines.filter((l) => l.backend === backend && !this.asked.has(l.id));
  }

  /** Removes the strays of `backend` from the file; returns how many there were. */
  removeStrays(backend: string): number {
    const stray = new Set(this.strays(backend));
    if (stray.size === 0) return 0;
    const kept = this.lines.filter((l) => !stray.has(l));
    this.lines.splice(0, this.lines.length, ...kept);
    writeJsonLines(this.path, this.lines);
    return stray.size;
  }
}

/** Lines whose id is none of `ids`. */
export function linesOutside<T extends StampedResult>(lines: readonly T[], ids: Iterable<string>): T[] {
  const kept = new Set(ids);
  return lines.filter((l) => !kept.has(l.id));
}
