// The course's WebAssembly kernels. They run inside tfjs's own wasm memory: the module imports
// that memory, and every pointer below is the offset of a tensor that tfjs allocated, so no value
// is copied in or out and nothing is allocated per call. The module has no data and no stack of
// its own (npm run build:kernels checks both), so it cannot write anywhere it is not pointed to.
//
// What is here, found by profiling a training step on tfjs's wasm backend:
// - matmul_batched / transpose_batched: tfjs sends every batched or transposed matmul (attention's
//   QKᵀ, A·V and all their gradients) to a scalar loop; these run at SIMD speed.
// - layer_norm, gelu, causal_softmax, cross_entropy and their backward passes: each replaces a
//   chain of 7–20 small tfjs ops (each a separate pass over memory and a JavaScript dispatch).
//
// Built twice (npm run build:kernels): with plain SIMD, and with relaxed SIMD, whose fused
// multiply-add (f32x4.relaxed_madd) the loader uses where the engine validates it.
#include <wasm_simd128.h>

#ifdef RELAXED
#define MADD(a, b, c) wasm_f32x4_relaxed_madd(a, b, c)
#else
#define MADD(a, b, c) wasm_f32x4_add(wasm_f32x4_mul(a, b), c)
#endif

// ---------------------------------------------------------------------------------------------
// Matrix products

// A 4 × 8 block of C is held in eight 4-lane registers while k runs over K: each step loads
// one row of the packed 8-column panel of B (two vectors) and four scalars of A, and does 8
// multiply-adds of 4 lanes.
static void block_4x8(const float* a, const float* panel, float* c, int K, int N, int lda) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int k = 0; k < K; k++) {
    v128_t b0 = wasm_v128_load(panel + 8 * k), b1 = wasm_v128_load(panel + 8 * k + 4);
    v128_t a0 = wasm_f32x4_splat(a[k]), a1 = wasm_f32x4_splat(a[lda + k]);
    v128_t a2 = wasm_f32x4_splat(a[2 * lda + k]), a3 = wasm_f32x4_splat(a[3 * lda + k]);
    c00 = MADD(a0, b0, c00); c01 = MADD(a0, b1, c01);
    c10 = MADD(a1, b0, c10); c11 = MADD(a1, b1, c11);
    c20 = MADD(a2, b0, c20); c21 = MADD(a2, b1, c21);
    c30 = MADD(a3, b0, c30); c31 = MADD(a3, b1, c31);
  }
  wasm_v128_store(c, c00); wasm_v128_store(c + 4, c01);
  wasm_v128_store(c + N, c10); wasm_v128_store(c + N + 4, c11);
  wasm_v128_store(c + 2 * N, c20); wasm_v128_store(c + 2 * N + 4, c21);
  wasm_v128_store(c + 3 * N, c30); wasm_v128_store(c + 3 * N + 4, c31);
}

// One entry of C, for the edges that do not fill a block.
static float dot(const float* a, const float* b, int K, int N) {
  float s = 0;
  for (int k = 0; k < K; k++) s += a[k] * b[k * N];
  return s;
}

// Each 8-column panel of B is first copied to `panel` (K × 8, contiguous) and then used by every
// 4-row block of A: the kernel then reads B in order instead of at a stride of N floats, which
// for N a multiple of 1024 (4 KiB) maps every row of the panel to the same cache set.
static void matmul(const float* a, const float* b, float* c, int M, int K, int N, float* panel) {
  int M4 = M - M % 4, N8 = N - N % 8;
  for (int j = 0; j < N8; j += 8) {
    for (int k = 0; k < K; k++) {
      wasm_v128_store(panel + 8 * k, wasm_v128_load(b + k * N + j));
      wasm_v128_store(panel + 8 * k + 4, wasm_v128_load(b + k * N + j + 4));
    }
    for (int i = 0; i < M4; i += 4) block_4x8(a + i * K, panel, c + i * N + j, K, N, K);
  }
  for (int i = 0; i < M4; i += 4) {
    for (int r = i; r < i + 4; r++) for (int j = N8; j < N; j++) c[r * N + j] = dot(a + r * K, b + j, K, N);
  }
  for (int r = M4; r < M; r++) for (int j = 0; j < N; j++) c[r * N + j] = dot(a + r * K, b + j, K, N);
}

