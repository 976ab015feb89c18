// npm run nbconvert [-- [lesson ...] [--scale smoke|full] [--timeout SECONDS]]
//
// Executes lessons under real Jupyter (`jupyter nbconvert --execute`) with the registered
// "tslab-course" kernel, writing to build/nbconvert: proof that the kit works in Jupyter
// itself, not only in the course's own runner. Needs Jupyter and `npm run kernel` first.
import { spawnSync } from "node:child_process";
import { basename, join } from "node:path";

import { courseScale, parseScale, type Scale } from "../lib/core/scale";
import { findJupyterPython, KERNEL_NAME, registeredWith } from "./install-kernel";
import { defaultCellTimeout, findLesson, listLessons, ROOT } from "./runner";
import { parseCommandLine, runMain } from "./cli";

const USAGE = "usage: npm run nbconvert [-- [lesson ...] [--scale smoke|full] [--timeout SECONDS]]";

export const NBCONVERT_OUT = join(ROOT, "build", "nbconvert");

/** Debian's Python otherwise warns about frozen modules on every start. */
const QUIET_PYTHON = { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" };

export interface NbconvertResult {
  lesson: string;
  ok: boolean;
  /** nbconvert's stderr, which carries the failing cell's report. */
  stderr: string;
}

/** The failing cell's report printed by nbconvert_config.py, without Python's traceback; all of stderr if there is none. */
export function cellReport(stderr: string): string {
  const lines = stderr.split("\n");
  const start = lines.findIndex((l) => l.startsWith("✗ "));
  if (start < 0) return stderr;
  const end = lines.findIndex((l, i) => i > start && !l.startsWith("    "));
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

/** Why the Jupyter of `python` cannot run the lessons with the course's kernel, or null when it is registered (for any copy of the course). */
export function kernelProblem(python: string): string | null {
  return registeredWith(python) === null ? `the "${KERNEL_NAME}" kernel is not registered with ${python}; run \`npm run kernel\` first` : null;
}

export function nbconvertLesson(python: string, path: string, scale: Scale, timeoutSeconds: number, outDir = NBCONVERT_OUT): NbconvertResult {
  const lesson = basename(path, ".ipynb");
  const r = spawnSync(python, [
    "-m", "nbconvert", "--to", "notebook", "--execute",
    `--config=${join(ROOT, "tools", "nbconvert_config.py")}`,
    `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`,
    `--ExecutePreprocessor.timeout=${timeoutSeconds}`,
    "--output-dir", outDir, path,
  ], { encoding: "utf8", env: { ...QUIET_PYTHON, COURSE_SCALE: scale, COURSE_LESSON: lesson }, cwd: ROOT });
  return { lesson, ok: r.status === 0, stderr: r.stderr ?? "" };
}

function main(): void {
  const { values, positionals } = parseCommandLine(USAGE, {
    allowPositionals: true,
    options: { scale: { type: "string" }, timeout: { type: "string" } },
  });
  const python = findJupyterPython();
  if (!python) {
    console.error("nbconvert: Jupyter was not found; see `npm run kernel` for how to install it");
    process.exit(1);
  }
  const problem = kernelProblem(python);
  if (problem) {
    console.error(`nbconvert: ${problem}`);
    process.exit(1);
  }
  const scale = values.scale ? parseScale(values.scale, "--scale") : courseScale();
  const lessons = positionals.length ? positionals.map((p) => findLesson(p)) : listLessons();
  let failed = 0;
  for (const path of lessons) {
    const t0 = Date.now();
    const r = nbconvertLesson(python, path, scale, values.timeout === undefined ? defaultCellTimeout(scale) : Number(values.timeout));
    console.log(`${r.ok ? "✓" : "✗"} ${r.lesson} under jupyter nbconvert in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (!r.ok) {
      failed++;
      console.error(cellReport(r.stderr));
    }
  }
  console.log(`executed notebooks in ${NBCONVERT_OUT}`);
  if (failed) process.exitCode = 1;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) runMain(main);
