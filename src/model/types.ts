/**
 * The in-memory description of a CIFAR ResNet of depth 6n+2 with option-A shortcuts (He et al. 2016),
 * as described in the package README: conv3x3(3->16)-BN-ReLU stem, three stages of n residual units
 * (16, 32, 64 channels; the first unit of stages 2 and 3 has stride 2), global average pooling and a
 * linear classifier. All weights are float32, row-major, in PyTorch's layouts.
 */

/** Eval-mode batch norm: y = (x - runningMean) / sqrt(runningVar + eps) * weight + bias, per channel. */
export interface BatchNormParams {
  weight: Float32Array;
  bias: Float32Array;
  runningMean: Float32Array;
  runningVar: Float32Array;
  eps: number;
}

/** A bias-free 3x3 convolution, padding 1; weight is [outChannels, inChannels, 3, 3] (OIHW). */
export interface Conv3x3Params {
  outChannels: number;
  inChannels: number;
  stride: 1 | 2;
  weight: Float32Array;
}

/** One residual unit: h' = relu(alpha * S(h) + bn2(conv2(relu(bn1(conv1(h)))))). */
export interface ResidualUnitParams {
  /** 1, 2 or 3. */
  stage: number;
  /** 0-based position inside its stage. */
  indexInStage: number;
  inChannels: number;
  outChannels: number;
  /** 2 for the first unit of stages 2 and 3 (option-A shortcut), else 1. */
  stride: 1 | 2;
  /** Spatial size of the unit's input (32, 32, 16 or 8...). */
  inSize: number;
  /** Spatial size of the unit's output. */
  outSize: number;
  conv1: Conv3x3Params;
  bn1: BatchNormParams;
  conv2: Conv3x3Params;
  bn2: BatchNormParams;
}

export interface LinearParams {
  /** [outFeatures, inFeatures] row-major. */
  weight: Float32Array;
  bias: Float32Array;
  inFeatures: number;
  outFeatures: number;
}

/** Per-channel input normalization applied to pixels in [0, 1]. */
export interface Normalization {
  mean: [number, number, number];
  std: [number, number, number];
}

export interface ResNetParams {
  /** 6n + 2. */
  depth: number;
  /** Residual units per stage. */
  n: number;
  numClasses: number;
  stem: { conv: Conv3x3Params; bn: BatchNormParams };
  /** 3n units in network order (unit index 0..3n-1). */
  units: ResidualUnitParams[];
  classifier: LinearParams;
}

/** A named float32 tensor as read from a checkpoint. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** A PyTorch state dict: parameter name -> tensor (num_batches_tracked already dropped). */
export type StateDict = Map<string, NamedTensor>;

/** The stage widths and input sizes of the CIFAR family. */
export const STAGE_CHANNELS = [16, 32, 64] as const;
export const STAGE_SIZES = [32, 16, 8] as const;
export const IMAGE_SIZE = 32;
export const IMAGE_CHANNELS = 3;
export const BN_EPS = 1e-5;
export const CIFAR_NORMALIZATION: Normalization = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};
