import { basename } from "node:path";
import { describe, expect, it } from "vitest";

import { stripRunState } from "../tools/clean-notebooks";
import { cellSource, readNotebook, type Notebook } from "../tools/notebook";
import { listLessons } from "../tools/runner";

// d2l.ai's rule of thumb: a cell is read at a glance. Heavier logic belongs in lib/ with a test.
const MAX_LINES = 25;
const MAX_WIDTH = 120;

describe("lesson cells", () => {
  for (const path of listLessons()) {
    it(`${basename(path)}: every code cell fits a screen and imports only from ../lib (and danfojs)`, () => {
      const problems: string[] = [];
      readNotebook(path).cells.forEach((cell, i) => {
        if (cell.cell_type !== "code") return;
        const lines = cellSource(cell).split("\n");
        if (lines.length > MAX_LINES) problems.push(`cell ${i + 1}: ${lines.length} lines (at most ${MAX_LINES})`);
        lines.forEach((line, j) => {
          if (line.length > MAX_WIDTH) problems.push(`cell ${i + 1}, line ${j + 1}: ${line.length} characters (at most ${MAX_WIDTH})`);
        });
        for (const [, from] of cellSource(cell).matchAll(/\bfrom\s+"([^"]+)"/g)) {
          if (from !== "../lib" && from !== "danfojs-node") problems.push(`cell ${i + 1}: imports from "${from}"; lessons import from "../lib"`);
        }
      });
      expect(problems).toEqual([]);
    });
  }
});

describe("clean notebooks", () => {
  for (const path of listLessons()) {
    it(`${basename(path)} is committed without outputs (npm run clean-notebooks)`, () => {
      expect(stripRunState(readNotebook(path))).toBe(false);
    });
  }

  it("strips what a run in Jupyter adds and keeps every source", () => {
    const saved: Notebook = {
      nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: "tslab-course" }, course: { scale: "full" } },
      cells: [
        { cell_type: "markdown", id: "a", source: "# Title", metadata: {} },
        { cell_type: "code", id: "b", source: ["const x = 1;\n", "x"], metadata: { scrolled: true, tags: ["keep"] }, execution_count: 3,
          outputs: [{ output_type: "stream", name: "stdout", text: "1\n" }] },
      ],
    };
    expect(stripRunState(saved)).toBe(true);
    expect(saved).toEqual({
      nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: "tslab-course" } },
      cells: [
        { cell_type: "markdown", id: "a", source: "# Title", metadata: {} },
        { cell_type: "code", id: "b", source: ["const x = 1;\n", "x"], metadata: { tags: ["keep"] }, execution_count: null, outputs: [] },
      ],
    });
    expect(stripRunState(saved)).toBe(false);
  });
});
