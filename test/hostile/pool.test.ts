/** A pool worker that dies mid-job: the job rejects with the worker's exit reason, a new worker takes its place. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModel } from '../../src/model/load.js';
import { WorkerPool } from '../../src/workers/pool.js';

test('a killed worker rejects its job with the reason, and the pool goes on with a new worker', { timeout: 120_000 }, async () => {
  const model = await loadModel(new URL('../../models/resnet56/model.json', import.meta.url));
  const pool = await WorkerPool.create(1);
  try {
    // Warm the worker (model sent, backend up) so that the kill lands inside the long job.
    assert.equal((await pool.run(model, { kind: 'predict', pixels: new Float32Array(3072) })).length, 10);
    const long = pool.run(model, { kind: 'predict', pixels: new Float32Array(400 * 3072) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // What an out-of-memory kill or a crash does: the thread ends without answering.
    (pool as unknown as { workers: { terminate(): void }[] }).workers[0]!.terminate();
    const start = performance.now();
    await assert.rejects(long, /^Error: pool worker died \(exit code 1\)$/);
    assert.ok(performance.now() - start < 5000);
    const logits = await pool.run(model, { kind: 'predict', pixels: new Float32Array(2 * 3072) });
    assert.equal(logits.length, 20);
    assert.equal(pool.concurrency, 1);
  } finally {
    pool.close();
  }
});
