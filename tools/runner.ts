// Executes lessons top to bottom through the real tslab kernel and writes the executed
// notebooks, outputs stored, to a build folder. Sources are never modified.
import { readdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

import type { Scale } from "../lib/core/scale";
import { Kernel, type ExecuteResult } from "./kernel";
import { cellSource, firstLine, readNotebook, writeNotebook } from "./notebook";

import { ROOT } from "./root";

export { ROOT };
export const NOTEBOOKS = join(ROOT, "notebooks");
export const TSLAB_BIN = join(ROOT, "node_modules", "tslab", "bin", "tslab");

export interface RunOptions {
  scale: Scale;
  /** Per-cell limit; a cell past it is stopped and reported. */
  cellTimeoutMs: number;
  /** Where executed notebooks go. */
  outDir: string;
  /** Progress lines (default: stdout). */
  log?: (line: string) => void;
  /** How often a long cell is reported with its latest progress line (default one minute). */
  heartbeatMs?: number;
  /** Store long runs in datasets/checkpoints/ (COURSE_PRECOMPUTE=1 for the kernel). */
  precompute?: boolean;
  /** More environment for the kernel, e.g. { COURSE_BACKEND: "webgpu" }. */
  env?: Record<string, string>;
}

export interface CellFailure {
  /** 1-based position among all cells, as seen when scrolling the notebook. */
  cellNumber: number;
  cellCount: number;
  firstLine: string;
  status: Exclude<ExecuteResult["status"], "ok">;
  stderr: string;
  detail?: string;
}

export interface LessonResult {
  lesson: string;
  ok: boolean;
  seconds: number;
  outPath: string;
  failure?: CellFailure;
}

/** The course's lessons in order: every `notebooks/NN-*.ipynb`. */
export function listLessons(dir = NOTEBOOKS): string[] {
  return readdirSync(dir).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).sort().map((f) => join(dir, f));
}

