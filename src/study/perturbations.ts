/**
 * Input perturbations in pixel space [0, 1], all clipped back to [0, 1] (d = 3*H*W values per image, H x W
 * the model's input size; 3*32*32 for the paper's family):
 *
 *   fgsm      x + eps * sign(g)               (norm linf)   x + eps * g / ||g||_2   (norm l2)
 *   pgd       `steps` projected steps of size `stepSize` from x (plus a uniform random start in the
 *             eps-ball when `randomStart`): x_{t+1} = P(x_t + stepSize * sign(g_t)) for linf, or
 *             P(x_t + stepSize * g_t / ||g_t||_2) for l2, where P projects onto the eps-ball around x
 *             and then clips to [0, 1]
 *   gaussian  x + r * z / ||z||_2, z ~ N(0, I), with r = eps * sqrt(d) (linf: the L2 length of an
 *             eps-sign vector) or r = eps (l2)
 *   sign      x + eps * s, s uniform in {-1, +1}^d (linf), or x + eps * s / sqrt(d) (l2)
 *
 * where g = grad_x CE(f(x), label) is the gradient of the cross-entropy at the true label. By default
 * FGSM takes it in float64 — J_net^T (softmax(f(x)) - onehot(label)) with the network's linearization
 * at the float64 trajectory, exactly what PyTorch computes in float64 — and PGD, which needs `steps`
 * gradients per image, takes it from tfjs in float32 (batched; near-zero components may differ in sign
 * from the float64 ones). `gradient` overrides the choice. Random and FGSM perturbations with the same eps therefore have
 * the same L2 size before clipping. Randomness comes only from `seed`.
 *
 * Any family: the tfjs gradient differentiates the model's graph forward (model/forward.ts
 * logitsFromPixels), the float64 one is J^T of the general network linearization
 * (linearize/graph-linearize.ts) at the model's float64 point; classes come from the model.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { linearize } from '../linearize/graph-linearize.js';
import { modelTrajectory64 } from '../linearize/model-point.js';
import { linearizeNetwork } from '../linearize/network.js';
import type { JacobianOperator } from '../linearize/operator.js';
import { float64Trajectory } from '../linearize/trajectory64.js';
import { initBackend } from '../model/backend.js';
import { logitsFromPixels } from '../model/forward.js';
import type { ResNetModel } from '../model/model.js';
import { InputError, UsageError } from '../util/errors.js';
import { SeededRandom } from '../util/random.js';

export const ATTACKS = ['fgsm', 'pgd', 'gaussian', 'sign'] as const;
export type AttackName = (typeof ATTACKS)[number];
export type PerturbationNorm = 'linf' | 'l2';

export interface PerturbationOptions {
  attack: AttackName;
  eps: number;
  norm?: PerturbationNorm;
  /** PGD iterations (default 10). */
  steps?: number;
  /** PGD step size (default 2.5 * eps / steps). */
  stepSize?: number;
  /** PGD starts from a uniformly random point of the eps-ball (default true). */
  randomStart?: boolean;
  seed?: number;
  /** Precision of the loss gradient (default: f64 for fgsm, f32 for pgd). */
  gradient?: 'f64' | 'f32';
}

/** Values in one image of the paper's family (3 x 32 x 32). */
export const IMAGE_SIZE = 3 * 32 * 32;


/** The largest perturbation size accepted. */
export const MAX_EPS = 1e3;

