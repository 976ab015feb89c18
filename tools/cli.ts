// Command lines for the course's tools and benchmarks: every one takes --help, and a bad
// argument is one line saying what was wrong, then the usage (exit 2), never a stack.
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
