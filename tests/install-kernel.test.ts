// The course's kernel as students register it: one kernelspec written without Python, whose
// launcher finds Node and the course when the kernel starts. Real kernels are started from the
// spec (through the course's own Jupyter client) in other copies of the course, a renamed copy,
// with the registering Node gone, and outside any copy.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { findJupyterPython, installKernel, jupyterDataDir, kernelDir, kernelSpec, KERNEL_NAME, registeredWith } from "../tools/install-kernel";
import { Kernel } from "../tools/kernel";
import { ROOT } from "../tools/runner";
import { runTool } from "./fixtures";

const scratch = mkdtempSync(join(tmpdir(), "course-kernel-spec-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("where the kernelspec goes", () => {
  it("follows jupyter_core's data folders on Linux, macOS and Windows, JUPYTER_DATA_DIR first", () => {
    expect(jupyterDataDir({}, "linux", "/home/ada")).toBe("/home/ada/.local/share/jupyter");
    expect(jupyterDataDir({ XDG_DATA_HOME: "/xdg" }, "linux", "/home/ada")).toBe("/xdg/jupyter");
    expect(jupyterDataDir({}, "darwin", "/Users/ada")).toBe("/Users/ada/Library/Jupyter");
    expect(jupyterDataDir({ APPDATA: "C:\\Users\\ada\\AppData\\Roaming" }, "win32", "C:\\Users\\ada")).toBe(join("C:\\Users\\ada\\AppData\\Roaming", "jupyter"));
    expect(jupyterDataDir({ JUPYTER_DATA_DIR: "/custom", XDG_DATA_HOME: "/xdg" }, "linux", "/home/ada")).toBe("/custom");
  });

  it("runs a launcher with the registering course and Node as fallbacks (node from PATH on Windows)", () => {
    const spec = kernelSpec("/spec") as { argv: string[]; env: Record<string, string>; language: string };
    expect(spec.argv).toEqual(["/bin/sh", "/spec/launch.sh", "--config-path", "{connection_file}"]);
    expect(spec.env).toEqual({ COURSE_KERNEL_ROOT: ROOT, COURSE_KERNEL_NODE: process.execPath });
    expect((kernelSpec("C:\\spec", "win32") as { argv: string[] }).argv.slice(0, 1)).toEqual(["node"]);
    expect(spec.language).toBe("typescript");
  });
});

describe("npm run kernel", () => {
  const prefix = join(scratch, "prefix");
  const dir = installKernel(prefix);

  it("writes the spec, its launcher and plotly.js, without Python; again replaces it", () => {
    expect(dir).toBe(join(prefix, "share", "jupyter", "kernels", KERNEL_NAME));
    expect(installKernel(prefix)).toBe(dir);
    expect(JSON.parse(readFileSync(join(dir, "kernel.json"), "utf8"))).toEqual(kernelSpec(dir));
    for (const file of ["launch.sh", "launch.mjs"]) expect(readFileSync(join(dir, file), "utf8")).toBe(readFileSync(join(ROOT, "tools", "kernel", file), "utf8"));
    // Charts load plotly.js from here, once per page.
    expect(readFileSync(join(dir, "plotly.min.js"), "utf8")).toContain("window.Plotly = Plotly;");
    expect(existsSync(`${dir}.tmp-${process.pid}`)).toBe(false);
  });

  const python = findJupyterPython();
  it.skipIf(!python)("is found by Jupyter's own kernelspec list", () => {
    expect(registeredWith(python!, { ...process.env, JUPYTER_PATH: join(prefix, "share", "jupyter") })).toBe(dir);
  });

  it("registers without a Python that has Jupyter, and says how to open the lessons", () => {
    const home = join(scratch, "home");
    const r = runTool("install-kernel.ts", ["--python", "/nonexistent/python3"], { PATH: dirname(process.execPath), JUPYTER_DATA_DIR: join(home, "jupyter") });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`registered kernel "${KERNEL_NAME}"`);
    expect(r.stdout).toContain("VS Code");
    expect(existsSync(join(home, "jupyter", "kernels", KERNEL_NAME, "kernel.json"))).toBe(true);
  });
});