export function checkPerturbationOptions(options: PerturbationOptions): Required<PerturbationOptions> {
  const { attack, eps } = options;
  if (!(ATTACKS as readonly string[]).includes(attack)) {
    throw new UsageError(`unknown attack "${attack}" (expected ${ATTACKS.join(', ')})`);
  }
  if (!Number.isFinite(eps) || eps < 0) throw new UsageError(`eps must be a finite number >= 0, got ${eps}`);
  // Pixels lie in [0, 1]; far larger perturbations only overflow the arithmetic.
  if (eps > MAX_EPS) throw new UsageError(`eps must be at most ${MAX_EPS} (pixels lie in [0, 1]; larger sizes overflow the arithmetic), got ${eps}`);
  const norm = options.norm ?? 'linf';
  if (norm !== 'linf' && norm !== 'l2') throw new UsageError(`norm must be linf or l2, got "${norm}"`);
  const steps = options.steps ?? 10;
  if (!Number.isInteger(steps) || steps < 1) throw new UsageError(`steps must be a positive integer, got ${steps}`);
  const stepSize = options.stepSize ?? (2.5 * eps) / steps;
  if (!Number.isFinite(stepSize) || stepSize < 0 || stepSize > MAX_EPS) throw new UsageError(`step size must be in 0..${MAX_EPS}, got ${stepSize}`);
  const gradient = options.gradient ?? (attack === 'pgd' ? 'f32' : 'f64');
  if (gradient !== 'f64' && gradient !== 'f32') throw new UsageError(`gradient precision must be f64 or f32, got "${gradient}"`);
  return { attack, eps, norm, steps, stepSize, randomStart: options.randomStart ?? true, seed: options.seed ?? 0, gradient };
}

/** grad_x CE(f(x), label) for B images (float32, B x 3 x H x W, the model's input shape). */
export async function crossEntropyGradient(model: ResNetModel, pixels: Float32Array, labels: ArrayLike<number>): Promise<Float32Array> {
  const tf = await initBackend();
  const batch = pixels.length / model.inputValues;
  const grad = tf.tidy(() => {
    const x = tf.tensor4d(pixels, [batch, ...model.inputShape]);
    const onehot = tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), model.numClasses);
    const loss = (p: Tensor) => tf.losses.softmaxCrossEntropy(onehot, logitsFromPixels(tf, model, p as Tensor4D));
    return tf.grad(loss)(x);
  });
  try {
    return (await grad.data()) as Float32Array;
  } finally {
    grad.dispose();
  }
}

/**
 * grad_x CE(f(x), label) in float64 for B images: J_net(x)^T (softmax(z) - onehot(label)), with J_net
 * the network's input-to-logits linearization at the float64 trajectory (src/linearize/network.ts).
 */
export async function crossEntropyGradient64(model: ResNetModel, pixels: Float32Array, labels: ArrayLike<number>): Promise<Float32Array> {
  const out = new Float32Array(pixels.length);
  const d = model.inputValues;
  for (let b = 0; b * d < pixels.length; b++) {
    const image = pixels.subarray(b * d, (b + 1) * d);
    let point: { logits: Float64Array };
    let network: JacobianOperator;
    if (model.hasParams) {
      const paper = await float64Trajectory(model, image);
      point = paper;
      network = await linearizeNetwork(model, paper);
    } else {
      const graph = await modelTrajectory64(model, image);
      point = graph;
      network = await linearize(graph, 'network');
    }
    try {
      const z = point.logits;
      const top = Math.max(...z);
      const e = Array.from(z, (v) => Math.exp(v - top));
      const sum = e.reduce((a, v) => a + v, 0);
      const residual = Float64Array.from(e, (v, c) => v / sum - (c === labels[b] ? 1 : 0));
      out.set(network.applyTranspose(residual), b * d);
    } finally {
      network.dispose();
    }
  }
  return out;
}

async function lossGradient(model: ResNetModel, pixels: Float32Array, labels: ArrayLike<number>, precision: 'f64' | 'f32'): Promise<Float32Array> {
  return precision === 'f64' ? crossEntropyGradient64(model, pixels, labels) : crossEntropyGradient(model, pixels, labels);
}

const clip01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

function l2(values: Float32Array, start: number, d: number): number {
  let s = 0;
  for (let i = start; i < start + d; i++) s += values[i] * values[i];
  return Math.sqrt(s);
}

/** x + step * direction(g) per image: sign(g) for linf, g/||g|| for l2 (zero gradient: no move). */
function ascend(x: Float32Array, grad: Float32Array, step: number, norm: PerturbationNorm, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let start = 0; start < x.length; start += d) {
    const scale = norm === 'l2' ? step / (l2(grad, start, d) || Infinity) : step;
    for (let i = start; i < start + d; i++) {
      out[i] = x[i] + scale * (norm === 'l2' ? grad[i] : Math.sign(grad[i]));
    }
  }
  return out;
}

