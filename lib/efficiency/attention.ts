// Attention for one head, two ways.
//
// Standard attention materialises the N×N matrices S = QKᵀ/√d and P = softmax(S) and then
// computes O = PV: memory grows as N². FlashAttention (Dao et al. 2022, "FlashAttention: Fast
// and Memory-Efficient Exact Attention with IO-Awareness") computes the same O by walking over
// blocks of keys and queries. It keeps, for every query row, the running maximum m of the scores
// seen so far and the running sum ℓ of exp(score − m); when a new block raises the maximum, the
// output accumulated so far is rescaled by exp(m_old − m_new) (the "online softmax"). It never
// holds more than a [B_r, B_c] tile of scores, so its working memory is O(N).
//
// Plain TypeScript on row-major Float32Arrays, so that the memory reported is exactly the buffers
// the code allocates. Arithmetic happens in JS numbers (float64); every buffer stores float32.

import { checkPositiveInteger, checkThat, describeValue, refuse } from "../core/checks";
import { MAX_BUFFER_ELEMENTS, MemoryTracker } from "./memory";

export interface AttentionOptions {
  /** Query i attends only to keys j ≤ i; needs as many keys as queries. Default false. */
  causal?: boolean;
  /** Number of keys and values N_k, the rows of K and V. Default n (self-attention). */
  nKeys?: number;
}

export interface FlashAttentionOptions extends AttentionOptions {
  /** Query rows per tile, B_r. Default FLASH_BLOCK_ROWS. */
  blockRows?: number;
  /** Key/value rows per tile, B_c. Default FLASH_BLOCK_COLS. */
  blockCols?: number;
}

export interface AttentionResult {
  /** O = softmax(QKᵀ/√d) V, [N, d]. */
  out: Float32Array;
  /** L_i = m_i + log ℓ_i = log Σ_j exp(S_ij), [N]: all the backward pass needs to rebuild P. */
  logsumexp: Float32Array;
  /** Largest total bytes of working buffers held at once (inputs and outputs not counted). */
  peakBytes: number;
}

export interface NaiveAttentionResult extends AttentionResult {
  /** P = softmax(S), [N, N_k], kept for the backward pass (and counted in peakBytes). */
  probs: Float32Array;
}

export interface AttentionGradients {
  dq: Float32Array; // [N, d]
  dk: Float32Array; // [N_k, d]
  dv: Float32Array; // [N_k, d]
  /** Largest total bytes of working buffers held at once (inputs and outputs not counted). */
  peakBytes: number;
}

/**
 * Default tile sizes. In JS the tile size hardly matters for speed: on a 2-core x86 under Node 20
 * every choice from 16×16 to 256×256 ran within measurement noise of the others at N = 1024 and
 * 2048, d = 64 (`npm run bench:attention` prints the comparison). 64×64 keeps the tile of scores
 * at 16 KiB and the K and V blocks at 16 KiB each, in cache, as on a GPU's SRAM.
 */
export const FLASH_BLOCK_ROWS = 64;
export const FLASH_BLOCK_COLS = 64;

// ---------------------------------------------------------------------------------------------
// Validation

/**
 * Refuses, before anything is allocated, a working buffer of more than MAX_BUFFER_ELEMENTS
 * float32s (1 GiB): `what` names the buffer and the sizes it comes from, `advice` what to change.
 */
export function checkBufferSize(fn: string, what: string, elements: number, advice: string): void {
  if (elements <= MAX_BUFFER_ELEMENTS) return;
  const gib = ((elements * 4) / 2 ** 30).toFixed(1);
  throw new Error(
    `${fn}: ${what} would hold ${elements.toLocaleString("en-US")} float32s (${gib} GiB); `
    + `a working buffer may hold at most ${MAX_BUFFER_ELEMENTS.toLocaleString("en-US")} (1 GiB); ${advice}`,
  );
}

/** Checks that `array` is a Float32Array holding a row-major [rows, cols] matrix. */
export function checkMatrix(fn: string, name: string, array: Float32Array, shape: string, rows: number, cols: number): void {
  if (!(array instanceof Float32Array)) throw new Error(`${fn}: ${name} must be a Float32Array; got ${describeValue(array)}`);
  const want = rows * cols;
  if (array.length === want) {
    // One NaN would silently spread through its row's softmax and every output that reads it.
    const bad = array.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) refuse(fn, `${name}[${Math.floor(bad / cols)}, ${bad % cols}]`, array[bad], "a finite number (attention needs finite inputs)");
    return;
  }
  const as = array.length % cols === 0 ? `[${array.length / cols}, ${cols}]` : `not a multiple of ${cols}`;
  throw new Error(`${fn}: ${name} must be ${shape} = [${rows}, ${cols}], ${want} elements; got ${array.length} elements (${as})`);
}

