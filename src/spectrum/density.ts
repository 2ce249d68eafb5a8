/**
 * Spectral density of the singular values of a linear operator by stochastic Lanczos quadrature
 * (SLQ; Golub & Meurant, Ubaru-Chen-Saad 2017), matrix-free.
 *
 *   spectralDensity(operator, { bins, probes?, steps?, seed?, distribution? })
 *     -> { edges, counts, standardError, quadratureBound, dimension, probes, steps }
 *
 * WHAT IT ESTIMATES. Let d = min(m, n) and s_1..s_d the singular values of the m x n operator A.
 * counts[b] estimates the number of singular values in [edges[b], edges[b+1]):
 *   N_b = #{ i : edges[b] <= s_i < edges[b+1] } = tr 1_b(M),   M = A^T A (n <= m) or A A^T (m < n),
 * with 1_b the indicator of [edges[b]^2, edges[b+1]^2) applied to the eigenvalues of M (d x d).
 * For each probe z (Rademacher +-1 entries, or Gaussian; seeded) the trace is estimated as
 * d * z^T 1_b(M) z / z^T z = d * mu_z(bin), which is unbiased (E = N_b) for both distributions, and
 * mu_z(bin) is evaluated by the Gauss quadrature rule of mu_z from `steps` Lanczos steps on M started
 * at z (assembly/slq.ts, fully reorthogonalized): nodes theta_j (Ritz values of M),
 * weights tau_j, so the probe's estimate is d * sum { tau_j : edges[b] <= sqrt(theta_j) <
 * edges[b+1] }. counts is the mean over probes; the weights sum to 1, so counts over bins covering
 * [0, s_max] sum to d exactly.
 *
 * ITS ERROR has two parts, both reported per bin:
 * - standardError[b]: the sample standard deviation of the per-probe estimates / sqrt(probes), the
 *   statistical error of the mean (for Rademacher probes and a bin holding r of the d values the
 *   per-probe variance is at most ~2r, so standardError ~ sqrt(2r/probes)).
 * - quadratureBound[b]: a DETERMINISTIC bound on how far each probe's Gauss-rule count may be from
 *   its exact d * mu_z(bin), by the Chebyshev-Markov-Stieltjes inequalities: for an edge c between
 *   consecutive nodes theta_k < c^2 <= theta_k+1, mu_z([0, c^2)) lies in [G - tau_k, G + tau_k+1] with
 *   G the rule's value, so the error per edge is at most d * max(tau_k, tau_k+1); the bound of a bin is
 *   that of its two edges, averaged over probes. It shrinks as steps grow (weights ~ 1/steps near the
 *   bulk) and vanishes for edges outside the spectrum.
 * Hence |counts[b] - N_b| <= quadratureBound[b] + 3 * standardError[b] with high probability
 * (probability ~ 0.997 under a normal approximation of the probe mean). Rounding adds O(eps ||M||)
 * to the nodes, which matters only for edges within that distance of an eigenvalue.
 *
 * Cost: probes * steps products with A and with A^T (in blocks of up to `batch` probes, default 8),
 * plus full reorthogonalization (~ 4 probes * steps^2 * d flops); memory ~ (steps+1)*batch*d doubles.
 *
 * Errors: InputError for bad bins (need >= 2 finite, strictly increasing edges), probes < 2,
 * steps < 1, an unknown distribution, or a bad operator (see lanczos.ts).
 */
import { SeededRandom } from '../util/random.js';
import { InputError } from '../util/errors.js';
import type { Kernels } from '../wasm/kernels.js';
import { drive, kernelsFor, operatorShape, type LinearOperator } from './lanczos.js';

export interface SpectralDensityOptions {
  /** Bin edges on the singular-value axis, strictly increasing (b + 1 edges give b bins). */
  bins: number[] | Float64Array;
  /** Number of probe vectors (default 16, at least 2). */
  probes?: number;
  /** Lanczos steps per probe (default 40, clamped to min(m, n)). */
  steps?: number;
  /** Seed of the probe vectors (default 0). */
  seed?: number;
  distribution?: 'rademacher' | 'gaussian';
  /** Probes run together in blocks of this many (default 8). */
  batch?: number;
  kernels?: Kernels;
}

export interface SpectralDensity {
  edges: Float64Array;
  /** Estimated number of singular values per bin (bins.length - 1 entries). */
  counts: Float64Array;
  /** Statistical standard error of each count (over probes). */
  standardError: Float64Array;
  /** Deterministic bound on the quadrature error of each count (see the module comment). */
  quadratureBound: Float64Array;
  /** d = min(m, n): the number of singular values. */
  dimension: number;
  probes: number;
  steps: number;
}

