/**
 * Every family's tiny checkpoint (scripts/make-family-checkpoints.py) through the loaders and the
 * float32 forward pass on tfjs-wasm, against PyTorch's float64 logits; the model format round trip
 * (formatVersion 2) and the safetensors reader and writer, including hostile files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { loadCifar, imageToFloat } from '../src/data/cifar.js';
import { readStateDict } from '../src/model/checkpoint/torch.js';
import { predictLogits } from '../src/model/forward.js';
import { loadModel, saveModel } from '../src/model/load.js';
import { readSafetensors, writeSafetensors } from '../src/model/safetensors.js';
import { InputError } from '../src/util/errors.js';

const DIR = new URL('./fixtures/families/', import.meta.url);
interface FamilyFixture {
  file: string;
  format: string;
  expect: { family: string; classes: number; depth: number };
  images: number[];
  logits: number[][];
}
const INDEX = JSON.parse(readFileSync(new URL('families.json', DIR), 'utf8')) as { checkpoints: Record<string, FamilyFixture> };
const data = await loadCifar(fileURLToPath(new URL('../data/cifar10-sample/test_batch_1000.bin', import.meta.url)));
const pixels = (images: number[]) => {
  const out = new Float32Array(images.length * 3072);
  images.forEach((idx, i) => out.set(imageToFloat(data, idx), i * 3072));
  return out;
};

/** max |ours - PyTorch| over the largest |logit|. */
function relativeError(ours: Float32Array, reference: number[][]): number {
  let diff = 0;
  let scale = 0;
  reference.forEach((row, i) => row.forEach((v, k) => {
    diff = Math.max(diff, Math.abs(v - ours[i * row.length + k]!));
    scale = Math.max(scale, Math.abs(v));
  }));
  return diff / scale;
}

for (const [name, fixture] of Object.entries(INDEX.checkpoints)) {
  test(`${name} (${fixture.expect.family}, ${fixture.format}): logits within 1e-4 of max|logit| of PyTorch, also after save and load`, async () => {
    const path = fileURLToPath(new URL(fixture.file, DIR));
    const model = await loadModel(path);
    assert.equal(model.graph.description.family, fixture.expect.family);
    assert.equal(model.depth, fixture.expect.depth);
    assert.equal(model.classes.length, fixture.expect.classes);
    const x = pixels(fixture.images);
    const logits = await predictLogits(model, x);
    assert.equal(logits.length, fixture.images.length * fixture.expect.classes);
    const error = relativeError(logits, fixture.logits);
    assert.ok(error < 1e-4, `relative logit error ${error}`);

    const dir = mkdtempSync(join(tmpdir(), `family-${name}-`));
    try {
      await saveModel(model, dir);
      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      // The paper's family keeps writing formatVersion 1 (cifar-a has 4-8-16 channels: not the paper's).
      assert.equal(json.formatVersion, 2);
      assert.equal(json.architecture.family, fixture.expect.family);
      assert.deepEqual(json.architecture.inputShape, [3, 32, 32]);
      const again = await loadModel(dir);
      assert.deepEqual(again.graph.description, model.graph.description);
      assert.deepEqual(await predictLogits(again, x), logits);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a graph-only model refuses the paper-only code paths with one line naming its family', async () => {
  const model = await loadModel(fileURLToPath(new URL('wrn.pt', DIR)));
  assert.throws(() => model.params, /^UsageError: model wrn is a wide-resnet \(depth 16\); this operation supports only the CIFAR ResNet with option-A shortcuts so far$/);
  await assert.rejects(predictLogits(model, new Float32Array(3072 + 1)), /images must be a multiple of 3x32x32 = 3072 values, got 3073/);
});

test('safetensors: written and read back bit for bit; same recognition as the checkpoint', () => {
  const dict = readStateDict(new Uint8Array(readFileSync(new URL('cifar-b.pt', DIR))), 'cifar-b.pt');
  const bytes = writeSafetensors(dict);
  assert.equal(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0);
  const back = readSafetensors(bytes, 'x.safetensors');
  assert.deepEqual([...back.keys()], [...dict.keys()]);
  for (const [key, t] of dict) {
    assert.deepEqual(back.get(key)!.shape, t.shape);
    assert.deepEqual(back.get(key)!.data, t.data);
  }
});

/** A safetensors file from a header object and data bytes (the header as given, not checked). */
function safetensors(header: unknown, data: Uint8Array, declared?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test('safetensors: F16, BF16 and F64 read as float32; I64 counters dropped', () => {
  const data = new Uint8Array(2 + 2 + 8 + 8);
  const v = new DataView(data.buffer);
  v.setUint16(0, 0x3c00, true); // F16 1.0
  v.setUint16(2, 0xc040, true); // BF16 -3.0
  v.setFloat64(4, 0.1, true);
  v.setBigInt64(12, 7n, true);
  const dict = readSafetensors(safetensors({
    a: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
    b: { dtype: 'BF16', shape: [1], data_offsets: [2, 4] },
    c: { dtype: 'F64', shape: [], data_offsets: [4, 12] },
    'bn.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [12, 20] },
  }, data), 'x');
  assert.deepEqual([...dict.keys()], ['a', 'b', 'c']);
  assert.deepEqual([dict.get('a')!.data[0], dict.get('b')!.data[0], dict.get('c')!.data[0]], [1, -3, Math.fround(0.1)]);
});

test('hostile safetensors: each refused with one line', () => {
  const refuses = (bytes: Uint8Array, message: RegExp) =>
    assert.throws(() => readSafetensors(bytes, 'bad.safetensors'), (e: unknown) => e instanceof InputError && !e.message.includes('\n') && message.test(e.message));
  const entry = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  refuses(new Uint8Array(5), /^bad\.safetensors: truncated safetensors file \(5 bytes/);
  refuses(safetensors(entry, new Uint8Array(8), 2n ** 62n), /^bad\.safetensors: safetensors header length 4611686018427387904 runs beyond the file/);
  refuses(safetensors(entry, new Uint8Array(4)), /^bad\.safetensors: tensor w: data_offsets \[0,8\] out of range \(4 data bytes\)$/);
  refuses(safetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs 12$/);
  refuses(safetensors({ w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs/);
  refuses(safetensors({ w: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), /unsupported dtype "I32"/);
  refuses(safetensors({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, new Uint8Array(8)), /out of range/);
  refuses(safetensors([1, 2], new Uint8Array(0)), /header is not a JSON object/);
  refuses(safetensors({}, new Uint8Array(0)), /holds no tensors/);
  const broken = safetensors(entry, new Uint8Array(8));
  broken[10] = 0xff;
  refuses(broken, /header is not JSON/);
});
