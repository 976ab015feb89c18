// Builds throwaway notebooks under build/ (inside the course root, where tslab may import lib/).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { Cell, Notebook } from "../tools/notebook";
import { ROOT } from "../tools/runner";

export function fixtureDir(): string {
  const base = join(ROOT, "build", "test-fixtures");
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, "run-"));
}

/** A notebook from cell sources; a source starting with "# " is a markdown cell. */
export function writeFixture(dir: string, name: string, sources: string[]): string {
  const cells: Cell[] = sources.map((source, i) => source.startsWith("# ")
    ? { cell_type: "markdown", id: `c${i}`, source, metadata: {} }
    : { cell_type: "code", id: `c${i}`, source, metadata: {}, outputs: [], execution_count: null });
  const nb: Notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells };
  const path = join(dir, `${name}.ipynb`);
  writeFileSync(path, JSON.stringify(nb, null, 1));
  return path;
}

/** tsx's command line, to run TypeScript in a child process as the npm scripts do. */
export const TSX_CLI = join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");

/** Runs one of the course's command-line tools as a user would, without a shell. */
export function runTool(tool: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [TSX_CLI, join(ROOT, "tools", tool), ...args], {
    cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env }, timeout: 240_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
}

/** CPU seconds (user + system) process `pid` uses over the next `ms`, from /proc (clock ticks of 1/100 s). */
export async function cpuSecondsOver(pid: number, ms: number): Promise<number> {
  const used = () => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  const before = used();
  await new Promise((r) => setTimeout(r, ms));
  return used() - before;
}
