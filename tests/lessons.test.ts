// Every lesson in notebooks/ runs top to bottom at smoke scale: through the course's runner,
// and, where Jupyter is installed, under `jupyter nbconvert --execute` with the registered kernel.
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

import { findJupyterPython } from "../tools/install-kernel";
import { readNotebook } from "../tools/notebook";
import { cellReport, kernelProblem, nbconvertLesson } from "../tools/nbconvert";
import { listLessons, ROOT, runLesson } from "../tools/runner";
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
