// The course's WebAssembly kernels (lib/core/kernels/course_kernels.c, loaded by
// lib/core/wasmKernels.ts) against references that share none of their code:
// - float64 by the definition of each operation, computed here from the same float32 inputs;
// - central finite differences in float64 of those definitions, for the backward passes;
// - tfjs's composites on the cpu backend, which lib/gpt/ops.ts uses where the kernels are absent.
// Each check runs through tfjs on the wasm backend (the build the loader chose), and both builds
// (plain SIMD and relaxed SIMD) are also instantiated here and called directly.
//
// Tolerances, and why (u = 2⁻²⁴ ≈ 6e-8, float32's unit roundoff):
// - matmul: a K-term float32 dot product in any order, with or without fused multiply-add, is
//   within γ_K·Σ|a_k·b_k| of the exact one (γ_K = K·u/(1 − K·u)); checked entry by entry.
// - elementwise results: 2e-6 relative, a few float32 roundings (~1e-7 each) plus the exp
//   polynomial's ~1e-7 relative error; GELU's tail adds 4·|2z|·u, from the float32 roundings of
//   exp's argument 2z (at x = −9.4, 2z ≈ −74: ~1e-5 relative, inherent to any float32 GELU).
// - LayerNorm: 2e-6 of the output's scale; a row with mean 1000 and unit spread, 1e-4: its sum
//   (~13000, ulp 1e-3) and mean are rounded to float32, which moves every normalised value by
//   up to ~1e-4 (a one-pass variance, E[x²] − E[x]², would be off by ~10% there).
// - gradients: 1e-5 of the gradient's largest entry, against float64 finite differences and
//   against the cpu composites (themselves float32: their error plus ours). Cross-entropy's is
//   measured on the scale dloss/N instead: its target entry dloss/N·(p − 1) cancels when p ≈ 1.
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { projectRoot } from "../lib/core/paths";
import { Random } from "../lib/core/random";
import {
  FUSED_KERNELS, KERNEL_EXPORTS, kernelProblems, kernelVariant, relaxedSimdAvailable, wasmApi, type KernelExports,
} from "../lib/core/wasmKernels";
import { causalSoftmax, crossEntropy, gelu, layerNorm } from "../lib/gpt/ops";
import { numericGradient } from "./reference";

const KERNELS_DIR = join(projectRoot(), "lib", "core", "kernels");
const U = 2 ** -24;
const EPS = 1e-5; // LayerNorm's eps, as in the GPT

// ---------------------------------------------------------------------------------------------
// float64 references, by definition

/** A matmul operand: `outer` batch dims of rows × cols matrices, used transposed or not. */
interface Operand { values: Float32Array; outer: number[]; rows: number; cols: number; transpose: boolean }

const product = (dims: number[]) => dims.reduce((p, d) => p * d, 1);

function operand(outer: number[], rows: number, cols: number, transpose: boolean, seed: number): Operand {
  return { values: new Random(seed).normals(product(outer) * rows * cols, 1), outer, rows, cols, transpose };
}

/** op(A[b])·op(B[b]) in float64 (a batch of 1 broadcasts), and Σ_k |a_ik·b_kj| for the error bound. */
function matMulRef(a: Operand, b: Operand): { value: Float64Array; magnitude: Float64Array; K: number } {
  const at = (o: Operand, p: number, i: number, j: number) =>
    o.values[(product(o.outer) === 1 ? 0 : p) * o.rows * o.cols + (o.transpose ? j * o.cols + i : i * o.cols + j)];
  const M = a.transpose ? a.cols : a.rows, K = a.transpose ? a.rows : a.cols, N = b.transpose ? b.rows : b.cols;
  expect(b.transpose ? b.cols : b.rows, "inner sizes").toBe(K);
  const batch = Math.max(product(a.outer), product(b.outer));
  const value = new Float64Array(batch * M * N), magnitude = new Float64Array(batch * M * N);
  for (let p = 0; p < batch; p++) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0, m = 0;
    for (let k = 0; k < K; k++) {
      const t = at(a, p, i, k) * at(b, p, k, j);
      s += t;
      m += Math.abs(t);
    }
    value[(p * M + i) * N + j] = s;
    magnitude[(p * M + i) * N + j] = m;
  }
  return { value, magnitude, K };
}

/** The largest |got − want| over its bound γ_K·Σ|a·b|: at most 1 for any correct float32 matmul. */
function matMulErrorOverBound(got: ArrayLike<number>, ref: ReturnType<typeof matMulRef>): number {
  expect(got.length).toBe(ref.value.length);
  const gamma = (ref.K * U) / (1 - ref.K * U);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - ref.value[i]);
    worst = Math.max(worst, err === 0 ? 0 : err / (gamma * ref.magnitude[i]));
  }
  return worst;
}

/** (x − μ)/√(σ² + eps)·w + b over rows of `cols`, σ² the mean squared deviation. */
function layerNormRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | undefined, cols: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    let mean = 0, variance = 0;
    for (let j = 0; j < cols; j++) mean += x[r * cols + j] / cols;
    for (let j = 0; j < cols; j++) variance += (x[r * cols + j] - mean) ** 2 / cols;
    const rstd = 1 / Math.sqrt(variance + EPS);
    for (let j = 0; j < cols; j++) y[r * cols + j] = (x[r * cols + j] - mean) * rstd * w[j] + (b ? b[j] : 0);
  }
  return y;
}

