// npm run kernel [-- [--python PATH] [--prefix DIR]]
//
// Registers this course's tslab kernel ("tslab-course") with Jupyter: the node that runs
// this script, the course's own tslab by absolute path, and TSLAB_ROOT_DIR so that lessons
// can import ../lib. Running it again replaces the registration.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { COURSE_KERNEL_NAME } from "../lib/core/display";
import { resolvePackageFile } from "../lib/core/paths";
import { ROOT, TSLAB_BIN } from "./runner";
import { parseCommandLine, runMain } from "./cli";

const USAGE = "usage: npm run kernel [-- [--python PATH] [--prefix DIR]]";

export const KERNEL_NAME = COURSE_KERNEL_NAME;
export const KERNEL_DISPLAY_NAME = "TypeScript (foundation models course)";

const HOW_TO_GET_JUPYTER = `Jupyter was not found. Install it, then run \`npm run kernel\` again:
  Debian/Ubuntu:  sudo apt-get install --no-install-recommends jupyter-notebook jupyter-nbconvert python3-nbclient
  elsewhere:      python3 -m pip install jupyterlab
If Jupyter lives in another Python, name it: npm run kernel -- --python /path/to/python3`;

/** Pythons that may have Jupyter, best guess first: Debian's system Python, then PATH. */
function candidatePythons(explicit?: string): string[] {
  if (explicit) return [explicit];
  return [process.env.JUPYTER_PYTHON, "/usr/bin/python3", "python3", "python"].filter((p): p is string => !!p);
}

/** The first Python that can import jupyter_client, as an absolute path. */
export function findJupyterPython(explicit?: string): string | null {
  for (const python of candidatePythons(explicit)) {
    const r = spawnSync(python, ["-c", "import jupyter_client, sys; print(sys.executable)"], { encoding: "utf8" });
    if (r.status === 0) return r.stdout.trim();
  }
  return null;
}

export function kernelSpec(): object {
  return {
    argv: [process.execPath, TSLAB_BIN, "kernel", "--config-path", "{connection_file}"],
    display_name: KERNEL_DISPLAY_NAME,
    language: "typescript",
    env: { TSLAB_ROOT_DIR: ROOT },
  };
}

/**
 * Installs the kernel spec through jupyter_client's own API; returns where it went. The spec's
 * folder also gets plotly.js: Jupyter serves it at <base>/kernelspecs/<name>/plotly.min.js, where
 * the lessons' charts load it once per page.
 */
export function installKernel(python: string, prefix?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tslab-course-spec-"));
  try {
    writeFileSync(join(dir, "kernel.json"), `${JSON.stringify(kernelSpec(), null, 2)}\n`);
    copyFileSync(resolvePackageFile("plotly.js-dist-min/plotly.min.js"), join(dir, "plotly.min.js"));
    const where = prefix ? `prefix=${JSON.stringify(prefix)}` : "user=True";
    const script = `from jupyter_client.kernelspec import KernelSpecManager
print(KernelSpecManager().install_kernel_spec(${JSON.stringify(dir)}, ${JSON.stringify(KERNEL_NAME)}, ${where}, replace=True))`;
    const r = spawnSync(python, ["-c", script], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`registering the kernel with ${python} failed:\n${r.stderr.trim()}`);
    return r.stdout.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const { values } = parseCommandLine(USAGE, { options: { python: { type: "string" }, prefix: { type: "string" } } });
  const python = findJupyterPython(values.python);
  if (!python) {
    console.error(values.python ? `${values.python} cannot import jupyter_client.\n${HOW_TO_GET_JUPYTER}` : HOW_TO_GET_JUPYTER);
    process.exit(1);
  }
  const location = installKernel(python, values.prefix);
  console.log(`registered kernel "${KERNEL_NAME}" (${KERNEL_DISPLAY_NAME}) for ${python} in ${location}`);
  console.log(`open the lessons with: jupyter notebook ${join(ROOT, "notebooks")}   (or jupyter lab, where installed)`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) runMain(main);
