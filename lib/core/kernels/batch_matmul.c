// Batched matrix multiply in WebAssembly SIMD, for the small matrices of attention.
//
// tfjs's wasm backend sends every batched or transposed matmul to a scalar loop (~1–2 GFLOP/s);
// attention's QKᵀ, A·V and their gradients are all of that kind. This kernel computes
// C[b] = A[b] · B[b] for row-major, untransposed A [M, K] and B [K, N]; the caller transposes
// operands first with transpose_batched, which costs O(size) against the product's O(M·K·N).
//
// Build: npm run build:kernels (clang --target=wasm32 -msimd128 -O3); the .wasm is versioned.
#include <wasm_simd128.h>

// A 4 × 8 block of C is held in eight 4-lane registers while k runs over K: each step loads
// one row piece of B (two vectors) and four scalars of A, and does 8 multiply-adds of 4 lanes.
static void block_4x8(const float* a, const float* b, float* c, int K, int N, int lda) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int k = 0; k < K; k++) {
    v128_t b0 = wasm_v128_load(b + k * N), b1 = wasm_v128_load(b + k * N + 4);
    v128_t a0 = wasm_f32x4_splat(a[k]), a1 = wasm_f32x4_splat(a[lda + k]);
    v128_t a2 = wasm_f32x4_splat(a[2 * lda + k]), a3 = wasm_f32x4_splat(a[3 * lda + k]);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a0, b0)); c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a0, b1));
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a1, b0)); c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a1, b1));
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a2, b0)); c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a2, b1));
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a3, b0)); c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a3, b1));
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

static void matmul(const float* a, const float* b, float* c, int M, int K, int N) {
  int M4 = M - M % 4, N8 = N - N % 8;
  for (int i = 0; i < M4; i += 4) {
    for (int j = 0; j < N8; j += 8) block_4x8(a + i * K, b + j, c + i * N + j, K, N, K);
    for (int r = i; r < i + 4; r++) for (int j = N8; j < N; j++) c[r * N + j] = dot(a + r * K, b + j, K, N);
  }
  for (int r = M4; r < M; r++) for (int j = 0; j < N; j++) c[r * N + j] = dot(a + r * K, b + j, K, N);
}

// C[b] = A[b] · B[b] for b < batch; a stride of 0 broadcasts one matrix over the batch.
void matmul_batched(const float* a, const float* b, float* c, int batch, int M, int K, int N, int stride_a, int stride_b) {
  for (int i = 0; i < batch; i++) matmul(a + i * stride_a, b + i * stride_b, c + i * M * N, M, K, N);
}

// dst[b] = src[b]ᵀ for `batch` row-major matrices of rows × cols.
void transpose_batched(const float* src, float* dst, int batch, int rows, int cols) {
  for (int b = 0; b < batch; b++, src += rows * cols, dst += rows * cols) {
    for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
  }
}