/** Resolves "00-setup", "00", "00-setup.ipynb" or a path to a notebook file. */
export function findLesson(name: string, dir = NOTEBOOKS): string {
  if (name.endsWith(".ipynb") && name.includes("/")) return resolve(name);
  const lessons = listLessons(dir);
  const stem = name.replace(/\.ipynb$/, "");
  const matches = lessons.filter((p) => {
    const b = basename(p, ".ipynb");
    return b === stem || b.startsWith(`${stem}-`);
  });
  if (matches.length === 1) return matches[0];
  const known = lessons.map((p) => basename(p, ".ipynb")).join(", ");
  throw new Error(matches.length === 0
    ? `no lesson called "${name}" in ${dir}; lessons are: ${known}`
    : `"${name}" matches several lessons (${matches.map((p) => basename(p)).join(", ")}); give the full name`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function indent(text: string): string {
  return text.trimEnd().split("\n").map((l) => `    ${l}`).join("\n");
}

/** Stack frames inside Node's vm and tslab itself say nothing about the lesson. */
function withoutKernelFrames(stack: string): string {
  return stack.split("\n").filter((l) => !/^\s+at .*(node:vm|node:internal|\/tslab\/dist\/)/.test(l)).join("\n");
}

/** How the patched kernel reports an error thrown outside a cell's own code (patches/tslab+1.0.22.patch). */
const BACKGROUND = /An exception was thrown outside the cell's own code|A promise was rejected and nothing awaited it/;
const LATE = "After the previous cell had finished:";
const SETTLE = "await new Promise((resolve) => setTimeout(resolve, 300));";

/** A failure as an instructor needs it: lesson, cell, first line, then what the kernel said. */
export function describeFailure(lesson: string, f: CellFailure, cellTimeoutMs: number): string {
  const what = {
    error: "failed",
    timeout: `did not finish within ${seconds(cellTimeoutMs)} (raise it with --timeout)`,
    died: "crashed the kernel",
  }[f.status];
  const lines = [`✗ ${lesson}: cell ${f.cellNumber} of ${f.cellCount} ${what}: ${f.firstLine}`];
  if (f.stderr.trim()) lines.push(indent(withoutKernelFrames(f.stderr)));
  if (f.detail) lines.push(indent(f.detail));
  return lines.join("\n");
}

export async function runLesson(path: string, options: RunOptions): Promise<LessonResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const lesson = basename(path, ".ipynb");
  const outPath = join(options.outDir, basename(path));
  let nb: ReturnType<typeof readNotebook>;
  try {
    nb = readNotebook(path);
  } catch (err) {
    // A missing or broken notebook fails its own lesson; the others still run.
    const failure: CellFailure = { cellNumber: 0, cellCount: 0, firstLine: "(reading the notebook)", status: "error", stderr: "", detail: (err as Error).message };
    log(`✗ ${lesson}: could not be read\n    ${(err as Error).message}`);
    return { lesson, ok: false, seconds: 0, outPath, failure };
  }
  const codeCells = nb.cells.filter((c) => c.cell_type === "code" && cellSource(c).trim() !== "");
  const started = Date.now();
  log(`▶ ${lesson} · ${codeCells.length} code cells · scale ${options.scale}`);

  let failure: CellFailure | undefined;
  let kernel: Kernel | undefined;
  const record = (ok: boolean) => {
    const elapsed = Date.now() - started;
    nb.metadata.course = { scale: options.scale, ok, seconds: +(elapsed / 1000).toFixed(2), executedAt: new Date(started).toISOString() };
    writeNotebook(outPath, nb);
    return { lesson, ok, seconds: elapsed / 1000, outPath, failure };
  };

  for (const cell of nb.cells) if (cell.cell_type === "code") { cell.outputs = []; cell.execution_count = null; }
  try {
    kernel = await Kernel.start({
      argv: [process.execPath, TSLAB_BIN, "kernel", "--config-path", "{connection_file}"],
      cwd: dirname(path),
      env: { ...process.env, TSLAB_ROOT_DIR: ROOT, COURSE_SCALE: options.scale, COURSE_LESSON: lesson, ...(options.precompute ? { COURSE_PRECOMPUTE: "1" } : {}), ...options.env },
    });
  } catch (err) {
    failure = { cellNumber: 0, cellCount: nb.cells.length, firstLine: "(kernel start)", status: "died", stderr: "", detail: (err as Error).message };
    log(describeFailure(lesson, failure, options.cellTimeoutMs));
    return record(false);
  }

  // An error thrown later by a cell's callback or an un-awaited promise fails that cell: the
  // patched kernel reports it in the running cell, or else at the start of the next one.
  let previous: { index: number; cell: (typeof nb.cells)[number] } | undefined;
  const background = (stderr: string, running?: { index: number; cell: (typeof nb.cells)[number] }): CellFailure | undefined => {
    if (!BACKGROUND.test(stderr)) return undefined;
    // Reported at the start of the next cell (or in the settling moment after the last): the previous cell's.
    const late = stderr.startsWith(LATE) || !running;
    const at = late ? previous : running;
    if (!at) return undefined;
    return {
      cellNumber: at.index + 1, cellCount: nb.cells.length, firstLine: firstLine(at.cell), status: "error", stderr,
      ...(late ? { detail: "thrown after the cell had finished, by a callback, timer or promise it started" } : {}),
    };
  };
  try {
    for (const [i, cell] of nb.cells.entries()) {
      if (cell.cell_type !== "code" || cellSource(cell).trim() === "") continue;
      const cellStarted = Date.now();
      const heartbeat = setInterval(() => {
        const progress = kernel?.progressLine;
        log(`    … cell ${i + 1} still running (${seconds(Date.now() - cellStarted)})${progress ? `: ${progress}` : ""}`);
      }, options.heartbeatMs ?? 60_000);
      const result = await kernel.execute(cellSource(cell), options.cellTimeoutMs).finally(() => clearInterval(heartbeat));
      const ms = Date.now() - cellStarted;
      cell.outputs = result.outputs;
      cell.execution_count = result.executionCount;
      cell.metadata = { ...cell.metadata, course: { seconds: +(ms / 1000).toFixed(3) } };
      if (result.status !== "ok") {
        failure = {
          cellNumber: i + 1, cellCount: nb.cells.length, firstLine: firstLine(cell),
          status: result.status, stderr: result.stderr, detail: result.detail,
        };
        log(describeFailure(lesson, failure, options.cellTimeoutMs));
        return record(false);
      }
      failure = background(result.stderr, { index: i, cell });
      if (failure) {
        log(describeFailure(lesson, failure, options.cellTimeoutMs));
        return record(false);
      }
      log(`  ✓ cell ${String(i + 1).padStart(2)}/${nb.cells.length}  ${seconds(ms).padStart(8)}  ${firstLine(cell)}`);
      previous = { index: i, cell };
    }
    // A moment after the last cell, for what its timers and promises still throw (not saved in the notebook).
    const settle = await kernel.execute(SETTLE, options.cellTimeoutMs);
    failure = background(settle.stderr);
    if (failure) {
      log(describeFailure(lesson, failure, options.cellTimeoutMs));
      return record(false);
    }
  } finally {
    kernel.shutdown();
  }
  const result = record(true);
  log(`✓ ${lesson} in ${seconds(result.seconds * 1000)} → ${outPath}`);
  return result;
}

/** Seconds a cell may run by default: full-scale cells pretrain for half an hour or more; a smoke cell that takes minutes is stuck. */
export function defaultCellTimeout(scale: Scale): number {
  return scale === "smoke" ? 600 : 10800;
}
