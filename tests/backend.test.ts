import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { BACKENDS, chooseBackend, describeAdapter, findWebGpuAdapter, isSoftwareAdapter, type BackendName, type BackendProbe } from "../lib/core/backend";
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
  it("takes the fastest working backend, in the order CUDA, WebGPU, native CPU, wasm, cpu", async () => {
    expect(BACKENDS).toEqual(["tensorflow-gpu", "webgpu", "tensorflow", "wasm", "cpu"]);
    const info = await chooseBackend(undefined, fakeProbes(["wasm", "cpu"]));
    expect(info.name).toBe("wasm");
    expect(info.forced).toBe(false);
    expect(info.skipped.map((s) => s.name)).toEqual(["tensorflow-gpu", "webgpu", "tensorflow"]);
    expect(info.summary).toBe("backend: wasm (fastest available; unavailable: tensorflow-gpu, webgpu, tensorflow)");
    expect((await chooseBackend(undefined, fakeProbes(["cpu"]))).name).toBe("cpu");
  });

  it("tells the probe whether the backend was asked for by name", async () => {
    const asked: boolean[] = [];
    const probes = fakeProbes(["wasm"]);
    const wasm = probes.wasm;
    probes.wasm = async (forced) => {
      asked.push(forced);
      return wasm(forced);
    };
    await chooseBackend(undefined, probes);
    await chooseBackend("wasm", probes);
    expect(asked).toEqual([false, true]);
  });

  it("names a WebGPU adapter and tells a software one (a CPU posing as a GPU) from hardware", () => {
    const llvmpipe = { vendor: "mesa", architecture: "software", description: "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)" };
    expect(describeAdapter(llvmpipe)).toBe("mesa, software: llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)");
    expect(isSoftwareAdapter(llvmpipe)).toBe(true);
    expect(isSoftwareAdapter({ vendor: "google", architecture: "", description: "SwiftShader Device (Subzero)" })).toBe(true);
    const apple = { vendor: "apple", architecture: "metal-3", description: "" };
    expect(describeAdapter(apple)).toBe("apple, metal-3");
    expect(isSoftwareAdapter(apple)).toBe(false);
    expect(isSoftwareAdapter(apple, true)).toBe(true); // a fallback adapter is software by definition
    expect(isSoftwareAdapter({ vendor: "nvidia", architecture: "ada", description: "NVIDIA GeForce RTX 4070" })).toBe(false);
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
    expect(r.stderr).toContain(`COURSE_BACKEND must be one of tensorflow-gpu, webgpu, tensorflow, wasm, cpu; got "gpu"`);
  });
});

describe("webgpu (Dawn's Node binding)", async () => {
  it("lib never reads a tensor synchronously, which webgpu cannot do in Node.js", () => {
    const files = (readdirSync(join(ROOT, "lib"), { recursive: true }) as string[]).filter((f) => f.endsWith(".ts"));
    const sync = files.flatMap((f) => readFileSync(join(ROOT, "lib", f), "utf8").split("\n")
      .map((line, i) => ({ where: `lib/${f}:${i + 1}`, line }))
      .filter(({ line }) => /\.(dataSync|arraySync|bufferSync)\(/.test(line) && !/^\s*(\/\/|\*)/.test(line)));
    expect(files.length).toBeGreaterThan(20);
    expect(sync.map((s) => s.where)).toEqual([]);
  });

  const adapter = await findWebGpuAdapter();
  const reason = "unavailable" in adapter ? adapter.unavailable : "";
  if (reason) console.log(`webgpu tests skipped: ${reason}`);

  it.runIf(!reason)("is forced by COURSE_BACKEND=webgpu, and its one line names the adapter", () => {
    const r = initInChild({ COURSE_BACKEND: "webgpu" });
    expect(r.result).toEqual({ name: "webgpu", tf: "webgpu", same: true });
    expect(r.stdout).toContain(`backend: webgpu on ${(adapter as { device: string }).device} (requested)`);
  });

  it.runIf(!reason && (adapter as { software?: boolean }).software)("is never chosen automatically on a software adapter, which says why", () => {
    const r = initInChild({ COURSE_BACKEND: "" });
    expect(r.result.name).not.toBe("webgpu");
    expect(r.stdout).toMatch(/^backend: \S+ \(fastest available; unavailable: [^)]*webgpu/m);
  });

  it.runIf(reason !== "")("without an adapter, forcing it fails saying why", () => {
    const r = initInChild({ COURSE_BACKEND: "webgpu" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`backend "webgpu" was requested but is unavailable: ${reason}`);
  });
});

describe("tfjs-node on Node 23 and later", () => {
  it("gets back util's removed type tests, with their old meaning, and nothing else of util changes", () => {
    // Run in a fresh process where three are missing (all are on Node 23+; deleted by hand on older Nodes).
    const script = [
      `const util = require("node:util");`,
      `for (const k of ["isNullOrUndefined", "isArray", "isNumber"]) delete util[k];`,
      `const before = new Set(Object.keys(util));`,
      `import(${JSON.stringify(join(ROOT, "lib", "core", "backend.ts"))}).then(({ restoreRemovedUtil }) => {`,
      `  const kept = util.inspect; restoreRemovedUtil();`,
      `  const added = Object.keys(util).filter((k) => !before.has(k));`,
      `  console.log(JSON.stringify([util.isNullOrUndefined(null), util.isNullOrUndefined(0), util.isArray([]), util.isNumber("1"), util.inspect === kept, added]));`,
      `});`,
    ].join("\n");
    const r = spawnSync(process.execPath, [TSX_CLI, "-e", script], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const [nullTest, zeroTest, arrayTest, numberTest, inspectKept, added] = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    expect([nullTest, zeroTest, arrayTest, numberTest, inspectKept]).toEqual([true, false, true, false, true]);
    // The three deleted ones come back, and whatever else this Node lacks of util's old type tests; nothing more.
    expect(added).toEqual(expect.arrayContaining(["isNullOrUndefined", "isArray", "isNumber"]));
    const oldTypeTests = ["isNullOrUndefined", "isNull", "isUndefined", "isArray", "isBoolean", "isNumber", "isString", "isFunction", "isObject"];
    expect(added.filter((k: string) => !oldTypeTests.includes(k))).toEqual([]);
  });
});
