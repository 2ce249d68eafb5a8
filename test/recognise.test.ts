/**
 * Recognition of every family of issue 11 from the tiny checkpoints of scripts/make-family-checkpoints.py
 * (what must be recognised is written there, next to the torch.nn module that made each dict), and
 * refusal of near misses: one key renamed, one shape changed, a dict of no family.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readStateDict } from '../src/model/checkpoint/torch.js';
import { describeNetwork, parseFamily, recogniseStateDict } from '../src/model/recognise.js';
import type { StateDict } from '../src/model/types.js';
import { InputError, UsageError } from '../src/util/errors.js';
import { throwsInput } from './support/errors.js';

const DIR = new URL('./fixtures/families/', import.meta.url);
interface FamilyFixture {
  file: string;
  format: string;
  expect: Record<string, unknown>;
  images: number[];
  logits: number[][];
}
const INDEX = JSON.parse(readFileSync(new URL('families.json', DIR), 'utf8')) as { checkpoints: Record<string, FamilyFixture> };
const TORCH_FIXTURES = Object.entries(INDEX.checkpoints).filter(([, f]) => f.format !== 'safetensors');

const load = (name: string): StateDict => readStateDict(new Uint8Array(readFileSync(new URL(INDEX.checkpoints[name]!.file, DIR))), `${name}.pt`);

for (const [name, fixture] of TORCH_FIXTURES) {
  test(`${name}: recognised as ${fixture.expect.family as string} from key names and shapes`, () => {
    const { graph, weights } = recogniseStateDict(load(name), `${name}.pt`);
    assert.deepEqual({ ...graph.description }, fixture.expect);
    assert.deepEqual(graph.inputShape, [3, 32, 32]);
    assert.ok([...weights.keys()].every((key) => !key.startsWith('module.')));
    const units = (fixture.expect.unitsPerStage as number[]).reduce((a, b) => a + b, 0);
    assert.equal(graph.units.length, units);
    // Stage K's first unit halves the resolution from stage 2 on.
    const sizes = graph.units.filter((u) => u.indexInStage === 0).map((u) => u.outShape[1]);
    const stem = graph.description.family === 'torchvision-resnet' ? 8 : 32;
    assert.deepEqual(sizes, sizes.map((_, s) => stem >> s));
    assert.match(describeNetwork(graph), new RegExp(`^${fixture.expect.family as string}.*depth ${fixture.expect.depth as number}`));
    // --arch naming the right family changes nothing.
    assert.deepEqual(recogniseStateDict(load(name), 'x', { arch: graph.description.family }).graph.description, graph.description);
  });
}

test('pre-activation units read p = relu(bn1 x) for their projection, x for the identity', () => {
  const { graph } = recogniseStateDict(load('preact-bn'), 'preact-bn.pt');
  assert.equal(graph.units[0]!.shortcutFrom, 'input');
  assert.deepEqual(graph.units[0]!.shortcut, []);
  assert.equal(graph.units[2]!.shortcutFrom, 'pre');
  assert.deepEqual(graph.units[2]!.shortcut.map((l) => l.op), ['conv']);
  assert.deepEqual(graph.head.map((l) => l.op), ['bn', 'relu', 'avgpool', 'linear']);
  const legacy = recogniseStateDict(load('preact-legacy'), 'preact-legacy.pt').graph;
  assert.deepEqual(legacy.head.map((l) => l.op), ['avgpool', 'linear']);
  const wrn = recogniseStateDict(load('wrn'), 'wrn.pt').graph;
  assert.deepEqual(wrn.units.map((u) => u.source), ['block1.layer.0', 'block1.layer.1', 'block2.layer.0', 'block2.layer.1', 'block3.layer.0', 'block3.layer.1']);
  assert.deepEqual(wrn.units.map((u) => u.shortcutFrom), ['pre', 'input', 'pre', 'input', 'pre', 'input']);
});

test('torchvision stem: 7x7/2 conv, BN, ReLU, 3x3/2 max-pool; 224x224 only when asked', () => {
  const { graph } = recogniseStateDict(load('tv-basic'), 'tv-basic.pt', { inputSize: [224, 224] });
  assert.deepEqual(graph.stem.map((l) => l.op), ['conv', 'bn', 'relu', 'maxpool']);
  assert.deepEqual(graph.units[0]!.inShape, [8, 56, 56]);
  assert.deepEqual(graph.units.at(-1)!.outShape, [64, 7, 7]);
  // An ImageNet classifier (1000 outputs) defaults to 224x224.
  const imagenet = load('tv-basic');
  imagenet.set('fc.weight', { shape: [1000, 64], data: new Float32Array(64000) });
  imagenet.set('fc.bias', { shape: [1000], data: new Float32Array(1000) });
  assert.deepEqual(recogniseStateDict(imagenet, 'tv.pt').graph.inputShape, [3, 224, 224]);
  assert.equal(recogniseStateDict(imagenet, 'tv.pt').graph.description.classes, 1000);
});

/** A copy of a dict with one key renamed (keeping its position). */
function renamed(dict: StateDict, from: string, to: string): StateDict {
  return new Map([...dict].map(([key, value]) => [key === from ? to : key, value]));
}