const GELU_A = Math.sqrt(2 / Math.PI), GELU_B = 0.044715;
/**
 * GPT-2's GELU, 0.5·x·(1 + tanh z) with z = √(2/π)·(x + 0.044715·x³), evaluated as the equal
 * x / (1 + e^(−2z)): 1 + tanh z cancels to 0 in float64 for z below about −19.
 */
const geluRef = (x: ArrayLike<number>) => Float64Array.from(x, (v) => v / (1 + Math.exp(-2 * GELU_A * (v + GELU_B * v * v * v))));

/** For each T × T matrix: row i is softmax(scale·S[i, 0..i]), then zeros. */
function causalSoftmaxRef(s: ArrayLike<number>, T: number, scale: number): Float64Array {
  const p = new Float64Array(s.length);
  for (let row = 0; row < s.length / T; row++) {
    const i = row % T, at = row * T;
    let max = -Infinity, sum = 0;
    for (let j = 0; j <= i; j++) max = Math.max(max, scale * s[at + j]);
    for (let j = 0; j <= i; j++) sum += (p[at + j] = Math.exp(scale * s[at + j] - max));
    for (let j = 0; j <= i; j++) p[at + j] /= sum;
  }
  return p;
}

/** The mean over rows of log Σ_j exp(z_ij) − z_{i,t_i}. */
function crossEntropyRef(z: ArrayLike<number>, t: ArrayLike<number>, V: number): number {
  let total = 0;
  for (let i = 0; i < t.length; i++) {
    let max = -Infinity, sum = 0;
    for (let j = 0; j < V; j++) max = Math.max(max, z[i * V + j]);
    for (let j = 0; j < V; j++) sum += Math.exp(z[i * V + j] - max);
    total += max + Math.log(sum) - z[i * V + t[i]];
  }
  return total / t.length;
}

/** Σ f·R: the scalar whose gradient is the backward pass applied to R. */
const dot = (f: ArrayLike<number>, r: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < f.length; i++) s += f[i] * r[i];
  return s;
};

// ---------------------------------------------------------------------------------------------
// Error measures

/**
 * max |got − want| / scale, by default max |want| (absolute if that is 0): for tensors whose small
 * entries matter no more than their large ones.
 */
function errorOfScale(got: ArrayLike<number>, want: ArrayLike<number>, scale = Math.max(...Array.from(want, Math.abs))): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return scale === 0 ? worst : worst / scale;
}

/** max |got − want| / |want| / allowed(i): at most 1 when every entry is within its own relative tolerance. */
function relativeErrorOver(got: ArrayLike<number>, want: ArrayLike<number>, allowed: (i: number) => number): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const err = want[i] === 0 ? (got[i] === 0 ? 0 : Infinity) : Math.abs(got[i] - want[i]) / Math.abs(want[i]);
    worst = Math.max(worst, err / allowed(i));
  }
  return worst;
}

const ELEMENTWISE = 2e-6;
const LAYER_NORM = 2e-6;
const LAYER_NORM_LARGE_MEAN = 1e-4;
const GRADIENT = 1e-5;

// ---------------------------------------------------------------------------------------------
// Running on a backend

type BackendName = "wasm" | "cpu";

/** The values of the tensors `f` returns, computed on `backend`; every tensor is disposed. */
async function on(backend: BackendName, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await chooseBackend(backend);
  const out = tf.tidy(f);
  const values = out.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(out);
  return values;
}

/** The causal mask lib/gpt/ops.ts's composite adds: 0 on and below the diagonal, −1e9 above. */
const causalMask = (T: number) => tf.tensor2d(Float32Array.from({ length: T * T }, (_, k) => (k % T > Math.floor(k / T) ? -1e9 : 0)), [T, T]);

// ---------------------------------------------------------------------------------------------
// Both builds, instantiated here on the wasm backend's memory the way the loader does it

type Variant = "simd" | "relaxed";

type Kernels = KernelExports;

interface WasmBackendInternals {
  wasm: { asm: { memory: { buffer: ArrayBuffer } }; _malloc(bytes: number): number; _free(at: number): void };
}

/** One build of the kernels on the wasm backend's memory, with buffers malloc'ed there. */
class Build {
  readonly k: Kernels;
  private readonly backend: WasmBackendInternals;
  private readonly stack: number;
  private buffers: number[] = [];

