/**
 * Turning a state dict into the parameters of a CIFAR ResNet of depth 6n+2 (see ../types.ts), with every
 * key and shape checked, so that a checkpoint of any other network is refused with a message naming the
 * first key at fault.
 */
import { InputError } from '../../util/errors.js';
import { BN_EPS, IMAGE_CHANNELS, STAGE_CHANNELS, STAGE_SIZES } from '../types.js';
import type { BatchNormParams, Conv3x3Params, ResidualUnitParams, ResNetParams, StateDict } from '../types.js';
import { readStateDict } from './torch.js';

const BN_FIELDS = ['weight', 'bias', 'running_mean', 'running_var'] as const;

/** The state-dict keys of a CIFAR ResNet with n units per stage, in PyTorch's order. */
function expectedKeys(prefix: string, n: number): string[] {
  const batchNorm = (name: string): string[] => BN_FIELDS.map((field) => `${name}.${field}`);
  const keys = ['conv1.weight', ...batchNorm('bn1')];
  for (let stage = 1; stage <= 3; stage++) {
    for (let i = 0; i < n; i++) {
      const unit = `layer${stage}.${i}`;
      keys.push(`${unit}.conv1.weight`, ...batchNorm(`${unit}.bn1`), `${unit}.conv2.weight`, ...batchNorm(`${unit}.bn2`));
    }
  }
  keys.push('linear.weight', 'linear.bias');
  return keys.map((key) => prefix + key);
}

/**
 * The units per stage, n: one more than the largest unit index I among the `layerK.I.` keys. Whether
 * every stage really has n complete units is left to the key-set check; an index that no dict of this
 * size could reach is reported at once rather than expanded into a huge list of missing keys.
 */
function unitsPerStage(dict: StateDict, prefix: string, source: string): number {
  let largest = -1;
  for (const key of dict.keys()) {
    if (!key.startsWith(prefix)) continue;
    const match = /^layer[123]\.(\d+)\./.exec(key.slice(prefix.length));
    if (!match) continue;
    const index = Number(match[1]);
    if (index >= dict.size) throw new InputError(`${source}: not a CIFAR ResNet checkpoint: unexpected key ${key}`);
    largest = Math.max(largest, index);
  }
  if (largest < 0) throw new InputError(`${source}: not a CIFAR ResNet checkpoint: no ${prefix}layer1/2/3 keys`);
  return largest + 1;
}

/** Throws unless the dict has exactly the expected keys, naming the first missing and the first unexpected one. */
function checkKeySet(dict: StateDict, expected: string[], source: string): void {
  const expectedSet = new Set(expected);
  const missing = expected.find((key) => !dict.has(key));
  const unexpected = [...dict.keys()].find((key) => !expectedSet.has(key));
  const problems = [
    ...(missing === undefined ? [] : [`missing key ${missing}`]),
    ...(unexpected === undefined ? [] : [`unexpected key ${unexpected}`]),
  ];
  if (problems.length > 0) throw new InputError(`${source}: not a CIFAR ResNet checkpoint: ${problems.join(', ')}`);
}

/**
 * The CIFAR ResNet described by a state dict (keys with or without the `module.` prefix of
 * DataParallel). n is inferred from the `layerK.I` keys; the key set must then be exactly that of depth
 * 6n+2 and every shape must match: conv1 [16,3,3,3], unit convolutions [out,in,3,3], batch-norm vectors
 * [channels], linear [classes,64] and [classes]. The returned parameters share the dict's arrays.
 * Every value must be finite and every running variance positive. Failures are `InputError`s naming
 * `source` and the key at fault.
 */
