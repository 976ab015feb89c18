// Writing files so that no reader, and no crash, ever leaves half of one behind.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** Writes to a temporary file beside `path`, then renames it into place (atomic on one file system). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Reads a file of one JSON object per line (an absent file is empty); a line that is not JSON or
 * lacks one of `required` is an error naming the file and the line.
 */
export function readJsonLines<T>(path: string, required: readonly (keyof T & string)[], what = "finished run"): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "").map((line, i) => {
    let parsed: T;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(`${path}, line ${i + 1}: not JSON (${line.slice(0, 60)}…); each line must be one ${what}`);
    }
    const missing = required.filter((k) => parsed[k] === undefined);
    if (missing.length) throw new Error(`${path}, line ${i + 1}: missing ${missing.join(", ")}`);
    return parsed;
  });
}

/** Writes the whole file, one JSON object per line, atomically. */
export function writeJsonLines(path: string, rows: readonly unknown[]): void {
  writeFileAtomic(path, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
}