  /** Call with the wasm backend active. */
  constructor(variant: Variant) {
    if (variant === "relaxed") relaxedSimdAvailable(); // on Node 20 this sets the V8 flag the relaxed build needs
    this.backend = tf.backend() as unknown as WasmBackendInternals;
    const bytes = readFileSync(join(KERNELS_DIR, variant === "relaxed" ? "course_kernels.relaxed.wasm" : "course_kernels.wasm"));
    const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory: this.backend.wasm.asm.memory } });
    this.k = instance.exports as unknown as Kernels;
    this.stack = this.backend.wasm._malloc(64 * 1024 + 16);
    this.k.__stack_pointer.value = (this.stack + 64 * 1024) & ~15;
  }

  /** A new buffer holding `values` (float32, or int32 for targets). */
  put(values: ArrayLike<number>, type: "float32" | "int32" = "float32"): number {
    const at = this.alloc(values.length);
    (type === "int32" ? new Int32Array(this.memory(), at, values.length) : new Float32Array(this.memory(), at, values.length)).set(values);
    return at;
  }

  /** A new buffer of n float32s, NaN-filled so that an entry the kernel fails to write shows. */
  alloc(n: number): number {
    const at = this.backend.wasm._malloc(Math.max(n, 1) * 4);
    this.buffers.push(at);
    new Float32Array(this.memory(), at, n).fill(NaN);
    return at;
  }

  read(at: number, n: number): Float32Array {
    return new Float32Array(this.memory(), at, n).slice();
  }

  /** op(A[b])·op(B[b]) as the loader computes it: a transposed operand is transposed into scratch first. */
  matMul(a: Operand, b: Operand): Float32Array {
    const untransposed = (o: Operand) => {
      const at = this.put(o.values);
      if (!o.transpose) return at;
      const t = this.alloc(o.values.length);
      this.k.transpose_batched(at, t, product(o.outer), o.rows, o.cols);
      return t;
    };
    const M = a.transpose ? a.cols : a.rows, K = a.transpose ? a.rows : a.cols, N = b.transpose ? b.rows : b.cols;
    const batch = Math.max(product(a.outer), product(b.outer));
    try {
      const c = this.alloc(batch * M * N);
      this.k.matmul_batched(untransposed(a), untransposed(b), c, batch, M, K, N, product(a.outer) === 1 ? 0 : M * K, product(b.outer) === 1 ? 0 : K * N, this.alloc(8 * K));
      return this.read(c, batch * M * N);
    } finally {
      this.freeBuffers();
    }
  }

  /** Frees the buffers of one check (the memory may have grown: views are made afresh each time). */
  freeBuffers(): void {
    for (const at of this.buffers) this.backend.wasm._free(at);
    this.buffers = [];
  }

  dispose(): void {
    this.freeBuffers();
    this.backend.wasm._free(this.stack);
  }

  private memory(): ArrayBuffer {
    return this.backend.wasm.asm.memory.buffer;
  }
}

// ---------------------------------------------------------------------------------------------
// The cases

// Sizes that fill the 4 × 8 blocks and sizes that leave edges in both directions.
const MATMUL_SHAPES = [[4, 8, 8], [64, 32, 64], [5, 3, 11], [1, 1, 1], [13, 17, 9]];
const TRANSPOSES = [[false, false], [false, true], [true, false], [true, true]] as const;

/** Rows × cols with cols not a multiple of 4, and a width of the GPT's; `largeMean`: row 1 is 1000 + N(0, 1). */
const LAYER_NORM_CASES = [
  { rows: 7, cols: 13, bias: true, largeMean: false },
  { rows: 7, cols: 13, bias: false, largeMean: false },
  { rows: 12, cols: 128, bias: true, largeMean: false },
  { rows: 12, cols: 128, bias: false, largeMean: false },
  { rows: 4, cols: 13, bias: true, largeMean: true },
];

function layerNormInputs(c: { rows: number; cols: number; largeMean: boolean }, seed = c.rows * c.cols) {
  const r = new Random(seed);
  const x = r.normals(c.rows * c.cols, 2);
  if (c.largeMean) for (let j = 0; j < c.cols; j++) x[c.cols + j] = 1000 + x[c.cols + j] / 2;
  const w = Float32Array.from(r.normals(c.cols, 0.3), (v) => 1 + v);
  return { x, w, b: r.normals(c.cols, 0.5), dy: r.normals(c.rows * c.cols, 1) };
}

/**
 * The largest |got − want| / max |want| over its tolerance: at most 1 when row 1 of a large-mean
 * case is within LAYER_NORM_LARGE_MEAN and every other entry within LAYER_NORM.
 */
function layerNormErrorOverTolerance(got: ArrayLike<number>, want: ArrayLike<number>, c: { cols: number; largeMean: boolean }): number {
  expect(got.length).toBe(want.length);
  const scale = Math.max(...Array.from(want, Math.abs));
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const tolerance = c.largeMean && Math.floor(i / c.cols) === 1 ? LAYER_NORM_LARGE_MEAN : LAYER_NORM;
    worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale / tolerance);
  }
  return worst;
}

/** −10..10 evenly (both ends and 0 included), in lengths that leave 1–3 for the scalar tail. */
function geluInputs(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (n === 1 ? 0.5 : -10 + (20 * i) / (n - 1)));
}
const GELU_LENGTHS = [1, 3, 7, 64, 1001];
/** Elementwise tolerance for GELU at x: ELEMENTWISE plus the float32 rounding of exp's argument 2z. */
const geluTolerance = (x: ArrayLike<number>) => (i: number) =>
  ELEMENTWISE + 4 * U * Math.abs(2 * GELU_A * (x[i] + GELU_B * x[i] ** 3));

/** [B, H, T, T] scores, T = 1 (one entry per row), 5 (a scalar tail), 64 (the GPT's block). */
const SOFTMAX_SHAPES = [[2, 3, 1, 1], [2, 3, 5, 5], [1, 2, 64, 64]];
const SCALE = 1 / Math.sqrt(8);

function softmaxInputs(shape: number[], seed = shape[2]) {
  const r = new Random(seed);
  return { s: r.normals(product(shape), 3), dp: r.normals(product(shape), 1) };
}

