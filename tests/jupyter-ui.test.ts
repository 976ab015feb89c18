// Lesson 01 as a student runs it: classic Jupyter Notebook in Chromium, Run All, then the
// mistakes and interruptions of a real session. Checks what smoke runs through the kernel alone
// cannot see: what the websocket carries, charts after a page reload, Kernel → Interrupt as the
// page sends it, and errors from work nobody awaited.
import { relative } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { findChromium, launchChromium } from "../tools/browser";
import { findNotebookPython, startNotebookServer, type NotebookServer } from "../tools/notebook-server";
import { ROOT } from "../tools/runner";
import { courseCharts, cpuSecondsOver, lessonCopy } from "./fixtures";

// The callbacks passed to page.evaluate run in the page; the project compiles without the DOM library.
declare const window: any;
declare const document: any;
type HTMLElement = { innerText: string };

// CI has both (COURSE_REQUIRE_BROWSER=1): there a missing one fails instead of skipping.
const missing = [findChromium() ? null : "Chromium", findNotebookPython() ? null : "Jupyter's classic notebook"].filter(Boolean);
const required = process.env.COURSE_REQUIRE_BROWSER === "1";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the page received: bytes over the kernel's websocket, frames carrying plotly.js, plotly.js fetches. */
const traffic = { websocketBytes: 0, libraryFrames: 0, libraryFetches: 0 };

let server: NotebookServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let notebookUrl: string;
const pageErrors: string[] = [];

/** A code cell's index in the notebook, by the start of its source. */
async function cellIndex(start: string): Promise<number> {
  const i = await page.evaluate((s) => (window as any).Jupyter.notebook.get_cells().findIndex((c: any) => c.get_text().startsWith(s)), start);
  if (i < 0) throw new Error(`no cell starts with ${JSON.stringify(start)}`);
  return i;
}

/** Waits until the cell at `index` has finished (its prompt is a number again); returns its output text. */
async function finished(index: number, timeoutMs: number): Promise<string> {
  await page.waitForFunction((i) => {
    const cell = (window as any).Jupyter.notebook.get_cell(i);
    return cell.input_prompt_number !== "*" && cell.input_prompt_number != null && !(window as any).Jupyter.notebook.kernel_busy;
  }, index, { timeout: timeoutMs, polling: 200 });
  return outputText(index);
}

async function outputText(index: number): Promise<string> {
  return page.evaluate((i) => ((window as any).Jupyter.notebook.get_cell(i).output_area.element[0] as HTMLElement).innerText, index);
}

/** Appends a code cell with `code`, runs it, and returns its index. */
async function runNewCell(code: string): Promise<number> {
  return page.evaluate((source) => {
    const nb = (window as any).Jupyter.notebook;
    const cell = nb.insert_cell_at_bottom("code");
    cell.set_text(source);
    const index = nb.ncells() - 1;
    nb.execute_cells([index]);
    return index;
  }, code);
}

async function openNotebook(): Promise<void> {
  await page.goto(notebookUrl);
  await page.waitForFunction(() => (window as any).Jupyter?.notebook?.kernel?.is_connected?.(), null, { timeout: 60_000 });
}

const charts = () => courseCharts(page, ".output_area");

