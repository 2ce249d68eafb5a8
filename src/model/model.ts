/**
 * A loaded residual network: its graph (./graph.ts), its input normalization and class names, and the
 * per-unit skip scale alpha and residual-weight scale beta that the paper's experiments vary (both
 * default to 1). The paper's family (CIFAR ResNet 6n+2, option A, 16-32-64 channels, 32x32) also
 * carries its `params`, which the code written for that family reads; any other network has only
 * its graph, and asking for its `params` is a UsageError naming the family.
 *
 * A model is immutable; `withScaling` returns a new model that shares the weights. Every model carries
 * a `fingerprint` (weights + scaling) so that a trajectory can be checked against the model it came
 * from before it is linearized.
 */
import { InputError, UsageError } from '../util/errors.js';
import type { NetworkGraph } from './graph.js';
import { graphOfCifarResNet } from './paper-graph.js';
import { CIFAR_NORMALIZATION, type Normalization, type ResNetParams, type StateDict } from './types.js';

export const CIFAR10_CLASSES = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
] as const;

/** Measured top-1 accuracy, recorded in model.json by the converter. */
export interface AccuracyRecord {
  dataset: string;
  images: number;
  correct: number;
  top1: number;
}

export interface ModelInfo {
  name: string;
  normalization: Normalization;
  classes: string[];
  accuracy?: AccuracyRecord;
  /**
   * The state dict (without `module.`) whose arrays a graph-only model's layers share, in checkpoint
   * order: what the model format writes for it.
   */
  weights?: StateDict;
}

/** A scale per unit, or one number for all units. */
export type UnitScales = number | ArrayLike<number>;

export interface Scaling {
  /** Skip-connection scale per unit (h' = relu(alpha*S(h) + branch)). */
  alpha?: UnitScales;
  /** Residual-branch weight scale per unit (W1, W2 -> beta*W1, beta*W2). */
  beta?: UnitScales;
}

let nextWeightsId = 1;

export class ResNetModel {
  readonly name: string;
  readonly graph: NetworkGraph;
  readonly normalization: Normalization;
  readonly classes: string[];
  readonly accuracy?: AccuracyRecord;
  /** See ModelInfo.weights; undefined for models built from `params`. */
  readonly weights?: StateDict;
  /** Per-unit skip scale, one per unit. */
  readonly alpha: Float64Array;
  /** Per-unit residual weight scale, one per unit. */
  readonly beta: Float64Array;
  /** Identifies the weights (shared by every scaled copy); used to cache backend tensors. */
  readonly weightsId: number;
  private readonly paperParams?: ResNetParams;

  /** From the paper family's parameters, or from the graph of any network (see recognise.ts). */
  constructor(network: ResNetParams | NetworkGraph, info: Partial<ModelInfo> = {}, scaling?: Scaling, weightsId?: number) {
    if ('description' in network) {
      this.graph = network;
    } else {
      this.paperParams = network;
      this.graph = graphOfCifarResNet(network);
    }
    this.name = info.name ?? `resnet${this.graph.description.depth}`;
    this.normalization = info.normalization ?? CIFAR_NORMALIZATION;
    this.classes = info.classes ?? defaultClassNames(this.graph.description.classes);
    if (this.classes.length !== this.graph.description.classes) {
      throw new InputError(`model ${this.name}: ${this.classes.length} class names for a classifier of ${this.graph.description.classes} outputs`);
    }
    this.accuracy = info.accuracy;
    this.weights = info.weights;
    this.weightsId = weightsId ?? nextWeightsId++;
    this.alpha = expandScales(scaling?.alpha ?? 1, this.graph.units.length, 'alpha');
    this.beta = expandScales(scaling?.beta ?? 1, this.graph.units.length, 'beta');
  }

  /** True for the paper's family, which every command handles (see `params`). */
  get hasParams(): boolean {
    return this.paperParams !== undefined;
  }

  /**
   * The CIFAR ResNet parameters that the code written for the paper's family reads. Other networks
   * have none: the error names the family, so a command that needs them says what it cannot do.
   */
  get params(): ResNetParams {
    if (this.paperParams) return this.paperParams;
    throw new UsageError(
      `model ${this.name} is a ${this.graph.description.family} (depth ${this.graph.description.depth}); this operation supports only the CIFAR ResNet with option-A shortcuts so far`,
    );
  }

  get depth(): number {
    return this.graph.description.depth;
  }

  get unitCount(): number {
    return this.graph.units.length;
  }

  get numClasses(): number {
    return this.graph.description.classes;
  }

  /** [3, H, W] of an input image. */
  get inputShape(): [number, number, number] {
    return this.graph.inputShape;
  }

  /** Values in one input image (3 x H x W). */
  get inputValues(): number {
    const [c, h, w] = this.graph.inputShape;
    return c * h * w;
  }

  /** True when every alpha and beta is 1 (the trained network). */
  get isUnscaled(): boolean {
    return this.alpha.every((a) => a === 1) && this.beta.every((b) => b === 1);
  }

  /** Identifies weights plus scaling: two models with equal fingerprints compute the same function. */
  get fingerprint(): string {
    return `${this.weightsId}:${Array.from(this.alpha).join(',')}:${Array.from(this.beta).join(',')}`;
  }

  /** A copy with new scales (unspecified ones keep their current values). */
  withScaling(scaling: Scaling): ResNetModel {
    return new ResNetModel(
      this.paperParams ?? this.graph,
      { name: this.name, normalization: this.normalization, classes: this.classes, accuracy: this.accuracy, weights: this.weights },
      { alpha: scaling.alpha ?? this.alpha, beta: scaling.beta ?? this.beta },
      this.weightsId,
    );
  }
}

/** CIFAR-10's names for 10 classes, CIFAR-100's fine labels for 100, else `0`, `1`, ... */
export function defaultClassNames(classes: number): string[] {
  if (classes === 10) return [...CIFAR10_CLASSES];
  if (classes === 100) return [...CIFAR100_CLASSES];
  return Array.from({ length: classes }, (_, i) => String(i));
}

/** CIFAR-100's fine labels in label order (the dataset's meta file, alphabetical). */
export const CIFAR100_CLASSES = [
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
  'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
  'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur',
  'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard',
  'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
  'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree',
  'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket',
  'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider',
  'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
  'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm',
] as const;

function expandScales(scales: UnitScales, units: number, what: string): Float64Array {
  const out = new Float64Array(units);
  if (typeof scales === 'number') {
    out.fill(scales);
  } else {
    if (scales.length !== units) {
      throw new InputError(`${what} has ${scales.length} entries, the network has ${units} units`);
    }
    for (let i = 0; i < units; i++) out[i] = scales[i];
  }
  for (const value of out) {
    if (!Number.isFinite(value)) throw new InputError(`${what} must be finite, got ${value}`);
    // Beyond this the float32 forward pass and the squared (Gram) arithmetic overflow: refused rather
    // than returned as infinities, NaN or zeros.
    if (Math.abs(value) > MAX_SCALE) throw new UsageError(`${what} must be within -${MAX_SCALE}..${MAX_SCALE} (larger scales overflow the arithmetic), got ${value}`);
  }
  return out;
}

/** The largest |alpha| or |beta| a model accepts (the paper's studies stay within 0..2). */
export const MAX_SCALE = 1e6;
