// npm run clean-notebooks [-- --check]
//
// Running a lesson in Jupyter and saving it writes its outputs (charts, tables, progress) into
// notebooks/, which makes the checkout dirty and a later `git pull` conflict. This strips what a
// run adds: outputs, execution counts and the cell metadata Jupyter keeps for display.
// --check changes nothing and exits 1 naming the lessons that carry outputs (for a pre-commit hook).
import { basename } from "node:path";

import { readNotebook, writeNotebook, type Notebook } from "./notebook";
import { listLessons } from "./runner";
import { parseCommandLine, runMain } from "./cli";

const USAGE = "usage: npm run clean-notebooks [-- --check]   (--check: only report lessons that carry outputs)";

/** Cell metadata that records how a cell was last shown or run, not what it is. */
const RUN_METADATA = ["collapsed", "scrolled", "execution", "course", "trusted"];

/** The notebook as committed: same cells and sources, nothing a run added. Returns whether anything changed. */
export function stripRunState(nb: Notebook): boolean {
  let changed = false;
  for (const cell of nb.cells) {
    if (cell.cell_type === "code") {
      if ((cell.outputs ?? []).length > 0 || cell.outputs === undefined) changed = true;
      if (cell.execution_count !== null) changed = true;
      cell.outputs = [];
      cell.execution_count = null;
    }
    for (const key of RUN_METADATA) {
      if (key in cell.metadata) {
        delete cell.metadata[key];
        changed = true;
      }
    }
  }
  if ("course" in nb.metadata) {
    delete nb.metadata.course;
    changed = true;
  }
  return changed;
}

function main(): void {
  const { values } = parseCommandLine(USAGE, { options: { check: { type: "boolean", default: false } } });
  const dirty: string[] = [];
  for (const path of listLessons()) {
    const nb = readNotebook(path);
    if (!stripRunState(nb)) continue;
    dirty.push(basename(path));
    if (!values.check) writeNotebook(path, nb);
  }
  if (values.check && dirty.length > 0) {
    console.error(`${dirty.length} lesson(s) carry outputs from a run: ${dirty.join(", ")}\nrun \`npm run clean-notebooks\` before committing`);
    process.exit(1);
  }
  console.log(dirty.length === 0 ? "lessons are clean" : `stripped outputs from ${dirty.join(", ")}`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) runMain(main);