function positiveInteger(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InputError(`spectralDensity: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Spectral density of the singular values of `operator`; see the module comment. */
export async function spectralDensity(operator: LinearOperator, options: SpectralDensityOptions): Promise<SpectralDensity> {
  const what = 'spectralDensity';
  const [m, n] = operatorShape(operator, what);
  const d = Math.min(m, n);
  const bins = options?.bins;
  if (!bins || typeof bins !== 'object' || typeof bins.length !== 'number' || bins.length < 2) {
    throw new InputError(`${what}: bins must be an array of at least 2 edges`);
  }
  const edges = Float64Array.from(bins as ArrayLike<number>);
  for (let i = 0; i < edges.length; i++) {
    if (!Number.isFinite(edges[i])) throw new InputError(`${what}: bin edge ${i} is ${edges[i]}; edges must be finite`);
    if (i > 0 && !(edges[i] > edges[i - 1])) {
      throw new InputError(`${what}: bin edges must be strictly increasing, but edge ${i} (${edges[i]}) <= edge ${i - 1} (${edges[i - 1]})`);
    }
  }
  const probes = positiveInteger(options.probes, 'probes', 16, 2);
  const steps = Math.min(d, positiveInteger(options.steps, 'steps', 40, 1));
  const seed = positiveInteger(options.seed, 'seed', 0, 0);
  const batch = Math.min(probes, positiveInteger(options.batch, 'batch', 8, 1));
  const distribution = options.distribution ?? 'rademacher';
  if (distribution !== 'rademacher' && distribution !== 'gaussian') {
    throw new InputError(`${what}: distribution must be 'rademacher' or 'gaussian', got ${String(distribution)}`);
  }
  const kernels = await kernelsFor(operator, options.kernels, what);
  const exports = kernels.exports;
  const random = new SeededRandom(seed);
  const bincount = edges.length - 1;
  const perProbe: Float64Array[] = [];
  const bounds = new Float64Array(bincount);

  for (let first = 0; first < probes; first += batch) {
    const p = Math.min(batch, probes - first);
    const start = new Float64Array(p * d);
    for (let i = 0; i < start.length; i++) start[i] = distribution === 'rademacher' ? random.sign() : random.normal();
    await kernels.scope(async (s) => {
      const startPtr = s.copyIn(start);
      const nodesPtr = s.allocF64(p * steps), weightsPtr = s.allocF64(p * steps);
      const lengthsPtr = s.allocBytes(4 * p);
      const state = exports.slqCreate(m, n, p, steps, startPtr);
      if (!state) throw new Error(`${what}: slqCreate refused ${m} x ${n}, ${p} probes, ${steps} steps`);
      s.defer(() => exports.slqDestroy(state));
      await drive(kernels, state, operator, exports.slqStep, exports.slqRun, what);
      const failed = exports.slqResults(state, nodesPtr, weightsPtr, lengthsPtr, 0, 0);
      if (failed !== 0) throw new Error(`${what}: Gauss quadrature failed to converge for probe ${first + failed - 1}`);
      const nodes = kernels.f64(nodesPtr, p * steps).slice(), weights = kernels.f64(weightsPtr, p * steps).slice();
      const lengths = new Int32Array(kernels.memory.buffer, lengthsPtr, p).slice();
      for (let q = 0; q < p; q++) {
        const len = lengths[q];
        const values = new Float64Array(len), tau = weights.subarray(q * steps, q * steps + len);
        for (let j = 0; j < len; j++) values[j] = Math.sqrt(Math.max(0, nodes[q * steps + j]));
        perProbe.push(binCounts(values, tau, edges, d));
        const probeBounds = edgeBounds(values, tau, edges, d);
        for (let b = 0; b < bincount; b++) bounds[b] += probeBounds[b] + probeBounds[b + 1];
      }
    });
  }

  const counts = new Float64Array(bincount), standardError = new Float64Array(bincount);
  for (let b = 0; b < bincount; b++) {
    let mean = 0;
    for (const c of perProbe) mean += c[b];
    mean /= probes;
    let variance = 0;
    for (const c of perProbe) variance += (c[b] - mean) ** 2;
    variance /= probes - 1;
    counts[b] = mean;
    standardError[b] = Math.sqrt(variance / probes);
    bounds[b] /= probes;
  }
  return { edges, counts, standardError, quadratureBound: bounds, dimension: d, probes, steps };
}

/** d * (sum of weights of nodes s_j in each bin [edges[b], edges[b+1])); nodes ascending. */
function binCounts(nodes: Float64Array, weights: Float64Array, edges: Float64Array, d: number): Float64Array {
  const counts = new Float64Array(edges.length - 1);
  for (let j = 0; j < nodes.length; j++) {
    const s = nodes[j];
    if (s < edges[0] || s >= edges[edges.length - 1]) continue;
    let lo = 0, hi = edges.length - 1; // edges[lo] <= s < edges[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (edges[mid] <= s) lo = mid;
      else hi = mid;
    }
    counts[lo] += d * weights[j];
  }
  return counts;
}

/**
 * Chebyshev-Markov-Stieltjes bound per edge c: d * max(weight of the last node below c, weight of
 * the first node at or above c); 0 for c <= 0 (no singular value lies below 0).
 */
function edgeBounds(nodes: Float64Array, weights: Float64Array, edges: Float64Array, d: number): Float64Array {
  const out = new Float64Array(edges.length);
  for (let e = 0; e < edges.length; e++) {
    const c = edges[e];
    if (c <= 0) continue;
    let k = 0; // first node >= c
    while (k < nodes.length && nodes[k] < c) k++;
    const below = k > 0 ? weights[k - 1] : 0;
    const above = k < nodes.length ? weights[k] : 0;
    out[e] = d * Math.max(below, above);
  }
  return out;
}
