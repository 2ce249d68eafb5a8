/**
 * What a study's jobs cost, estimated, and how they are dealt to N shards so that the shards finish
 * together.
 *
 *   jobCost(model, { kind: 'spectrum', unit, method: 'full' })   -> estimated work (flop-like units)
 *   assignShards(costs, N)                                         -> shard (0-based) of each job
 *
 * The costs only need to be right relative to one another: a stage-1 full spectrum (J is 16384 x 16384)
 * costs about 40 times a stage-3 one (4096 x 4096), and a whole-network job (an accuracy batch, a
 * propagation chunk, a projection image) scales with the number of images and the network's forward
 * cost. The estimates:
 * - unit forward: 2 * K^2 * C_in * C_out * H_out * W_out for each convolution of the unit (pre-activation,
 *   body and shortcut, read from the model's graph; for the paper's family the two 3x3 convolutions of
 *   the body); network forward: the sum over units;
 * - full spectrum of a unit's m x n linearization J: forming J (n Jacobian-vector products, each a unit
 *   forward) plus the dense SVD, m * n * min(m, n);
 * - top-k (Golub-Kahan-Lanczos, about 3k steps of one product with J and one with J^T), density
 *   (stochastic Lanczos quadrature, 10 probes x 40 steps) and count (an exact inertia count, costed as
 *   the dense SVD it replaces);
 * - accuracy over I images: I network forwards; a propagation chunk of I images: I x (one gradient for
 *   FGSM, a forward of the perturbed and the clean image and the first-order pass through every unit),
 *   about 6 forwards; a projection image: for each attack and each unit, top-k Lanczos on that unit.
 *
 * Assignment is LPT (longest processing time first, Graham 1969): jobs in decreasing cost, each to the
 * shard with the least work so far. Its makespan is at most (4/3 - 1/(3N)) times the optimum, and it is
 * deterministic: ties in cost go by job position, ties in load to the lowest shard.
 *
 *   wideJobs(costs, fullSpectrum)                                  -> which jobs run on all threads
 *
 * Within one run (issue 15), the full spectra costing at least WIDE_SHARE of the costliest one run one
 * at a time on all threads, the rest beside them (src/study/jobs.ts laneOrder): for the paper's preset
 * the stage-1 spectra (16384 x 16384), each 4 times the estimate of a stage-2 one and about 10 times
 * its measured time.
 */
import { layerOutputShape } from '../linearize/graph-geometry.js';
import type { Layer, Shape3 } from '../model/graph.js';
import type { ResNetModel } from '../model/model.js';
import { DEFAULT_MEMORY_LIMIT } from '../spectrum/full.js';

/** One job's description, as far as its cost is concerned. */
export type CostedJob =
  | { kind: 'spectrum'; unit: number; method: 'full' | 'topk' | 'density' | 'count'; k?: number }
  | { kind: 'accuracy'; images: number }
  | { kind: 'propagation'; images: number }
  | { kind: 'projection'; k: number; attacks: number };

/** Multiply-adds of one forward pass of unit `u` for one image: 2 K^2 C_in C_out H_out W_out per convolution. */
export function unitForwardCost(model: ResNetModel, u: number): number {
  const unit = model.graph.units[u];
  const where = `unit ${unit.stage}.${unit.indexInStage + 1}`;
  // Walks the layers for their output sizes: the cost of their convolutions and the shape they give.
  const walk = (layers: Layer[], input: Shape3, part: string): { cost: number; shape: Shape3 } => {
    let shape = input;
    let cost = 0;
    layers.forEach((layer, i) => {
      shape = layerOutputShape(layer, shape, `${where} ${part} layer ${i}`);
      if (layer.op === 'conv') cost += 2 * layer.kernel * layer.kernel * layer.inChannels * layer.outChannels * shape[1] * shape[2];
    });
    return { cost, shape };
  };
  const pre = walk(unit.pre, unit.inShape, 'pre');
  const body = walk(unit.body, pre.shape, 'body');
  const shortcut = walk(unit.shortcut, unit.shortcutFrom === 'pre' ? pre.shape : unit.inShape, 'shortcut');
  return pre.cost + body.cost + shortcut.cost;
}