/** Validates Q [n, d], K [nKeys, d], V [nKeys, d] and the options; returns the resolved sizes. */
export function checkAttentionInputs(
  fn: string, q: Float32Array, k: Float32Array, v: Float32Array, n: number, d: number, options: AttentionOptions,
): { nKeys: number; causal: boolean } {
  checkPositiveInteger(fn, "n", n);
  checkPositiveInteger(fn, "d", d);
  const nKeys = checkPositiveInteger(fn, "nKeys", options.nKeys ?? n);
  const causal = options.causal ?? false;
  if (causal && nKeys !== n) throw new Error(`${fn}: causal attention needs as many keys as queries; got n = ${n} queries and nKeys = ${nKeys} keys`);
  checkMatrix(fn, "q", q, "[n, d]", n, d);
  checkMatrix(fn, "k", k, "[nKeys, d]", nKeys, d);
  checkMatrix(fn, "v", v, "[nKeys, d]", nKeys, d);
  return { nKeys, causal };
}

function checkBlocks(fn: string, options: FlashAttentionOptions): { br: number; bc: number } {
  const br = checkPositiveInteger(fn, "blockRows", options.blockRows ?? FLASH_BLOCK_ROWS);
  const bc = checkPositiveInteger(fn, "blockCols", options.blockCols ?? FLASH_BLOCK_COLS);
  checkBufferSize(fn, `a tile of [blockRows, blockCols] = [${br}, ${bc}] scores`, br * bc, "choose smaller blocks");
  return { br, bc };
}

/** The [n, nKeys] matrices of standard attention (S, P, dP, dS), refused before allocating if too large. */
export function checkScoresSize(fn: string, n: number, nKeys: number, advice: string): void {
  checkBufferSize(fn, `the scores [n, nKeys] = [${n}, ${nKeys}]`, n * nKeys, advice);
}

// ---------------------------------------------------------------------------------------------
// Small kernels shared by both algorithms

// Both unrolled by 4: four independent partial sums let the CPU overlap the multiply-adds,
// about 1.3× faster under V8 than the one-line loops they compute.

/** a[aOff : aOff + d] · b[bOff : bOff + d] */
function dot(a: Float32Array, aOff: number, b: Float32Array, bOff: number, d: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let x = 0;
  for (; x + 3 < d; x += 4) {
    s0 += a[aOff + x] * b[bOff + x];
    s1 += a[aOff + x + 1] * b[bOff + x + 1];
    s2 += a[aOff + x + 2] * b[bOff + x + 2];
    s3 += a[aOff + x + 3] * b[bOff + x + 3];
  }
  for (; x < d; x++) s0 += a[aOff + x] * b[bOff + x];
  return s0 + s1 + (s2 + s3);
}

/** y[yOff : yOff + d] += alpha · x[xOff : xOff + d] */
function axpy(alpha: number, x: Float32Array, xOff: number, y: Float32Array, yOff: number, d: number): void {
  let t = 0;
  for (; t + 3 < d; t += 4) {
    y[yOff + t] += alpha * x[xOff + t];
    y[yOff + t + 1] += alpha * x[xOff + t + 1];
    y[yOff + t + 2] += alpha * x[xOff + t + 2];
    y[yOff + t + 3] += alpha * x[xOff + t + 3];
  }
  for (; t < d; t++) y[yOff + t] += alpha * x[xOff + t];
}

// ---------------------------------------------------------------------------------------------
// Standard attention (Dao et al., Algorithm 0)

/**
 * Standard attention: S = QKᵀ/√d [N, N_k] is written out in full, P = softmax(S) row-wise
 * (max-subtracted, so exp never overflows) in full, then O = PV. The causal mask is applied
 * the way a dense implementation does it (masked_fill with −∞ after the full product), so the
 * masked half costs the same as the rest. P is returned for the backward pass.
 */
