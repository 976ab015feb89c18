import { basename } from "node:path";
import { describe, expect, it } from "vitest";

import { stripRunState } from "../tools/clean-notebooks";
import { readNotebook, type Notebook } from "../tools/notebook";
import { listLessons } from "../tools/runner";

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
