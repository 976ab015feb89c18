// The transformer's building blocks, written for the slowest backend that matters.
// On the wasm backend only 2-D, untransposed matmuls take XNNPACK's fast path (~30 GFLOP/s);
// a transposed or batched matmul falls to a scalar loop (~2 GFLOP/s), and tf.gather has no
// gradient. So: linear layers multiply 2-D matrices and transpose explicitly in their own
// gradient; embeddings are one-hot matmuls. On other backends the same code is just as exact.
import * as tf from "@tensorflow/tfjs";

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
  const z2 = tf.mul(2 * Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x))));
  return tf.mul(x, tf.sigmoid(z2));
}

/** LayerNorm over the last axis, with a learned gain and optional bias. */
export function layerNorm(x: tf.Tensor2D, weight: tf.Tensor1D, bias?: tf.Tensor1D, eps = 1e-5): tf.Tensor2D {
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
