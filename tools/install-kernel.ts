// npm run kernel [-- [--prefix DIR] [--python PATH]]
//
// Registers the course's TypeScript kernel ("tslab-course") with Jupyter, VS Code and any other
// frontend that reads Jupyter kernelspecs: it writes the kernelspec folder itself, where
// jupyter_client looks on Linux, macOS and Windows (no Python needed), with a launcher that
// finds Node and the course when the kernel starts. So one registration serves every copy of the
// course, a moved or renamed course folder, and a Node switched by a version manager; the copy
// that ran this command is only the fallback for a notebook outside any copy. Where a Python with
// jupyter_client is found, it is asked whether it sees the kernel. Running it again replaces the
// registration.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

import { COURSE_KERNEL_NAME } from "../lib/core/display";
import { resolvePackageFile } from "../lib/core/paths";
import { ROOT } from "./runner";
import { parseCommandLine, runMain } from "./cli";

const USAGE = "usage: npm run kernel [-- [--prefix DIR] [--python PATH]]";

export const KERNEL_NAME = COURSE_KERNEL_NAME;
export const KERNEL_DISPLAY_NAME = "TypeScript (foundation models course)";

const HOW_TO_GET_JUPYTER = `To open the lessons, install one of:
  VS Code with its Jupyter extension (it finds the kernel registered above), or
  Debian/Ubuntu:  sudo apt-get install --no-install-recommends jupyter-notebook jupyter-nbconvert python3-nbclient
  elsewhere:      python3 -m pip install jupyterlab`;

/**
 * The user's Jupyter data folder, by jupyter_core's rules: JUPYTER_DATA_DIR if set; else
 * %APPDATA%\jupyter on Windows, ~/Library/Jupyter on macOS, and $XDG_DATA_HOME/jupyter or
 * ~/.local/share/jupyter elsewhere.
 */
export function jupyterDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = homedir()): string {
  if (env.JUPYTER_DATA_DIR) return env.JUPYTER_DATA_DIR;
  if (platform === "win32") return join(env.APPDATA ?? join(home, "AppData", "Roaming"), "jupyter");
  if (platform === "darwin") return join(home, "Library", "Jupyter");
  return join(env.XDG_DATA_HOME || join(home, ".local", "share"), "jupyter");
}

/** Where the kernelspec goes: a prefix's share/jupyter/kernels (as `jupyter kernelspec install --prefix` does), else the user's. */
export function kernelDir(prefix?: string): string {
  return join(prefix ? join(prefix, "share", "jupyter") : jupyterDataDir(), "kernels", KERNEL_NAME);
}

/**
 * kernel.json for a spec in `dir`. On POSIX Jupyter runs launch.sh, which finds Node when the
 * kernel starts (the Node that registered it while it exists, else PATH's); Windows has no sh, so
 * `node` is found on PATH there. The registering course is the launcher's fallback.
 */
export function kernelSpec(dir: string, platform: NodeJS.Platform = process.platform): object {
  const launch = platform === "win32" ? ["node", join(dir, "launch.mjs")] : ["/bin/sh", join(dir, "launch.sh")];
  return {
    argv: [...launch, "--config-path", "{connection_file}"],
    display_name: KERNEL_DISPLAY_NAME,
    language: "typescript",
    env: { COURSE_KERNEL_ROOT: ROOT, COURSE_KERNEL_NODE: process.execPath },
  };
}

/**
 * Writes the kernelspec folder: kernel.json, the launcher, and plotly.js (Jupyter serves it at
 * <base>/kernelspecs/<name>/plotly.min.js, where the lessons' charts load it once per page).
 * Built beside its place and renamed into it, so a frontend never sees half a spec.
 */
export function installKernel(prefix?: string): string {
  const dir = kernelDir(prefix);
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    for (const file of ["launch.sh", "launch.mjs"]) copyFileSync(join(ROOT, "tools", "kernel", file), join(staging, file));
    copyFileSync(resolvePackageFile("plotly.js-dist-min/plotly.min.js"), join(staging, "plotly.min.js"));
    writeFileSync(join(staging, "kernel.json"), `${JSON.stringify(kernelSpec(dir), null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    renameSync(staging, dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

/** Pythons that may have Jupyter, best guess first: JUPYTER_PYTHON, Debian's system Python, then PATH. */
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

/** Where the Jupyter of `python` finds the course's kernel (null: it does not see it), with `env` as its environment. */
export function registeredWith(python: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const r = spawnSync(python, ["-m", "jupyter_client.kernelspecapp", "list", "--json"], { encoding: "utf8", env: { ...env, PYDEVD_DISABLE_FILE_VALIDATION: "1" } });
  if (r.status !== 0) return null;
  return JSON.parse(r.stdout).kernelspecs?.[KERNEL_NAME]?.resource_dir ?? null;
}

function main(): void {
  const { values } = parseCommandLine(USAGE, { options: { python: { type: "string" }, prefix: { type: "string" } } });
  const location = installKernel(values.prefix);
  console.log(`registered kernel "${KERNEL_NAME}" (${KERNEL_DISPLAY_NAME}) in ${location}`);
  console.log("it serves every copy of the course: a notebook's kernel runs the course folder that holds it");
  const python = findJupyterPython(values.python);
  if (!python) {
    if (values.python) console.log(`${values.python} cannot import jupyter_client, so Jupyter was not asked whether it sees the kernel`);
    console.log(HOW_TO_GET_JUPYTER);
    return;
  }
  const env = values.prefix ? { ...process.env, JUPYTER_PATH: join(values.prefix, "share", "jupyter") } : process.env;
  const seen = registeredWith(python, env);
  if (seen === null || !existsSync(seen)) {
    console.log(`warning: the Jupyter of ${python} does not list it; it looks in \`jupyter --paths\` (data), so set JUPYTER_DATA_DIR or use --prefix to match`);
    return;
  }
  console.log(`the Jupyter of ${python} finds it; open the lessons with: jupyter notebook ${join(ROOT, "notebooks")}   (or jupyter lab, where installed)`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) runMain(main);