/** N × V logits, V = 65 the character vocabulary (tfjs's oneHot, in the cpu composite, needs V ≥ 2); and the targets. */
const CROSS_ENTROPY_SHAPES = [[4, 65], [33, 11], [3, 4], [1, 2]];

function crossEntropyInputs(N: number, V: number, seed = N * V) {
  const r = new Random(seed);
  return { z: r.normals(N * V, 2), t: Int32Array.from({ length: N }, () => r.int(V)) };
}

// ---------------------------------------------------------------------------------------------

describe("matmul on wasm (every float32 product goes to the course's kernel)", () => {
  for (const [M, K, N] of MATMUL_SHAPES) {
    for (const [ta, tb] of TRANSPOSES) {
      for (const outer of [[3], []]) {
        const kind = outer.length ? "3 matrices" : "2-D";
        it(`is within float32's bound of float64 for M ${M}, K ${K}, N ${N}, transposeA ${ta}, transposeB ${tb}, ${kind}`, async () => {
          const a = operand(outer, ta ? K : M, ta ? M : K, ta, M + K);
          const b = operand(outer, tb ? N : K, tb ? K : N, tb, N + 7);
          const [got] = await on("wasm", () => [tf.matMul(tf.tensor(a.values, [...outer, a.rows, a.cols]), tf.tensor(b.values, [...outer, b.rows, b.cols]), ta, tb)]);
          expect(matMulErrorOverBound(got, matMulRef(a, b))).toBeLessThanOrEqual(1);
        });
      }
    }
  }

  it("broadcasts a single matrix (batch 1, or 2-D) over the other operand's batch", async () => {
    const cases: [Operand, Operand][] = [
      [operand([1], 6, 5, false, 1), operand([4], 5, 9, false, 2)],
      [operand([4], 6, 5, false, 3), operand([], 9, 5, true, 4)],
      [operand([2, 3], 5, 6, true, 5), operand([1, 1], 5, 9, false, 6)],
    ];
    for (const [a, b] of cases) {
      const [got] = await on("wasm", () => [tf.matMul(tf.tensor(a.values, [...a.outer, a.rows, a.cols]), tf.tensor(b.values, [...b.outer, b.rows, b.cols]), a.transpose, b.transpose)]);
      expect(matMulErrorOverBound(got, matMulRef(a, b))).toBeLessThanOrEqual(1);
    }
  });

  it("is the course kernel's result bit for bit, plain 2-D products included (not XNNPACK's)", async () => {
    await chooseBackend("wasm");
    const build = new Build(kernelVariant()); // the build the loader runs on this engine
    try {
      for (const [ta, tb] of TRANSPOSES) {
        const a = operand([], ta ? 32 : 64, ta ? 64 : 32, ta, 11), b = operand([], tb ? 48 : 32, tb ? 32 : 48, tb, 12);
        const [viaTf] = await on("wasm", () => [tf.matMul(tf.tensor2d(a.values, [a.rows, a.cols]), tf.tensor2d(b.values, [b.rows, b.cols]), ta, tb)]);
        // Any other kernel (XNNPACK's, tfjs's loop) sums in another order and differs in the last bits.
        expect(Array.from(viaTf), `transposes ${ta} ${tb}`).toEqual(Array.from(build.matMul(a, b)));
      }
    } finally {
      build.dispose();
    }
  });

  it("gives the same values and gradients as the cpu backend", async () => {
    const run = async (backend: BackendName) => {
      await chooseBackend(backend);
      const r = new Random(5);
      const a = tf.tensor(r.normals(2 * 3 * 7 * 5, 1), [2, 3, 7, 5]);
      const b = tf.tensor(r.normals(2 * 3 * 6 * 5, 1), [2, 3, 6, 5]);
      // The attention pattern: (A·Bᵀ)·B, whose gradients need every transpose combination.
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(tf.matMul(x, y, false, true), y)));
      const { value, grads } = tf.valueAndGrads(f)([a, b]);
      const out = { value: (await value.data())[0], da: await grads[0].data(), db: await grads[1].data() };
      tf.dispose([a, b, value, ...grads]);
      return out;
    };
    const cpu = await run("cpu");
    const wasm = await run("wasm");
    expect(Math.abs(wasm.value - cpu.value) / cpu.value).toBeLessThan(1e-5);
    expect(errorOfScale(wasm.da, cpu.da)).toBeLessThan(1e-5);
    expect(errorOfScale(wasm.db, cpu.db)).toBeLessThan(1e-5);
  });
});

