import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

import { readNotebook, type Output } from "../tools/notebook";
import { findLesson, ROOT, runLesson } from "../tools/runner";
import { fixtureDir, runTool, TSX_CLI, writeFixture } from "./fixtures";

let dir: string;
beforeAll(() => {
  dir = fixtureDir();
});

const outputsOf = (path: string) => readNotebook(path).cells.map((c) => c.outputs ?? []);

describe("runner on a passing lesson", () => {
  it("executes every cell through tslab and stores outputs in the build folder, leaving the source untouched", async () => {
    const src = writeFixture(dir, "10-pass", [
      "# A passing lesson",
      `import { courseScale, plot, progress } from "../../../lib";\nconsole.log("scale", courseScale());`,
      `const n: number = 21;\nconsole.log(n * 2);`,
      `plot({ data: [{ x: [1, 2], y: [3, 4], type: "scatter" }], layout: { title: { text: "tiny" } } });`,
      `const bar = progress("loop", { minIntervalMs: 0 });\nfor (let i = 1; i <= 3; i++) bar.update({ step: i, total: 3 });\nbar.done();`,
    ]);
    const before = readFileSync(src, "utf8");
    const lines: string[] = [];
    const result = await runLesson(src, { scale: "smoke", cellTimeoutMs: 60_000, outDir: join(dir, "out"), log: (l) => lines.push(l) });

    expect(result.ok).toBe(true);
    expect(readFileSync(src, "utf8")).toBe(before);
    const nb = readNotebook(result.outPath);
    expect(nb.metadata.course).toMatchObject({ scale: "smoke", ok: true });
    const [md, first, second, chart, bar] = nb.cells.map((c) => c.outputs ?? []);
    expect(md).toEqual([]);
    expect(first).toEqual([{ output_type: "stream", name: "stdout", text: "scale smoke\n" }]);
    expect(second).toEqual([{ output_type: "stream", name: "stdout", text: "42\n" }]);
    expect(nb.cells.filter((c) => c.cell_type === "code").map((c) => c.execution_count)).toEqual([1, 2, 3, 4]);
    // One output, several MIME types: Plotly for JupyterLab and VS Code, HTML for classic Notebook.
    expect(chart).toHaveLength(1);
    const data = (chart[0] as Extract<Output, { output_type: "display_data" }>).data;
    expect(Object.keys(data).sort()).toEqual(["application/vnd.plotly.v1+json", "text/html", "text/plain"]);
    expect(data["application/vnd.plotly.v1+json"]).toMatchObject({ data: [{ x: [1, 2], y: [3, 4] }], layout: { title: { text: "tiny" } } });
    expect(data["text/html"]).toContain("Plotly.newPlot(div");
    // The progress display was updated in place: one output holding the final state.
    expect(bar).toHaveLength(1);
    expect((bar[0] as Extract<Output, { output_type: "display_data" }>).data["text/plain"]).toMatch(/^loop \[#+\] 3\/3/);
    // Progress per cell with its time, and where the result went.
    expect(lines.filter((l) => /✓ cell +\d+\/5 +\d+\.\d+ s/.test(l))).toHaveLength(4);
    expect(lines.at(-1)).toContain(result.outPath);
  });

  it("reports a long cell's latest progress line while it runs", async () => {
    const src = writeFixture(dir, "12-heartbeat", [
      `import { progress } from "../../../lib";\nconst bar = progress("slow loop", { minIntervalMs: 0 });\nfor (let i = 1; i <= 5; i++) { bar.update({ step: i, total: 10 }); await new Promise((r) => setTimeout(r, 500)); }\nbar.done();`,
    ]);
    const lines: string[] = [];
    const result = await runLesson(src, { scale: "smoke", cellTimeoutMs: 60_000, outDir: join(dir, "out"), log: (l) => lines.push(l), heartbeatMs: 1000 });
    expect(result.ok).toBe(true);
    const beats = lines.filter((l) => l.includes("still running"));
    expect(beats.length).toBeGreaterThan(0);
    expect(beats.at(-1)).toMatch(/… cell 1 still running \(\d+\.\d+ s\): slow loop \[#+\.+\] [1-5]\/10/);
  });

  it("gives lessons the types of lib/: a misuse of a lib function is a type error", async () => {
    const src = writeFixture(dir, "11-lib-types", [
      `import { atScale } from "../../../lib";\nconst label: string = atScale({ smoke: 1, full: 2 });`,
    ]);
    const result = await runLesson(src, { scale: "smoke", cellTimeoutMs: 60_000, outDir: join(dir, "out"), log: () => {} });
    expect(result.ok).toBe(false);
    expect(result.failure?.stderr).toContain("Type 'number' is not assignable to type 'string'");
  });
});

describe("runner on failing lessons (through the command line)", () => {
  const course = (path: string, ...extra: string[]) =>
    runTool("course.ts", [path, "--scale", "smoke", "--out", join(dir, "out"), ...extra]);

  it("names the lesson, cell and first line of a throwing cell, prints the stack, exits non-zero and runs no later cell", () => {
    const src = writeFixture(dir, "20-throws", [
      "# Throws",
      `console.log("before");`,
      `const x = 1;\nthrow new Error("boom at " + x);`,
      `console.log("after");`,
    ]);
    const r = course(src);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("✗ 20-throws: cell 3 of 4 failed: const x = 1;");
    expect(r.stdout).toContain("Error: boom at 1");
    const outputs = outputsOf(join(dir, "out", "20-throws.ipynb"));
    expect(outputs[1]).toEqual([{ output_type: "stream", name: "stdout", text: "before\n" }]);
    expect(outputs[3]).toEqual([]);
  });

  it("reports a TypeScript type error with its cell", () => {
    const src = writeFixture(dir, "21-type-error", [`const ok = 1;`, `const s: string = 42;`, `console.log("after");`]);
    const r = course(src);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("✗ 21-type-error: cell 2 of 3 failed: const s: string = 42;");
    expect(r.stdout).toContain("Type 'number' is not assignable to type 'string'");
  });

  it("reports a kernel that dies mid-run instead of hanging", () => {
    const src = writeFixture(dir, "22-dies", [`console.log(1);`, `process.exit(3);`, `console.log(2);`]);
    const r = course(src);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("✗ 22-dies: cell 2 of 3 crashed the kernel: process.exit(3);");
    expect(r.stdout).toContain("exited with code 3");
  });

  it("stops a cell that exceeds its timeout, synchronous or not", () => {
    const src = writeFixture(dir, "23-slow", [`while (true) {}`]);
    const r = course(src, "--timeout", "3");
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("✗ 23-slow: cell 1 of 1 did not finish within 3.00 s");
    const asyncSrc = writeFixture(dir, "24-slow-async", [`await new Promise((r) => setTimeout(r, 600_000));`]);
    expect(course(asyncSrc, "--timeout", "3").stdout).toContain("✗ 24-slow-async: cell 1 of 1 did not finish within 3.00 s");
  });

  it("fails the cell whose timer throws or whose promise nobody awaits, even after the cell or the lesson has finished", () => {
    const timer = writeFixture(dir, "35-late-timer", [`console.log(1);`, `setTimeout(() => { throw new Error("late"); }, 100);`]);
    const late = course(timer);
    expect(late.status).toBe(1);
    expect(late.stdout).toContain("✗ 35-late-timer: cell 2 of 2 failed: setTimeout(() => { throw new Error(\"late\"); }, 100);");
    expect(late.stdout).toContain("thrown after the cell had finished");
    const rejected = writeFixture(dir, "36-unawaited", [`Promise.reject(new Error("nobody waits"));`, `console.log("next");`]);
    const r = course(rejected);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("✗ 36-unawaited: cell 1 of 2 failed: Promise.reject(new Error(\"nobody waits\"));");
    expect(r.stdout).toContain("A promise was rejected and nothing awaited it");
  });

  it("fails a notebook that cannot be read (not JSON, nbformat 3) as its own lesson and runs the others", () => {
    const broken = join(dir, "32-broken.ipynb"), old = join(dir, "33-old.ipynb");
    writeFileSync(broken, "{ not json");
    writeFileSync(old, JSON.stringify({ nbformat: 3, worksheets: [] }));
    const good = writeFixture(dir, "34-good", [`console.log("fine")`]);
    const r = runTool("course.ts", [broken, old, good, "--scale", "smoke", "--out", join(dir, "out-bad")]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/✗ 32-broken: could not be read\n {4}32-broken\.ipynb: not a readable notebook \(/);
    expect(r.stdout).toContain(`✗ 33-old: could not be read\n    33-old.ipynb: expected an nbformat 4 notebook with a "cells" array, got nbformat 3`);
    expect(r.stdout).toContain("✓ 34-good");
    expect(r.stdout).toContain("1/3 lessons passed");
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack
  });

  it("runs the other lessons after a failing one, and only the failing one fails the run", () => {
    const bad = writeFixture(dir, "30-bad", [`throw new Error("no")`]);
    const good = writeFixture(dir, "31-good", [`console.log("fine")`]);
    const r = runTool("course.ts", [bad, good, "--scale", "smoke", "--out", join(dir, "out")]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("✓ 31-good");
    expect(r.stdout).toContain("1/2 lessons passed");
  });

  it("rejects bad arguments with a message naming them", () => {
    expect(runTool("course.ts", ["--scale", "huge"]).stderr).toContain(`--scale must be one of smoke, full; got "huge"`);
    expect(runTool("course.ts", ["--timeout", "0"]).stderr).toContain("--timeout must be a positive number of seconds");
    const r = runTool("course.ts", ["no-such-lesson"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`no lesson called "no-such-lesson"`);
    expect(r.stderr).toContain("00-setup");
  });
});

describe("findLesson", () => {
  it("accepts a number, a name or a file name", () => {
    expect(findLesson("00")).toMatch(/notebooks\/00-setup\.ipynb$/);
    expect(findLesson("00-setup")).toBe(findLesson("00-setup.ipynb"));
  });
});

describe("the tslab patch's send queue", () => {
  it("sends messages issued while a send is pending in order, where zeromq 6 alone would throw EBUSY", async () => {
    const { createRequire } = await import("node:module");
    const { ZmqMessage } = createRequire(import.meta.url)("tslab/dist/jupyter.js");
    // A socket with zeromq 6's contract: one send in progress at a time, finishing later.
    const sent: string[] = [];
    let busy = false;
    const socket = {
      send(frames: Buffer[]) {
        if (busy) throw Object.assign(new Error("Socket is busy writing; only one send operation may be in progress at any time"), { code: "EBUSY" });
        busy = true;
        return new Promise<void>((resolve) => setTimeout(() => { busy = false; sent.push(String(frames.at(-1))); resolve(); }, 5));
      },
    };
    const message = (n: number) => Object.assign(new ZmqMessage(), { identity: [], header: {}, parent: {}, metadata: {}, content: { n }, extra: [] });
    const sends = [1, 2, 3].map((n) => message(n).signAndSend("key", socket));
    await Promise.all(sends);
    expect(sent).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });
});

/** Every process's parent and command line, from /proc (Linux). */
function processes(): { pid: number; ppid: number; cmd: string }[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      return [{ pid: Number(d), ppid, cmd: readFileSync(`/proc/${d}/cmdline`, "utf8").replaceAll("\0", " ") }];
    } catch {
      return []; // gone meanwhile
    }
  });
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].startsWith("Z");

async function waitFor<T>(what: string, probe: () => T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(process.platform !== "linux")("the runner owns its kernels", () => {
  const dir = fixtureDir();
  for (const [signal, cell] of [["SIGKILL", "while (true) {}"], ["SIGTERM", "await new Promise((r) => setTimeout(r, 600_000));"], ["SIGINT", "while (true) {}"]] as const) {
    it(`leaves no kernel behind when the runner gets ${signal} mid-cell`, async () => {
      const src = writeFixture(dir, `40-${signal.toLowerCase()}`, [cell]);
      const tool = spawn(process.execPath, [TSX_CLI, join(ROOT, "tools", "course.ts"), src, "--scale", "smoke", "--out", join(dir, "out")], {
        cwd: ROOT, stdio: "ignore", detached: true,
      });
      try {
        // tsx runs the runner in a child process; the kernel is the runner's child.
        const kernel = await waitFor("the kernel to start", () => {
          const all = processes();
          const runner = all.find((p) => p.ppid === tool.pid);
          return runner && all.find((p) => p.ppid === runner.pid && p.cmd.includes("tslab") && p.cmd.includes(" kernel "));
        }, 60_000);
        await new Promise((r) => setTimeout(r, 2000)); // into the cell
        process.kill(kernel.ppid, signal);
        await waitFor(`kernel ${kernel.pid} to end after ${signal} to its runner`, () => (alive(kernel.pid) ? undefined : true), 10_000);
      } finally {
        try {
          process.kill(-tool.pid!, "SIGKILL");
        } catch {
          // the whole group is gone
        }
      }
    }, 120_000);
  }
});
