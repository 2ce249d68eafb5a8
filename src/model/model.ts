/**
 * A loaded CIFAR ResNet: its parameters, its input normalization, and the per-unit skip scale alpha
 * and residual-weight scale beta that the paper's experiments vary (both default to 1).
 *
 * A model is immutable; `withScaling` returns a new model that shares the weights. Every model carries
 * a `fingerprint` (weights + scaling) so that a trajectory can be checked against the model it came
 * from before it is linearized.
 */
import { InputError, UsageError } from '../util/errors.js';
import { CIFAR_NORMALIZATION, type Normalization, type ResNetParams } from './types.js';

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
  readonly params: ResNetParams;
  readonly normalization: Normalization;
  readonly classes: string[];
  readonly accuracy?: AccuracyRecord;
  /** Per-unit skip scale, length 3n. */
  readonly alpha: Float64Array;
  /** Per-unit residual weight scale, length 3n. */
  readonly beta: Float64Array;
  /** Identifies the weights (shared by every scaled copy); used to cache backend tensors. */
  readonly weightsId: number;

  constructor(params: ResNetParams, info: Partial<ModelInfo> = {}, scaling?: Scaling, weightsId?: number) {
    this.params = params;
    this.name = info.name ?? `resnet${params.depth}`;
    this.normalization = info.normalization ?? CIFAR_NORMALIZATION;
    this.classes = info.classes ?? [...CIFAR10_CLASSES];
    this.accuracy = info.accuracy;
    this.weightsId = weightsId ?? nextWeightsId++;
    this.alpha = expandScales(scaling?.alpha ?? 1, params.units.length, 'alpha');
    this.beta = expandScales(scaling?.beta ?? 1, params.units.length, 'beta');
  }

  get depth(): number {
    return this.params.depth;
  }

  get unitCount(): number {
    return this.params.units.length;
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
      this.params,
      { name: this.name, normalization: this.normalization, classes: this.classes, accuracy: this.accuracy },
      { alpha: scaling.alpha ?? this.alpha, beta: scaling.beta ?? this.beta },
      this.weightsId,
    );
  }
}

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
