/**
 * Bad --unit, --stage and --images values are usage errors (exit 2) in every command, and stay usage
 * errors when the job that finds them runs in a pool worker (structured cloning drops an error's class).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModel } from '../../src/model/load.js';
import { InputError, UsageError } from '../../src/util/errors.js';
import { WorkerPool } from '../../src/workers/pool.js';
import { cliFails, tempDir } from './support.js';

test('a usage error thrown inside a pool worker reaches the caller as a UsageError, an input error as an InputError', { timeout: 120_000 }, async () => {
  const model = await loadModel(new URL('../../models/resnet56/model.json', import.meta.url));
  const pool = await WorkerPool.create(1);
  try {
    const pixels = new Float32Array(3072).fill(0.5);
    await assert.rejects(pool.run(model, { kind: 'unitSpectrum', pixels, unit: 99, alpha: 1, beta: 1 }), (err: unknown) =>
      err instanceof UsageError && err.message === 'unit 99 is out of range: resnet56 has units 1.1-3.9 (0-26)');
    // A batch that is not a whole number of images: bad input, not bad usage.
    await assert.rejects(pool.run(model, { kind: 'predict', pixels: new Float32Array(100) }), (err: unknown) =>
      err instanceof InputError && !(err instanceof UsageError));
  } finally {
    pool.close();
  }
});

test('CLI: bad --unit, --stage and --images exit 2, with one worker and with two', async () => {
  const root = tempDir();
  await cliFails(['spectrum', '--model', 'resnet56', '--images', '0', '--unit', '999', '--quiet'], 2, /unit 999 is out of range: resnet56 has units 1\.1-3\.9 \(0-26\)$/, { unchanged: root });
  await cliFails(['spectrum', '--model', 'resnet56', '--images', '0', '--unit', 'last', '--quiet'], 2, /unit "last" is neither an index nor stage\.unit/, { unchanged: root });
  await cliFails(['stage', '--model', 'resnet56', '--image', '0', '--stage', '9', '--quiet'], 2, /stage 9 is out of range: resnet56 has stages 1-3$/, { unchanged: root });
  await cliFails(['predict', '--model', 'resnet56', '--images', '99999', '--quiet'], 2, /--images: index 99999 is out of range/, { unchanged: root });
  await cliFails(['spectrum', '--model', 'resnet56', '--images', '0,1', '--unit', '26', '--method', 'topk', '--k', '100000', '--workers', '2', '--quiet'], 2, /k must be an integer in 1\.\.4096, got 100000$/, { unchanged: root });
});