describe("the fused kernels through lib/gpt/ops.ts on wasm, against float64", () => {
  beforeAll(async () => {
    await chooseBackend("wasm");
  });

  it("are what ops.ts runs on wasm, while cpu runs tfjs's composites", async () => {
    const kernelsOf = async (backend: BackendName) => {
      await chooseBackend(backend);
      const x = tf.randomNormal([4, 8]) as tf.Tensor2D, w = tf.ones([8]) as tf.Tensor1D, s = tf.randomNormal([1, 1, 4, 4]);
      const mask = causalMask(4), t = tf.tensor1d([0, 1, 2, 3], "int32");
      const { kernelNames } = await tf.profile(() => [layerNorm(x, w), gelu(x), causalSoftmax(s, 0.5, mask), crossEntropy(x, t)]);
      tf.dispose([x, w, s, mask, t]);
      return kernelNames;
    };
    const forward = [FUSED_KERNELS.layerNorm, FUSED_KERNELS.gelu, FUSED_KERNELS.causalSoftmax, FUSED_KERNELS.crossEntropy];
    expect(await kernelsOf("wasm")).toEqual(expect.arrayContaining(forward));
    const cpu = await kernelsOf("cpu");
    for (const name of Object.values(FUSED_KERNELS)) expect(cpu).not.toContain(name);
  });

  it("refuse a target outside the classes, and leave tensors other than float32 to the composites", async () => {
    await chooseBackend("wasm");
    const logits = tf.randomNormal([2, 3]) as tf.Tensor2D, bad = tf.tensor1d([1, 7], "int32");
    expect(() => crossEntropy(logits, bad)).toThrow("crossEntropy: targets[1] is 7; a target must be a class index in [0, 3)");
    // An int32 input is not the fused kernel's float32: the composite computes GELU of the integers.
    const ints = tf.tensor1d([1, 2], "int32");
    const { kernelNames } = await tf.profile(() => gelu(ints));
    expect(kernelNames).not.toContain(FUSED_KERNELS.gelu);
    tf.dispose([logits, bad, ints]);
  });

  for (const c of LAYER_NORM_CASES) {
    it(`LayerNorm ${c.rows}×${c.cols} ${c.bias ? "with" : "without"} bias${c.largeMean ? ", one row of mean 1000" : ""}`, async () => {
      const { x, w, b } = layerNormInputs(c);
      const [got] = await on("wasm", () => [layerNorm(tf.tensor2d(x, [c.rows, c.cols]), tf.tensor1d(w), c.bias ? tf.tensor1d(b) : undefined, EPS)]);
      expect(layerNormErrorOverTolerance(got, layerNormRef(x, w, c.bias ? b : undefined, c.cols), c)).toBeLessThanOrEqual(1);
    });
  }

  it("GELU over −10..10, lengths 1, 3, 7, 64, 1001", async () => {
    // The reference's form equals the tanh definition where the latter is accurate.
    for (const v of [-3, -0.5, 0.1, 2]) expect(geluRef([v])[0]).toBeCloseTo(0.5 * v * (1 + Math.tanh(GELU_A * (v + GELU_B * v ** 3))), 14);
    for (const n of GELU_LENGTHS) {
      const x = geluInputs(n);
      const [got] = await on("wasm", () => [gelu(tf.tensor1d(x))]);
      expect(relativeErrorOver(got, geluRef(x), geluTolerance(x)), `length ${n}`).toBeLessThanOrEqual(1);
    }
  });

  for (const shape of SOFTMAX_SHAPES) {
    it(`causal softmax of [${shape}] scores, scale 1/√8: exact zeros above the diagonal, rows summing to 1`, async () => {
      const T = shape[3];
      const { s } = softmaxInputs(shape);
      const [p] = await on("wasm", () => [causalSoftmax(tf.tensor(s, shape), SCALE, causalMask(T))]);
      expect(relativeErrorOver(p, causalSoftmaxRef(s, T, SCALE), () => ELEMENTWISE)).toBeLessThanOrEqual(1);
      for (let row = 0; row < p.length / T; row++) {
        const i = row % T;
        const entries = Array.from(p.subarray(row * T, (row + 1) * T));
        expect(entries.slice(i + 1).every((v) => v === 0), `row ${row}`).toBe(true);
        // A sum of i + 1 float32s each within ELEMENTWISE of exact ones summing to 1.
        expect(Math.abs(entries.reduce((a, v) => a + v, 0) - 1)).toBeLessThan(ELEMENTWISE);
      }
    });
  }

  for (const [N, V] of CROSS_ENTROPY_SHAPES) {
    it(`mean cross-entropy of ${N}×${V} logits`, async () => {
      const { z, t } = crossEntropyInputs(N, V);
      const [got] = await on("wasm", () => [crossEntropy(tf.tensor2d(z, [N, V]), tf.tensor1d(t, "int32"))]);
      const want = crossEntropyRef(z, t, V);
      // log Σ exp's absolute error is the sum's relative error: a loss near 0 is held to ELEMENTWISE absolutely.
      expect(Math.abs(got[0] - want) / Math.max(want, 1)).toBeLessThan(ELEMENTWISE);
    });
  }
});

/** The gradients of Σ op(inputs)·R on a backend, through lib/gpt/ops.ts. */
const GRADIENT_CASES: {
  name: string;
  grads(backend: BackendName): Promise<Float32Array[]>;
  /** Finite differences of the float64 reference, for the small cases. */
  fd?: () => number[][];
  /** What errors are measured against, if not each gradient's largest entry. */
  scale?: number;
}[] = [];

