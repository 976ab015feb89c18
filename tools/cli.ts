// Command lines for the course's tools and benchmarks: every one takes --help, and a bad
// argument is one line saying what was wrong, then the usage (exit 2), never a stack.
import { availableParallelism } from "node:os";
import { parseArgs, type ParseArgsConfig } from "node:util";

import "./root"; // every command works from any folder

export function parseCommandLine<T extends ParseArgsConfig>(usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  const withHelp = { ...config, options: { ...config.options, help: { type: "boolean", short: "h" } } } as T;
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(withHelp);
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed;
}

/**
 * Runs a tool's main function. An error ends it with one line on stderr and exit code 1: no stack
 * (COURSE_DEBUG=1 shows it), and never the wasm backend's handler, which re-throws an uncaught
 * error and so prints its whole minified source.
 */
export function runMain(main: () => unknown): void {
  const fail = (err: unknown) => {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.COURSE_DEBUG === "1") console.error(err);
    process.exit(1);
  };
  // Registered before main starts a backend, so these run before any handler the backend adds.
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", fail);
  Promise.resolve().then(main).catch(fail);
}

/** Says which runs of a results file were trained on another backend: kept, read by the lessons, but not resumed here. */
export function noteOtherBackend<T extends { backend: string }>(path: string, results: T[], backend: string): T[] {
  const elsewhere = results.filter((r) => r.backend !== backend);
  if (elsewhere.length > 0) {
    console.log(`${elsewhere.length} run(s) of ${path} were trained on ${elsewhere[0].backend}, not ${backend}: they are kept (the lessons read them) `
      + `but not counted as finished here; to resume them, run with COURSE_BACKEND=${elsewhere[0].backend}`);
  }
  return elsewhere;
}

/** A tool's --jobs: runs trained side by side, one per core by default. */
export function parseJobs(value: string | undefined): number {
  const jobs = value === undefined ? availableParallelism() : Number(value);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs must be a positive integer; got ${JSON.stringify(value)}`);
  return jobs;
}
