// Writing files so that no reader, and no crash, ever leaves half of one behind.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Whether a process with this id is alive (signal 0 checks without sending anything). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Temp files beside `path` left by writers that died mid-write (their process is gone). */
export function staleTempFiles(path: string): string[] {
  const dir = dirname(path), prefix = `${basename(path)}.`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => {
    const m = f.startsWith(prefix) ? /^(\d+)\.\d+\.tmp$/.exec(f.slice(prefix.length)) : null;
    return m !== null && !processAlive(Number(m[1]));
  }).map((f) => join(dir, f));
}

/**
 * Writes to a temporary file beside `path`, flushes it to disk, then renames it into place and
 * flushes the folder (atomic on one file system, and durable: a power cut leaves the old file
 * or the new one, never an empty one). Temp files of writers that died are removed first.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  for (const stale of staleTempFiles(path)) rmSync(stale, { force: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    const fd = openSync(tmp, "w");
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  // The rename itself is durable once the folder is flushed (not possible on every platform).
  try {
    const dirFd = openSync(dirname(path), "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Windows cannot open a folder for fsync; the rename still happened.
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
