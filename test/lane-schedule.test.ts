/**
 * Issue 15's schedule: the largest spectra one at a time on all threads (a wide lane), the other jobs
 * beside them. Which jobs are wide, the order each lane starts its jobs, that no two wide jobs ever
 * overlap, and that a report run this way (two workers) writes the bytes of a run in one thread.
 * Nothing here depends on timing: the runs below finish their jobs in an order the test chooses.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WIDE_SHARE, wideJobs } from '../src/study/job-cost.js';
import { laneOrder, runJobs, type JobRecord } from '../src/study/jobs.js';
import { reportJobs, reportPlan, wideReportJobs } from '../src/study/report-study.js';
import { loadModel } from '../src/model/load.js';
import { runCli } from './support/cli.js';

test('wideJobs: full spectra from WIDE_SHARE of the costliest one; nothing else, whatever its cost', () => {
  assert.equal(WIDE_SHARE, 0.5);
  const costs = [10, 100, 49, 50, 1000, 60];
  const spectrum = [true, true, true, true, false, true];
  assert.deepEqual(wideJobs(costs, spectrum), [false, true, false, true, false, true]);
  assert.deepEqual(wideJobs(costs, costs.map(() => false)), costs.map(() => false));
  assert.deepEqual(wideJobs([], []), []);
  assert.deepEqual(wideJobs([0, 0], [true, true]), [false, false]);
  assert.throws(() => wideJobs([1], []), /one flag per job/);
  assert.throws(() => wideJobs([Number.NaN], [true]), /finite and >= 0/);
});

test('laneOrder: each lane longest first, ties in job order', () => {
  const costs = [5, 9, 1, 9, 7, 3, 7];
  const wide = [false, true, false, true, false, true, false];
  assert.deepEqual(laneOrder(costs, wide), { wide: [1, 3, 5], narrow: [4, 6, 0, 2] });
  assert.deepEqual(laneOrder([], []), { wide: [], narrow: [] });
  assert.throws(() => laneOrder([1, 2], [true]), /one wide flag per job/);
});

test("ResNet-56's presets: the paper's wide jobs are exactly the 27 stage-1 spectra; test's are its spectra", async () => {
  const model = await loadModel('resnet56');
  const paper = reportPlan(model, 'paper', 10000);
  const wide = wideReportJobs(model, paper);
  const stage1 = reportJobs(paper).filter((j) => j.kind === 'spectrum' && model.graph.units[j.unit].stage === 1);
  assert.equal(reportJobs(paper).length, 440);
  assert.equal(stage1.length, 27);
  assert.deepEqual(wide.map((j) => j.key), stage1.map((j) => j.key));
  // quick: the one stage-2 spectrum (unit 2.2); test: every spectrum (one unit of stage 3).
  assert.deepEqual(wideReportJobs(model, reportPlan(model, 'quick', 10000)).map((j) => j.key), ['unit10-image0']);
  const testPlan = reportPlan(model, 'test', 10000);
  assert.deepEqual(wideReportJobs(model, testPlan).map((j) => j.key), reportJobs(testPlan).filter((j) => j.kind === 'spectrum').map((j) => j.key));
});

/**
 * Run `costs` as jobs through runJobs with `concurrency` lanes; a job finishes only when the test
 * releases it, in the order `finishOrder` gives (a function of what is running), so the outcome is
 * the same on any machine. Returns the jobs in the order they started, with their lane.
 */
async function scheduled(costs: number[], wide: boolean[] | undefined, concurrency: number) {
  const started: { job: number; wide: boolean }[] = [];
  const running = new Map<number, () => void>();
  let wideInFlight = 0;
  let maxWideInFlight = 0;
  let wideDone = 0;
  const jobs = costs.map((_, i) => i);
  const run = runJobs({
    manifest: { study: { kind: 'lanes', jobs: jobs.map(String) } },
    jobs, keyOf: String, cost: (j) => costs[j], concurrency,
    ...(wide ? { wide: (j: number) => wide[j], onWideDone: () => wideDone++ } : {}),
    run: (job, isWide) => {
      started.push({ job, wide: isWide });
      if (isWide) maxWideInFlight = Math.max(maxWideInFlight, ++wideInFlight);
      return new Promise<{ record: JobRecord }>((resolve) => running.set(job, () => {
        if (isWide) wideInFlight--;
        resolve({ record: { key: String(job), cost: costs[job] } });
      }));
    },
  });
  // Release the lowest-numbered running job each time, once every lane has had its chance to start one.
  let finished = false;
  void run.then(() => (finished = true));
  while (!finished) {
    await new Promise((r) => setImmediate(r));
    if (running.size === 0) continue;
    const next = Math.min(...running.keys());
    running.get(next)!();
    running.delete(next);
  }
  const records = await run;
  assert.deepEqual(records.map((r) => r.key), jobs.map(String), 'records in job order');
  return { started, maxWideInFlight, wideDone };
}

test('runJobs with a wide lane: wide jobs one at a time, largest first, the rest beside them; then the wide lane helps', async () => {
  const costs = [3, 50, 2, 40, 8, 45, 1];
  const wide = [false, true, false, true, false, true, false];
  const { started, maxWideInFlight, wideDone } = await scheduled(costs, wide, 2);
  assert.equal(maxWideInFlight, 1);
  assert.equal(wideDone, 1);
  assert.deepEqual(started.filter((s) => s.wide).map((s) => s.job), [1, 5, 3]);
  // The narrow jobs start longest first whichever lane takes them, and no narrow job runs as wide.
  assert.deepEqual(started.filter((s) => !s.wide).map((s) => s.job), [4, 0, 2, 6]);
  assert.equal(started.length, costs.length);
  // The first two jobs to start: the largest wide one and the largest narrow one, side by side.
  assert.deepEqual(started.slice(0, 2).map((s) => s.job).sort(), [1, 4]);
});

test('runJobs without a wide lane (no flags, or one lane): job order, as before', async () => {
  const costs = [3, 50, 2, 40];
  const plain = await scheduled(costs, undefined, 2);
  assert.deepEqual(plain.started.map((s) => s.job), [0, 1, 2, 3]);
  assert.ok(plain.started.every((s) => !s.wide));
  const one = await scheduled(costs, [false, true, false, true], 1);
  assert.deepEqual(one.started.map((s) => s.job), [0, 1, 2, 3]);
  assert.equal(one.wideDone, 0);
});

test('report --preset test: two workers (wide lane, projections on workers) write the bytes of one thread', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-lanes-'));
  try {
    const common = ['report', '--model', 'resnet56', '--preset', 'test', '--reproducible', '--quiet'];
    for (const workers of ['1', '2']) {
      const r = await runCli([...common, '--workers', workers, '--out', join(tmp, `w${workers}`)], { SOURCE_DATE_EPOCH: '1700000000' });
      assert.equal(r.code, 0, r.stderr);
    }
    const files = readdirSync(join(tmp, 'w1', 'jobs')).sort();
    assert.deepEqual(readdirSync(join(tmp, 'w2', 'jobs')).sort(), files);
    for (const name of [...files.map((f) => join('jobs', f)), 'report.json', 'report.html', 'study.json']) {
      assert.deepEqual(readFileSync(join(tmp, 'w2', name)), readFileSync(join(tmp, 'w1', name)), name);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
