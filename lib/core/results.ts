// Result files of the course's resumable studies (`npm run sweep`, `reuse-study`, `compose-study`;
// their shared loop: lib/core/study.ts): one JSON line per finished run, rewritten whole after
// each. A run's id hashes everything that decides its result — its settings, a fingerprint of the
// data it saw, the backend whose arithmetic trained it, and the file format — so a rerun skips
// exactly the runs that would come out the same, and a line made from other data, on another
// backend or by an older design of the file never counts as finished.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";

import { writeJsonLines } from "./files";

/** Version of a result line's layout and of what its id covers. Format 1 ids hashed the settings alone. */
export const RESULTS_FORMAT = 2;

/** What decides a run's result besides its settings. */
export interface RunContext {
  /** `fingerprint` of the data the run trains and is scored on. */
  dataHash: string;
  /** The backend that trains it (`initBackend().name`): backends agree only up to float rounding. */
  backend: string;
}

/** The fields every result line carries. */
export interface StampedResult {
  id: string;
  format: number;
  /** The data's fingerprint. */
  dataHash: string;
  backend: string;
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

/** A short hex digest of token arrays and texts, each with its length, in order. */
export function fingerprint(...parts: (ArrayBufferView | string)[]): string {
  const hash = createHash("sha256");
  for (const part of parts) {
    const bytes = typeof part === "string" ? Buffer.from(part, "utf8") : new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
    hash.update(`${typeof part === "string" ? "text" : "array"}:${bytes.length}:`).update(bytes);
  }
  return hash.digest("hex").slice(0, 16);
}

/** The id of a run with these settings on this data and backend. */
export function resultId(settings: unknown, context: RunContext): string {
  return digest(JSON.stringify({ format: RESULTS_FORMAT, settings, dataHash: context.dataHash, backend: context.backend }));
}

/** The id format 1 gave the same settings: what `upgradeResults` matches old lines by. */
export function formatOneId(settings: unknown): string {
  return digest(JSON.stringify(settings));
}

/** A finished run's line: its result with the stamp that makes its id checkable. */
export function stamp<T extends object>(settings: unknown, context: RunContext, result: T): T & StampedResult {
  const stamped = { id: resultId(settings, context), format: RESULTS_FORMAT, dataHash: context.dataHash, backend: context.backend };
  return { ...stamped, ...result, ...stamped }; // the stamp's fields first in the line, and its values win
}

/**
 * Reads a results file (an absent one is empty). A damaged line, a line of another format or a
 * line missing a field is refused in one line naming the file, the line and the repair; `command`
 * is the one that writes the file, e.g. "npm run sweep -- --grid full".
 */
export function readResults<T extends StampedResult>(path: string, required: readonly (keyof T & string)[], command: string): T[] {
  if (typeof path !== "string" || path === "") throw new Error(`a results file must be named by a path; got ${JSON.stringify(path)} (written by \`${command}\`)`);
  if (!existsSync(path)) return [];
  if (statSync(path).isDirectory()) throw new Error(`${path} is a folder; expected a results file (one JSON line per run) written by \`${command}\``);
  const lines = readFileSync(path, "utf8").split("\n");
  const results: T[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const where = `${path}, line ${i + 1}`;
    let parsed: T;
    try {
      parsed = JSON.parse(line);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    } catch {
      // The studies write whole files atomically, so this is a file edited or damaged by hand.
      throw new Error(`${where}: not one complete JSON result (${JSON.stringify(line.slice(0, 40))}…); `
        + `delete that line and rerun \`${command}\`: it trains only the runs missing from the file`);
    }
    if (parsed.format !== RESULTS_FORMAT) {
      throw new Error(`${where}: a format-${parsed.format ?? 1} result (this course reads format ${RESULTS_FORMAT}, whose ids cover the data and backend); `
        + `upgrade the file with \`${command} --upgrade\``);
    }
    const missing = ["id", "dataHash", "backend", ...required].filter((k) => (parsed as Record<string, unknown>)[k] === undefined);
    if (missing.length) throw new Error(`${where}: missing ${missing.join(", ")}; delete that line and rerun \`${command}\``);
    results.push(parsed);
  }
  return results;
}

/**
 * The backend a stored study is read with: that of its first line. Lessons read the runs a study
 * was stored with, whatever backend runs the lesson; lines trained on another backend are not used.
 */
export function storedBackend(results: readonly StampedResult[], fallback: string): string {
  return results[0]?.backend ?? fallback;
}

/** A run a format-1 line may be: its settings and the fingerprint of the data it was trained on. */
export interface UpgradeCandidate {
  settings: unknown;
  dataHash: string;
}

/**
 * Rewrites a file's format-1 lines in the current format: each is matched to the candidate whose
 * format-1 id it carries and gets that candidate's data fingerprint (the caller vouches that the
 * run was trained on that data) and an id for its own backend. Lines already current are kept.
 * Nothing is written unless every line is matched. Returns how many lines were upgraded.
 */
export function upgradeResults(path: string, candidates: UpgradeCandidate[]): number {
  if (!existsSync(path)) throw new Error(`upgradeResults: ${path} does not exist`);
  const byOldId = new Map(candidates.map((c) => [formatOneId(c.settings), c]));
  const lines = readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "");
  let upgraded = 0;
  const rows = lines.map((line, i) => {
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch {
      throw new Error(`upgradeResults: ${path}, line ${i + 1} is not JSON; delete it first (its run is trained again)`);
    }
    if (row.format === RESULTS_FORMAT) return row;
    const match = byOldId.get(row.id as string);
    if (match === undefined) throw new Error(`upgradeResults: ${path}, line ${i + 1} (id ${String(row.id)}) is no run of this design; nothing was changed`);
    if (typeof row.backend !== "string") throw new Error(`upgradeResults: ${path}, line ${i + 1} does not say its backend; nothing was changed`);
    upgraded++;
    const { id: _, ...rest } = row;
    return stamp(match.settings, { dataHash: match.dataHash, backend: row.backend }, rest);
  });
  if (upgraded > 0) writeJsonLines(path, rows);
  return upgraded;
}