export function naiveAttention(q: Float32Array, k: Float32Array, v: Float32Array, n: number, d: number, options: AttentionOptions = {}): NaiveAttentionResult {
  const { nKeys, causal } = checkAttentionInputs("naiveAttention", q, k, v, n, d, options);
  checkScoresSize("naiveAttention", n, nKeys, "use flashAttention, whose memory grows as n, or a smaller n");
  const scale = 1 / Math.sqrt(d);
  const memory = new MemoryTracker("naiveAttention");
  const out = new Float32Array(n * d); // [N, d]
  const logsumexp = new Float32Array(n); // [N]

  const scores = memory.float32(n * nKeys); // S [N, N_k]
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < nKeys; j++) scores[i * nKeys + j] = dot(q, i * d, k, j * d, d) * scale;
    if (causal) scores.fill(-Infinity, i * nKeys + i + 1, (i + 1) * nKeys);
  }

  const probs = memory.float32(n * nKeys); // P [N, N_k]
  for (let i = 0; i < n; i++) {
    const row = i * nKeys;
    let max = -Infinity;
    for (let j = 0; j < nKeys; j++) max = Math.max(max, scores[row + j]);
    let sum = 0;
    for (let j = 0; j < nKeys; j++) {
      const p = Math.exp(scores[row + j] - max);
      probs[row + j] = p;
      sum += p;
    }
    for (let j = 0; j < nKeys; j++) probs[row + j] /= sum;
    logsumexp[i] = max + Math.log(sum);
  }
  memory.free(scores);

  for (let i = 0; i < n; i++) {
    for (let j = 0; j < nKeys; j++) axpy(probs[i * nKeys + j], v, j * d, out, i * d, d); // O_i += P_ij V_j
  }
  // P stays alive: the caller keeps it for the backward pass, so it is counted until the end.
  return { out, logsumexp, probs, peakBytes: memory.peakBytes };
}

/**
 * Backward of standard attention from the stored P [N, N_k], given dO [N, d]:
 *   dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ∘ (dP − D) with D_i = Σ_j P_ij dP_ij,
 *   dQ = dS K / √d,  dK = dSᵀ Q / √d.
 * dP and dS are materialised [N, N_k] (Dao et al., Algorithm 3). The causal mask needs no
 * option here: P is already zero where it applied, so dS is too.
 */
export function naiveAttentionBackward(
  q: Float32Array, k: Float32Array, v: Float32Array, probs: Float32Array, dOut: Float32Array,
  n: number, d: number, options: { nKeys?: number } = {},
): AttentionGradients {
  const fn = "naiveAttentionBackward";
  const { nKeys } = checkAttentionInputs(fn, q, k, v, n, d, { nKeys: options.nKeys });
  checkScoresSize(fn, n, nKeys, "use flashAttentionBackward, whose memory grows as n, or a smaller n");
  checkMatrix(fn, "probs", probs, "[n, nKeys]", n, nKeys);
  checkMatrix(fn, "dOut", dOut, "[n, d]", n, d);
  const scale = 1 / Math.sqrt(d);
  const memory = new MemoryTracker(fn);
  const dq = new Float32Array(n * d);
  const dk = new Float32Array(nKeys * d);
  const dv = new Float32Array(nKeys * d);

  // dV = Pᵀ dO: row j of dV gathers P_ij dO_i over the queries i.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < nKeys; j++) axpy(probs[i * nKeys + j], dOut, i * d, dv, j * d, d);
  }

  const dP = memory.float32(n * nKeys); // dP = dO Vᵀ [N, N_k]
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < nKeys; j++) dP[i * nKeys + j] = dot(dOut, i * d, v, j * d, d);
  }

  // The softmax Jacobian: dS_ij = P_ij (dP_ij − Σ_l P_il dP_il).
  const D = memory.float32(n); // [N]
  const dS = memory.float32(n * nKeys); // [N, N_k]
  for (let i = 0; i < n; i++) {
    const row = i * nKeys;
    let s = 0;
    for (let j = 0; j < nKeys; j++) s += probs[row + j] * dP[row + j];
    D[i] = s;
    for (let j = 0; j < nKeys; j++) dS[row + j] = probs[row + j] * (dP[row + j] - D[i]);
  }
  memory.free(dP, D);

  // S = QKᵀ/√d, so dQ = dS K/√d and dK = dSᵀ Q/√d.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < nKeys; j++) {
      const g = dS[i * nKeys + j] * scale;
      for (let x = 0; x < d; x++) {
        dq[i * d + x] += g * k[j * d + x];
        dk[j * d + x] += g * q[i * d + x];
      }
    }
  }
  memory.free(dS);
  return { dq, dk, dv, peakBytes: memory.peakBytes };
}