describe.skipIf(missing.length > 0 && !required)("lesson 01 in classic Jupyter Notebook, driven in Chromium", () => {
  beforeAll(async () => {
    if (missing.length > 0) throw new Error(`COURSE_REQUIRE_BROWSER=1 but ${missing.join(" and ")} is not installed`);
    const lesson = lessonCopy("01", "01-ui");
    server = await startNotebookServer(ROOT, { COURSE_SCALE: "smoke" });
    notebookUrl = `${server.url}notebooks/${relative(ROOT, lesson.path)}`;
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("websocket", (ws) => ws.on("framereceived", ({ payload }) => {
      traffic.websocketBytes += payload.length;
      if (String(payload).includes("plotly.js v")) traffic.libraryFrames++;
    }));
    page.on("response", (r) => { if (r.url().endsWith("/kernelspecs/tslab-course/plotly.min.js") && r.ok()) traffic.libraryFetches++; });
    await openNotebook();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("runs every cell at smoke scale, draws every chart, and the websocket never carries plotly.js", async () => {
    await page.evaluate(() => (window as any).Jupyter.notebook.execute_all_cells());
    await page.waitForFunction(() => (window as any).Jupyter.notebook.get_cells().every((c: any) => c.cell_type !== "code" || c.input_prompt_number !== "*")
      && !(window as any).Jupyter.notebook.kernel_busy, null, { timeout: 600_000, polling: 500 });
    const unrun = await page.evaluate(() => (window as any).Jupyter.notebook.get_cells().filter((c: any) => c.cell_type === "code" && typeof c.input_prompt_number !== "number").length);
    expect(unrun).toBe(0);
    const failed = await page.evaluate(() => Array.from(document.querySelectorAll(".output_stderr")).map((e) => (e as HTMLElement).innerText));
    expect(failed).toEqual([]);
    const shown = await charts();
    expect(shown.total).toBeGreaterThanOrEqual(3);
    expect(shown.drawn).toBe(shown.total);
    expect(traffic.libraryFrames).toBe(0);
    expect(traffic.libraryFetches).toBe(1); // once for the page, from the kernel's folder
    expect(traffic.websocketBytes).toBeLessThan(2_000_000);
    expect(pageErrors).toEqual([]);
  }, 600_000);

  it("draws a chart again after outputs are cleared and the page reloaded", async () => {
    await page.evaluate(() => (window as any).Jupyter.notebook.clear_all_output());
    await openNotebook();
    // The learning curves: one chart per task, from the study the earlier run left in the kernel.
    const curves = await cellIndex("const summary = summarizeRuns(frozenRuns)");
    await page.evaluate((i) => (window as any).Jupyter.notebook.execute_cells([i]), curves);
    await finished(curves, 120_000);
    await page.waitForFunction(() => document.querySelectorAll(".output_area .js-plotly-plot .main-svg").length >= 5, null, { timeout: 30_000 });
    expect(await charts()).toEqual({ total: 5, drawn: 5 });
    // Drawn after the reload without the websocket carrying it: from the kernel's folder again, or from the browser's cache.
    expect(traffic.libraryFetches).toBeGreaterThanOrEqual(1);
    expect(traffic.libraryFrames).toBe(0);
  }, 180_000);

  it("a chart that cannot load plotly.js says what fits where it is shown, instead of staying blank", async () => {
    const { plotBundle } = await import("../lib/core/display");
    const chartHtml = (id: string) => plotBundle({ data: [{ x: [1], y: [1] }] }, { divId: id })["text/html"];
    const other = await browser.context.newPage();
    try {
      // A Jupyter page whose kernel folder lacks plotly.js (a kernel registered by an older course): register again.
      await other.setContent(`<body data-base-url="/nowhere/">${chartHtml("jupyter")}</body>`);
      await other.waitForSelector("#jupyter .course-plot-missing", { timeout: 10_000 });
      expect(await other.innerText("#jupyter")).toContain("npm run kernel");
      // A saved notebook shown outside Jupyter (GitHub, nbviewer): no kernel to register; the site or Jupyter shows it.
      await other.setContent(`<body>${chartHtml("saved")}</body>`);
      await other.waitForSelector("#saved .course-plot-missing", { timeout: 10_000 });
      expect(await other.innerText("#saved")).toContain("open the lesson in the course site");
      expect(await other.innerText("#saved")).not.toContain("npm run kernel");
    } finally {
      await other.close();
    }
  });

  it("Kernel → Interrupt during training: the cell says where it stopped, the kernel is idle in seconds and its CPU quiet", async () => {
    const cell = await runNewCell([
      `import { train } from "../../../lib";`,
      `await train(model, data.pretraining, { steps: 1_000_000, batchSize: 8, evalInterval: 1_000_000, evalBatches: 0, workers: 2 });`,
    ].join("\n"));
    await sleep(8000);
    expect(await page.evaluate((i) => (window as any).Jupyter.notebook.get_cell(i).input_prompt_number, cell)).toBe("*");
    const interrupted = Date.now();
    await page.evaluate(() => (window as any).Jupyter.notebook.kernel.interrupt());
    const text = await finished(cell, 15_000);
    expect(Date.now() - interrupted).toBeLessThan(10_000);
    expect(text).toMatch(/InterruptedError: training interrupted before step \d+ of 1000000 \(Kernel → Interrupt\)/);
    const pid = server.kernelPid(await page.evaluate(() => (window as any).Jupyter.notebook.kernel.id));
    expect(pid).not.toBeNull();
    expect(await cpuSecondsOver(pid!, 2000)).toBeLessThan(0.5);
  }, 120_000);

  it("a promise nobody awaited: its error is shown in the notebook and the next cell still runs", async () => {
    await sleep(1000); // tslab turns requests away for a moment after an error
    const cell = await runNewCell(`Promise.reject(new Error("nobody awaited this")); console.log("sent");`);
    const text = await finished(cell, 30_000);
    expect(text).toContain("sent");
    expect(text).toContain("A promise was rejected and nothing awaited it");
    expect(text).toContain("Error: nobody awaited this");
    const next = await runNewCell(`console.log("still alive");`);
    expect(await finished(next, 30_000)).toContain("still alive");
  }, 90_000);
});