// C[b] = A[b] · B[b] for b < batch, all row-major and untransposed; a stride of 0 broadcasts one
// matrix over the batch. `panel` is scratch for 8·K floats.
void matmul_batched(const float* a, const float* b, float* c, int batch, int M, int K, int N, int stride_a, int stride_b, float* panel) {
  for (int i = 0; i < batch; i++) matmul(a + i * stride_a, b + i * stride_b, c + i * M * N, M, K, N, panel);
}

// dst[b] = src[b]ᵀ for `batch` row-major matrices of rows × cols.
void transpose_batched(const float* src, float* dst, int batch, int rows, int cols) {
  for (int b = 0; b < batch; b++, src += rows * cols, dst += rows * cols) {
    for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
  }
}

// ---------------------------------------------------------------------------------------------
// exp and the sigmoid, four lanes at a time, without libm: exp(x) = 2ⁿ · exp(r) with
// n = round(x / ln 2) and |r| ≤ ln 2 / 2, exp(r) by Cephes' degree-6 polynomial (relative
// error ~1e-7, a float32 ulp). Inputs are clamped to where the result is a normal float32.

static v128_t exp4(v128_t x) {
  x = wasm_f32x4_min(wasm_f32x4_max(x, wasm_f32x4_splat(-87.0f)), wasm_f32x4_splat(88.0f));
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = MADD(p, r, wasm_f32x4_splat(1.3981999507e-3f));
  p = MADD(p, r, wasm_f32x4_splat(8.3334519073e-3f));
  p = MADD(p, r, wasm_f32x4_splat(4.1665795894e-2f));
  p = MADD(p, r, wasm_f32x4_splat(1.6666665459e-1f));
  p = MADD(p, r, wasm_f32x4_splat(5.0000001201e-1f));
  p = MADD(p, wasm_f32x4_mul(r, r), wasm_f32x4_add(r, wasm_f32x4_splat(1.0f)));
  v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, scale);
}

// Lane 0 of exp4: the same function for the scalar tails, so that results do not depend on where
// a row's length leaves off a multiple of four.
static float exp1(float x) { return wasm_f32x4_extract_lane(exp4(wasm_f32x4_splat(x)), 0); }

static v128_t sigmoid4(v128_t u) {
  v128_t one = wasm_f32x4_splat(1.0f);
  return wasm_f32x4_div(one, wasm_f32x4_add(one, exp4(wasm_f32x4_neg(u))));
}

static float hsum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

// The largest lane, NaN if any lane is NaN (f32x4.max propagates NaN; a scalar `a > b ? a : b` would drop it).
static float hmax(v128_t v) {
  v = wasm_f32x4_max(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_max(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

// max(a, b) for the scalar tails, with NaN propagating as in hmax.
static float max1(float a, float b) { return (b > a || b != b) ? b : a; }

// ---------------------------------------------------------------------------------------------
// LayerNorm over the last axis: y = (x − μ) / √(σ² + eps) · w + b, row by row. `b` may be 0 (no
// bias). The backward pass recomputes μ and σ from x rather than storing them.

// Mean and 1/√(σ² + eps) of one row; σ² as the mean of squared deviations (two passes, as
// tf.moments computes it, so that a row with a large mean keeps its small variance).
// Inlined (like log_sum_exp): an out-parameter of a real call would need a stack in memory.
static inline __attribute__((always_inline)) void row_stats(const float* x, int cols, float eps, float* mean, float* rstd) {
  v128_t s = wasm_f32x4_splat(0);
  int j = 0;
  for (; j + 4 <= cols; j += 4) s = wasm_f32x4_add(s, wasm_v128_load(x + j));
  float sum = hsum(s);
  for (; j < cols; j++) sum += x[j];
  float mu = sum / cols;
  v128_t m4 = wasm_f32x4_splat(mu), q = wasm_f32x4_splat(0);
  for (j = 0; j + 4 <= cols; j += 4) {
    v128_t d = wasm_f32x4_sub(wasm_v128_load(x + j), m4);
    q = MADD(d, d, q);
  }
  float sq = hsum(q);
  for (; j < cols; j++) sq += (x[j] - mu) * (x[j] - mu);
  *mean = mu;
  *rstd = 1.0f / __builtin_sqrtf(sq / cols + eps);
}

void layer_norm(const float* x, const float* w, const float* b, float* y, int rows, int cols, float eps) {
  for (int r = 0; r < rows; r++, x += cols, y += cols) {
    float mu, rstd;
    row_stats(x, cols, eps, &mu, &rstd);
    v128_t m4 = wasm_f32x4_splat(mu), s4 = wasm_f32x4_splat(rstd);
    int j = 0;
    for (; j + 4 <= cols; j += 4) {
      v128_t n = wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + j), m4), s4), wasm_v128_load(w + j));
      wasm_v128_store(y + j, b ? wasm_f32x4_add(n, wasm_v128_load(b + j)) : n);
    }
    for (; j < cols; j++) y[j] = (x[j] - mu) * rstd * w[j] + (b ? b[j] : 0.0f);
  }
}

