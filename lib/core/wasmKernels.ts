// The course's kernels for tfjs's wasm backend (kernels/course_kernels.c), found by profiling a
// training step, and the tfjs kernels that call them.
//
// The module is instantiated on tfjs's own wasm memory, once per backend (each worker thread has
// its own): a tensor's data is already where the kernel reads it, and an output is allocated by
// tfjs and written in place. Nothing is copied and nothing is allocated in JavaScript per call,
// which matters as much as the arithmetic: copies of every intermediate kept V8's garbage
// collector busy on the core a second training thread needs.
//
// Replaced or added, on wasm only:
// - BatchMatMul: tfjs takes XNNPACK's path (~20–30 GFLOP/s here) only for a single untransposed
//   2-D product; QKᵀ, A·V and all their gradients fall to a scalar loop (~1–2 GFLOP/s). Every
//   float32 product goes to the course's kernel instead, which also beats XNNPACK on the linear
//   layers' 2-D products (25–45 GFLOP/s with fused multiply-add, ~20–35 without, on an EPYC).
// - Identity and same-type Cast: tfjs clones every tensor a kernel saves for its gradient, and
//   wasm's Identity copies the data (~360 copies a step). Tensors are immutable, so a clone can
//   share the data and count one more reference, as tfjs's cpu backend does.
// - Fused LayerNorm, GELU, causal softmax and cross-entropy with their backward passes
//   (FUSED_KERNELS), each one pass in place of a chain of small ops; lib/gpt/ops.ts uses them
//   where they are registered for the active backend and tfjs's composites everywhere else.
//
// Relaxed SIMD's fused multiply-add is used where this engine validates it (Node 22 and later, and
// Node 20 once its flag is set here); COURSE_RELAXED_SIMD=0 keeps the plain SIMD build.
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";

import { projectRoot } from "./paths";

/** The part of the WebAssembly API used here (Node's type definitions for ES2022 lack it). */
export interface WasmApi {
  Module: {
    new (bytes: Uint8Array): object;
    imports(module: object): { module: string; name: string; kind: string }[];
    exports(module: object): { name: string; kind: string }[];
  };
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** What each kernel source exports (npm run build:kernels exports these and the stack pointer). */
export const KERNEL_EXPORTS: Record<string, string[]> = {
  course_kernels: [
    "matmul_batched", "transpose_batched", "layer_norm", "layer_norm_backward", "gelu", "gelu_backward",
    "causal_softmax", "causal_softmax_backward", "cross_entropy", "cross_entropy_backward",
  ],
};

/**
 * Why a kernel binary could not safely run inside tfjs's memory (empty if it can): it must import
 * that memory and nothing else, bring no data to write into it, and export its stack pointer so
 * the loader can place any stack in memory it allocated.
 */
export function kernelProblems(bytes: Uint8Array): string[] {
  const problems: string[] = [];
  const module = new wasmApi.Module(bytes);
  const imports = wasmApi.Module.imports(module).map((i) => `${i.module}.${i.name} (${i.kind})`);
  if (imports.join() !== "env.memory (memory)") problems.push(`imports ${imports.join(", ") || "nothing"}; expected only env.memory`);
  const exported = new Set(wasmApi.Module.exports(module).map((e) => e.name));
  if (!exported.has("__stack_pointer")) problems.push("does not export __stack_pointer");
  // Section ids: 11 is data, 12 its count. Each section is an id byte and a LEB128 size.
  for (let at = 8; at < bytes.length; ) {
    const id = bytes[at++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      size |= (byte & 127) << shift;
      if (!(byte & 128)) break;
    }
    if (id === 11 || id === 12) problems.push("has a data section, which would be written into tfjs's memory");
    at += size;
  }
  return problems;
}

/** The probe of wasm-feature-detect: a function using f32x4.relaxed_madd's final opcode. */
const RELAXED_PROBE = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11);
const SIMD_PROBE = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11);

/**
 * Whether this engine runs relaxed SIMD. Node 22+ does by default; Node 20 has it behind a V8
 * flag, which is set here (V8 flags are per process, so worker threads see it too).
 */
export function relaxedSimdAvailable(): boolean {
  if (wasmApi.validate(RELAXED_PROBE)) return true;
  if (process.versions.node.startsWith("20.")) setFlagsFromString("--experimental-wasm-relaxed-simd");
  return wasmApi.validate(RELAXED_PROBE);
}