export function stateDictToResNet(dict: StateDict, source: string): ResNetParams {
  const prefix = [...dict.keys()].some((key) => key.startsWith('module.')) ? 'module.' : '';
  const n = unitsPerStage(dict, prefix, source);
  checkKeySet(dict, expectedKeys(prefix, n), source);

  /** The data of a present key after checking its shape; `expected` as printed in the error. */
  const tensor = (name: string, expected: readonly number[]): Float32Array => {
    const key = prefix + name;
    const { shape, data } = dict.get(key)!;
    if (shape.length !== expected.length || shape.some((size, d) => size !== expected[d])) {
      throw new InputError(`${source}: ${key} has shape [${shape.join(',')}], expected [${expected.join(',')}]`);
    }
    if (data.length !== expected.reduce((a, b) => a * b, 1)) {
      throw new InputError(`${source}: ${key} holds ${data.length} values, not the ${expected.join('x')} of its shape`);
    }
    // A NaN or infinite weight would give NaN or wrong-but-finite logits with no other sign.
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new InputError(`${source}: ${key} holds ${data[bad]} at element ${bad}; weights must be finite`);
    return data;
  };
  /** A batch-norm variance: a running average of squares, positive in any trained network. */
  const positive = (name: string, data: Float32Array): Float32Array => {
    const bad = data.findIndex((v) => !(v > 0));
    if (bad >= 0) throw new InputError(`${source}: ${prefix}${name} is ${data[bad]} at channel ${bad}; batch-norm variances must be positive`);
    return data;
  };
  const conv = (name: string, outChannels: number, inChannels: number, stride: 1 | 2): Conv3x3Params => ({
    outChannels,
    inChannels,
    stride,
    weight: tensor(`${name}.weight`, [outChannels, inChannels, 3, 3]),
  });
  const batchNorm = (name: string, channels: number): BatchNormParams => ({
    weight: tensor(`${name}.weight`, [channels]),
    bias: tensor(`${name}.bias`, [channels]),
    runningMean: tensor(`${name}.running_mean`, [channels]),
    runningVar: positive(`${name}.running_var`, tensor(`${name}.running_var`, [channels])),
    eps: BN_EPS,
  });

  const stem = { conv: conv('conv1', STAGE_CHANNELS[0], IMAGE_CHANNELS, 1), bn: batchNorm('bn1', STAGE_CHANNELS[0]) };
  const units: ResidualUnitParams[] = [];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < n; i++) {
      const name = `layer${s + 1}.${i}`;
      const stride = s > 0 && i === 0 ? 2 : 1;
      const outChannels = STAGE_CHANNELS[s]!;
      const inChannels = stride === 2 ? STAGE_CHANNELS[s - 1]! : outChannels;
      units.push({
        stage: s + 1,
        indexInStage: i,
        inChannels,
        outChannels,
        stride,
        inSize: STAGE_SIZES[s]! * stride,
        outSize: STAGE_SIZES[s]!,
        conv1: conv(`${name}.conv1`, outChannels, inChannels, stride),
        bn1: batchNorm(`${name}.bn1`, outChannels),
        conv2: conv(`${name}.conv2`, outChannels, outChannels, 1),
        bn2: batchNorm(`${name}.bn2`, outChannels),
      });
    }
  }

  const features = STAGE_CHANNELS[2];
  const linearShape = dict.get(`${prefix}linear.weight`)!.shape;
  const numClasses = linearShape.length === 2 && linearShape[0]! > 0 ? linearShape[0]! : undefined;
  if (numClasses === undefined) {
    throw new InputError(`${source}: ${prefix}linear.weight has shape [${linearShape.join(',')}], expected [classes,${features}]`);
  }
  const classifier = {
    weight: tensor('linear.weight', [numClasses, features]),
    bias: tensor('linear.bias', [numClasses]),
    inFeatures: features,
    outFeatures: numClasses,
  };
  return { depth: 6 * n + 2, n, numClasses, stem, units, classifier };
}

/** The CIFAR ResNet in a PyTorch checkpoint: `readStateDict` then `stateDictToResNet`. */
export function importCheckpoint(bytes: Uint8Array, source: string): ResNetParams {
  return stateDictToResNet(readStateDict(bytes, source), source);
}
