// Every lesson in notebooks/ runs top to bottom at smoke scale: through the course's runner,
// and, where Jupyter is installed, under `jupyter nbconvert --execute` with the registered kernel.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

import { checkSite, describeSiteCheck, findChromium } from "../tools/browser";
import { findJupyterPython } from "../tools/install-kernel";
import { readNotebook } from "../tools/notebook";
import { cellReport, kernelProblem, nbconvertLesson } from "../tools/nbconvert";
import { listLessons, ROOT, runLesson } from "../tools/runner";
import { buildSite, PLOTLY_MIME } from "../tools/site";
import { fixtureDir, writeFixture } from "./fixtures";

const lessons = listLessons();
const OUT = join(ROOT, "build", "test-lessons");

describe("lessons at smoke scale (course runner)", () => {
  it("finds the lessons", () => {
    expect(lessons.map((p) => basename(p))).toContain("00-setup.ipynb");
  });

  for (const path of lessons) {
    it(basename(path), async () => {
      const result = await runLesson(path, { scale: "smoke", cellTimeoutMs: 300_000, outDir: OUT, log: () => {} });
      expect(result.failure, result.failure && `${result.failure.firstLine}\n${result.failure.stderr}${result.failure.detail ?? ""}`).toBeUndefined();
      const nb = readNotebook(result.outPath);
      const code = nb.cells.filter((c) => c.cell_type === "code");
      expect(code.every((c) => typeof c.execution_count === "number")).toBe(true);
      // A lesson proves its prose with outputs: charts, tables or printed numbers.
      expect(code.some((c) => (c.outputs ?? []).length > 0)).toBe(true);
    });
  }
});

// CI installs Chromium and sets COURSE_REQUIRE_BROWSER=1, so there a missing browser fails instead of skipping.
const browserMissing = findChromium() === null;

describe.skipIf(browserMissing && process.env.COURSE_REQUIRE_BROWSER !== "1")("the executed lessons as a site, in headless Chromium", () => {
  beforeAll(() => {
    if (browserMissing) throw new Error("COURSE_REQUIRE_BROWSER=1 but no Chromium was found (apt-get install chromium, or set CHROMIUM_PATH)");
  });

  it("loads every page without console errors and draws every chart, saving screenshots and figure PNGs", async () => {
    const dir = join(ROOT, "build", "test-site");
    const site = buildSite(OUT, dir); // the lessons just executed above
    const report = await checkSite(dir);
    expect(report.ok, describeSiteCheck(report)).toBe(true);
    expect(report.pages.map((p) => p.page)).toEqual([...site.pages].sort());
    const charts = report.pages.flatMap((p) => p.charts);
    expect(charts.length).toBe(site.charts);
    expect(charts.length).toBeGreaterThanOrEqual(lessons.length - 1);
    for (const c of charts) expect(existsSync(join(dir, "figures", `${c.id}.png`)), c.id).toBe(true);
    for (const p of report.pages) expect(existsSync(p.screenshot)).toBe(true);
  });

  it("fails a page that logs an error and a chart with nothing in it", async () => {
    const dir = fixtureDir();
    mkdirSync(join(dir, "executed"));
    writeFileSync(join(dir, "executed", "50-broken.ipynb"), JSON.stringify({
      nbformat: 4, nbformat_minor: 5, metadata: {},
      cells: [{
        cell_type: "code", source: "", metadata: {}, execution_count: 1, outputs: [
          { output_type: "display_data", metadata: {}, data: { "text/html": '<script>console.error("boom")</script>' } },
          { output_type: "display_data", metadata: {}, data: { [PLOTLY_MIME]: { data: [], layout: {} } } },
        ],
      }],
    }));
    buildSite(join(dir, "executed"), join(dir, "site"));
    const report = await checkSite(join(dir, "site"), ["50-broken.html"]);
    expect(report.ok).toBe(false);
    expect(report.pages[0].errors).toEqual(["boom"]);
    expect(report.pages[0].charts).toEqual([{ id: "50-broken-fig1", traces: 0, drawn: true }]);
  });
});

// CI installs Jupyter and sets COURSE_REQUIRE_JUPYTER=1, so there a missing Jupyter fails instead of skipping.
const python = findJupyterPython();
const problem = python ? kernelProblem(python) : "Jupyter is not installed";
const required = process.env.COURSE_REQUIRE_JUPYTER === "1";

describe.skipIf(problem !== null && !required)("lessons at smoke scale under jupyter nbconvert", () => {
  beforeAll(() => {
    if (problem) throw new Error(`COURSE_REQUIRE_JUPYTER=1 but ${problem}`);
  });

  for (const path of lessons) {
    it(basename(path), () => {
      const r = nbconvertLesson(python!, path, "smoke", 300, join(ROOT, "build", "test-nbconvert"));
      expect(r.ok, cellReport(r.stderr)).toBe(true);
      const nb = readNotebook(join(ROOT, "build", "test-nbconvert", basename(path)));
      expect(nb.cells.some((c) => (c.outputs ?? []).length > 0)).toBe(true);
    });
  }

  it("reports a failing cell readably", () => {
    const src = writeFixture(fixtureDir(), "40-broken", ["# Broken", `console.log("ok");`, `const s: string = 42;`]);
    const r = nbconvertLesson(python!, src, "smoke", 60, join(ROOT, "build", "test-nbconvert"));
    expect(r.ok).toBe(false);
    expect(cellReport(r.stderr)).toBe(
      ["✗ 40-broken: cell 3 failed: const s: string = 42;", "    1:7 - Type 'number' is not assignable to type 'string'."].join("\n"),
    );
  });
});
