/**
 * The paper's CIFAR ResNet (model/model.ts, 6n+2, option-A shortcuts) as a NetworkGraph, so that the
 * general linearization (graph-linearize.ts) serves it like any imported family:
 *
 *   stem  conv 3x3/1 (3 -> 16), bn, relu
 *   unit  pre [], body conv 3x3/s, bn, relu, conv 3x3/1, bn; shortcut [] or [option-a /2]; post relu
 *   head  avgpool, linear
 *
 * The layers share the model's float32 arrays (nothing is copied).
 */
import type { Layer, NetworkGraph, ResidualUnitGraph } from '../model/graph.js';
import type { ResNetModel } from '../model/model.js';
import type { Conv3x3Params } from '../model/types.js';
import { IMAGE_CHANNELS, IMAGE_SIZE, STAGE_CHANNELS } from '../model/types.js';
import type { GraphForwardOptions } from './graph-forward64.js';
import { storedNormalization } from './parameters.js';

function conv3x3(conv: Conv3x3Params): Layer {
  return {
    op: 'conv', inChannels: conv.inChannels, outChannels: conv.outChannels, kernel: 3, stride: conv.stride, padding: 1,
    weight: conv.weight,
  };
}

/** The NetworkGraph of a paper CIFAR ResNet. */
export function graphOfResNet(model: ResNetModel): NetworkGraph {
  const p = model.params;
  const units: ResidualUnitGraph[] = p.units.map((u) => ({
    stage: u.stage,
    indexInStage: u.indexInStage,
    source: `layer${u.stage}.${u.indexInStage}`,
    inShape: [u.inChannels, u.inSize, u.inSize],
    outShape: [u.outChannels, u.outSize, u.outSize],
    pre: [],
    body: [
      conv3x3(u.conv1), { op: 'bn', channels: u.outChannels, params: u.bn1 }, { op: 'relu' },
      conv3x3(u.conv2), { op: 'bn', channels: u.outChannels, params: u.bn2 },
    ],
    shortcut: u.stride === 1 && u.inChannels === u.outChannels
      ? []
      : [{ op: 'option-a', inChannels: u.inChannels, outChannels: u.outChannels, stride: u.stride }],
    shortcutFrom: 'input',
    post: [{ op: 'relu' }],
  }));
  return {
    description: {
      family: 'cifar-resnet', depth: p.depth, widths: [...STAGE_CHANNELS], unitsPerStage: [p.n, p.n, p.n], shortcut: 'A',
      block: 'basic', classes: p.numClasses,
    },
    inputShape: [IMAGE_CHANNELS, IMAGE_SIZE, IMAGE_SIZE],
    stem: [conv3x3(p.stem.conv), { op: 'bn', channels: p.stem.conv.outChannels, params: p.stem.bn }, { op: 'relu' }],
    units,
    head: [{ op: 'avgpool' }, { op: 'linear', ...p.classifier }],
  };
}

/** The forward options of the model: its stored normalization and its alpha and beta per unit. */
export function resNetForwardOptions(model: ResNetModel): GraphForwardOptions {
  return { normalization: storedNormalization(model), alpha: model.alpha, beta: model.beta };
}
