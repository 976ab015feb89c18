// The transformer's building blocks, written for the slowest backend that matters.
// Without the course's kernels, tfjs's wasm backend runs only 2-D untransposed matmuls fast
// (XNNPACK) and a transposed or batched one in a scalar loop, and tf.gather has no gradient.
// So: linear layers multiply 2-D matrices and transpose explicitly in their own gradient;
// embeddings are one-hot matmuls. LayerNorm, GELU, the causal softmax and the
// cross-entropy run as one fused kernel each (forward and backward) where the active backend
// has them (the course's wasm kernels, lib/core/wasmKernels.ts), and as tfjs's composites of
// small ops everywhere else; both compute the same function.
import * as tf from "@tensorflow/tfjs";

import { FUSED_KERNELS } from "../core/wasmKernels";

/**
 * x @ w for 2-D x [M, K] and w [K, N], with a gradient that uses only untransposed 2-D
 * matmuls: dx = dy @ wᵀ and dw = xᵀ @ dy, each transpose materialised first.
 */
const matMul2dWithGrad = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as tf.Tensor2D[];
      const d = dy as tf.Tensor2D;
      return [tf.matMul(d, tf.transpose(ws)), tf.matMul(tf.transpose(xs), d)];
    },
  };
});

export function matMul2d(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return matMul2dWithGrad(x, w) as tf.Tensor2D;
}

/** y = x @ w (+ b) for x [M, in], w [in, out], b [out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  const y = matMul2d(x, w);
  return b ? tf.add(y, b) : y;
}

/**
 * GELU, tanh approximation as in GPT-2: 0.5·x·(1 + tanh(z)) with z = √(2/π)·(x + 0.044715·x³).
 * Written as x·sigmoid(2z), the same function, because wasm's sigmoid is ~8x faster than its
 * tanh; and x·x·x because tf.pow is slow there.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (fused(FUSED_KERNELS.gelu, x)) return geluFused(x);
  const z2 = tf.mul(2 * Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x))));
  return tf.mul(x, tf.sigmoid(z2));
}

/** LayerNorm over the last axis, with a learned gain and optional bias. */
export function layerNorm(x: tf.Tensor2D, weight: tf.Tensor1D, bias?: tf.Tensor1D, eps = 1e-5): tf.Tensor2D {
  if (fused(FUSED_KERNELS.layerNorm, x, weight, ...(bias ? [bias] : []))) return layerNormFused(eps)(...(bias ? [x, weight, bias] : [x, weight])) as tf.Tensor2D;
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  const scaled = tf.mul(normed, weight);
  return (bias ? tf.add(scaled, bias) : scaled) as tf.Tensor2D;
}

/** Rows of `table` for integer `ids`, as oneHot(ids) @ table: differentiable on every backend. */
export function embed(ids: tf.Tensor1D, table: tf.Tensor2D): tf.Tensor2D {
  return matMul2d(tf.oneHot(ids, table.shape[0]).toFloat() as tf.Tensor2D, table);
}

/** Mean cross-entropy of logits [N, V] against integer targets [N]. */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  if (fused(FUSED_KERNELS.crossEntropy, logits) && targets.dtype === "int32") return crossEntropyFused(logits, targets);
  const logp = tf.logSoftmax(logits);
  const picked = tf.sum(tf.mul(logp, tf.oneHot(targets, logits.shape[1])), -1);
  return tf.neg(tf.mean(picked)) as tf.Scalar;
}

/**
 * The sum of many tensors of one shape. tf.addN binds one storage buffer per input, and WebGPU
 * promises only 8 per shader stage (llvmpipe refuses 29), so they are added in pairs instead.
 */
export function sumTensors(tensors: tf.Tensor[]): tf.Tensor {
  if (tensors.length === 0) throw new Error("sumTensors: nothing to add");
  return tf.tidy(() => {
    let level = tensors;
    while (level.length > 1) {
      const next: tf.Tensor[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? tf.add(level[i], level[i + 1]) : level[i]);
      level = next;
    }
    return tf.clone(level[0]);
  });
}

/**
 * Attention weights softmax(scale · S + mask) over the last axis of scores S [..., T, T], where
 * `mask` is the causal mask (0 on and below the diagonal, −1e9 above): a query attends to itself
 * and earlier keys only. The fused kernel computes the causal pattern itself and never reads `mask`.
 */
export function causalSoftmax(scores: tf.Tensor, scale: number, mask: tf.Tensor2D): tf.Tensor {
  if (fused(FUSED_KERNELS.causalSoftmax, scores)) return causalSoftmaxFused(scale)(scores);
  return tf.softmax(tf.add(tf.mul(scores, scale), mask));
}

// ---------------------------------------------------------------------------------------------
// The fused versions: one kernel forward, one backward, glued to tfjs's autodiff by customGrad.

/** Whether the active backend has the course's fused kernel `name` (they take float32 tensors only). */
function fused(name: string, ...floats: tf.Tensor[]): boolean {
  return floats.every((t) => t.dtype === "float32") && tf.getKernel(name, tf.getBackend()) !== undefined;
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: Record<string, number> = {}) =>
  tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];

const geluFused = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = inputs as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: run(FUSED_KERNELS.gelu, { x }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [run(FUSED_KERNELS.geluGrad, { dy, x: saved[0] }) as tf.Tensor],
  };
});

/** `make(key)`, made once per key: a fused op's customGrad closes over its eps or scale, and a model uses few. */
function perKey<V>(make: (key: number) => V): (key: number) => V {
  const made = new Map<number, V>();
  return (key) => {
    let v = made.get(key);
    if (v === undefined) made.set(key, (v = make(key)));
    return v;
  };
}

/** μ and σ are recomputed in the backward pass rather than stored. */
const layerNormFused = perKey((eps) => tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const save = inputs.pop() as tf.GradSaveFunc;
  const [x, weight, bias] = inputs as tf.Tensor[];
  save([x, weight, ...(bias ? [bias] : [])]);
  return {
    value: run(FUSED_KERNELS.layerNorm, bias ? { x, weight, bias } : { x, weight }, { eps }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws, bs] = saved;
      return run(FUSED_KERNELS.layerNormGrad, bs ? { dy, x: xs, weight: ws, bias: bs } : { dy, x: xs, weight: ws }, { eps }) as tf.Tensor[];
    },
  };
}) as (...t: tf.Tensor[]) => tf.Tensor);

const causalSoftmaxFused = perKey((scale) => tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [scores, save] = inputs as [tf.Tensor, tf.GradSaveFunc];
  const p = run(FUSED_KERNELS.causalSoftmax, { scores }, { scale }) as tf.Tensor;
  save([p]);
  return { value: p, gradFunc: (dp: tf.Tensor, saved: tf.Tensor[]) => [run(FUSED_KERNELS.causalSoftmaxGrad, { dp, p: saved[0] }, { scale }) as tf.Tensor] };
}) as (s: tf.Tensor) => tf.Tensor);

/** The targets are integers and get no gradient; customGrad still asks for one (zeros, never read). */
const crossEntropyFused = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [logits, targets, save] = inputs as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([logits, targets]);
  return {
    value: run(FUSED_KERNELS.crossEntropy, { logits, targets }) as tf.Scalar,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      run(FUSED_KERNELS.crossEntropyGrad, { dy, logits: saved[0], targets: saved[1] }) as tf.Tensor,
      tf.zerosLike(saved[1]),
    ],
  };
}) as (logits: tf.Tensor2D, targets: tf.Tensor1D) => tf.Scalar;
