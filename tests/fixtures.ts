// Builds throwaway notebooks under build/ (inside the course root, where tslab may import lib/).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { Page } from "playwright-core";

import type { Cell, Notebook } from "../tools/notebook";
import { findLesson, ROOT } from "../tools/runner";

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

/** A lesson copied into a fresh fixture folder (so that saving or autosave never touches notebooks/), its imports pointed at lib from there. */
export function lessonCopy(number: string, name: string): { dir: string; path: string } {
  const dir = fixtureDir();
  const lesson = readFileSync(findLesson(number), "utf8").replaceAll(`from \\"../lib\\"`, `from \\"../../../lib\\"`);
  if (!lesson.includes("../../../lib")) throw new Error(`lessonCopy: lesson ${number} does not import "../lib"`);
  const path = join(dir, `${name}.ipynb`);
  writeFileSync(path, lesson);
  return { dir, path };
}

/** The course's charts inside a page's output areas (`area`, a CSS selector), and how many of them Plotly has drawn. */
export async function courseCharts(page: Page, area: string): Promise<{ total: number; drawn: number }> {
  return page.evaluate((outputs) => {
    const doc = (globalThis as any).document;
    const divs: any[] = Array.from(doc.querySelectorAll(`${outputs} div[id^='course-plot-'], ${outputs} div[id^='course-live-']`));
    return { total: divs.length, drawn: divs.filter((d) => d.classList.contains("js-plotly-plot") && d.querySelector(".main-svg")).length };
  }, area);
}
