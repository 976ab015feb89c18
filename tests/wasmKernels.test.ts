import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { batchMatMulSimd, type MatMulOperand } from "../lib/core/wasmKernels";
import { projectRoot } from "../lib/core/paths";
import { Random } from "../lib/core/random";

/** op(A[b]) · op(B[b]) in float64 by the definition. */
function reference(a: MatMulOperand, b: MatMulOperand): Float64Array {
  const at = (o: MatMulOperand, batch: number, i: number, j: number) =>
    o.values[(o.batch === 1 ? 0 : batch) * o.rows * o.cols + (o.transpose ? j * o.cols + i : i * o.cols + j)];
  const M = a.transpose ? a.cols : a.rows, K = a.transpose ? a.rows : a.cols, N = b.transpose ? b.rows : b.cols;
  const batch = Math.max(a.batch, b.batch);
  const out = new Float64Array(batch * M * N);
  for (let p = 0; p < batch; p++) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += at(a, p, i, k) * at(b, p, k, j);
    out[(p * M + i) * N + j] = s;
  }
  return out;
}

function operand(batch: number, rows: number, cols: number, transpose: boolean, seed: number): MatMulOperand {
  return { values: new Random(seed).normals(batch * rows * cols, 1), batch, rows, cols, transpose };
}

function maxError(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

describe("the course's wasm kernels", () => {
  // Sizes that fill the 4 × 8 blocks and sizes that leave edges in both directions.
  const shapes = [[4, 8, 8], [64, 32, 64], [5, 3, 11], [1, 1, 1], [13, 17, 9]];
  for (const [M, K, N] of shapes) {
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
      it(`matches float64 for M ${M}, K ${K}, N ${N}, transposeA ${ta}, transposeB ${tb}`, () => {
        const a = operand(3, ta ? K : M, ta ? M : K, ta, M + K);
        const b = operand(3, tb ? N : K, tb ? K : N, tb, N + 7);
        // float32 products summed over K terms of unit variance: error ≲ K · 2⁻²⁴ · √K, far below 1e-4 here.
        expect(maxError(batchMatMulSimd(a, b), reference(a, b))).toBeLessThan(1e-4);
      });
    }
  }

  it("broadcasts a single matrix over the other operand's batch", () => {
    const a = operand(1, 6, 5, false, 1), b = operand(4, 5, 9, false, 2);
    expect(maxError(batchMatMulSimd(a, b), reference(a, b))).toBeLessThan(1e-5);
    const c = operand(4, 6, 5, false, 3), d = operand(1, 9, 5, true, 4);
    expect(maxError(batchMatMulSimd(c, d), reference(c, d))).toBeLessThan(1e-5);
  });

  it("rejects operands that do not fit, with the sizes in the message", () => {
    expect(() => batchMatMulSimd(operand(1, 2, 3, false, 1), operand(1, 4, 2, false, 2))).toThrow("inner sizes differ: A gives 3, B gives 4");
    expect(() => batchMatMulSimd(operand(2, 2, 3, false, 1), operand(3, 3, 2, false, 2))).toThrow("batches 2 and 3 do not broadcast");
  });

  it("replaces tfjs's wasm kernel with the same values and gradients as the cpu backend", async () => {
    const run = async (backend: "wasm" | "cpu") => {
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
    const scale = Math.max(...Array.from(cpu.da, Math.abs));
    expect(maxError(wasm.da, cpu.da) / scale).toBeLessThan(1e-5);
    expect(maxError(wasm.db, cpu.db) / Math.max(...Array.from(cpu.db, Math.abs))).toBeLessThan(1e-5);
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

  it("ships a .wasm built from the C source beside it", () => {
    // npm run build:kernels records the source's digest; a stale binary means the source was edited without rebuilding.
    const dir = join(projectRoot(), "lib", "core", "kernels");
    const digest = createHash("sha256").update(readFileSync(join(dir, "batch_matmul.c"))).digest("hex");
    expect(readFileSync(join(dir, "batch_matmul.wasm.sha256"), "utf8").trim()).toBe(digest);
  });
});
