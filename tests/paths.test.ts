// lib finds the course from where it lies, not from the working directory: a script (or a
// notebook) kept anywhere can import the course's lib and use its data and compiled kernels.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { ownFolder, projectRoot } from "../lib/core/paths";
import { ROOT } from "../tools/runner";
import { TSX_CLI } from "./fixtures";

const elsewhere = mkdtempSync(join(tmpdir(), "course-elsewhere-"));
afterAll(() => rmSync(elsewhere, { recursive: true, force: true }));

describe("where lib finds the course", () => {
  it("is the folder above lib, whatever the working directory", () => {
    expect(ownFolder()).toBe(join(ROOT, "lib", "core"));
    expect(projectRoot()).toBe(ROOT);
  });

  it("a script in a folder outside the course imports lib, reads a data set and multiplies on the course's kernels", () => {
    const script = join(elsewhere, "outside.mts");
    writeFileSync(script, [
      `import { initBackend, loadDataset, projectRoot, tf } from ${JSON.stringify(join(ROOT, "lib"))};`,
      `const info = await initBackend(() => {});`,
      `const text = loadDataset("tinyshakespeare.txt");`,
      `const product = tf.matMul(tf.ones([3, 4]), tf.ones([4, 2])).dataSync();`,
      `console.log(JSON.stringify({ root: projectRoot(), backend: info.name, chars: text.length, product: Array.from(product) }));`,
    ].join("\n"));
    // .mts: an ES module, as a student's own script outside the course would be. No TSLAB_ROOT_DIR and a working directory outside the course: only lib's own location can answer.
    const r = spawnSync(process.execPath, [TSX_CLI, script], {
      cwd: elsewhere, encoding: "utf8", timeout: 120_000, env: { ...process.env, TSLAB_ROOT_DIR: "", COURSE_BACKEND: "wasm" },
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { root: string; backend: string; chars: number; product: number[] };
    expect(out.root).toBe(ROOT);
    expect(out.backend).toBe("wasm");
    expect(out.chars).toBeGreaterThan(1_000_000);
    expect(out.product).toEqual([4, 4, 4, 4, 4, 4]);
  }, 180_000);
});
