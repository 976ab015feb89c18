// Reading and writing Jupyter notebooks (nbformat 4), atomically.
import { readFileSync } from "node:fs";
import { basename } from "node:path";

import { writeFileAtomic } from "../lib/core/files";

export type Output =
  | { output_type: "stream"; name: string; text: string }
  | { output_type: "display_data"; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: "execute_result"; data: Record<string, unknown>; metadata: Record<string, unknown>; execution_count: number | null }
  | { output_type: "error"; ename: string; evalue: string; traceback: string[] };

export interface Cell {
  cell_type: "code" | "markdown" | "raw";
  id?: string;
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: Output[];
  execution_count?: number | null;
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, any>;
  cells: Cell[];
}

export function cellSource(cell: Cell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** The first non-empty line of a cell, shortened, to name it in messages. */
export function firstLine(cell: Cell, max = 60): string {
  const line = cellSource(cell).split("\n").find((l) => l.trim() !== "")?.trim() ?? "(empty)";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function readNotebook(path: string): Notebook {
  let nb: Notebook;
  try {
    nb = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`${basename(path)}: not a readable notebook (${(err as Error).message})`);
  }
  if (nb.nbformat !== 4 || !Array.isArray(nb.cells)) {
    throw new Error(`${basename(path)}: expected an nbformat 4 notebook with a "cells" array, got nbformat ${nb.nbformat}`);
  }
  return nb;
}

export function writeNotebook(path: string, nb: Notebook): void {
  writeFileAtomic(path, `${JSON.stringify(nb, null, 1)}\n`);
}