// With x̂ = (x − μ)·rstd and g = dy·w: dx = rstd · (g − mean(g) − x̂ · mean(g·x̂)),
// dw = Σ_rows dy·x̂, db = Σ_rows dy. `db` may be 0 (no bias).
void layer_norm_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, float* db, int rows, int cols, float eps) {
  for (int j = 0; j < cols; j++) {
    dw[j] = 0;
    if (db) db[j] = 0;
  }
  for (int r = 0; r < rows; r++, x += cols, dy += cols, dx += cols) {
    float mu, rstd;
    row_stats(x, cols, eps, &mu, &rstd);
    v128_t m4 = wasm_f32x4_splat(mu), s4 = wasm_f32x4_splat(rstd);
    v128_t sg = wasm_f32x4_splat(0), sgx = sg;
    int j = 0;
    for (; j + 4 <= cols; j += 4) {
      v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + j), m4), s4);
      v128_t d = wasm_v128_load(dy + j);
      v128_t g = wasm_f32x4_mul(d, wasm_v128_load(w + j));
      sg = wasm_f32x4_add(sg, g);
      sgx = MADD(g, xh, sgx);
      wasm_v128_store(dw + j, MADD(d, xh, wasm_v128_load(dw + j)));
      if (db) wasm_v128_store(db + j, wasm_f32x4_add(wasm_v128_load(db + j), d));
    }
    float sum_g = hsum(sg), sum_gx = hsum(sgx);
    for (; j < cols; j++) {
      float xh = (x[j] - mu) * rstd, g = dy[j] * w[j];
      sum_g += g;
      sum_gx += g * xh;
      dw[j] += dy[j] * xh;
      if (db) db[j] += dy[j];
    }
    float mg = sum_g / cols, mgx = sum_gx / cols;
    v128_t mg4 = wasm_f32x4_splat(mg), mgx4 = wasm_f32x4_splat(mgx);
    for (j = 0; j + 4 <= cols; j += 4) {
      v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + j), m4), s4);
      v128_t g = wasm_f32x4_mul(wasm_v128_load(dy + j), wasm_v128_load(w + j));
      wasm_v128_store(dx + j, wasm_f32x4_mul(s4, wasm_f32x4_sub(wasm_f32x4_sub(g, mg4), wasm_f32x4_mul(xh, mgx4))));
    }
    for (; j < cols; j++) {
      float xh = (x[j] - mu) * rstd;
      dx[j] = rstd * (dy[j] * w[j] - mg - xh * mgx);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// GELU, tanh approximation as in GPT-2, written as x·σ(2z) with z = √(2/π)·(x + 0.044715·x³).

#define GELU_A 0.7978845608028654f /* √(2/π) */
#define GELU_B 0.044715f

void gelu(const float* x, float* y, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t v = wasm_v128_load(x + i);
    v128_t z2 = wasm_f32x4_mul(wasm_f32x4_splat(2 * GELU_A), MADD(wasm_f32x4_mul(wasm_f32x4_mul(v, v), v), wasm_f32x4_splat(GELU_B), v));
    wasm_v128_store(y + i, wasm_f32x4_mul(v, sigmoid4(z2)));
  }
  for (; i < n; i++) {
    float v = x[i], z2 = 2 * GELU_A * (v + GELU_B * v * v * v);
    y[i] = v / (1.0f + exp1(-z2));
  }
}

