/**
 * Results on disk: one writer per output directory (a live lock refuses, a dead one is taken over), and
 * --resume recomputes the jobs whose files no longer match the lengths and checksums recorded at write.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { mergeShards, runJobs, type StudyManifest } from '../../src/study/jobs.js';
import { cliFails, rejectsInput, snapshot, tempDir } from './support.js';

const jobs = [1, 2, 3, 4];
const manifest = (name: string, shard?: StudyManifest['shard']): StudyManifest => ({ study: { name, jobs: jobs.map(String) }, ...(shard ? { shard } : {}) });

/** Runs the four jobs into `outDir`, each writing a record and a 4096-value side file; returns the keys computed. */
async function study(outDir: string, options: { resume?: boolean; name?: string } = {}): Promise<string[]> {
  const computed: string[] = [];
  await runJobs({
    manifest: manifest(options.name ?? 'a'),
    jobs,
    keyOf: String,
    outDir,
    resume: options.resume,
    async run(job) {
      computed.push(String(job));
      const values = Float64Array.from({ length: 4096 }, (_, i) => job * 1000 + i);
      return { record: { key: String(job), sum: values.reduce((a, b) => a + b, 0) }, files: { [`${job}.f64`]: new Uint8Array(values.buffer) } };
    },
  });
  return computed;
}

/** A process id that no longer exists: a child that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const pid = Number(child.stdout.trim());
  assert.ok(pid > 0);
  return pid;
}

test('a second writer on the same --out is refused with one line; the directory is left as it was', async () => {
  const out = join(tempDir(), 'out');
  const results = await Promise.allSettled([study(out, { name: 'a' }), study(out, { name: 'b' })]);
  assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  const failure = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.match(failure.reason.message, /out is being written by another run \(pid \d+\); wait for it or use another --out \(remove .*\.lock if no run is writing there\)$/);
  assert.equal(existsSync(join(out, '.lock')), false, 'the lock is released');
  // A lock held by a live process (this one) refuses a run and changes nothing.
  writeFileSync(join(out, '.lock'), JSON.stringify({ pid: process.pid, host: hostname() }));
  const before = snapshot(out);
  await rejectsInput(() => study(out, { name: 'a', resume: true }), new RegExp(`is being written by another run \\(pid ${process.pid}\\)`));
  assert.deepEqual(snapshot(out), before);
});

test('a stale lock left by a process that no longer exists is taken over', async () => {
  const out = join(tempDir(), 'out');
  mkdirSync(out);
  writeFileSync(join(out, '.lock'), JSON.stringify({ pid: deadPid(), host: hostname() }));
  assert.deepEqual(await study(out), ['1', '2', '3', '4']);
  assert.equal(existsSync(join(out, '.lock')), false);
});

test('a refused run on a new --out leaves no directory behind', async () => {
  const root = tempDir();
  const out = join(root, 'fresh');
  await rejectsInput(() => mergeShards([join(root, 'missing')], out), /missing: no study\.json/);
  assert.equal(existsSync(out), false);
});

test('--resume recomputes a job whose side file was cut short or whose record was changed, and only those', async () => {
  const out = join(tempDir(), 'out');
  await study(out);
  const original = readFileSync(join(out, 'jobs', '2.f64'));
  truncateSync(join(out, 'jobs', '2.f64'), 1000 * 8);
  writeFileSync(join(out, 'jobs', '3.json'), readFileSync(join(out, 'jobs', '3.json'), 'utf8').replace('"sum":', '"sum":1'));
  assert.deepEqual(await study(out, { resume: true }), ['2', '3']);
  assert.deepEqual(readFileSync(join(out, 'jobs', '2.f64')), original);
  assert.deepEqual(await study(out, { resume: true }), []);
});

test('merge refuses a damaged job file, naming it', async () => {
  const root = tempDir();
  for (const k of [1, 2]) {
    await runJobs({
      manifest: manifest('a', { index: k, count: 2 }),
      jobs,
      keyOf: String,
      outDir: join(root, `shard${k}`),
      async run(job) {
        return { record: { key: String(job) }, files: { [`${job}.f64`]: new Uint8Array(64).fill(job) } };
      },
    });
  }
  truncateSync(join(root, 'shard2', 'jobs', '2.f64'), 10);
  await rejectsInput(() => mergeShards([join(root, 'shard1'), join(root, 'shard2')], join(root, 'merged')), /shard2\/jobs\/2\.json: damaged \(its files differ from the lengths and checksums in 2\.sum\); rerun that shard with --resume$/);
  assert.equal(existsSync(join(root, 'merged')), false);
});

test('CLI: a spectrum run on an --out another live run holds exits 1 with one line', async () => {
  const out = join(tempDir(), 'out');
  mkdirSync(out);
  writeFileSync(join(out, '.lock'), JSON.stringify({ pid: process.pid, host: hostname() }));
  await cliFails(['spectrum', '--model', 'resnet56', '--images', '0', '--units', '26', '--method', 'topk', '--k', '2', '--quiet', '--out', out], 1, /out is being written by another run \(pid \d+\)/, { unchanged: out });
});

test('merge of a directory whose study.json has no job list names the file and the field', async () => {
  const root = tempDir();
  for (const [name, study] of [['none', {}], ['null', null], ['escape', { study: { jobs: ['../../x'] } }]] as const) {
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, 'study.json'), JSON.stringify(study));
    await rejectsInput(() => mergeShards([join(root, name)], join(root, `merged-${name}`)), new RegExp(`${name}/study\\.json: study\\.jobs is not a list of job keys`));
    assert.equal(existsSync(join(root, `merged-${name}`)), false);
  }
});
