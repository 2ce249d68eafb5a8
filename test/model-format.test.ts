/** The package model format: shipped models, round trips through import/save/load, and bad model files. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readStateDict } from '../src/model/checkpoint/torch.js';
import { resNetToStateDict } from '../src/model/format.js';
import { loadModel, saveModel } from '../src/model/load.js';
import { CHECKPOINT_FIXTURES, checkpointFixture, repoRoot, sharedOrSkip } from './support/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'rs-format-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

for (const [name, checkpoint, depth, accuracy] of [
  ['resnet56', 'models/resnet56.th', 56, 0.8937],
  ['resnet110', 'models/resnet110.th', 110, 0.8906],
] as const) {
  test(`shipped ${name} holds exactly the checkpoint's tensors and its measured accuracy`, async (t) => {
    const model = await loadModel(name);
    assert.equal(model.depth, depth);
    assert.equal(model.name, name);
    // ../shared/README.md gives the accuracy on test_batch.bin to the hundredth of a percent.
    assert.equal(model.accuracy?.images, 10000);
    assert.equal(Math.round(model.accuracy!.top1 * 10000) / 10000, accuracy);
    const checkpointPath = sharedOrSkip(t, checkpoint, 'the trained checkpoint the shipped model was converted from');
    if (!checkpointPath) return;
    const original = readStateDict(new Uint8Array(readFileSync(checkpointPath)), checkpoint);
    const shipped = resNetToStateDict(model.params);
    assert.equal(shipped.size, original.size);
    for (const [key, tensor] of original) {
      const mine = shipped.get(key.replace(/^module\./, ''));
      assert.ok(mine, `shipped model lacks ${key}`);
      assert.deepEqual(mine.shape, tensor.shape, key);
      assert.deepEqual(mine.data, tensor.data, key);
    }
  });
}

test('a saved model loads back identical, from its directory and from its model.json', async () => {
  const model = await loadModel(checkpointFixture('resnet14-zip.th'));
  assert.equal(model.name, 'resnet14-zip');
  const dir = join(tmp, 'r14');
  await saveModel(model, dir);
  for (const spec of [dir, join(dir, 'model.json'), `file://${dir}/`]) {
    const back = await loadModel(spec);
    assert.equal(back.depth, 6 * CHECKPOINT_FIXTURES['resnet14-zip.th'].n + 2);
    assert.deepEqual(resNetToStateDict(back.params), resNetToStateDict(model.params));
  }
});

test('bad model files are one-line errors naming the problem', async () => {
  const dir = join(tmp, 'bad');
  const reset = () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    cpSync(join(repoRoot, 'models/resnet56'), dir, { recursive: true });
  };
  const expectError = async (pattern: RegExp) => {
    await assert.rejects(loadModel(dir), (err: Error) => {
      assert.equal(err.name, 'InputError');
      assert.doesNotMatch(err.message, /\n/);
      assert.match(err.message, pattern);
      return true;
    });
  };
  reset();
  writeFileSync(join(dir, 'weights.bin'), readFileSync(join(dir, 'weights.bin')).subarray(0, 1000));
  await expectError(/weights hold 1000 bytes, the manifest describes 3428328/);
  reset();
  rmSync(join(dir, 'weights.bin'));
  await expectError(/weights file weights\.bin is missing/);
  reset();
  writeFileSync(join(dir, 'model.json'), '{"format": ');
  await expectError(/model\.json: invalid JSON/);
  reset();
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  json.weightsManifest[0].weights[0].shape = [16, 3, 9, 1];
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  await expectError(/conv1\.weight has shape \[16,3,9,1\], expected \[16,3,3,3\]/);
  rmSync(dir, { recursive: true });
  await expectError(/no such file or directory/);
  await assert.rejects(loadModel('resnet57'), /model resnet57: no such file or directory \(expected resnet56, resnet110/);
});
