// Lesson 01 in JupyterLab 4: the notebook page JupyterLab's packages make (tests/jupyterlab/page.ts,
// built from @jupyterlab/notebook 4.6), served by Jupyter Server and driven in Chromium as
// tests/jupyter-ui.test.ts drives classic Notebook. What differs between the two frontends is
// checked here: their output areas, rendermime (which of the course's bundles is shown, and whether
// its HTML runs), display updates by id, and the kernel messages behind Run All and Interrupt.
// Debian's Jupyter Server is 1.23; JupyterLab 4 ships with 2.x, which adds the events and identity
// APIs (the page does without them) and a binary websocket subprotocol (the kernel messages are the
// same; with 1.23 JupyterLab falls back to the JSON framing classic Notebook uses).
import { spawnSync } from "node:child_process";
import { join, relative } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { findChromium, launchChromium } from "../tools/browser";
import { findJupyterServerPython, startNotebookServer, type NotebookServer } from "../tools/notebook-server";
import { ROOT } from "../tools/runner";
import { courseCharts, cpuSecondsOver, lessonCopy } from "./fixtures";
import { buildLabPage, LAB_PAGE_DIR, labPageMissing } from "./lab-page";

// The callbacks passed to page.evaluate run in the page; the project compiles without the DOM library.
declare const window: any;
declare const document: any;

interface CellState { type: string; executionCount: number | null; source: string; output: string }

// CI has all three (COURSE_REQUIRE_BROWSER=1): there a missing one fails instead of skipping.
const missing = [findChromium() ? null : "Chromium", findJupyterServerPython() ? null : "Jupyter Server (python3-jupyter-server)", labPageMissing()].filter(Boolean);
const required = process.env.COURSE_REQUIRE_BROWSER === "1";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: NotebookServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
const pageErrors: string[] = [];
const consoleErrors: string[] = [];
/** Requests the server refused, but for the identity API (/api/me), which Jupyter Server has from 2.0 and Debian's 1.23 lacks. */
const refused: string[] = [];
let libraryFetches = 0;

const cells = (): Promise<CellState[]> => page.evaluate(() => window.lab.cells());
const kernelStatus = (): Promise<{ connection: string; kernel: string; id: string }> => page.evaluate(() => window.lab.status());

/** Waits until the cell at `index` has run and the kernel is idle; returns its output text. */
async function finished(index: number, timeoutMs: number): Promise<string> {
  await page.waitForFunction((i) => window.lab.cell(i).executionCount !== null && window.lab.status().kernel === "idle", index, { timeout: timeoutMs, polling: 200 });
  return (await page.evaluate((i) => window.lab.cell(i), index) as CellState).output;
}

const charts = () => courseCharts(page, ".jp-OutputArea");