// d/dx [x·σ(2z)] = σ + x·σ·(1 − σ)·2·dz/dx, with dz/dx = √(2/π)·(1 + 3·0.044715·x²).
void gelu_backward(const float* dy, const float* x, float* dx, int n) {
  int i = 0;
  v128_t one = wasm_f32x4_splat(1.0f);
  for (; i + 4 <= n; i += 4) {
    v128_t v = wasm_v128_load(x + i), v2 = wasm_f32x4_mul(v, v);
    v128_t s = sigmoid4(wasm_f32x4_mul(wasm_f32x4_splat(2 * GELU_A), MADD(wasm_f32x4_mul(v2, v), wasm_f32x4_splat(GELU_B), v)));
    v128_t dz = wasm_f32x4_mul(wasm_f32x4_splat(2 * GELU_A), MADD(v2, wasm_f32x4_splat(3 * GELU_B), one));
    v128_t d = MADD(wasm_f32x4_mul(wasm_f32x4_mul(v, s), wasm_f32x4_sub(one, s)), dz, s);
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), d));
  }
  for (; i < n; i++) {
    float v = x[i], s = 1.0f / (1.0f + exp1(-2 * GELU_A * (v + GELU_B * v * v * v)));
    dx[i] = dy[i] * (s + v * s * (1 - s) * 2 * GELU_A * (1 + 3 * GELU_B * v * v));
  }
}

// ---------------------------------------------------------------------------------------------
// Causal softmax of attention scores: for each of `batch` T × T matrices S, row i is
// softmax(scale · S[i, 0..i]) and 0 after the diagonal (a query attends to itself and earlier
// keys only). The same as adding −∞ above the diagonal before a softmax, without computing it.

void causal_softmax(const float* s, float* p, int batch, int T, float scale) {
  v128_t sc = wasm_f32x4_splat(scale);
  for (int m = 0; m < batch; m++) {
    for (int i = 0; i < T; i++, s += T, p += T) {
      int n = i + 1, j = 0;
      v128_t mx4 = wasm_f32x4_splat(-3.0e38f);
      for (; j + 4 <= n; j += 4) mx4 = wasm_f32x4_max(mx4, wasm_v128_load(s + j));
      float mx = hmax(mx4);
      for (; j < n; j++) mx = max1(mx, s[j]);
      v128_t off = wasm_f32x4_splat(scale * mx), sum4 = wasm_f32x4_splat(0);
      for (j = 0; j + 4 <= n; j += 4) {
        v128_t e = exp4(wasm_f32x4_sub(wasm_f32x4_mul(wasm_v128_load(s + j), sc), off));
        wasm_v128_store(p + j, e);
        sum4 = wasm_f32x4_add(sum4, e);
      }
      float sum = hsum(sum4);
      for (; j < n; j++) sum += (p[j] = exp1(s[j] * scale - scale * mx));
      v128_t inv = wasm_f32x4_splat(1.0f / sum);
      for (j = 0; j + 4 <= n; j += 4) wasm_v128_store(p + j, wasm_f32x4_mul(wasm_v128_load(p + j), inv));
      for (; j < n; j++) p[j] *= 1.0f / sum;
      for (; j < T; j++) p[j] = 0;
    }
  }
}