for (const c of LAYER_NORM_CASES.filter((c) => !c.largeMean).concat([{ rows: 3, cols: 7, bias: true, largeMean: false }, { rows: 3, cols: 7, bias: false, largeMean: false }])) {
  const small = c.rows * c.cols < 32;
  const { x, w, b, dy } = layerNormInputs(c);
  GRADIENT_CASES.push({
    name: `LayerNorm ${c.rows}×${c.cols} ${c.bias ? "with" : "without"} bias (dx, dw${c.bias ? ", db" : ""})`,
    grads: (backend) => on(backend, () => {
      const R = tf.tensor2d(dy, [c.rows, c.cols]);
      const f = (...t: tf.Tensor[]) => tf.sum(tf.mul(layerNorm(t[0] as tf.Tensor2D, t[1] as tf.Tensor1D, t[2] as tf.Tensor1D | undefined, EPS), R));
      return tf.grads(f)([tf.tensor2d(x, [c.rows, c.cols]), tf.tensor1d(w), ...(c.bias ? [tf.tensor1d(b)] : [])]);
    }),
    fd: small ? () => {
      const xs = Array.from(x), ws = Array.from(w), bs = c.bias ? Array.from(b) : undefined;
      const out = [
        numericGradient((v) => dot(layerNormRef(v, ws, bs, c.cols), dy), xs),
        numericGradient((v) => dot(layerNormRef(xs, v, bs, c.cols), dy), ws),
      ];
      if (bs) out.push(numericGradient((v) => dot(layerNormRef(xs, ws, v, c.cols), dy), bs));
      return out;
    } : undefined,
  });
}

for (const n of [...GELU_LENGTHS, 9]) {
  const x = n === 9 ? Float32Array.of(-4, -2.5, -1, -0.3, 0, 0.2, 0.9, 2, 4) : geluInputs(n);
  const R = new Random(n).normals(n, 1);
  GRADIENT_CASES.push({
    name: `GELU, length ${n}${n === 9 ? " over −4..4" : ""}`,
    grads: (backend) => on(backend, () => tf.grads((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), tf.tensor1d(R))))([tf.tensor1d(x)])),
    fd: n <= 9 ? () => [numericGradient((v) => dot(geluRef(v), R), Array.from(x))] : undefined,
  });
}

for (const shape of [...SOFTMAX_SHAPES, [1, 2, 4, 4]]) {
  const T = shape[3];
  const { s, dp } = softmaxInputs(shape, shape[2] + 100);
  GRADIENT_CASES.push({
    name: `causal softmax of [${shape}] scores`,
    grads: (backend) => on(backend, () => {
      const mask = causalMask(T), R = tf.tensor(dp, shape);
      return tf.grads((t: tf.Tensor) => tf.sum(tf.mul(causalSoftmax(t, SCALE, mask as tf.Tensor2D), R)))([tf.tensor(s, shape)]);
    }),
    fd: product(shape) <= 64 ? () => [numericGradient((v) => dot(causalSoftmaxRef(v, T, SCALE), dp), Array.from(s))] : undefined,
  });
}

for (const [N, V] of [...CROSS_ENTROPY_SHAPES, [3, 7]]) {
  const { z, t } = crossEntropyInputs(N, V, N * V + 1);
  const dloss = 1.7; // not 1, so that the upstream gradient has to be applied
  GRADIENT_CASES.push({
    name: `cross-entropy of ${N}×${V} logits`,
    grads: (backend) => on(backend, () => {
      const targets = tf.tensor1d(t, "int32");
      return tf.grads((l: tf.Tensor) => tf.mul(crossEntropy(l as tf.Tensor2D, targets), dloss))([tf.tensor2d(z, [N, V])]);
    }),
    fd: N * V <= 32 ? () => [numericGradient((v) => dloss * crossEntropyRef(v, t, V), Array.from(z))] : undefined,
    scale: dloss / N,
  });
}

describe("the fused kernels' gradients on wasm", () => {
  for (const c of GRADIENT_CASES) {
    it(`${c.name}: as the cpu backend's composite${c.fd ? " and float64 finite differences" : ""}`, async () => {
      const cpu = await c.grads("cpu");
      const wasm = await c.grads("wasm");
      expect(wasm.length).toBe(cpu.length);
      wasm.forEach((g, i) => expect(errorOfScale(g, cpu[i], c.scale), `gradient ${i} against cpu`).toBeLessThan(GRADIENT));
      if (c.fd) c.fd().forEach((g, i) => expect(errorOfScale(wasm[i], g, c.scale), `gradient ${i} against finite differences`).toBeLessThan(GRADIENT));
    });
  }
});