/** Multiply-adds of one forward pass of the network (its residual units) for one image. */
export function networkForwardCost(model: ResNetModel): number {
  let total = 0;
  for (let u = 0; u < model.unitCount; u++) total += unitForwardCost(model, u);
  return total;
}

const volume = (shape: Shape3) => shape[0] * shape[1] * shape[2];

/** Rows m and columns n of unit u's linearization J (outputs x inputs). */
export function unitJacobianShape(model: ResNetModel, u: number): [number, number] {
  const unit = model.graph.units[u];
  return [volume(unit.outShape), volume(unit.inShape)];
}

/**
 * Whether `--method full` fits the memory limit for unit u whatever its active rows: the cheaper of
 * spectrum/full.ts's dense and operator-Gram routes with every one of the m rows active, within
 * DEFAULT_MEMORY_LIMIT (every unit of the CIFAR families does; torchvision's stage-1 units at
 * 224x224, 200704 x 200704, do not).
 */
export function fullSpectrumFits(model: ResNetModel, u: number, memoryLimit = DEFAULT_MEMORY_LIMIT): boolean {
  const [m, n] = unitJacobianShape(model, u);
  const dense = 8 * (2 * m * n + Math.min(m, n) ** 2);
  const gram = 8 * (m * m + 3 * m + 32 * (m + n));
  return Math.min(dense, gram) <= memoryLimit;
}

/** Estimated work of one job, in multiply-adds (relative values are what matters). */
export function jobCost(model: ResNetModel, job: CostedJob): number {
  switch (job.kind) {
    case 'spectrum': {
      const [m, n] = unitJacobianShape(model, job.unit);
      const product = unitForwardCost(model, job.unit);
      if (job.method === 'full' || job.method === 'count') return n * product + m * n * Math.min(m, n);
      if (job.method === 'topk') return 3 * (job.k ?? 20) * 2 * product;
      return 10 * 40 * 2 * product;
    }
    case 'accuracy':
      return job.images * networkForwardCost(model);
    case 'propagation':
      return job.images * 6 * networkForwardCost(model);
    case 'projection': {
      let lanczos = 0;
      for (let u = 0; u < model.unitCount; u++) lanczos += 3 * job.k * 2 * unitForwardCost(model, u);
      return job.attacks * (lanczos + 3 * networkForwardCost(model));
    }
  }
}

/**
 * LPT assignment of jobs with the given costs (finite, >= 0) to `count` shards: the 0-based shard of
 * each job, in job order. Deterministic for given costs.
 */
export function assignShards(costs: readonly number[], count: number): number[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count must be a positive integer, got ${count}`);
  for (const c of costs) if (!(c >= 0) || !Number.isFinite(c)) throw new RangeError(`job costs must be finite and >= 0, got ${c}`);
  const order = costs.map((_, i) => i).sort((a, b) => costs[b] - costs[a] || a - b);
  const load = new Array<number>(count).fill(0);
  const shard = new Array<number>(costs.length);
  for (const job of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s] < load[best]) best = s;
    shard[job] = best;
    load[best] += costs[job];
  }
  return shard;
}

/** A full spectrum is wide when it costs at least this share of the costliest full spectrum. */
export const WIDE_SHARE = 0.5;

/**
 * Which jobs run one at a time on all threads: those marked `fullSpectrum` costing at least WIDE_SHARE
 * of the costliest so marked (none when none is marked). Deterministic for given costs.
 */
export function wideJobs(costs: readonly number[], fullSpectrum: readonly boolean[]): boolean[] {
  if (costs.length !== fullSpectrum.length) throw new RangeError(`wideJobs needs one flag per job (${costs.length} costs, ${fullSpectrum.length} flags)`);
  for (const c of costs) if (!(c >= 0) || !Number.isFinite(c)) throw new RangeError(`job costs must be finite and >= 0, got ${c}`);
  const largest = Math.max(0, ...costs.filter((_, p) => fullSpectrum[p]));
  return costs.map((c, p) => fullSpectrum[p] && largest > 0 && c >= WIDE_SHARE * largest);
}

/** Total cost per shard of an assignment (for logs and tests). */
export function shardLoads(costs: readonly number[], shards: readonly number[], count: number): number[] {
  const load = new Array<number>(count).fill(0);
  shards.forEach((s, i) => (load[s] += costs[i]));
  return load;
}