// ---------------------------------------------------------------------------------------------
// FlashAttention (Dao et al., Algorithm 1)

/**
 * The tiles FlashAttention visits, key blocks outermost as in Algorithm 1: for each block of keys
 * [kvStart, kvEnd), each block of query rows [rowStart, rowEnd) that can see any of them.
 * Causal: query rows before kvStart see none of these keys, so the first row block is the one
 * holding row kvStart.
 */
function forEachTile(
  n: number, nKeys: number, br: number, bc: number, causal: boolean,
  visit: (kvStart: number, kvEnd: number, rowStart: number, rowEnd: number) => void,
): void {
  for (let kvStart = 0; kvStart < nKeys; kvStart += bc) {
    const kvEnd = Math.min(kvStart + bc, nKeys);
    const firstRow = causal ? Math.floor(kvStart / br) * br : 0;
    for (let rowStart = firstRow; rowStart < n; rowStart += br) visit(kvStart, kvEnd, rowStart, Math.min(rowStart + br, n));
  }
}

/**
 * FlashAttention forward. Outer loop over key/value blocks j (B_c rows of K and V), inner loop
 * over query blocks i (B_r rows of Q); per tile, with m̃, ℓ̃ the tile's own row max and row sum:
 *   S̃ = Q_i K_jᵀ/√d,  m̃ = rowmax(S̃),  P̃ = exp(S̃ − m̃),  ℓ̃ = rowsum(P̃)
 *   m_new = max(m_i, m̃),  ℓ_new = e^(m_i − m_new) ℓ_i + e^(m̃ − m_new) ℓ̃
 *   O_i ← (ℓ_i e^(m_i − m_new) O_i + e^(m̃ − m_new) P̃ V_j) / ℓ_new
 * Working memory: m and ℓ ([N] each) and one [B_r, B_c] tile. With a causal mask, tiles that
 * lie entirely above the diagonal are skipped, and inside a diagonal tile masked scores are −∞.
 * Also returns L = m + log ℓ, which lets the backward pass rebuild P tile by tile.
 */
export function flashAttention(q: Float32Array, k: Float32Array, v: Float32Array, n: number, d: number, options: FlashAttentionOptions = {}): AttentionResult {
  const fn = "flashAttention";
  const { nKeys, causal } = checkAttentionInputs(fn, q, k, v, n, d, options);
  const { br, bc } = checkBlocks(fn, options);
  const scale = 1 / Math.sqrt(d);
  const memory = new MemoryTracker(fn);
  const out = new Float32Array(n * d); // O = 0 [N, d]
  const logsumexp = new Float32Array(n); // [N]

  const m = memory.float32(n).fill(-Infinity); // running row max [N]
  const l = memory.float32(n); // running row sum of exp(S − m) [N]
  const tile = memory.float32(br * bc); // S̃_ij, then P̃_ij in place [B_r, B_c]
  const tileMax = memory.float32(br); // m̃_ij [B_r]
  const tileSum = memory.float32(br); // ℓ̃_ij [B_r]

  forEachTile(n, nKeys, br, bc, causal, (kvStart, kvEnd, rowStart, rowEnd) => {
    // S̃ = Q_i K_jᵀ/√d, masked; m̃ = rowmax(S̃).
    for (let r = rowStart; r < rowEnd; r++) {
      const t = (r - rowStart) * bc - kvStart; // tile[t + c] is S̃[r, c]
      const lastCol = causal ? Math.min(kvEnd, r + 1) : kvEnd; // keys c < lastCol are visible
      let max = -Infinity;
      for (let c = kvStart; c < lastCol; c++) {
        tile[t + c] = dot(q, r * d, k, c * d, d) * scale;
        max = Math.max(max, tile[t + c]); // of the stored float32 scores, so m̃ is exactly one of them
      }
      tileMax[r - rowStart] = max;

      // P̃ = exp(S̃ − m̃), ℓ̃ = rowsum(P̃). A row that sees no key of this tile contributes nothing.
      let sum = 0;
      for (let c = kvStart; c < lastCol; c++) {
        const p = Math.exp(tile[t + c] - max);
        tile[t + c] = p;
        sum += p;
      }
      tileSum[r - rowStart] = sum;
    }

    // Merge the tile into the running statistics and rescale the output accumulated so far.
    for (let r = rowStart; r < rowEnd; r++) {
      const mTile = tileMax[r - rowStart];
      if (mTile === -Infinity) continue; // fully masked in this tile
      const mOld = m[r];
      const mNew = Math.max(mOld, mTile);
      const keep = Math.exp(mOld - mNew) * l[r]; // ℓ_i e^(m_i − m_new); 0 on the first visit
      const add = Math.exp(mTile - mNew); // e^(m̃ − m_new)
      const lNew = keep + add * tileSum[r - rowStart];
      const oRow = r * d;
      const rescale = keep / lNew;
      for (let x = 0; x < d; x++) out[oRow + x] *= rescale;
      const t = (r - rowStart) * bc - kvStart;
      const lastCol = causal ? Math.min(kvEnd, r + 1) : kvEnd;
      const w = add / lNew;
      for (let c = kvStart; c < lastCol; c++) axpy(w * tile[t + c], v, c * d, out, oRow, d); // += P̃ V_j
      m[r] = mNew;
      l[r] = lNew;
    }
  });

  for (let r = 0; r < n; r++) logsumexp[r] = m[r] + Math.log(l[r]);
  memory.free(m, l, tile, tileMax, tileSum);
  return { out, logsumexp, peakBytes: memory.peakBytes };
}