/** Project y onto the eps-ball around x (per image), then clip to [0, 1]. */
function project(y: Float32Array, x: Float32Array, eps: number, norm: PerturbationNorm, d: number): Float32Array {
  const out = new Float32Array(y.length);
  for (let start = 0; start < y.length; start += d) {
    let shrink = 1;
    if (norm === 'l2') {
      let s = 0;
      for (let i = start; i < start + d; i++) s += (y[i] - x[i]) ** 2;
      const length = Math.sqrt(s);
      if (length > eps) shrink = eps / length;
    }
    for (let i = start; i < start + d; i++) {
      let move = (y[i] - x[i]) * shrink;
      if (norm === 'linf') move = Math.max(-eps, Math.min(eps, move));
      out[i] = clip01(x[i] + move);
    }
  }
  return out;
}

/**
 * The random generator of one image: a function of the run's seed and the image's key (its CIFAR
 * index), so an image is perturbed identically whatever batch, chunk or shard it is processed in.
 */
export function imageRandom(seed: number, imageKey: number): SeededRandom {
  return new SeededRandom((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(imageKey >>> 0, 0x85ebca77)) >>> 0);
}

/**
 * The perturbed images (B x 3 x H x W in [0, 1], the model's input shape) for clean `pixels` with true `labels`;
 * `imageKeys` (default 0..B-1) seed each image's random numbers (see imageRandom).
 */
export async function perturbImages(
  model: ResNetModel,
  pixels: Float32Array,
  labels: ArrayLike<number>,
  options: PerturbationOptions,
  imageKeys?: ArrayLike<number>,
): Promise<Float32Array> {
  const o = checkPerturbationOptions(options);
  const d = model.inputValues;
  if (pixels.length === 0 || pixels.length % d !== 0) {
    throw new InputError(`images of ${model.name} must be a multiple of ${model.inputShape.join('x')} = ${d} values, got ${pixels.length}`);
  }
  const randomOf = (start: number) => imageRandom(o.seed, imageKeys ? imageKeys[start / d] : start / d);
  switch (o.attack) {
    case 'fgsm':
      return ascend(pixels, await lossGradient(model, pixels, labels, o.gradient), o.eps, o.norm, d).map(clip01);
    case 'sign': {
      const scale = o.norm === 'l2' ? o.eps / Math.sqrt(d) : o.eps;
      const out = new Float32Array(pixels.length);
      for (let start = 0; start < pixels.length; start += d) {
        const random = randomOf(start);
        for (let i = start; i < start + d; i++) out[i] = clip01(pixels[i] + scale * random.sign());
      }
      return out;
    }
    case 'gaussian': {
      const out = new Float32Array(pixels.length);
      const radius = o.norm === 'l2' ? o.eps : o.eps * Math.sqrt(d);
      for (let start = 0; start < pixels.length; start += d) {
        const random = randomOf(start);
        const z = Float64Array.from({ length: d }, () => random.normal());
        const length = Math.sqrt(z.reduce((sum, v) => sum + v * v, 0));
        for (let i = 0; i < d; i++) out[start + i] = clip01(pixels[start + i] + (radius * z[i]) / length);
      }
      return out;
    }
    case 'pgd': {
      let x = pixels;
      if (o.randomStart && o.eps > 0) {
        const begin = new Float32Array(pixels.length);
        for (let start = 0; start < pixels.length; start += d) {
          const random = randomOf(start);
          for (let i = start; i < start + d; i++) begin[i] = pixels[i] + o.eps * (2 * random.uniform() - 1);
        }
        x = project(begin, pixels, o.eps, o.norm, d);
      }
      for (let step = 0; step < o.steps; step++) {
        x = project(ascend(x, await lossGradient(model, x, labels, o.gradient), o.stepSize, o.norm, d), pixels, o.eps, o.norm, d);
      }
      return x;
    }
  }
}
