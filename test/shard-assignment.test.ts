/**
 * Dealing jobs to shards by estimated cost (src/study/job-cost.ts): LPT on constructed costs against
 * Graham's bound (makespan <= (4/3 - 1/(3N)) x the optimum, the optimum found by exhaustive search),
 * determinism, and the cost model's ratios against hand-derived values for ResNet-56.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignShards, jobCost, shardLoads, unitJacobianShape } from '../src/study/job-cost.js';
import { shardJobs } from '../src/study/jobs.js';
import { loadModel } from '../src/model/load.js';
import { mulberry32 } from './support/random.js';

/** The optimal makespan of `costs` on `count` shards, by trying every assignment (small instances only). */
function optimalMakespan(costs: number[], count: number): number {
  let best = Infinity;
  const load = new Array<number>(count).fill(0);
  const place = (i: number) => {
    if (Math.max(...load) >= best) return;
    if (i === costs.length) {
      best = Math.max(...load);
      return;
    }
    for (let s = 0; s < count; s++) {
      load[s] += costs[i];
      place(i + 1);
      load[s] -= costs[i];
      if (load[s] === 0) break; // empty shards are interchangeable
    }
  };
  place(0);
  return best;
}

test("Graham's tight instance: 2N+1 jobs whose LPT makespan is exactly (4/3 - 1/(3N)) x the optimum", () => {
  for (const n of [2, 3, 4]) {
    // costs 2N-1, 2N-1, 2N-2, 2N-2, ..., N+1, N+1, N, N, N (optimum 3N, LPT 4N - 1)
    const costs: number[] = [];
    for (let c = 2 * n - 1; c > n; c--) costs.push(c, c);
    costs.push(n, n, n);
    const loads = shardLoads(costs, assignShards(costs, n), n);
    assert.equal(optimalMakespan(costs, n), 3 * n);
    assert.equal(Math.max(...loads), 4 * n - 1);
    assert.equal(loads.reduce((a, b) => a + b, 0), costs.reduce((a, b) => a + b, 0));
  }
});

test('LPT stays within its bound of the optimum on random instances, and finishes shards together on many small jobs', () => {
  const random = mulberry32(17);
  for (let trial = 0; trial < 60; trial++) {
    const count = 2 + (trial % 3);
    const costs = Array.from({ length: 5 + (trial % 6) }, () => 1 + Math.floor(random() * 100));
    const makespan = Math.max(...shardLoads(costs, assignShards(costs, count), count));
    const optimum = optimalMakespan(costs, count);
    assert.ok(makespan <= (4 / 3 - 1 / (3 * count)) * optimum + 1e-9, `${costs} on ${count}: ${makespan} vs optimum ${optimum}`);
  }
  // One big job and many small ones: LPT levels the shards to within the largest small job.
  const costs = [100, ...Array.from({ length: 200 }, (_, i) => 1 + (i % 3))];
  const loads = shardLoads(costs, assignShards(costs, 3), 3);
  assert.ok(Math.max(...loads) - Math.min(...loads) <= 3, `${loads}`);
});

test('the assignment is deterministic: same costs, same shards; ties go by position and to the lowest shard', () => {
  const costs = [5, 5, 5, 5, 3, 3, 1];
  assert.deepEqual(assignShards(costs, 3), assignShards([...costs], 3));
  assert.deepEqual(assignShards(costs, 3), [0, 1, 2, 0, 1, 2, 1]);
  assert.deepEqual(assignShards([], 4), []);
  assert.deepEqual(assignShards([1, 2, 3], 1), [0, 0, 0]);
  // Every job lands on exactly one shard, and the shards' job lists (in job order) cover all jobs.
  const jobs = costs.map((c, i) => ({ i, c }));
  const slices = [1, 2, 3].map((index) => shardJobs(jobs, { index, count: 3 }, (j) => j.c).map((j) => j.i));
  assert.deepEqual(slices.flat().sort((a, b) => a - b), jobs.map((j) => j.i));
  for (const s of slices) assert.deepEqual(s, [...s].sort((a, b) => a - b));
  assert.throws(() => assignShards([1, Number.NaN], 2), /finite and >= 0/);
  assert.throws(() => assignShards([1], 0), /positive integer/);
});

test('cost model: a stage-1 full spectrum of ResNet-56 costs 42.4x a stage-3 one; network jobs scale with images', async () => {
  const model = await loadModel('resnet56');
  // Hand-derived: stage 1 J is 16384 x 16384, stage 3 (after the stride-2 unit) 4096 x 4096.
  assert.deepEqual(unitJacobianShape(model, 0), [16384, 16384]);
  assert.deepEqual(unitJacobianShape(model, 26), [4096, 4096]);
  const full = (unit: number) => jobCost(model, { kind: 'spectrum', unit, method: 'full' });
  // forming J: n products of 2 * 9 * m * 2C multiply-adds; SVD m * n * min(m, n)
  assert.equal(full(0), 16384 * (2 * 9 * 16384 * 32) + 16384 ** 3);
  assert.equal(full(26), 4096 * (2 * 9 * 4096 * 128) + 4096 ** 3);
  assert.ok(Math.abs(full(0) / full(26) - (16 * 16960) / 6400) < 1e-12); // 16384^2 (576 + 16384) / (4096^2 (2304 + 4096))
  assert.ok(jobCost(model, { kind: 'spectrum', unit: 26, method: 'topk', k: 10 }) < full(26) / 100);
  assert.equal(jobCost(model, { kind: 'accuracy', images: 200 }), 2 * jobCost(model, { kind: 'accuracy', images: 100 }));
  assert.equal(jobCost(model, { kind: 'propagation', images: 25 }), 6 * jobCost(model, { kind: 'accuracy', images: 25 }));
});