/**
 * FlashAttention backward (Dao et al. Algorithm 2, in the FlashAttention-2 form with
 * D = rowsum(dO ∘ O)): nothing of size N×N is stored. For each tile, P is rebuilt from Q, K and
 * the saved logsumexp, P_ij = exp(S_ij − L_i), and then
 *   dV_j += P_ijᵀ dO_i,  dP_ij = dO_i V_jᵀ,  dS_ij = P_ij ∘ (dP_ij − D_i),
 *   dQ_i += dS_ij K_j/√d,  dK_j += dS_ijᵀ Q_i/√d.
 * D_i = Σ_x dO_ix O_ix equals Σ_j P_ij dP_ij, so it is computed once in O(N·d).
 */
export function flashAttentionBackward(
  q: Float32Array, k: Float32Array, v: Float32Array, o: Float32Array, dOut: Float32Array, logsumexp: Float32Array,
  n: number, d: number, options: FlashAttentionOptions = {},
): AttentionGradients {
  const fn = "flashAttentionBackward";
  const { nKeys, causal } = checkAttentionInputs(fn, q, k, v, n, d, options);
  const { br, bc } = checkBlocks(fn, options);
  checkMatrix(fn, "o", o, "[n, d]", n, d);
  checkMatrix(fn, "dOut", dOut, "[n, d]", n, d);
  checkMatrix(fn, "logsumexp", logsumexp, "[n, 1]", n, 1);
  const scale = 1 / Math.sqrt(d);
  const memory = new MemoryTracker(fn);
  const dq = new Float32Array(n * d);
  const dk = new Float32Array(nKeys * d);
  const dv = new Float32Array(nKeys * d);

  const D = memory.float32(n); // rowsum(dO ∘ O) [N]
  for (let r = 0; r < n; r++) D[r] = dot(dOut, r * d, o, r * d, d);
  const P = memory.float32(br * bc); // P_ij [B_r, B_c]
  const dS = memory.float32(br * bc); // dP_ij, then dS_ij in place [B_r, B_c]

  forEachTile(n, nKeys, br, bc, causal, (kvStart, kvEnd, rowStart, rowEnd) => {
    for (let r = rowStart; r < rowEnd; r++) {
      const t = (r - rowStart) * bc - kvStart; // P[t + c] is P[r, c]
      const lastCol = causal ? Math.min(kvEnd, r + 1) : kvEnd; // masked keys have P = 0: skipped
      const L = logsumexp[r];
      for (let c = kvStart; c < lastCol; c++) {
        const p = Math.exp(dot(q, r * d, k, c * d, d) * scale - L); // P_ij = exp(S_ij − L_i)
        P[t + c] = p;
        dS[t + c] = p * (dot(dOut, r * d, v, c * d, d) - D[r]); // dS = P ∘ (dO Vᵀ − D)
      }
    }
    for (let r = rowStart; r < rowEnd; r++) {
      const t = (r - rowStart) * bc - kvStart;
      const lastCol = causal ? Math.min(kvEnd, r + 1) : kvEnd;
      const rOff = r * d;
      for (let c = kvStart; c < lastCol; c++) {
        const p = P[t + c];
        const g = dS[t + c] * scale;
        const cOff = c * d;
        // One pass over the head dimension for all three (a third of the loop overhead of three axpys).
        for (let x = 0; x < d; x++) {
          dv[cOff + x] += p * dOut[rOff + x]; // dV_j += P_ijᵀ dO_i
          dq[rOff + x] += g * k[cOff + x]; // dQ_i += dS_ij K_j/√d
          dk[cOff + x] += g * q[rOff + x]; // dK_j += dS_ijᵀ Q_i/√d
        }
      }
    }
  });
  memory.free(D, P, dS);
  return { dq, dk, dv, peakBytes: memory.peakBytes };
}