const NEAR_MISSES: [fixture: string, from: string, to: string, message: string][] = [
  ['cifar-a', 'layer2.0.bn1.weight', 'layer2.0.bn_1.weight', 'cifar-a.pt: not a CIFAR ResNet checkpoint: missing key layer2.0.bn1.weight, unexpected key layer2.0.bn_1.weight'],
  ['cifar-b', 'layer3.0.shortcut.1.running_var', 'layer3.0.shortcut.2.running_var', 'cifar-b.pt: not a CIFAR ResNet checkpoint: missing key layer3.0.shortcut.1.running_var, unexpected key layer3.0.shortcut.2.running_var'],
  ['preact-bn', 'module.layer3.0.shortcut.0.weight', 'module.layer3.0.downsample.0.weight', 'preact-bn.pt: not a pre-activation ResNet checkpoint: missing key module.layer3.0.shortcut.0.weight, unexpected key module.layer3.0.downsample.0.weight'],
  ['wrn', 'block2.layer.0.convShortcut.weight', 'block2.layer.0.shortcut.weight', 'wrn.pt: not a Wide ResNet checkpoint: missing key block2.layer.0.convShortcut.weight, unexpected key block2.layer.0.shortcut.weight'],
  ['tv-basic', 'fc.bias', 'fc.b', 'tv-basic.pt: not a torchvision ResNet checkpoint: missing key fc.bias, unexpected key fc.b'],
];

for (const [fixture, from, to, message] of NEAR_MISSES) {
  test(`${fixture} with ${from} renamed is refused, naming both keys`, () => {
    throwsInput(() => recogniseStateDict(renamed(load(fixture), from, to), `${fixture}.pt`), message);
  });
}

const SHAPE_CHANGES: [fixture: string, key: string, shape: number[], message: string][] = [
  ['cifar-a', 'layer1.0.conv2.weight', [4, 4, 1, 1], 'cifar-a.pt: layer1.0.conv2.weight has shape [4,4,1,1], expected [4,4,3,3]'],
  ['preact-bn', 'module.layer2.0.bn1.running_mean', [5], 'preact-bn.pt: module.layer2.0.bn1.running_mean has shape [5], expected [4]'],
  ['wrn', 'fc.weight', [10, 16], 'wrn.pt: fc.weight has shape [10,16], expected [10,32]'],
  ['tv-basic', 'conv1.weight', [8, 3, 3, 3], 'tv-basic.pt: conv1.weight has shape [8,3,3,3], expected [8,3,7,7]'],
];

for (const [fixture, key, shape, message] of SHAPE_CHANGES) {
  test(`${fixture} with ${key} reshaped is refused, naming key and shapes`, () => {
    const dict = load(fixture);
    dict.set(key, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    throwsInput(() => recogniseStateDict(dict, `${fixture}.pt`), message);
  });
}

test('a dict of no family, a forced wrong family, bad numbers: one line each', () => {
  const vgg: StateDict = new Map([['features.0.weight', { shape: [4, 3, 3, 3], data: new Float32Array(108) }]]);
  throwsInput(
    () => recogniseStateDict(vgg, 'vgg.pt'),
    'vgg.pt: not a recognised ResNet checkpoint (cifar-resnet, preact-resnet, wide-resnet, torchvision-resnet): unexpected key features.0.weight',
  );
  throwsInput(() => recogniseStateDict(load('cifar-a'), 'cifar-a.pt', { arch: 'wide-resnet' }), /^cifar-a\.pt: not a Wide ResNet checkpoint: (missing|unexpected) key /);
  throwsInput(() => recogniseStateDict(load('tv-basic'), 'tv-basic.pt', { arch: 'cifar-resnet' }), 'tv-basic.pt: conv1.weight has shape [8,3,7,7], expected [8,3,3,3]');
  const nan = load('wrn');
  nan.get('block1.layer.1.conv2.weight')!.data[3] = Number.NaN;
  throwsInput(() => recogniseStateDict(nan, 'wrn.pt'), 'wrn.pt: block1.layer.1.conv2.weight holds NaN at element 3; weights must be finite');
  const variance = load('tv-basic');
  variance.get('layer2.0.downsample.1.running_var')!.data[1] = 0;
  throwsInput(() => recogniseStateDict(variance, 'tv-basic.pt'), 'tv-basic.pt: layer2.0.downsample.1.running_var is 0 at channel 1; batch-norm variances must be positive');
  assert.throws(() => parseFamily('resnet'), (e: unknown) => e instanceof UsageError && /^--arch must be one of cifar-resnet, /.test(e.message));
});