// dS_ij = scale · P_ij · (dP_ij − Σ_l P_il dP_il); zero above the diagonal, where P is 0.
void causal_softmax_backward(const float* dp, const float* p, float* ds, int batch, int T, float scale) {
  int rows = batch * T;
  for (int r = 0; r < rows; r++, dp += T, p += T, ds += T) {
    v128_t d4 = wasm_f32x4_splat(0);
    int j = 0;
    for (; j + 4 <= T; j += 4) d4 = MADD(wasm_v128_load(p + j), wasm_v128_load(dp + j), d4);
    float d = hsum(d4);
    for (; j < T; j++) d += p[j] * dp[j];
    v128_t dd = wasm_f32x4_splat(d), sc = wasm_f32x4_splat(scale);
    for (j = 0; j + 4 <= T; j += 4) {
      v128_t pj = wasm_v128_load(p + j);
      wasm_v128_store(ds + j, wasm_f32x4_mul(sc, wasm_f32x4_mul(pj, wasm_f32x4_sub(wasm_v128_load(dp + j), dd))));
    }
    for (; j < T; j++) ds[j] = scale * p[j] * (dp[j] - d);
  }
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy of logits Z [N, V] against integer targets t [N]: the mean over rows of
// log Σ_j exp(Z_ij) − Z_{i,t_i}, summed in double. Returns the mean.

static inline __attribute__((always_inline)) float log_sum_exp(const float* z, int V, float* mx_out) {
  v128_t mx4 = wasm_f32x4_splat(-3.0e38f);
  int j = 0;
  for (; j + 4 <= V; j += 4) mx4 = wasm_f32x4_max(mx4, wasm_v128_load(z + j));
  float mx = hmax(mx4);
  for (; j < V; j++) mx = max1(mx, z[j]);
  v128_t m4 = wasm_f32x4_splat(mx), s4 = wasm_f32x4_splat(0);
  for (j = 0; j + 4 <= V; j += 4) s4 = wasm_f32x4_add(s4, exp4(wasm_f32x4_sub(wasm_v128_load(z + j), m4)));
  float s = hsum(s4);
  for (; j < V; j++) s += exp1(z[j] - mx);
  *mx_out = mx;
  return s;
}

// log of a positive normal float32, for the cross-entropy only: log s = e·ln 2 + log m with
// m ∈ [√½, √2), log m = 2·atanh(u), u = (m − 1)/(m + 1), by its series to u¹¹ (|u| ≤ 0.172:
// error below 1e-9). Anything else (NaN, ∞: logits that are not finite) gives NaN.
static double log_positive(float s) {
  if (!(s > 0 && s < 3.4e38f)) return s == 0 ? -1.0 / 0.0 : 0.0 / 0.0; // 0: −∞; NaN or ∞: NaN, so that the loss says so
  unsigned bits = __builtin_bit_cast(unsigned, s);
  int e = (int)((bits >> 23) & 255) - 127;
  double m = (double)__builtin_bit_cast(float, (bits & 0x007fffffu) | 0x3f800000u);
  if (m > 1.41421356237) {
    m *= 0.5;
    e += 1;
  }
  double u = (m - 1) / (m + 1), u2 = u * u;
  double series = u * (2 + u2 * (2.0 / 3 + u2 * (2.0 / 5 + u2 * (2.0 / 7 + u2 * (2.0 / 9 + u2 * (2.0 / 11))))));
  return e * 0.6931471805599453 + series;
}

float cross_entropy(const float* z, const int* t, int N, int V) {
  double total = 0;
  for (int i = 0; i < N; i++, z += V) {
    float mx;
    float s = log_sum_exp(z, V, &mx);
    total += (double)mx + log_positive(s) - (double)z[t[i]];
  }
  return (float)(total / N);
}

// dZ_ij = dloss / N · (softmax(Z_i)_j − [j = t_i]).
void cross_entropy_backward(const float* z, const int* t, float* dz, int N, int V, float dloss) {
  float g = dloss / N;
  for (int i = 0; i < N; i++, z += V, dz += V) {
    float mx;
    float s = log_sum_exp(z, V, &mx);
    v128_t m4 = wasm_f32x4_splat(mx), k4 = wasm_f32x4_splat(g / s);
    int j = 0;
    for (; j + 4 <= V; j += 4) wasm_v128_store(dz + j, wasm_f32x4_mul(k4, exp4(wasm_f32x4_sub(wasm_v128_load(z + j), m4))));
    for (; j < V; j++) dz[j] = (g / s) * exp1(z[j] - mx);
    dz[t[i]] -= g;
  }
}