// ---------------------------------------------------------------------------------------------
// The IO model (Dao et al., Theorem 2)

export interface AttentionMemoryAccesses {
  /** HBM accesses (elements) of standard attention, Algorithm 0: 4·N·d + 4·N², i.e. Θ(N·d + N²). */
  standard: number;
  /** HBM accesses (elements) of FlashAttention, Algorithm 1: 2·N·d + T_c·(3·N·d + 4·N), i.e. Θ(N²·d²/M). */
  flash: number;
  /** M, the SRAM size in elements. */
  sramElements: number;
  /** The block sizes Algorithm 1 picks for this M: B_c = ⌈M/4d⌉, B_r = min(⌈M/4d⌉, d). */
  blockRows: number;
  blockCols: number;
}

/**
 * Dao et al. 2022, Figure 2 (left): attention of GPT-2 medium (N = 1024, d = 64, 16 heads, batch
 * 64) forward and backward on an A100, measured. Their standard implementation runs masking,
 * softmax and dropout as separate kernels, each a pass over the N×N matrices, forward and backward.
 */
export const DAO_2022_FIGURE_2 = {
  n: 1024, d: 64,
  standard: { gflops: 66.6, hbmGigabytes: 40.3, milliseconds: 41.7 },
  flash: { gflops: 75.2, hbmGigabytes: 4.4, milliseconds: 7.3 },
} as const;

/**
 * HBM (main-memory) accesses of one attention head of length N and head size d, counted in
 * elements line by line from the algorithms in Dao et al. 2022, for self-attention:
 *  - standard (Algorithm 0): read Q, K and write S (2Nd + N²); read S, write P (2N²); read P, V
 *    and write O (N² + 2Nd). Total 4Nd + 4N².
 *  - FlashAttention (Algorithm 1) with M = sramBytes / bytesPerElement: each K_j, V_j is read
 *    once (2Nd in all); for each of the T_c = ⌈N/B_c⌉ key blocks, all of Q, O, ℓ, m is read and
 *    O, ℓ, m written back (3Nd + 4N). Total 2Nd + T_c(3Nd + 4N) ≈ 12N²d²/M.
 * The causal mask is not modelled (it would roughly halve both).
 */
export function attentionMemoryAccesses(n: number, d: number, sramBytes: number, bytesPerElement = 4): AttentionMemoryAccesses {
  const fn = "attentionMemoryAccesses";
  checkPositiveInteger(fn, "n", n);
  checkPositiveInteger(fn, "d", d);
  checkPositiveInteger(fn, "bytesPerElement", bytesPerElement);
  checkThat(Number.isInteger(sramBytes) && sramBytes >= bytesPerElement, fn, "sramBytes", sramBytes, `an integer of at least one element (${bytesPerElement} bytes)`);
  const sramElements = Math.floor(sramBytes / bytesPerElement);
  const blockCols = Math.ceil(sramElements / (4 * d));
  const blockRows = Math.min(blockCols, d);
  const keyBlocks = Math.ceil(n / blockCols);
  return {
    standard: 4 * n * d + 4 * n * n,
    flash: 2 * n * d + keyBlocks * (3 * n * d + 4 * n),
    sramElements,
    blockRows,
    blockCols,
  };
}
