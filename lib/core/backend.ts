// Chooses the TensorFlow.js backend once, at start: the fastest that works here, in the
// order below, or the one named by COURSE_BACKEND. Every later tensor op runs on it, so
// the same lesson code runs on a GPU, on native CPU, on wasm or in plain JavaScript.
import nodeUtil from "node:util";

import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

import { installWasmKernels } from "./wasmKernels";
import { inKernel } from "./display";
import { describeScale } from "./scale";
import { checkFunction, shown } from "./checks";

// Attention's batched matmuls on wasm go to the course's SIMD kernel instead of a scalar loop,
// and clones share data (COURSE_WASM_KERNELS=0 keeps tfjs's own kernels, for comparison in benchmarks).
if (process.env.COURSE_WASM_KERNELS !== "0") installWasmKernels();

/** Fastest first. */
export const BACKENDS = ["tensorflow-gpu", "webgpu", "tensorflow", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  name: BackendName;
  /** TensorFlow.js's own name for it ("tensorflow", "webgpu", "wasm", "cpu"). */
  tfBackend: string;
  /** On webgpu, the adapter it runs on: "mesa, software: llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)". */
  device?: string;
  /** Whether COURSE_BACKEND (or the caller) asked for it, rather than the automatic choice. */
  forced: boolean;
  /** Why each faster backend was passed over. */
  skipped: { name: BackendName; reason: string }[];
  /** The one line announcing the choice. */
  summary: string;
}

/**
 * Tries to activate a backend; resolves to null on success or to why it is unavailable.
 * `forced`: the backend was asked for by name (a software GPU is then accepted).
 */
export type BackendProbe = (forced: boolean) => Promise<string | null>;

const NATIVE_HELP = "the native packages download libtensorflow when installed (see README, Backends)";

/** tf.setBackend throws for a name nobody registered; here that just means "no". */
async function activate(name: string): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/** Why importing an optional package failed, in a few words. */
function importFailure(pkg: string, err: unknown): string {
  const message = (err as Error).message.split("\n")[0];
  return /Cannot find (module|package)/.test(message) ? `${pkg} is not installed` : `${pkg} failed to load: ${message}`;
}

/** Loads a native tfjs binding; whether it really took over is read from tf itself. */
async function loadNative(pkg: string): Promise<string | null> {
  restoreRemovedUtil();
  try {
    await import(pkg);
  } catch (err) {
    return importFailure(pkg, err);
  }
  if (!(await activate("tensorflow"))) return `${pkg} loaded but did not register the "tensorflow" backend`;
  return null;
}

/**
 * Node 23 removed util's old type tests (util.isNullOrUndefined and kin), which tfjs-node 4.22,
 * the last release, still calls (the fix, tensorflow/tfjs#8425, is merged but unreleased). Put
 * back, with their documented meaning, only those that are missing, before tfjs-node loads.
 */
export function restoreRemovedUtil(): void {
  const util = nodeUtil as unknown as Record<string, unknown>;
  const tests: Record<string, (v: unknown) => boolean> = {
    isNullOrUndefined: (v) => v === null || v === undefined, isNull: (v) => v === null, isUndefined: (v) => v === undefined,
    isArray: Array.isArray, isBoolean: (v) => typeof v === "boolean", isNumber: (v) => typeof v === "number", isString: (v) => typeof v === "string",
    isFunction: (v) => typeof v === "function", isObject: (v) => v !== null && typeof v === "object",
  };
  for (const [name, test] of Object.entries(tests)) if (typeof util[name] !== "function") util[name] = test;
}

/** A NodeJSKernelBackend tells whether libtensorflow found a CUDA device. */
function usesGpu(): boolean {
  const backend = tf.backend() as unknown as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean };
  return tf.getBackend() === "tensorflow" && backend.isUsingGpuDevice === true;
}

/** The WebGPU adapter tfjs-backend-webgpu runs on, once the webgpu probe has succeeded. */
let webgpuDevice: string | undefined;

interface AdapterInfo { vendor: string; architecture: string; description: string }

/** How an adapter names itself, in one line. */
export function describeAdapter(info: AdapterInfo): string {
  return [info.vendor, info.architecture].filter(Boolean).join(", ") + (info.description ? `: ${info.description}` : "");
}

/** A CPU rasteriser posing as a GPU (Mesa's llvmpipe, SwiftShader, WARP): slower than wasm for training. */
export function isSoftwareAdapter(info: AdapterInfo, isFallback = false): boolean {
  return isFallback || info.architecture === "software" || /llvmpipe|lavapipe|swiftshader|microsoft basic render/i.test(info.description);
}

export interface WebGpuAdapter {
  /** How the adapter names itself: "mesa, software: llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)". */
  device: string;
  software: boolean;
}

let dawnAdapter: WebGpuAdapter | undefined;

/**
 * The WebGPU adapter Dawn's Node binding (the optional `webgpu` package: Vulkan on Linux, Metal
 * on a Mac, D3D12 on Windows) would give this process, or why there is none. Loads no tfjs code.
 */
