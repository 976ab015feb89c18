// npm run course [-- [lesson ...] [--scale smoke|full] [--timeout SECONDS] [--out DIR] [--bail] [--precompute]]
//
// Runs every lesson (or the named ones) through the tslab kernel, writes the executed
// notebooks to build/notebooks and renders them as a site in build/site (checked in Chromium
// where it is installed). Exits non-zero if any lesson or the site check fails.
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

import { courseScale, parseScale } from "../lib/core/scale";
import { defaultCellTimeout, findLesson, listLessons, ROOT, runLesson, type LessonResult } from "./runner";
import { runMain } from "./cli";
import { publishSite } from "./site";

const USAGE = `usage: npm run course -- [lesson ...] [--scale smoke|full] [--timeout SECONDS] [--out DIR] [--site DIR] [--bail] [--precompute]
  lesson      a lesson name or number (00-setup, 00) or a path to a notebook; default: all of notebooks/
  --scale     smoke (seconds, for CI) or full (for learning); default: $COURSE_SCALE or full
  --timeout   per-cell limit in seconds; default 600 at smoke scale, 10800 (3 hours) at full scale
  --out       where executed notebooks go; default build/notebooks
  --site      where the HTML site of every executed notebook in --out goes; default build/site (with --out: DIR/site)
  --bail      stop after the first failing lesson
  --precompute  full scale only: store the lessons' long runs in datasets/checkpoints/ with their provenance
              (runs already stored are kept, so an interrupted precompute resumes); commit them with the lesson`;

function fail(message: string): never {
  console.error(`course: ${message}\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        scale: { type: "string" },
        timeout: { type: "string" },
        out: { type: "string" },
        site: { type: "string" },
        bail: { type: "boolean", default: false },
        precompute: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  let scale, lessons;
  try {
    scale = values.scale === undefined ? courseScale() : parseScale(values.scale, "--scale");
    lessons = positionals.length ? positionals.map((p) => findLesson(p)) : listLessons();
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.precompute && scale !== "full") fail(`--precompute stores what full scale uses; got --scale ${scale}`);
  const timeoutSeconds = values.timeout === undefined ? defaultCellTimeout(scale) : Number(values.timeout);
  if (!(timeoutSeconds > 0)) fail(`--timeout must be a positive number of seconds; got ${JSON.stringify(values.timeout)}`);
  if (lessons.length === 0) fail("no lessons found in notebooks/");
  const outDir = resolve(values.out ?? join(ROOT, "build", "notebooks"));
  const siteDir = resolve(values.site ?? (values.out ? join(outDir, "site") : join(ROOT, "build", "site")));

  const results: LessonResult[] = [];
  for (const path of lessons) {
    const result = await runLesson(path, { scale, cellTimeoutMs: timeoutSeconds * 1000, outDir, precompute: values.precompute });
    results.push(result);
    if (!result.ok && values.bail) break;
  }
  const failed = results.filter((r) => !r.ok);
  const total = results.reduce((s, r) => s + r.seconds, 0);
  console.log(`\n${results.length - failed.length}/${lessons.length} lessons passed in ${total.toFixed(1)} s (scale ${scale}); executed notebooks in ${outDir}`);
  if (failed.length) {
    console.log(`failed: ${failed.map((r) => `${r.lesson} (cell ${r.failure?.cellNumber})`).join(", ")}`);
    process.exitCode = 1;
  }
  if (!(await publishSite(outDir, siteDir, "if-installed"))) process.exitCode = 1;
}

runMain(main);