// Both builds, called directly: the tests above run only the one the loader chose for this engine.
const VARIANTS: Variant[] = ["simd", "relaxed"];
describe.each(VARIANTS)("the %s build, instantiated on the wasm backend's memory", (variant) => {
  let build: Build;
  beforeAll(async () => {
    await chooseBackend("wasm");
    if (variant === "relaxed" && !relaxedSimdAvailable()) return;
    build = new Build(variant);
  });
  afterAll(() => build?.dispose());
  const skip = variant === "relaxed" && !relaxedSimdAvailable();

  it.skipIf(skip)("exports every kernel KERNEL_EXPORTS lists", () => {
    for (const name of KERNEL_EXPORTS.course_kernels) expect(typeof (build.k as unknown as Record<string, unknown>)[name], name).toBe("function");
  });

  it.skipIf(skip)("matmul_batched (after transpose_batched for transposed operands) is within float32's bound, batched and broadcast", () => {
    const cases: [Operand, Operand][] = [];
    for (const [M, K, N] of MATMUL_SHAPES) for (const [ta, tb] of TRANSPOSES) {
      cases.push([operand([3], ta ? K : M, ta ? M : K, ta, M + K), operand([3], tb ? N : K, tb ? K : N, tb, N + 7)]);
    }
    cases.push([operand([1], 6, 5, false, 1), operand([4], 9, 5, true, 2)], [operand([4], 5, 6, true, 3), operand([1], 5, 9, false, 4)]);
    for (const [a, b] of cases) {
      expect(matMulErrorOverBound(build.matMul(a, b), matMulRef(a, b)), `${a.rows}×${a.cols} by ${b.rows}×${b.cols}, transposes ${a.transpose} ${b.transpose}`).toBeLessThanOrEqual(1);
    }
  });

  it.skipIf(skip)("layer_norm and layer_norm_backward", () => {
    const { k } = build;
    try {
      for (const c of [...LAYER_NORM_CASES, { rows: 3, cols: 7, bias: true, largeMean: false }]) {
        const n = c.rows * c.cols;
        const { x, w, b, dy } = layerNormInputs(c);
        const [xAt, wAt, bAt, dyAt] = [build.put(x), build.put(w), c.bias ? build.put(b) : 0, build.put(dy)];
        const y = build.alloc(n), dx = build.alloc(n), dw = build.alloc(c.cols), db = c.bias ? build.alloc(c.cols) : 0;
        k.layer_norm(xAt, wAt, bAt, y, c.rows, c.cols, EPS);
        const want = layerNormRef(x, w, c.bias ? b : undefined, c.cols);
        expect(layerNormErrorOverTolerance(build.read(y, n), want, c), `${c.rows}×${c.cols}`).toBeLessThanOrEqual(1);
        if (!c.largeMean && n < 200) {
          // The backward pass, against finite differences of the float64 definition.
          k.layer_norm_backward(dyAt, xAt, wAt, dx, dw, db, c.rows, c.cols, EPS);
          const xs = Array.from(x), ws = Array.from(w), bs = c.bias ? Array.from(b) : undefined;
          expect(errorOfScale(build.read(dx, n), numericGradient((v) => dot(layerNormRef(v, ws, bs, c.cols), dy), xs))).toBeLessThan(GRADIENT);
          expect(errorOfScale(build.read(dw, c.cols), numericGradient((v) => dot(layerNormRef(xs, v, bs, c.cols), dy), ws))).toBeLessThan(GRADIENT);
          if (bs) expect(errorOfScale(build.read(db, c.cols), numericGradient((v) => dot(layerNormRef(xs, ws, v, c.cols), dy), bs))).toBeLessThan(GRADIENT);
        }
        build.freeBuffers();
      }
    } finally {
      build.freeBuffers();
    }
  });

  it.skipIf(skip)("gelu and gelu_backward", () => {
    const { k } = build;
    try {
      for (const n of GELU_LENGTHS) {
        const x = geluInputs(n), R = new Random(n).normals(n, 1);
        const xAt = build.put(x), y = build.alloc(n), dx = build.alloc(n);
        k.gelu(xAt, y, n);
        expect(relativeErrorOver(build.read(y, n), geluRef(x), geluTolerance(x)), `length ${n}`).toBeLessThanOrEqual(1);
        k.gelu_backward(build.put(R), xAt, dx, n);
        expect(errorOfScale(build.read(dx, n), numericGradient((v) => dot(geluRef(v), R), Array.from(x))), `length ${n}`).toBeLessThan(GRADIENT);
        build.freeBuffers();
      }
    } finally {
      build.freeBuffers();
    }
  });

  it.skipIf(skip)("causal_softmax and causal_softmax_backward", () => {
    const { k } = build;
    try {
      for (const shape of [...SOFTMAX_SHAPES, [1, 2, 4, 4]]) {
        const T = shape[3], n = product(shape), batch = n / (T * T);
        const { s, dp } = softmaxInputs(shape);
        const p = build.alloc(n), ds = build.alloc(n);
        k.causal_softmax(build.put(s), p, batch, T, SCALE);
        const got = build.read(p, n);
        expect(relativeErrorOver(got, causalSoftmaxRef(s, T, SCALE), () => ELEMENTWISE), `[${shape}]`).toBeLessThanOrEqual(1);
        k.causal_softmax_backward(build.put(dp), p, ds, batch, T, SCALE);
        if (n <= 200) {
          expect(errorOfScale(build.read(ds, n), numericGradient((v) => dot(causalSoftmaxRef(v, T, SCALE), dp), Array.from(s))), `[${shape}]`).toBeLessThan(GRADIENT);
        }
        build.freeBuffers();
      }
    } finally {
      build.freeBuffers();
    }
  });

  it.skipIf(skip)("cross_entropy and cross_entropy_backward", () => {
    const { k } = build;
    try {
      for (const [N, V] of [...CROSS_ENTROPY_SHAPES, [3, 7]]) {
        const { z, t } = crossEntropyInputs(N, V);
        const zAt = build.put(z), tAt = build.put(t, "int32"), dz = build.alloc(N * V);
        const want = crossEntropyRef(z, t, V);
        expect(Math.abs(k.cross_entropy(zAt, tAt, N, V) - want) / Math.max(want, 1), `${N}×${V}`).toBeLessThan(ELEMENTWISE);
        k.cross_entropy_backward(zAt, tAt, dz, N, V, 1.7);
        const fd = numericGradient((v) => 1.7 * crossEntropyRef(v, t, V), Array.from(z));
        expect(errorOfScale(build.read(dz, N * V), fd, 1.7 / N), `${N}×${V}`).toBeLessThan(GRADIENT);
        build.freeBuffers();
      }
    } finally {
      build.freeBuffers();
    }
  });
});