/** A copy of the course as far as the kernel can tell: its package.json, the real node_modules, and a lib that says which copy it is. */
function makeCopy(name: string): string {
  const root = join(scratch, name);
  mkdirSync(join(root, "notebooks"), { recursive: true });
  mkdirSync(join(root, "lib"), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(root, "package.json"));
  cpSync(join(ROOT, "tsconfig.json"), join(root, "tsconfig.json"));
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"), "dir");
  writeFileSync(join(root, "lib", "index.ts"), `export const copy: string = ${JSON.stringify(name)};\n`);
  return root;
}

describe("a kernel started from the registration", () => {
  const prefix = join(scratch, "kernels");
  const dir = kernelDir(prefix);
  installKernel(prefix);
  const spec = JSON.parse(readFileSync(join(dir, "kernel.json"), "utf8")) as { argv: string[]; env: Record<string, string> };
  /** Starts the kernel as Jupyter would (the spec's argv and env, in the notebook's folder) and runs `code` in it. */
  const run = async (cwd: string, code: string, env: Record<string, string> = {}) => {
    const kernel = await Kernel.start({ argv: spec.argv, cwd, env: { ...process.env, ...spec.env, ...env }, startTimeoutMs: 60_000 });
    try {
      const result = await kernel.execute(code, 60_000);
      const text = result.outputs.map((o) => ("text" in o ? o.text : JSON.stringify((o as { data?: unknown }).data ?? ""))).join("");
      return { ...result, text, log: kernel.log };
    } finally {
      kernel.shutdown();
    }
  };

  it("runs the lib of the copy that holds the notebook, not the copy that registered it", async () => {
    const copy = makeCopy("term-two");
    const r = await run(join(copy, "notebooks"), `import { copy } from "../lib";\nconsole.log("copy:", copy);`);
    expect(r.status).toBe("ok");
    expect(r.text).toContain("copy: term-two");
    expect(r.log).toContain(`course ${copy}`);
  }, 120_000);

  it("still runs after the copy's folder is renamed", async () => {
    const before = makeCopy("before-rename");
    const after = join(scratch, "after-rename");
    renameSync(before, after);
    const r = await run(join(after, "notebooks"), `import { copy } from "../lib";\nconsole.log("copy:", copy);`);
    expect(r.status).toBe("ok");
    expect(r.text).toContain("copy: before-rename");
  }, 120_000);

  it("finds node on PATH when the Node that registered it is gone", async () => {
    const r = await run(join(ROOT, "notebooks"), `console.log("node", process.version)`, { COURSE_KERNEL_NODE: "/nonexistent/bin/node", PATH: dirname(process.execPath) });
    expect(r.status).toBe("ok");
    expect(r.text).toContain(`node ${process.version}`);
  }, 120_000);

  it("fails with the fix in its first line when no Node can be found", async () => {
    const empty = join(scratch, "no-node");
    mkdirSync(empty, { recursive: true });
    const started = Kernel.start({ argv: spec.argv, cwd: join(ROOT, "notebooks"), env: { ...spec.env, COURSE_KERNEL_NODE: "/nonexistent/bin/node", PATH: empty }, startTimeoutMs: 20_000 });
    await expect(started).rejects.toThrow(/tslab-course: cannot start: no Node\.js found .*run `npm run kernel` in the course folder/);
  }, 60_000);

  it("names the fix when the notebook's copy of the course has no node_modules", async () => {
    const bare = join(scratch, "bare-copy");
    mkdirSync(join(bare, "notebooks"), { recursive: true });
    cpSync(join(ROOT, "package.json"), join(bare, "package.json"));
    const started = Kernel.start({ argv: spec.argv, cwd: join(bare, "notebooks"), env: { ...process.env, ...spec.env }, startTimeoutMs: 20_000 });
    await expect(started).rejects.toThrow(`tslab-course: cannot start: ${bare} has no node_modules/tslab; run \`npm ci\` there`);
  }, 60_000);

  it("starts outside any copy of the course, and importing its lib there says what to do", async () => {
    const outside = join(scratch, "outside");
    mkdirSync(outside, { recursive: true });
    const r = await run(outside, `import { copy } from "../lib";`);
    expect(r.status).toBe("error");
    expect(r.stderr).toContain("is outside the course folder");
    expect(r.stderr).toContain(join(ROOT, "notebooks"));
    const plain = await run(outside, `console.log(6 * 7)`);
    expect(plain.text).toContain("42");
  }, 120_000);
});
