// The course's replacements for two of tfjs's wasm kernels, found by profiling a training step.
//
// BatchMatMul: tfjs's wasm backend takes XNNPACK's fast path (~15–30 GFLOP/s) only for a single
// untransposed 2-D product; QKᵀ, A·V and all their gradients are batched or transposed and fall
// to a scalar loop (~1–2 GFLOP/s), about a third of a step. Here the fast case still goes to
// XNNPACK, every other float32 case to the course's own SIMD kernel (kernels/batch_matmul.c),
// which transposes the operands it must, then multiplies.
//
// Identity: tfjs clones every tensor a kernel saves for its gradient, and wasm's Identity copies
// the data (~360 copies a step). Tensors are immutable, so the clone can share the data and
// count one more reference, as tfjs's cpu backend does; so can a cast to the same type (Cast).
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { projectRoot } from "./paths";

/** The part of the WebAssembly API used here (Node's type definitions for ES2022 lack it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export interface WasmApi {
  Module: { new (bytes: Uint8Array): object; imports(module: object): { module: string; name: string }[] };
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface SimdKernel {
  memory: WasmMemory;
  /** First free byte of the module's memory: everything from here on is scratch. */
  heapBase: number;
  matmulBatched(a: number, b: number, c: number, batch: number, M: number, K: number, N: number, strideA: number, strideB: number): void;
  transposeBatched(src: number, dst: number, batch: number, rows: number, cols: number): void;
}

let kernel: SimdKernel | undefined;

function simdKernel(): SimdKernel {
  if (kernel) return kernel;
  const path = join(projectRoot(), "lib", "core", "kernels", "batch_matmul.wasm");
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`batchMatMul: cannot read ${path} (${(err as Error).message}); rebuild it with npm run build:kernels`);
  }
  // (Not named `exports`: the notebook kernel compiles lib/ to CommonJS, where that name is taken.)
  const instance = new wasmApi.Instance(new wasmApi.Module(bytes), {});
  const e = instance.exports as unknown as {
    memory: WasmMemory; __heap_base: { value: number };
    matmul_batched: SimdKernel["matmulBatched"]; transpose_batched: SimdKernel["transposeBatched"];
  };
  return (kernel = { memory: e.memory, heapBase: e.__heap_base.value, matmulBatched: e.matmul_batched, transposeBatched: e.transpose_batched });
}

/** One operand: its values and how to read it as `batch` matrices. */
export interface MatMulOperand {
  values: Float32Array;
  /** Matrices in the batch (1 broadcasts over the other operand's batch). */
  batch: number;
  rows: number;
  cols: number;
  /** Use the transpose of each matrix. */
  transpose: boolean;
}

/**
 * op(A[b]) · op(B[b]) for every b, by the SIMD kernel, where op transposes if asked:
 * row-major output [batch, M, N]. Batches must be equal, or one of them 1 (broadcast).
 */
export function batchMatMulSimd(a: MatMulOperand, b: MatMulOperand): Float32Array {
  const [M, K] = a.transpose ? [a.cols, a.rows] : [a.rows, a.cols];
  const [Kb, N] = b.transpose ? [b.cols, b.rows] : [b.rows, b.cols];
  if (K !== Kb) throw new Error(`batchMatMulSimd: inner sizes differ: A gives ${K}, B gives ${Kb}`);
  for (const [name, o] of [["A", a], ["B", b]] as const) {
    if (o.values.length !== o.batch * o.rows * o.cols) throw new Error(`batchMatMulSimd: ${name} has ${o.values.length} values; batch ${o.batch} × ${o.rows} × ${o.cols} needs ${o.batch * o.rows * o.cols}`);
  }
  if (a.batch !== b.batch && a.batch !== 1 && b.batch !== 1) throw new Error(`batchMatMulSimd: batches ${a.batch} and ${b.batch} do not broadcast`);
  const batch = Math.max(a.batch, b.batch);
  const k = simdKernel();
  // Scratch layout (float offsets): A as given, B as given, A and B untransposed, C.
  const sizes = [a.values.length, b.values.length, a.transpose ? a.values.length : 0, b.transpose ? b.values.length : 0, batch * M * N];
  const offsets: number[] = [];
  let next = Math.ceil(k.heapBase / 16) * 16;
  for (const s of sizes) {
    offsets.push(next);
    next += Math.ceil((s * 4) / 16) * 16; // 16-byte aligned for the vector loads
  }
  if (next > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((next - k.memory.buffer.byteLength) / 65536));
  const heap = new Float32Array(k.memory.buffer);
  heap.set(a.values, offsets[0] / 4);
  heap.set(b.values, offsets[1] / 4);
  let aPtr = offsets[0];
  let bPtr = offsets[1];
  if (a.transpose) k.transposeBatched(aPtr, (aPtr = offsets[2]), a.batch, a.rows, a.cols);
  if (b.transpose) k.transposeBatched(bPtr, (bPtr = offsets[3]), b.batch, b.rows, b.cols);
  k.matmulBatched(aPtr, bPtr, offsets[4], batch, M, K, N, a.batch === 1 ? 0 : M * K, b.batch === 1 ? 0 : K * N);
  return heap.slice(offsets[4] / 4, offsets[4] / 4 + batch * M * N);
}

/** What the replaced kernels need of tfjs's wasm backend (BackendWasm). */
interface WasmBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(dataId: tf.DataId): { refCount: number } | undefined };
}

let installed = false;

/**
 * Replaces the wasm backend's BatchMatMul (batched and transposed float32 products to the SIMD
 * kernel; the single untransposed 2-D product stays on XNNPACK), Identity and same-type Cast
 * (shared data instead of a copy). Safe to call more than once.
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
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
      const batchOf = (t: tf.TensorInfo) => t.shape.slice(0, -2).reduce((p, d) => p * d, 1);
      const plain2d = batchOf(a) === 1 && batchOf(b) === 1 && !transposeA && !transposeB;
      if (plain2d || a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) return original.kernelFunc(args);
      // Broadcasting other than "equal batches, or one of them 1" is left to tfjs.
      const outer = (t: tf.TensorInfo) => t.shape.slice(0, -2);
      if (batchOf(a) !== batchOf(b) && batchOf(a) !== 1 && batchOf(b) !== 1) return original.kernelFunc(args);
      const backend = args.backend as unknown as WasmBackend;
      const operand = (t: tf.TensorInfo, transpose: boolean): MatMulOperand => ({
        values: backend.typedArrayFromHeap(t), batch: batchOf(t), rows: t.shape[t.shape.length - 2], cols: t.shape[t.shape.length - 1], transpose,
      });
      const result = batchMatMulSimd(operand(a, transposeA), operand(b, transposeB));
      const M = transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
      const N = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
      const out = backend.makeOutput([...tf.broadcast_util.assertAndGetBroadcastShape(outer(a), outer(b)), M, N], "float32");
      backend.typedArrayFromHeap(out).set(result);
      return out;
    },
  });
}
