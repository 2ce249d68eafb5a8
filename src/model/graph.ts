/**
 * Any common residual network as data: a stem, a sequence of residual units, a head, each a short
 * list of layers. This is the one description that import (recognise.ts), the forward passes and the
 * linearization (linearize/) share, so a new family is a new recogniser, not a new code path.
 *
 * A residual unit computes, for input x (C_in x H x W, PyTorch's C, H, W order):
 *
 *   p = pre(x)                                   (pre-activation BN + ReLU; empty for post-activation)
 *   b = body(p)                                  (conv, BN, ReLU, ..., ending in a conv or a BN)
 *   s = shortcut(shortcutFrom === 'pre' ? p : x) (empty list = identity)
 *   y = post(alpha * s + b)                      (a ReLU for post-activation units; empty otherwise)
 *
 * with the paper's skip scale alpha and residual-weight scale beta (every conv weight of `body` times
 * beta; shortcut convs are not scaled). Its linearization at x is therefore
 *
 *   J = Post (alpha S + Body) Pre     (S applied to x or to p as above; Post, Pre, Body products of
 *                                       the layers' Jacobians: conv -> its weights, BN -> its scale,
 *                                       ReLU -> a 0/1 mask, max-pool -> a gather of the argmax)
 *
 * The families and how their units map onto this form:
 *   CIFAR ResNet 6n+2, option A   pre [], body conv-bn-relu-conv-bn, shortcut [] or [optionA], post relu
 *   CIFAR ResNet 6n+2, option B   as above, shortcut [conv1x1/s, bn] where the shape changes
 *   pre-activation (pytorch-cifar) pre bn-relu, body conv-bn-relu-conv, shortcut [] from x or [conv1x1]
 *                                  from 'pre', post []; head starts with bn-relu when the dict has `bn`
 *   Wide ResNet                    as pre-activation (dropout is the identity at inference)
 *   torchvision basic/bottleneck   post-activation; bottleneck body conv1x1-bn-relu-conv3x3-bn-relu-
 *                                  conv1x1-bn; shortcut [conv1x1/s, bn] (`downsample`); stem ends in
 *                                  a 3x3/2 max-pool
 *
 * All tensors are float32 in PyTorch's layouts (conv weights OIHW, linear [out, in]).
 */
import type { BatchNormParams } from './types.js';

/** The residual-network families the recogniser knows (`import --arch` takes these names). */
export type Family =
  | 'cifar-resnet'        // 6n+2 post-activation basic blocks, option A or B shortcuts
  | 'preact-resnet'       // pre-activation basic blocks (pytorch-cifar layout, robustness benchmarks)
  | 'wide-resnet'         // WRN-d-k, pre-activation (block{1,2,3}.layer.I naming)
  | 'torchvision-resnet'; // torchvision ResNet-18/34 (basic) and -50/101/152 (bottleneck)

/** A convolution, no dilation, no groups; `bias` only when the checkpoint has one. */
export interface ConvLayer {
  op: 'conv';
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
  /** [outChannels, inChannels, kernel, kernel] (OIHW). */
  weight: Float32Array;
  bias?: Float32Array;
}

/** Eval-mode batch norm (running statistics). */
export interface BatchNormLayer {
  op: 'bn';
  channels: number;
  params: BatchNormParams;
}

export interface ReluLayer {
  op: 'relu';
}

/** Max-pool with PyTorch's semantics (padding counts as -inf; the first maximum wins ties). */
export interface MaxPoolLayer {
  op: 'maxpool';
  kernel: number;
  stride: number;
  padding: number;
}

/**
 * The option-A shortcut of the CIFAR ResNet: take every `stride`-th pixel of each plane and pad the
 * channels with zeros on both sides ((outChannels - inChannels) / 2 each), as in the paper's code.
 */
export interface OptionAShortcutLayer {
  op: 'option-a';
  inChannels: number;
  outChannels: number;
  stride: number;
}

/** Mean over each channel plane: C x H x W -> C. */
export interface GlobalAvgPoolLayer {
  op: 'avgpool';
}

/** y = W x + b on a flat vector. */
export interface LinearLayer {
  op: 'linear';
  inFeatures: number;
  outFeatures: number;
  /** [outFeatures, inFeatures] row-major. */
  weight: Float32Array;
  bias: Float32Array;
}

export type Layer =
  | ConvLayer | BatchNormLayer | ReluLayer | MaxPoolLayer | OptionAShortcutLayer | GlobalAvgPoolLayer | LinearLayer;

/** [channels, height, width] of an activation (batch dimension excluded). */
export type Shape3 = [number, number, number];

export interface ResidualUnitGraph {
  /** 1-based stage (stage K is torchvision's `layerK`, WRN's `blockK`). */
  stage: number;
  /** 0-based position inside its stage; the label is `${stage}.${indexInStage + 1}`. */
  indexInStage: number;
  /** The state-dict prefix the unit was read from (e.g. `layer2.0`), for messages. */
  source: string;
  inShape: Shape3;
  outShape: Shape3;
  pre: Layer[];
  body: Layer[];
  /** Empty: the identity. */
  shortcut: Layer[];
  /** What the shortcut reads: the unit input x, or the pre-activated p = pre(x). */
  shortcutFrom: 'input' | 'pre';
  post: Layer[];
}

/** What `import` reports having recognised. */
export interface NetworkDescription {
  family: Family;
  depth: number;
  /** Output channels of each stage. */
  widths: number[];
  /** Units per stage. */
  unitsPerStage: number[];
  /** 'A' (zero-pad), 'B' (1x1 conv + BN), 'conv' (1x1 conv, pre-activation), 'none' (all identity). */
  shortcut: 'A' | 'B' | 'conv' | 'none';
  /** 'basic' or 'bottleneck' blocks. */
  block: 'basic' | 'bottleneck';
  classes: number;
}

export interface NetworkGraph {
  description: NetworkDescription;
  /** [3, H, W] of the normalized input image. */
  inputShape: Shape3;
  /** Image -> input of unit 0 (conv, BN, ReLU, maybe max-pool). */
  stem: Layer[];
  units: ResidualUnitGraph[];
  /** Output of the last unit -> logits (maybe BN + ReLU, then avgpool, linear). */
  head: Layer[];
}