describe("the loader", () => {
  it("uses the relaxed build exactly where this engine runs relaxed SIMD, unless COURSE_RELAXED_SIMD=0", () => {
    const saved = process.env.COURSE_RELAXED_SIMD;
    try {
      delete process.env.COURSE_RELAXED_SIMD;
      expect(kernelVariant()).toBe(relaxedSimdAvailable() ? "relaxed" : "simd");
      process.env.COURSE_RELAXED_SIMD = "0";
      expect(kernelVariant()).toBe("simd");
    } finally {
      if (saved === undefined) delete process.env.COURSE_RELAXED_SIMD;
      else process.env.COURSE_RELAXED_SIMD = saved;
    }
  });

  it("clones and same-type casts on wasm share data, which lives until the last sharer is disposed", async () => {
    await chooseBackend("wasm");
    const dataIdMap = (tf.backend() as unknown as { dataIdMap: { has(id: object): boolean } }).dataIdMap;
    const x = tf.tensor([1, 2, 3]);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    const z = tf.cast(x, "float32"); // same type: shared too
    expect(z.dataId).toBe(x.dataId);
    z.dispose();
    const n = tf.cast(x, "int32"); // another type: converted
    expect(n.dataId).not.toBe(x.dataId);
    expect(Array.from(await n.data())).toEqual([1, 2, 3]);
    n.dispose();
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3]);
    expect(dataIdMap.has(y.dataId)).toBe(true);
    y.dispose();
    expect(dataIdMap.has(y.dataId)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// kernelProblems: what may run inside tfjs's memory. Tiny modules are assembled here byte by byte.

/** LEB128 of a non-negative integer. */
const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    out.push((n & 127) | (n > 127 ? 128 : 0));
    n >>>= 7;
  } while (n);
  return out;
};
const name = (s: string) => [...leb(s.length), ...Buffer.from(s, "utf8")];
const section = (id: number, entries: number[][]) => {
  const body = [...leb(entries.length), ...entries.flat()];
  return [id, ...leb(body.length), ...body];
};

/**
 * A module that imports env.memory (and `extraImport`, a function () → ()), exports a mutable
 * i32 global as __stack_pointer unless told not to, and has a one-byte data segment if asked.
 */
function tinyModule(o: { extraImport?: boolean; data?: boolean; stackPointer?: boolean; memory?: boolean } = {}): Uint8Array {
  const { extraImport = false, data = false, stackPointer = true, memory = true } = o;
  const imports: number[][] = [];
  if (memory) imports.push([...name("env"), ...name("memory"), 0x02, 0x00, 0x01]); // memory, limits: min 1
  if (extraImport) imports.push([...name("env"), ...name("abort"), 0x00, 0x00]); // function of type 0
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (extraImport) bytes.push(...section(1, [[0x60, 0x00, 0x00]])); // type 0: () → ()
  if (imports.length) bytes.push(...section(2, imports));
  if (stackPointer) {
    bytes.push(...section(6, [[0x7f, 0x01, 0x41, 0x00, 0x0b]])); // mutable i32 = i32.const 0
    bytes.push(...section(7, [[...name("__stack_pointer"), 0x03, 0x00]]));
  }
  if (data) bytes.push(...section(11, [[0x00, 0x41, 0x00, 0x0b, 0x01, 0x2a]])); // active, at i32.const 0: one byte
  return Uint8Array.from(bytes);
}

describe("kernelProblems", () => {
  it("finds none in the shipped binaries, both builds", () => {
    relaxedSimdAvailable(); // the relaxed build compiles only once Node 20's flag is set
    for (const file of ["course_kernels.wasm", "course_kernels.relaxed.wasm"]) {
      expect(kernelProblems(readFileSync(join(KERNELS_DIR, file))), file).toEqual([]);
    }
  });

  it("accepts a module that imports only env.memory and exports __stack_pointer", () => {
    expect(wasmApi.validate(tinyModule())).toBe(true);
    expect(kernelProblems(tinyModule())).toEqual([]);
  });

  it("refuses a data section, which would be written into tfjs's memory at instantiation", () => {
    expect(kernelProblems(tinyModule({ data: true }))).toEqual(["has a data section, which would be written into tfjs's memory"]);
  });

  it("refuses any import besides env.memory, and a module without one", () => {
    expect(kernelProblems(tinyModule({ extraImport: true }))).toEqual(["imports env.memory (memory), env.abort (function); expected only env.memory"]);
    expect(kernelProblems(tinyModule({ memory: false }))).toEqual(["imports nothing; expected only env.memory"]);
  });

  it("refuses a module that does not export its stack pointer", () => {
    expect(kernelProblems(tinyModule({ stackPointer: false }))).toEqual(["does not export __stack_pointer"]);
  });

  it("ships binaries built from the C source beside them", () => {
    // npm run build:kernels records the source's digest; a stale binary means the source was edited without rebuilding.
    const digest = createHash("sha256").update(readFileSync(join(KERNELS_DIR, "course_kernels.c"))).digest("hex");
    expect(readFileSync(join(KERNELS_DIR, "course_kernels.wasm.sha256"), "utf8").trim()).toBe(digest);
  });
});

// The whole GPT on wasm (fused kernels, course matmul) and on cpu (composites) against PyTorch's
// float64 loss and gradients is tests/torch-reference.test.ts; it is not repeated here.
