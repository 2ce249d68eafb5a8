/**
 * The NetworkGraph of the paper's CIFAR ResNet (types.ts's ResNetParams): the same network as
 * recognise.ts builds from its state dict, made from the parameters, sharing their arrays, so that a
 * model of the paper's family has both views. And the converse test: whether a recognised graph is
 * exactly of that family (then the loaders also build its parameters, and every command written
 * for the family works on it).
 */
import type { BatchNormLayer, ConvLayer, Layer, NetworkGraph, ResidualUnitGraph } from './graph.js';
import { IMAGE_CHANNELS, IMAGE_SIZE, STAGE_CHANNELS, type BatchNormParams, type Conv3x3Params, type ResNetParams } from './types.js';

const RELU: Layer = { op: 'relu' };

function conv(c: Conv3x3Params): ConvLayer {
  return { op: 'conv', inChannels: c.inChannels, outChannels: c.outChannels, kernel: 3, stride: c.stride, padding: 1, weight: c.weight };
}

function bn(params: BatchNormParams): BatchNormLayer {
  return { op: 'bn', channels: params.weight.length, params };
}

export function graphOfCifarResNet(params: ResNetParams): NetworkGraph {
  const units: ResidualUnitGraph[] = params.units.map((u) => ({
    stage: u.stage,
    indexInStage: u.indexInStage,
    source: `layer${u.stage}.${u.indexInStage}`,
    inShape: [u.inChannels, u.inSize, u.inSize],
    outShape: [u.outChannels, u.outSize, u.outSize],
    pre: [],
    body: [conv(u.conv1), bn(u.bn1), RELU, conv(u.conv2), bn(u.bn2)],
    shortcut: u.stride !== 1 || u.inChannels !== u.outChannels
      ? [{ op: 'option-a', inChannels: u.inChannels, outChannels: u.outChannels, stride: u.stride }]
      : [],
    shortcutFrom: 'input',
    post: [RELU],
  }));
  return {
    description: {
      family: 'cifar-resnet',
      depth: params.depth,
      widths: [...STAGE_CHANNELS],
      unitsPerStage: [params.n, params.n, params.n],
      shortcut: 'A',
      block: 'basic',
      classes: params.numClasses,
    },
    inputShape: [IMAGE_CHANNELS, IMAGE_SIZE, IMAGE_SIZE],
    stem: [conv(params.stem.conv), bn(params.stem.bn), RELU],
    units,
    head: [
      { op: 'avgpool' },
      { op: 'linear', inFeatures: params.classifier.inFeatures, outFeatures: params.classifier.outFeatures, weight: params.classifier.weight, bias: params.classifier.bias },
    ],
  };
}

/**
 * True when a recognised graph is the paper's family: CIFAR ResNet, option-A shortcuts, three stages
 * of equally many units with 16, 32, 64 channels, a 3x3 bias-free stem, 32x32 input.
 */
export function isPaperFamily(graph: NetworkGraph): boolean {
  const d = graph.description;
  const convs = [...graph.stem, ...graph.units.flatMap((u) => u.body)].filter((l): l is ConvLayer => l.op === 'conv');
  return d.family === 'cifar-resnet'
    && d.shortcut === 'A'
    && d.widths.length === 3 && d.widths.every((w, s) => w === STAGE_CHANNELS[s])
    && d.unitsPerStage.every((n) => n === d.unitsPerStage[0])
    && graph.inputShape[1] === IMAGE_SIZE && graph.inputShape[2] === IMAGE_SIZE
    && convs.every((c) => c.bias === undefined);
}
