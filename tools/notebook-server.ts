// A private Jupyter server for browser tests: classic Notebook 6, or Jupyter Server (what
// JupyterLab 4 and Notebook 7 run on). The course's kernel is registered in a throwaway prefix
// (so a student's own registration is neither used nor touched), Jupyter's config, data and
// runtime folders are in a temporary directory, no token, bound to 127.0.0.1.
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

/** A Python with Jupyter Server (Debian: python3-jupyter-server), or null. */
export function findJupyterServerPython(): string | null {
  const python = findJupyterPython();
  if (!python) return null;
  return spawnSync(python, ["-c", "import jupyter_server.serverapp"]).status === 0 ? python : null;
}

export interface ServerOptions {
  /** "notebook": classic Notebook 6 (the default); "jupyter-server": Jupyter Server with no frontend of its own. */
  app?: "notebook" | "jupyter-server";
  /** A folder the server also serves under /static/ (a frontend page built for the test). */
  staticDir?: string;
}

export interface NotebookServer {
  /** e.g. http://127.0.0.1:41234/ */
  url: string;
  /** The process of the kernel with this id (from the page's Jupyter.notebook.kernel.id), or null. */
  kernelPid(kernelId: string): number | null;
  stop(): Promise<void>;
}

/** Starts a Jupyter server on `root`; the kernel's environment gets `env` on top of this process's. */
export async function startNotebookServer(root: string, env: NodeJS.ProcessEnv = {}, options: ServerOptions = {}): Promise<NotebookServer> {
  const app = options.app ?? "notebook";
  const python = app === "notebook" ? findNotebookPython() : findJupyterServerPython();
  if (!python) {
    throw new Error(app === "notebook"
      ? "startNotebookServer: no Python with Jupyter's classic notebook (Debian: apt-get install jupyter-notebook)"
      : "startNotebookServer: no Python with Jupyter Server (Debian: apt-get install python3-jupyter-server)");
  }
  const home = mkdtempSync(join(tmpdir(), "course-jupyter-"));
  installKernel(join(home, "prefix"));
  const [port] = await freePorts(1);
  const settings = app === "notebook"
    ? ["-m", "notebook", "--NotebookApp.token=", "--NotebookApp.password=", "--notebook-dir", root]
    // The test's page is served as a static file, so no page of the server's hands it an XSRF cookie.
    : ["-m", "jupyter_server", "--ServerApp.token=", "--ServerApp.password=", `--ServerApp.root_dir=${root}`, "--ServerApp.disable_check_xsrf=True"];
  if (options.staticDir) settings.push(`--${app === "notebook" ? "NotebookApp" : "ServerApp"}.extra_static_paths=${options.staticDir}`);
  const child: ChildProcess = spawn(python, [...settings, "--no-browser", "--allow-root", "--ip", "127.0.0.1", "--port", String(port)], {
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
    if (child.exitCode !== null) throw new Error(`${app} exited with ${child.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${url}api`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) {
      child.kill("SIGKILL");
      throw new Error(`${app} did not answer within 60 s:\n${log}`);
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