/** Which build of the kernels runs: "relaxed" (fused multiply-add) where available, else "simd". */
export function kernelVariant(): "relaxed" | "simd" {
  return process.env.COURSE_RELAXED_SIMD !== "0" && relaxedSimdAvailable() ? "relaxed" : "simd";
}

/** SIMD and relaxed SIMD as this engine validates them, and which kernel build runs: for the backend line and benchmarks. */
export function wasmFeatures(): string {
  const simd = wasmApi.validate(SIMD_PROBE);
  return `wasm SIMD ${simd ? "yes" : "no"}, relaxed SIMD ${relaxedSimdAvailable() ? "yes" : "no"}; course kernels: ${kernelVariant() === "relaxed" ? "relaxed SIMD (fused multiply-add)" : "SIMD"}`;
}

/** The kernels' functions (pointers are byte offsets in tfjs's wasm memory). */
export interface KernelExports {
  matmul_batched(a: number, b: number, c: number, batch: number, M: number, K: number, N: number, strideA: number, strideB: number, panel: number): void;
  transpose_batched(src: number, dst: number, batch: number, rows: number, cols: number): void;
  layer_norm(x: number, w: number, b: number, y: number, rows: number, cols: number, eps: number): void;
  layer_norm_backward(dy: number, x: number, w: number, dx: number, dw: number, db: number, rows: number, cols: number, eps: number): void;
  gelu(x: number, y: number, n: number): void;
  gelu_backward(dy: number, x: number, dx: number, n: number): void;
  causal_softmax(s: number, p: number, batch: number, T: number, scale: number): void;
  causal_softmax_backward(dp: number, p: number, ds: number, batch: number, T: number, scale: number): void;
  cross_entropy(z: number, t: number, N: number, V: number): number;
  cross_entropy_backward(z: number, t: number, dz: number, N: number, V: number, dloss: number): void;
  __stack_pointer: { value: number };
}

/** What the kernels need of tfjs's wasm backend (BackendWasm). */
interface WasmBackend {
  wasm: { asm: { memory: object }; _malloc(bytes: number): number; _free(offset: number): void; HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(dataId: tf.DataId): { refCount: number; memoryOffset: number } | undefined };
}

/** Stack for the kernels, allocated in tfjs's memory (they use none today; this keeps it safe if they do). */
const STACK_BYTES = 64 * 1024;

const modules = new Map<string, object>();
const instances = new WeakMap<object, KernelExports>();

function compiledKernels(variant: "relaxed" | "simd"): object {
  let module = modules.get(variant);
  if (!module) {
    const path = join(projectRoot(), "lib", "core", "kernels", variant === "relaxed" ? "course_kernels.relaxed.wasm" : "course_kernels.wasm");
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new Error(`course kernels: cannot read ${path} (${(err as Error).message}); rebuild them with npm run build:kernels`);
    }
    modules.set(variant, (module = new wasmApi.Module(bytes)));
  }
  return module;
}

/** The kernels, instantiated on this backend's memory (once per backend). */
function kernelsFor(backend: WasmBackend): KernelExports {
  let k = instances.get(backend);
  if (!k) {
    const instance = new wasmApi.Instance(compiledKernels(kernelVariant()), { env: { memory: backend.wasm.asm.memory } });
    k = instance.exports as unknown as KernelExports;
    const stack = backend.wasm._malloc(STACK_BYTES + 16);
    k.__stack_pointer.value = (stack + STACK_BYTES) & ~15; // grows down; 16-byte aligned
    instances.set(backend, k);
  }
  return k;
}

/** Where a tensor's data starts in the backend's memory. */
function offsetOf(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
}

/** A new float32 output of `shape` and where its data starts. */
function output(backend: WasmBackend, shape: number[]): { info: tf.TensorInfo; at: number } {
  const info = backend.makeOutput(shape, "float32");
  return { info, at: offsetOf(backend, info) };
}

/** The fused kernels this module registers for wasm, by tfjs kernel name (see lib/gpt/ops.ts for their meaning). */
export const FUSED_KERNELS = {
  layerNorm: "CourseLayerNorm",
  layerNormGrad: "CourseLayerNormGrad",
  gelu: "CourseGelu",
  geluGrad: "CourseGeluGrad",
  causalSoftmax: "CourseCausalSoftmax",
  causalSoftmaxGrad: "CourseCausalSoftmaxGrad",
  crossEntropy: "CourseCrossEntropy",
  crossEntropyGrad: "CourseCrossEntropyGrad",
} as const;

