import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { findJupyterPython, installKernel, kernelSpec, KERNEL_NAME } from "../tools/install-kernel";
import { ROOT } from "../tools/runner";
import { runTool } from "./fixtures";

describe("kernel registration", () => {
  it("points Jupyter at this node, this course's tslab and the course root", () => {
    const spec = kernelSpec() as { argv: string[]; env: Record<string, string>; language: string };
    expect(spec.argv[0]).toBe(process.execPath);
    expect(existsSync(spec.argv[1])).toBe(true);
    expect(spec.argv.slice(2)).toEqual(["kernel", "--config-path", "{connection_file}"]);
    expect(spec.env).toEqual({ TSLAB_ROOT_DIR: ROOT });
    expect(spec.language).toBe("typescript");
  });

  it("says how to get Jupyter when the named Python has none", () => {
    const r = runTool("install-kernel.ts", ["--python", "/nonexistent/python3"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("/nonexistent/python3 cannot import jupyter_client");
    expect(r.stderr).toContain("apt-get install --no-install-recommends jupyter-notebook");
    expect(r.stderr).toContain("pip install jupyterlab");
  });

  const python = findJupyterPython();
  it.skipIf(!python)("installs idempotently into a prefix", () => {
    const prefix = mkdtempSync(join(tmpdir(), "kernel-prefix-"));
    try {
      const first = installKernel(python!, prefix);
      const second = installKernel(python!, prefix);
      expect(second).toBe(first);
      expect(first).toBe(join(prefix, "share", "jupyter", "kernels", KERNEL_NAME));
      expect(JSON.parse(readFileSync(join(first, "kernel.json"), "utf8"))).toEqual(kernelSpec());
      // Charts load plotly.js from here, once per page.
      expect(readFileSync(join(first, "plotly.min.js"), "utf8")).toContain("window.Plotly = Plotly;");
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  });
});