export async function findWebGpuAdapter(): Promise<WebGpuAdapter | { unavailable: string }> {
  if (dawnAdapter) return dawnAdapter;
  let dawn: typeof import("webgpu");
  try {
    dawn = await import("webgpu");
  } catch (err) {
    return { unavailable: importFailure("the webgpu package", err) };
  }
  const gpu = dawn.create([]);
  const found = await gpu.requestAdapter();
  if (!found) return { unavailable: "Dawn found no WebGPU adapter (no Vulkan, Metal or D3D12 device it accepts)" };
  const fallback = (found as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const adapter = { device: describeAdapter(found.info), software: isSoftwareAdapter(found.info, fallback) };
  // tfjs-backend-webgpu reads Dawn's globals (GPUBufferUsage, …) and navigator.gpu when it registers.
  Object.assign(globalThis, dawn.globals);
  Object.defineProperty(globalThis, "navigator", { value: { ...((globalThis as { navigator?: object }).navigator ?? {}), gpu }, configurable: true, writable: true });
  dawnAdapter = adapter;
  return adapter;
}

/** WebGPU on a hardware adapter, or on a software one when asked for by name. */
async function probeWebGpu(forced: boolean): Promise<string | null> {
  const adapter = await findWebGpuAdapter();
  if ("unavailable" in adapter) return adapter.unavailable;
  if (adapter.software && !forced) return `only a software adapter (${adapter.device}), slower than wasm; COURSE_BACKEND=webgpu forces it`;
  try {
    await import("@tensorflow/tfjs-backend-webgpu");
  } catch (err) {
    return importFailure("@tensorflow/tfjs-backend-webgpu", err);
  }
  if (!(await activate("webgpu"))) return `tfjs-backend-webgpu did not start on ${adapter.device}`;
  webgpuDevice = adapter.device;
  return null;
}

/** Whether tensors live on a GPU (webgpu, or native TensorFlow with a CUDA device), where reading them back stalls it. */
export function activeBackendIsGpu(): boolean {
  return tf.getBackend() === "webgpu" || usesGpu();
}

export const defaultProbes: Record<BackendName, BackendProbe> = {
  "tensorflow-gpu": async () => {
    const missing = await loadNative("@tensorflow/tfjs-node-gpu");
    if (missing) return missing;
    return usesGpu() ? null : "@tensorflow/tfjs-node-gpu found no CUDA device (it needs CUDA 11.2 and cuDNN 8.1)";
  },
  webgpu: probeWebGpu,
  // The GPU build runs on CPU when there is no device; the CPU build (tfjs-node) also works if installed.
  tensorflow: async () => {
    if (tf.findBackend("tensorflow") && (await activate("tensorflow"))) return null;
    const missing = await loadNative("@tensorflow/tfjs-node");
    // Where only the danfojs alias of plain tfjs sits at that name, nothing registers "tensorflow".
    return missing && /did not register/.test(missing) ? "@tensorflow/tfjs-node is not installed" : missing;
  },
  wasm: async () => {
    // The wasm module (Emscripten) installs process-wide handlers that re-throw any uncaught
    // exception or unhandled rejection, which kills a notebook kernel over a forgotten `await`.
    // Removing them restores what was there before: tslab's handlers print the error in a
    // kernel, and Node's defaults end a script.
    const events = ["uncaughtException", "unhandledRejection"];
    const emitter = process as unknown as NodeJS.EventEmitter;
    const before = events.map((e) => new Set(emitter.listeners(e)));
    const ok = await activate("wasm");
    events.forEach((e, i) => {
      for (const listener of emitter.listeners(e)) if (!before[i].has(listener)) emitter.removeListener(e, listener as (...args: unknown[]) => void);
    });
    return ok ? null : "the wasm backend failed to initialise";
  },
  cpu: async () => {
    if (!(await activate("cpu"))) return "the cpu backend failed to initialise";
    // Its first use would print a banner recommending tfjs-node; the choice is already announced.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
    return null;
  },
};

export function parseBackendName(value: string, where = "backend"): BackendName {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`${where} must be one of ${BACKENDS.join(", ")}; got ${shown(value)}`);
}

/**
 * Activates `requested`, or else the first backend in BACKENDS order that works.
 * Forcing one that does not work is an error saying what is missing.
 */
export async function chooseBackend(
  requested: BackendName | undefined,
  probes: Record<BackendName, BackendProbe> = defaultProbes,
): Promise<BackendInfo> {
  // "" or a misspelling must not pass for "no preference" (that would pick one silently).
  if (requested !== undefined) parseBackendName(requested, "chooseBackend: requested");
  const candidates = requested !== undefined ? [requested] : BACKENDS;
  const skipped: BackendInfo["skipped"] = [];
  for (const name of candidates) {
    checkFunction("chooseBackend", `probes["${name}"]`, probes[name]);
    const reason = await probes[name](requested !== undefined);
    if (reason === null) {
      await tf.ready();
      const why = requested ? "requested" : "fastest available";
      const passed = skipped.length ? `; unavailable: ${skipped.map((s) => s.name).join(", ")}` : "";
      const device = name === "webgpu" ? webgpuDevice : undefined;
      const on = device ? ` on ${device}` : "";
      return { name, tfBackend: tf.getBackend(), device, forced: requested !== undefined, skipped, summary: `backend: ${name}${on} (${why}${passed})` };
    }
    skipped.push({ name, reason });
  }
  throw new Error(requested
    ? `backend "${requested}" was requested but is unavailable: ${skipped[0].reason}${requested.startsWith("tensorflow") ? `; ${NATIVE_HELP}` : ""}`
    : `no TensorFlow.js backend works here: ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`);
}

let chosen: Promise<BackendInfo> | undefined;

/**
 * Picks the backend once per process (COURSE_BACKEND, or automatic) and announces it in one
 * line (in a notebook, the lesson's scale in another). Later calls return the same choice.
 */
export function initBackend(log: (line: string) => void = console.log): Promise<BackendInfo> {
  checkFunction("initBackend", "log", log);
  if (!chosen) {
    const env = process.env.COURSE_BACKEND;
    const requested = env ? parseBackendName(env, "COURSE_BACKEND") : undefined;
    chosen = chooseBackend(requested).then((info) => {
      log(info.summary);
      // In a notebook, also which scale the lesson runs at and how to change it.
      if (inKernel()) log(describeScale());
      return info;
    });
    chosen.catch(() => { chosen = undefined; });
  }
  return chosen;
}
