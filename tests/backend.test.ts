import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

import { BACKENDS, chooseBackend, type BackendName, type BackendProbe } from "../lib/core/backend";
import { resolvePackageFile } from "../lib/core/paths";
import { ROOT } from "../tools/runner";
import { TSX_CLI } from "./fixtures";

/** Probes that pretend only `working` backends exist; the real activation of wasm/cpu still happens. */
function fakeProbes(working: BackendName[]): Record<BackendName, BackendProbe> {
  const probes = {} as Record<BackendName, BackendProbe>;
  for (const name of BACKENDS) {
    probes[name] = async () => {
      if (!working.includes(name)) return `${name} is missing in this test`;
      // Activate a real backend so that tf.getBackend() is meaningful.
      const tf = await import("@tensorflow/tfjs");
      return (await tf.setBackend(name === "cpu" ? "cpu" : "wasm")) ? null : "failed";
    };
  }
  return probes;
}

describe("chooseBackend", () => {
  it("takes the fastest working backend, in the order GPU, native CPU, wasm, cpu", async () => {
    expect(BACKENDS).toEqual(["tensorflow-gpu", "tensorflow", "wasm", "cpu"]);
    const info = await chooseBackend(undefined, fakeProbes(["wasm", "cpu"]));
    expect(info.name).toBe("wasm");
    expect(info.forced).toBe(false);
    expect(info.skipped.map((s) => s.name)).toEqual(["tensorflow-gpu", "tensorflow"]);
    expect(info.summary).toBe("backend: wasm (fastest available; unavailable: tensorflow-gpu, tensorflow)");
    expect((await chooseBackend(undefined, fakeProbes(["cpu"]))).name).toBe("cpu");
  });

  it("uses a forced backend even when a faster one works", async () => {
    const info = await chooseBackend("cpu", fakeProbes(["wasm", "cpu"]));
    expect(info).toMatchObject({ name: "cpu", tfBackend: "cpu", forced: true, skipped: [] });
  });

  it("fails clearly when the forced backend is unavailable, saying what is missing", async () => {
    await expect(chooseBackend("tensorflow-gpu", fakeProbes(["wasm", "cpu"]))).rejects.toThrow(
      `backend "tensorflow-gpu" was requested but is unavailable: tensorflow-gpu is missing in this test; the native packages download libtensorflow`,
    );
    await expect(chooseBackend(undefined, fakeProbes([]))).rejects.toThrow(/^no TensorFlow.js backend works here: tensorflow-gpu: /);
  });
});

/** Runs initBackend in a fresh process, as a lesson would: the choice is made once per process. */
function initInChild(env: NodeJS.ProcessEnv) {
  const script = `import { initBackend } from "./lib/core/backend";
const a = await initBackend(); const b = await initBackend();
console.log(JSON.stringify({ name: a.name, tf: a.tfBackend, same: a === b }));`;
  const r = spawnSync(process.execPath, [TSX_CLI, "--input-type=module", "-e", script], {
    cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env },
  });
  const json = r.stdout.trim().split("\n").at(-1) ?? "";
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, result: r.status === 0 ? JSON.parse(json) : null };
}

function installed(pkg: string): boolean {
  try {
    resolvePackageFile(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

describe("initBackend (real packages, fresh process)", () => {
  it("picks a backend once, announces it in one line and honours COURSE_BACKEND", () => {
    const auto = initInChild({ COURSE_BACKEND: "" });
    expect(auto.status).toBe(0);
    expect(auto.stdout.split("\n").filter((l) => l.startsWith("backend: "))).toHaveLength(1);
    expect(auto.result.same).toBe(true);
    // Without a native package the fastest choice is wasm.
    if (!installed("@tensorflow/tfjs-node-gpu")) expect(auto.result.name).toBe("wasm");

    for (const name of ["wasm", "cpu"]) {
      const forced = initInChild({ COURSE_BACKEND: name });
      expect(forced.result).toEqual({ name, tf: name, same: true });
      expect(forced.stdout).toContain(`backend: ${name} (requested)`);
    }
  });

  it.skipIf(installed("@tensorflow/tfjs-node-gpu"))("says which package is missing when a native backend is forced", () => {
    const r = initInChild({ COURSE_BACKEND: "tensorflow-gpu" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`backend "tensorflow-gpu" was requested but is unavailable: @tensorflow/tfjs-node-gpu is not installed`);
  });

  it("rejects an unknown COURSE_BACKEND, listing the valid names", () => {
    const r = initInChild({ COURSE_BACKEND: "gpu" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`COURSE_BACKEND must be one of tensorflow-gpu, tensorflow, wasm, cpu; got "gpu"`);
  });
});
