/**
 * No silent wrong numbers: a model whose weights hold NaN or infinity, whose batch-norm variances are
 * not positive, or whose class list disagrees with its classifier is refused at load and at import.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stateDictToResNet } from '../../src/model/checkpoint/resnet.js';
import { resNetToStateDict } from '../../src/model/format.js';
import { loadModel } from '../../src/model/load.js';
import { cliFails, rejectsInput, tempDir } from './support.js';

const shipped = new URL('../../models/resnet56/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('model.json', shipped), 'utf8'));
/** Float offset of the first element of tensor `name` in weights.bin. */
function offsetOf(name: string): number {
  let offset = 0;
  for (const w of manifest.weightsManifest[0].weights as { name: string; shape: number[] }[]) {
    if (w.name === name) return offset;
    offset += w.shape.reduce((a, b) => a * b, 1);
  }
  throw new Error(name);
}

/** A copy of the shipped ResNet-56 with `edit` applied to its float32 weights and `json` to its manifest. */
function brokenModel(root: string, edit: (weights: Float32Array) => void, json: (m: typeof manifest) => void = () => undefined): string {
  const dir = join(root, `model-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  copyFileSync(new URL('weights.bin', shipped), join(dir, 'weights.bin'));
  const bytes = readFileSync(join(dir, 'weights.bin'));
  const weights = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  edit(weights);
  writeFileSync(join(dir, 'weights.bin'), bytes);
  const m = structuredClone(manifest);
  json(m);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(m));
  return dir;
}

test('a NaN or infinite weight is refused at load, naming the tensor and element', async () => {
  const root = tempDir();
  await rejectsInput(() => loadModel(brokenModel(root, (w) => (w[offsetOf('layer2.3.conv1.weight') + 7] = NaN))), /model\.json: layer2\.3\.conv1\.weight holds NaN at element 7; weights must be finite$/);
  await rejectsInput(() => loadModel(brokenModel(root, (w) => (w[offsetOf('linear.bias') + 9] = -Infinity))), /model\.json: linear\.bias holds -Infinity at element 9; weights must be finite$/);
});

test('a zero or negative batch-norm variance is refused at load', async () => {
  const root = tempDir();
  await rejectsInput(() => loadModel(brokenModel(root, (w) => (w[offsetOf('layer3.8.bn2.running_var') + 5] = 0))), /model\.json: layer3\.8\.bn2\.running_var is 0 at channel 5; batch-norm variances must be positive$/);
  await rejectsInput(() => loadModel(brokenModel(root, (w) => (w[offsetOf('bn1.running_var')] = -0.5))), /model\.json: bn1\.running_var is -0\.5 at channel 0; batch-norm variances must be positive$/);
});

test('the same checks hold at import (state dict of a checkpoint)', async () => {
  const model = await loadModel(new URL('model.json', shipped));
  const dict = resNetToStateDict(model.params);
  const prefixed = new Map([...dict].map(([k, v]) => [`module.${k}`, { shape: v.shape, data: Float32Array.from(v.data) }]));
  prefixed.get('module.layer1.0.bn1.running_var')!.data[3] = -1;
  await rejectsInput(() => stateDictToResNet(prefixed, 'bad.th'), /^bad\.th: module\.layer1\.0\.bn1\.running_var is -1 at channel 3; batch-norm variances must be positive$/);
  prefixed.get('module.layer1.0.bn1.running_var')!.data[3] = 1;
  prefixed.get('module.conv1.weight')!.data[0] = Infinity;
  await rejectsInput(() => stateDictToResNet(prefixed, 'bad.th'), /^bad\.th: module\.conv1\.weight holds Infinity at element 0; weights must be finite$/);
});

test('a class list that disagrees with the classifier, repeats a name, or is not strings is refused', async () => {
  const root = tempDir();
  const keep = (): void => undefined;
  await rejectsInput(() => loadModel(brokenModel(root, keep, (m) => m.classes.pop())), /model\.json: classes lists 9 names, architecture\.numClasses says 10$/);
  await rejectsInput(() => loadModel(brokenModel(root, keep, (m) => { m.classes.pop(); m.architecture.numClasses = 9; })), /model\.json: classes lists 9 names, the classifier has 10 outputs$/);
  await rejectsInput(() => loadModel(brokenModel(root, keep, (m) => (m.classes[4] = 'cat'))), /model\.json: classes\[4\] repeats the class name "cat"$/);
  await rejectsInput(() => loadModel(brokenModel(root, keep, (m) => (m.classes[2] = 7))), /model\.json: classes\[2\] is not a non-empty string$/);
});

test('CLI: eval of a model with a NaN weight exits 1 instead of printing accuracy 0.1', async () => {
  const root = tempDir();
  const dir = brokenModel(root, (w) => (w[offsetOf('layer1.0.conv2.weight')] = NaN));
  await cliFails(['eval', '--model', dir, '--limit', '10', '--quiet'], 1, /layer1\.0\.conv2\.weight holds NaN at element 0; weights must be finite/, { unchanged: root });
});


test('CLI: --alpha 1e308, --beta 1e308 and --eps 1e308 are refused as usage errors, not printed as null or 0', async () => {
  const root = tempDir();
  const spectrum = ['spectrum', '--model', 'resnet56', '--images', '0', '--unit', '26', '--method', 'topk', '--k', '2', '--json', '--quiet'];
  await cliFails([...spectrum, '--alpha', '1e308'], 2, /alpha must be within -1000000\.\.1000000 \(larger scales overflow the arithmetic\), got 1e\+308$/, { unchanged: root });
  await cliFails([...spectrum, '--beta', '1e308'], 2, /beta must be within -1000000\.\.1000000 .*, got 1e\+308$/, { unchanged: root });
  await cliFails(['propagate', '--model', 'resnet56', '--images', '0', '--attack', 'fgsm', '--eps', '1e308', '--quiet'], 2, /eps must be at most 1000 \(pixels lie in \[0, 1\]; larger sizes overflow the arithmetic\), got 1e\+308$/, { unchanged: root });
});

test('model.json fields: a missing or multi-line name, a numClasses that is not a positive integer, an input range other than [0, 1]', async () => {
  const root = tempDir();
  const keep = (): void => undefined;
  const refused = (edit: (m: typeof manifest) => void, message: RegExp) => rejectsInput(() => loadModel(brokenModel(root, keep, edit)), message);
  await refused((m) => delete m.name, /model\.json: name must be a non-empty one-line string of at most 200 characters$/);
  await refused((m) => (m.name = 'a\nb'), /model\.json: name must be a non-empty one-line string/);
  await refused((m) => (m.name = 'x'.repeat(201)), /model\.json: name must be a non-empty one-line string/);
  await refused((m) => (m.architecture.numClasses = '10'), /model\.json: architecture\.numClasses is "10", not a positive integer$/);
  await refused((m) => (m.architecture.numClasses = 0), /model\.json: architecture\.numClasses is 0, not a positive integer$/);
  await refused((m) => (m.normalization.inputRange = [0, 255]), /model\.json: normalization\.inputRange is \[0,255\]; only \[0, 1\] is supported$/);
});