type KernelBody = (inputs: Record<string, tf.TensorInfo>, attrs: Record<string, number>, backend: WasmBackend, k: KernelExports) => tf.TensorInfo | tf.TensorInfo[];

function registerFused(name: string, body: KernelBody): void {
  tf.registerKernel({
    kernelName: name,
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as WasmBackend;
      return body(inputs as Record<string, tf.TensorInfo>, (attrs ?? {}) as Record<string, number>, b, kernelsFor(b));
    },
  });
}

function registerFusedKernels(): void {
  registerFused(FUSED_KERNELS.layerNorm, ({ x, weight, bias }, { eps }, backend, k) => {
    const cols = x.shape[x.shape.length - 1];
    const y = output(backend, x.shape);
    k.layer_norm(offsetOf(backend, x), offsetOf(backend, weight), bias ? offsetOf(backend, bias) : 0, y.at, tf.util.sizeFromShape(x.shape) / cols, cols, eps);
    return y.info;
  });
  registerFused(FUSED_KERNELS.layerNormGrad, ({ dy, x, weight, bias }, { eps }, backend, k) => {
    const cols = x.shape[x.shape.length - 1];
    const dx = output(backend, x.shape), dw = output(backend, weight.shape);
    const db = bias ? output(backend, bias.shape) : null;
    k.layer_norm_backward(offsetOf(backend, dy), offsetOf(backend, x), offsetOf(backend, weight), dx.at, dw.at, db ? db.at : 0, tf.util.sizeFromShape(x.shape) / cols, cols, eps);
    return db ? [dx.info, dw.info, db.info] : [dx.info, dw.info];
  });
  registerFused(FUSED_KERNELS.gelu, ({ x }, _, backend, k) => {
    const y = output(backend, x.shape);
    k.gelu(offsetOf(backend, x), y.at, tf.util.sizeFromShape(x.shape));
    return y.info;
  });
  registerFused(FUSED_KERNELS.geluGrad, ({ dy, x }, _, backend, k) => {
    const dx = output(backend, x.shape);
    k.gelu_backward(offsetOf(backend, dy), offsetOf(backend, x), dx.at, tf.util.sizeFromShape(x.shape));
    return dx.info;
  });
  registerFused(FUSED_KERNELS.causalSoftmax, ({ scores }, { scale }, backend, k) => {
    const T = scores.shape[scores.shape.length - 1];
    const p = output(backend, scores.shape);
    k.causal_softmax(offsetOf(backend, scores), p.at, tf.util.sizeFromShape(scores.shape) / (T * T), T, scale);
    return p.info;
  });
  registerFused(FUSED_KERNELS.causalSoftmaxGrad, ({ dp, p }, { scale }, backend, k) => {
    const T = p.shape[p.shape.length - 1];
    const ds = output(backend, p.shape);
    k.causal_softmax_backward(offsetOf(backend, dp), offsetOf(backend, p), ds.at, tf.util.sizeFromShape(p.shape) / (T * T), T, scale);
    return ds.info;
  });
  // A target outside the vocabulary would read past its row: refused here, before any arithmetic.
  const checkTargets = (backend: WasmBackend, targets: tf.TensorInfo, V: number) => {
    const ids = new Int32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, targets), tf.util.sizeFromShape(targets.shape));
    const bad = ids.findIndex((t) => !(t >= 0 && t < V));
    if (bad >= 0) throw new Error(`crossEntropy: targets[${bad}] is ${ids[bad]}; a target must be a class index in [0, ${V})`);
  };
  registerFused(FUSED_KERNELS.crossEntropy, ({ logits, targets }, _, backend, k) => {
    const [N, V] = logits.shape;
    checkTargets(backend, targets, V);
    const loss = output(backend, []);
    const value = k.cross_entropy(offsetOf(backend, logits), offsetOf(backend, targets), N, V);
    new Float32Array(backend.wasm.HEAPU8.buffer, loss.at, 1)[0] = value;
    return loss.info;
  });
  registerFused(FUSED_KERNELS.crossEntropyGrad, ({ dy, logits, targets }, _, backend, k) => {
    const [N, V] = logits.shape;
    const dz = output(backend, logits.shape);
    const dloss = new Float32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, dy), 1)[0];
    k.cross_entropy_backward(offsetOf(backend, logits), offsetOf(backend, targets), dz.at, N, V, dloss);
    return dz.info;
  });
}

let installed = false;

/**
 * Replaces the wasm backend's BatchMatMul (float32 products to the course's kernel), Identity and
 * same-type Cast (shared data instead of a copy), and registers the fused kernels. Safe to call
 * more than once.
 */
