// Label-free structure for the self-supervised prototype score: a linear embedding (principal
// components, what a linear autoencoder's hidden layer learns) and k-means clustering in it.
// Written here rather than taken from a package so that it is float64, seeded with the course's
// own generator, and small enough to read.
import { Random } from "../core/random";
import { euclideanNorm } from "./examples";
import { checkFloat64Count, checkInteger, checkNonEmpty, checkObject, checkPositiveInteger, checkThat, describeValue, refuse } from "../core/checks";

/** Defaults, and the power iteration's cap: also what lesson 04's FLOP count of the prototype score assumes. */
export const KMEANS_DEFAULTS = { maxIterations: 100, restarts: 4, powerIterations: 1000 } as const;

export interface KMeansOptions {
  /** Clusters. */
  k: number;
  seed: number;
  /** Lloyd iterations at most per start. Default 100. */
  maxIterations?: number;
  /** Independent k-means++ starts; the one with the lowest inertia wins. Default 4. */
  restarts?: number;
}

export interface KMeansResult {
  /** Centroids, row-major [k, dim]. */
  centroids: Float64Array;
  /** Nearest centroid of each point. */
  assignments: Int32Array;
  /** Euclidean distance of each point to its nearest centroid. */
  distances: Float64Array;
  /** Sum of squared distances to the nearest centroid. */
  inertia: number;
  iterations: number;
}

function checkPoints(fn: string, points: Float64Array, dim: number): number {
  if (!(points instanceof Float64Array)) refuse(fn, "points", points, "a Float64Array [n, dim]", describeValue(points));
  checkPositiveInteger(fn, "dim", dim);
  checkNonEmpty(fn, "points", points, "at least one point");
  if (points.length % dim !== 0) throw new Error(`${fn}: ${points.length} values are not a whole number of rows of dim ${dim}`);
  for (let i = 0; i < points.length; i++) if (!Number.isFinite(points[i])) refuse(fn, `points[${i}] (row ${Math.floor(i / dim)})`, points[i], "a finite number");
  return points.length / dim;
}

function squaredDistance(a: Float64Array, ia: number, b: Float64Array, ib: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) { const v = a[ia + j] - b[ib + j]; s += v * v; }
  return s;
}

/** Nearest centroid of every point and the squared distance to it. */
function assign(points: Float64Array, n: number, dim: number, centroids: Float64Array, k: number, assignments: Int32Array, sq: Float64Array): number {
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let best = 0, bestD = Infinity;
    for (let c = 0; c < k; c++) {
      const dist = squaredDistance(points, i * dim, centroids, c * dim, dim);
      if (dist < bestD) { bestD = dist; best = c; }
    }
    assignments[i] = best;
    sq[i] = bestD;
    inertia += bestD;
  }
  return inertia;
}

/** k-means++ seeding (Arthur & Vassilvitskii 2007): each next centre drawn with probability ∝ squared distance to the nearest chosen one. */
function seedCentroids(points: Float64Array, n: number, dim: number, k: number, random: Random): Float64Array {
  const centroids = new Float64Array(k * dim);
  const first = random.int(n);
  centroids.set(points.subarray(first * dim, first * dim + dim), 0);
  const nearest = Float64Array.from({ length: n }, (_, i) => squaredDistance(points, i * dim, centroids, 0, dim));
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) total += nearest[i];
    let pick = n - 1;
    if (total > 0) {
      let target = random.next() * total;
      for (let i = 0; i < n; i++) { target -= nearest[i]; if (target < 0) { pick = i; break; } }
    } else {
      pick = random.int(n); // every point coincides with a centre already
    }
    centroids.set(points.subarray(pick * dim, pick * dim + dim), c * dim);
    for (let i = 0; i < n; i++) nearest[i] = Math.min(nearest[i], squaredDistance(points, i * dim, centroids, c * dim, dim));
  }
  return centroids;
}