describe.skipIf(missing.length > 0 && !required)("lesson 01 in JupyterLab 4 (its notebook packages on Jupyter Server), driven in Chromium", () => {
  beforeAll(async () => {
    if (missing.length > 0) throw new Error(`COURSE_REQUIRE_BROWSER=1 but ${missing.join(" and ")} is not installed`);
    const lesson = lessonCopy("01", "01-lab");
    const pageDir = join(lesson.dir, "page");
    await buildLabPage(pageDir, relative(ROOT, lesson.path));
    server = await startNotebookServer(ROOT, { COURSE_SCALE: "smoke" }, { app: "jupyter-server", staticDir: pageDir });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
    // A refused request also logs "Failed to load resource"; those are counted by URL below.
    page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("response", (r) => { if (!r.ok() && !new URL(r.url()).pathname.endsWith("/api/me")) refused.push(`${r.status()} ${r.url()}`); });
    page.on("response", (r) => { if (r.url().endsWith("/kernelspecs/tslab-course/plotly.min.js") && r.ok()) libraryFetches++; });
    await page.goto(`${server.url}static/index.html`);
    await page.waitForFunction(() => window.lab?.status().connection === "connected" && window.lab.status().kernel === "idle", null, { timeout: 90_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("the page type-checks against the installed JupyterLab's own types", () => {
    const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", LAB_PAGE_DIR], { encoding: "utf8", timeout: 120_000 });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  }, 120_000);

  it("Run All at smoke scale: every cell runs, no errors, every chart drawn from the course's HTML, plotly.js fetched once", async () => {
    const ran = await page.evaluate(() => window.lab.runAll());
    expect(ran).toBe(true); // JupyterLab's runAll resolves false when a cell fails
    await page.waitForFunction(() => window.lab.status().kernel === "idle", null, { timeout: 600_000, polling: 500 });
    const code = (await cells()).filter((c) => c.type === "code");
    expect(code.filter((c) => c.executionCount === null).map((c) => c.source.slice(0, 60))).toEqual([]);
    const errors = await page.evaluate(() => Array.from(document.querySelectorAll(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")).map((e: any) => e.textContent));
    expect(errors).toEqual([]);
    // Without Plotly's JupyterLab extension the course's text/html bundle is the one shown, and
    // JupyterLab runs its script because the output came from running the cell here (trusted).
    const shown = await charts();
    expect(shown.total).toBeGreaterThanOrEqual(3);
    expect(shown.drawn).toBe(shown.total);
    expect(libraryFetches).toBe(1);
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(refused).toEqual([]);
  }, 600_000);

  it("a progress bar is one output, updated in place while training runs; Interrupt leaves the kernel idle within 10 s and its CPU quiet", async () => {
    const cell: number = await page.evaluate((source) => window.lab.runNew(source), [
      `import { progress, train } from "../../../lib";`,
      `const bar = progress("training");`,
      `await train(model, data.pretraining, { steps: 1_000_000, batchSize: 8, evalInterval: 1_000_000, evalBatches: 0, workers: 2 },`,
      `  { onStep: (s) => bar.update({ step: s.step + 1, total: 1_000_000 }) });`,
    ].join("\n"));
    const bar = async () => page.evaluate((i) => {
      const bars = Array.from(document.querySelectorAll(".jp-Notebook .jp-Cell")[i].querySelectorAll(".course-progress progress"));
      return { bars: bars.length, step: bars.length ? Number((bars[0] as any).value) : -1 };
    }, cell);
    await page.waitForFunction((i) => document.querySelectorAll(".jp-Notebook .jp-Cell")[i].querySelector(".course-progress progress"), cell, { timeout: 60_000 });
    const first = await bar();
    await sleep(6000);
    const later = await bar();
    expect(first.bars).toBe(1);
    expect(later.bars).toBe(1);
    expect(later.step).toBeGreaterThan(first.step);
    expect((await kernelStatus()).kernel).toBe("busy");
    const interrupted = Date.now();
    await page.evaluate(() => window.lab.interrupt());
    const text = await finished(cell, 15_000);
    expect(Date.now() - interrupted).toBeLessThan(10_000);
    expect(text).toMatch(/InterruptedError: training interrupted before step \d+ of 1000000 \(Kernel → Interrupt\)/);
    const pid = server.kernelPid((await kernelStatus()).id);
    expect(pid).not.toBeNull();
    expect(await cpuSecondsOver(pid!, 2000)).toBeLessThan(0.5);
  }, 120_000);

  it("a promise nobody awaited: its error is shown in its cell and the next cell still runs", async () => {
    await sleep(1000); // tslab turns requests away for a moment after an error
    const cell: number = await page.evaluate((source) => window.lab.runNew(source), `Promise.reject(new Error("nobody awaited this")); console.log("sent");`);
    const text = await finished(cell, 30_000);
    expect(text).toContain("sent");
    expect(text).toContain("A promise was rejected and nothing awaited it");
    expect(text).toContain("Error: nobody awaited this");
    const next: number = await page.evaluate((source) => window.lab.runNew(source), `console.log("still alive");`);
    expect(await finished(next, 30_000)).toContain("still alive");
  }, 90_000);
});