export function installWasmKernels(): void {
  const original = tf.getKernel("BatchMatMul", "wasm");
  const identity = tf.getKernel("Identity", "wasm");
  const cast = tf.getKernel("Cast", "wasm");
  if (installed || !original || !identity || !cast) return;
  installed = true;
  /** `x` itself, one more reference counted: freed when the last tensor sharing it is disposed. */
  const share = (x: tf.TensorInfo, backend: unknown): tf.TensorInfo | null => {
    const data = (backend as WasmBackend).dataIdMap.get(x.dataId);
    if (x.dtype === "string" || !data) return null;
    data.refCount += 1;
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel({ ...identity, kernelFunc: (args) => share((args.inputs as { x: tf.TensorInfo }).x, args.backend) ?? identity.kernelFunc(args) });
  // A clone's gradient is a cast to float32, usually of a float32 tensor: shared the same way.
  tf.unregisterKernel("Cast", "wasm");
  tf.registerKernel({
    ...cast,
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      const same = x.dtype === (args.attrs as { dtype: tf.DataType }).dtype;
      return (same && share(x, args.backend)) || cast.kernelFunc(args);
    },
  });
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({ ...original, kernelFunc: (args) => batchMatMul(args) ?? original.kernelFunc(args) });
  registerFusedKernels();
}

/** op(A[b]) · op(B[b]) by the course's kernel, or null for the cases left to tfjs. */
function batchMatMul(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown }): tf.TensorInfo | null {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const outer = (t: tf.TensorInfo) => t.shape.slice(0, -2);
  const batchOf = (t: tf.TensorInfo) => tf.util.sizeFromShape(outer(t));
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) return null;
  // Broadcasting other than "equal batch shapes, or one operand a single matrix" is left to tfjs.
  if (outer(a).join() !== outer(b).join() && batchOf(a) !== 1 && batchOf(b) !== 1) return null;
  const backend = args.backend as WasmBackend;
  const k = kernelsFor(backend);
  const dims = (t: tf.TensorInfo) => [t.shape[t.shape.length - 2], t.shape[t.shape.length - 1]];
  const [ar, ac] = dims(a), [br, bc] = dims(b);
  const [M, K, N] = [transposeA ? ac : ar, transposeA ? ar : ac, transposeB ? br : bc];
  const batch = Math.max(batchOf(a), batchOf(b));
  const out = output(backend, [...tf.broadcast_util.assertAndGetBroadcastShape(outer(a), outer(b)), M, N]);
  // A transposed operand is transposed once into scratch in tfjs's memory: O(size) against the product's O(M·K·N).
  const scratch: number[] = [];
  const untransposed = (t: tf.TensorInfo, transpose: boolean, rows: number, cols: number): number => {
    if (!transpose) return offsetOf(backend, t);
    const at = backend.wasm._malloc(tf.util.sizeFromShape(t.shape) * 4);
    scratch.push(at);
    k.transpose_batched(offsetOf(backend, t), at, batchOf(t), rows, cols);
    return at;
  };
  try {
    const aAt = untransposed(a, transposeA, ar, ac);
    const bAt = untransposed(b, transposeB, br, bc);
    const panel = backend.wasm._malloc(K * 8 * 4); // one packed 8-column panel of B at a time
    scratch.push(panel);
    k.matmul_batched(aAt, bAt, out.at, batch, M, K, N, batchOf(a) === 1 ? 0 : M * K, batchOf(b) === 1 ? 0 : K * N, panel);
  } finally {
    for (const at of scratch) backend.wasm._free(at);
  }
  return out.info;
}

/**
 * Copies float32 tensor `t`'s values into `out` from index `at`: on wasm straight from the
 * backend's memory, so that nothing is allocated; other backends read asynchronously, as webgpu requires.
 */
export async function readInto(t: tf.Tensor, out: Float32Array, at: number): Promise<void> {
  const name = tf.getBackend();
  if (name === "wasm") {
    const backend = tf.backend() as unknown as WasmBackend;
    out.set(new Float32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, t), t.size), at);
  } else out.set((await t.data()) as Float32Array, at);
}

/** A float32 tensor of `values`, which may change afterwards: wasm copies them into its memory at once, other backends get a copy. */
export function tensorOf(values: Float32Array, shape: number[]): tf.Tensor {
  return tf.tensor(tf.getBackend() === "wasm" ? values : values.slice(), shape, "float32");
}
