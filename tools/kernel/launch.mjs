// The course's TypeScript kernel, started by launch.sh (or, on Windows, by kernel.json directly).
// One registration serves every copy of the course: Jupyter starts a kernel in its notebook's
// folder, so the course folder is found by walking up from there to the course's package.json,
// and that copy's own tslab runs with TSLAB_ROOT_DIR set to it (lessons import ../lib). The
// course folder that ran `npm run kernel` is only the fallback, for a notebook outside any copy.
// This file is plain JavaScript with no imports beyond Node's: it runs before any course is found.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const NAME = "foundation-models-course";
const MIN_NODE = 20;

function isCourse(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name === NAME;
  } catch {
    return false;
  }
}

/** The nearest folder at or above `from` that holds the course, or null. */
export function findCourse(from) {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (isCourse(dir)) return dir;
    if (dirname(dir) === dir) return null;
  }
}

/** Where the kernel runs from: the course above the notebook, else the registered one; or why it cannot start. */
export function chooseCourse(notebookDir, registered) {
  const here = findCourse(notebookDir);
  if (here) return { root: here, inside: true };
  if (registered && isCourse(registered)) return { root: registered, inside: false };
  return {
    error: `no course folder above ${notebookDir}, and the one registered (${registered || "none"}) is gone; `
      + "run `npm run kernel` in your copy of the course",
  };
}

function fail(message) {
  // Jupyter shows the kernel's first lines of stderr in its log; the fix comes first.
  process.stderr.write(`tslab-course: cannot start: ${message}\n`);
  process.exit(1);
}

function main() {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < MIN_NODE) fail(`Node ${process.version} (${process.execPath}) is too old; the course needs Node ${MIN_NODE} or later on PATH, then \`npm run kernel\``);
  const chosen = chooseCourse(process.cwd(), process.env.COURSE_KERNEL_ROOT);
  if (chosen.error) fail(chosen.error);
  const { root, inside } = chosen;
  const tslab = join(root, "node_modules", "tslab", "dist", "main.js");
  if (!existsSync(tslab)) fail(`${root} has no node_modules/tslab; run \`npm ci\` there`);
  if (inside) process.env.TSLAB_ROOT_DIR = root;
  else {
    // tslab compiles in the notebook's folder; lib's errors name the course it was registered from.
    delete process.env.TSLAB_ROOT_DIR;
    process.env.COURSE_OUTSIDE_NOTEBOOK = root;
  }
  process.stderr.write(`tslab-course: Node ${process.version} (${process.execPath}), course ${root}`
    + `${inside ? "" : ` (registered: this notebook is outside any copy of the course)`}\n`);
  process.argv = [process.execPath, join(root, "node_modules", "tslab", "bin", "tslab"), "kernel", ...process.argv.slice(2)];
  createRequire(tslab)(tslab).main();
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
