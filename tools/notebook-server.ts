// A private classic Jupyter Notebook server for browser tests: the course's kernel registered
// in a throwaway prefix (so a student's own registration is neither used nor touched), Jupyter's
// config, data and runtime folders in a temporary directory, no token, bound to 127.0.0.1.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { findJupyterPython, installKernel } from "./install-kernel";
import { freePorts } from "./kernel";

/** A Python whose Jupyter has the classic Notebook server, or null. */
export function findNotebookPython(): string | null {
  const python = findJupyterPython();
  if (!python) return null;
  return spawnSync(python, ["-c", "import notebook.notebookapp"]).status === 0 ? python : null;
}

export interface NotebookServer {
  /** e.g. http://127.0.0.1:41234/ */
  url: string;
  /** The process of the kernel with this id (from the page's Jupyter.notebook.kernel.id), or null. */
  kernelPid(kernelId: string): number | null;
  stop(): Promise<void>;
}

/** Starts `jupyter notebook` serving `root`; the kernel's environment gets `env` on top of this process's. */
export async function startNotebookServer(root: string, env: NodeJS.ProcessEnv = {}): Promise<NotebookServer> {
  const python = findNotebookPython();
  if (!python) throw new Error("startNotebookServer: no Python with Jupyter's classic notebook (Debian: apt-get install jupyter-notebook)");
  const home = mkdtempSync(join(tmpdir(), "course-jupyter-"));
  installKernel(join(home, "prefix"));
  const [port] = await freePorts(1);
  const child: ChildProcess = spawn(python, [
    "-m", "notebook", "--no-browser", "--allow-root", "--ip", "127.0.0.1", "--port", String(port),
    "--NotebookApp.token=", "--NotebookApp.password=", "--notebook-dir", root,
  ], {
    env: {
      ...process.env, ...env,
      JUPYTER_PATH: join(home, "prefix", "share", "jupyter"),
      JUPYTER_CONFIG_DIR: join(home, "config"), JUPYTER_DATA_DIR: join(home, "data"), JUPYTER_RUNTIME_DIR: join(home, "runtime"),
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr!.on("data", (d) => { log = (log + String(d)).slice(-8000); });
  const url = `http://127.0.0.1:${port}/`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jupyter notebook exited with ${child.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${url}api`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) {
      child.kill("SIGKILL");
      throw new Error(`jupyter notebook did not answer within 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  const kernelPid = (kernelId: string): number | null => {
    for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`kernel-${kernelId}.json`)) return Number(pid);
      } catch {
        // the process ended while we looked
      }
    }
    return null;
  };

  return {
    url,
    kernelPid,
    async stop() {
      // The server shuts its kernels down on SIGTERM; anything left is killed.
      let kernels: (number | null)[] = [];
      try {
        kernels = readdirSync(join(home, "runtime")).filter((f) => /^kernel-.*\.json$/.test(f)).map((f) => kernelPid(f.slice(7, -5)));
      } catch {
        // no kernel was started
      }
      child.kill("SIGTERM");
      await new Promise((r) => { if (child.exitCode !== null) r(null); else { child.once("exit", r); setTimeout(r, 10_000); } });
      if (child.exitCode === null) child.kill("SIGKILL");
      for (const pid of kernels) if (pid) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
      rmSync(home, { recursive: true, force: true });
    },
  };
}