/** k-means by Lloyd's algorithm from seeded k-means++ starts. An emptied cluster takes the point farthest from its centre. */
export function kMeans(points: Float64Array, dim: number, options: KMeansOptions): KMeansResult {
  const fn = "kMeans";
  const n = checkPoints(fn, points, dim);
  checkObject(fn, "options", options, "{k, seed}");
  const { k, seed } = options;
  checkThat(Number.isInteger(k) && k >= 1 && k <= n, fn, "k", k, `an integer in [1, ${n}] (the number of points)`);
  const maxIterations = options.maxIterations ?? KMEANS_DEFAULTS.maxIterations;
  const restarts = options.restarts ?? KMEANS_DEFAULTS.restarts;
  checkPositiveInteger(fn, "maxIterations", maxIterations);
  checkPositiveInteger(fn, "restarts", restarts);
  const random = new Random(seed);
  let best: KMeansResult | null = null;
  for (let start = 0; start < restarts; start++) {
    const centroids = seedCentroids(points, n, dim, k, random);
    const assignments = new Int32Array(n).fill(-1);
    const sq = new Float64Array(n);
    let inertia = assign(points, n, dim, centroids, k, assignments, sq);
    let iterations = 0;
    while (iterations < maxIterations) {
      iterations++;
      const sums = new Float64Array(k * dim), counts = new Int32Array(k);
      for (let i = 0; i < n; i++) {
        const c = assignments[i];
        counts[c]++;
        for (let j = 0; j < dim; j++) sums[c * dim + j] += points[i * dim + j];
      }
      for (let c = 0; c < k; c++) {
        if (counts[c] === 0) {
          let far = 0;
          for (let i = 1; i < n; i++) if (sq[i] > sq[far]) far = i;
          centroids.set(points.subarray(far * dim, far * dim + dim), c * dim);
          sq[far] = 0;
        } else {
          for (let j = 0; j < dim; j++) centroids[c * dim + j] = sums[c * dim + j] / counts[c];
        }
      }
      const before = Int32Array.from(assignments);
      inertia = assign(points, n, dim, centroids, k, assignments, sq);
      if (before.every((c, i) => c === assignments[i])) break;
    }
    if (best === null || inertia < best.inertia) {
      best = { centroids, assignments, distances: sq.map(Math.sqrt), inertia, iterations };
    }
  }
  return best!;
}

/**
 * The top `components` principal directions of the rows of `points` [n, dim], by power iteration
 * with deflation on the covariance, and the centred points projected onto them [n, components].
 * Directions are unit vectors. Where no variance is left (identical points, or more components
 * than the points span) a direction is an arbitrary (seeded) unit vector orthogonal to the ones
 * before it, and its variance is 0. The covariance is dim × dim float64s, so dim ≤ 2^14.
 */
export function principalComponents(points: Float64Array, dim: number, components: number, seed: number): { directions: Float64Array; projected: Float64Array; variances: Float64Array } {
  const fn = "principalComponents";
  const n = checkPoints(fn, points, dim);
  checkInteger(fn, "components", components, 1, dim);
  checkFloat64Count(fn, `the covariance of dim ${dim} (${dim}×${dim})`, dim * dim);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += points[i * dim + j] / n;
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dim; a++) {
      const va = points[i * dim + a] - mean[a];
      for (let b = 0; b <= a; b++) cov[a * dim + b] += (va * (points[i * dim + b] - mean[b])) / n;
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) cov[b * dim + a] = cov[a * dim + b];
  const random = new Random(seed);
  const directions = new Float64Array(components * dim);
  const variances = new Float64Array(components);
  const v = new Float64Array(dim), w = new Float64Array(dim);
  for (let c = 0; c < components; c++) {
    for (let j = 0; j < dim; j++) v[j] = random.normal();
    let lambda = 0;
    for (let it = 0; it < KMEANS_DEFAULTS.powerIterations; it++) {
      for (let a = 0; a < dim; a++) {
        let s = 0;
        for (let b = 0; b < dim; b++) s += cov[a * dim + b] * v[b];
        w[a] = s;
      }
      // Deflate: stay orthogonal to the directions already found.
      for (let p = 0; p < c; p++) {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += w[j] * directions[p * dim + j];
        for (let j = 0; j < dim; j++) w[j] -= dot * directions[p * dim + j];
      }
      const norm = euclideanNorm(w);
      if (norm === 0) {
        if (it === 0) orthonormalise(v, directions, c, dim); // v is still the raw random start
        break;
      }
      let change = 0;
      for (let j = 0; j < dim; j++) { const nv = w[j] / norm; change = Math.max(change, Math.abs(nv - v[j])); v[j] = nv; }
      lambda = norm;
      if (change < 1e-12) break;
    }
    directions.set(v, c * dim);
    variances[c] = lambda;
  }
  const projected = new Float64Array(n * components);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < components; c++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (points[i * dim + j] - mean[j]) * directions[c * dim + j];
      projected[i * components + c] = s;
    }
  }
  return { directions, projected, variances };
}

/** Makes v (length dim) a unit vector orthogonal to the first `count` rows of `directions` (Gram–Schmidt, twice for accuracy). */
function orthonormalise(v: Float64Array, directions: Float64Array, count: number, dim: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let p = 0; p < count; p++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += v[j] * directions[p * dim + j];
      for (let j = 0; j < dim; j++) v[j] -= dot * directions[p * dim + j];
    }
  }
  const norm = euclideanNorm(v);
  if (norm > 0) for (let j = 0; j < dim; j++) v[j] /= norm;
}
