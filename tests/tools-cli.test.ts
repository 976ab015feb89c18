// Every command the course ships answers --help with its usage, and a bad flag with one line
// saying what was wrong plus the usage (exit 2), never a stack.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { ROOT } from "../tools/runner";
import { fixtureDir, TSX_CLI, writeFixture } from "./fixtures";

const COMMANDS = [
  "tools/course.ts", "tools/sweep.ts", "tools/reuse-study.ts", "tools/compose-study.ts", "tools/double-descent-study.ts", "tools/learning-curve.ts",
  "tools/clean-notebooks.ts", "tools/install-kernel.ts", "tools/nbconvert.ts", "tools/site.ts", "bench/train.ts", "bench/attention.ts", "bench/fit.ts",
];

const run = (file: string, ...args: string[]) => spawnSync(process.execPath, [TSX_CLI, join(ROOT, file), ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });

describe("command lines", () => {
  for (const file of COMMANDS) {
    it(`${file}: --help prints its usage; an unknown flag is one clear line and the usage`, () => {
      const help = run(file, "--help");
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/usage: npm run /);
      const bad = run(file, "--no-such-flag");
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain("--no-such-flag");
      expect(bad.stderr).toMatch(/usage: npm run /);
      expect(bad.stderr).not.toMatch(/^\s+at /m);
    });
  }

  it("the course runs from outside its folder, site included", () => {
    const dir = fixtureDir();
    const lesson = writeFixture(dir, "50-elsewhere", [`console.log("here")`]);
    const r = spawnSync(process.execPath, [TSX_CLI, join(ROOT, "tools", "course.ts"), lesson, "--scale", "smoke", "--out", join(dir, "out")], {
      cwd: tmpdir(), encoding: "utf8", timeout: 120_000, env: { ...process.env, TSLAB_ROOT_DIR: "" },
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("✓ 50-elsewhere");
    expect(r.stdout).toMatch(/^site: /m);
  });

  it("an error while running is one line naming the file, the line and the repair (exit 1), not a stack or the wasm backend's source", () => {
    const out = join(fixtureDir(), "damaged.jsonl");
    writeFileSync(out, '{"id":"0123","format":2,"lab\n');
    for (const file of ["tools/sweep.ts", "tools/compose-study.ts", "tools/double-descent-study.ts", "tools/learning-curve.ts"]) {
      const r = run(file, "--out", out);
      expect(r.status, r.stderr).toBe(1);
      // Dawn may warn about its limits while looking for a WebGPU adapter; everything else is the one line.
      const lines = r.stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("Warning: "));
      const command = `npm run ${file.slice(6, -3)} -- --grid smoke --out ${out}`;
      expect(lines).toEqual([`error: ${out}, line 1: not one complete JSON result ("{\\"id\\":\\"0123\\",\\"format\\":2,\\"lab"…); `
        + `delete that line and rerun \`${command}\`: it trains only the runs missing from the file`]);
    }
  });
});
