/**
 * Results on disk: one writer per output directory (a live lock refuses, a dead one is taken over),
 * --resume recomputes the jobs whose files no longer match the lengths and checksums recorded at write
 * (and those an older version kept as raw .f64), and a job's .npy values file whose header does not fit
 * its bytes is one line naming it, even when its checksum was forged to match.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jobValuesFile, mergeShards, runJobs, type StudyManifest } from '../../src/study/jobs.js';
import { npyFloat64, parseNpyFloat64 } from '../../src/util/npy.js';
import { runCli } from '../support/cli.js';
import { cliFails, rejectsInput, snapshot, tempDir } from './support.js';

const jobs = [1, 2, 3, 4];
const manifest = (name: string, shard?: StudyManifest['shard']): StudyManifest => ({ study: { name, jobs: jobs.map(String) }, ...(shard ? { shard } : {}) });

/**
 * Runs the four jobs into `outDir`, each writing a record and a 4096-value side file (.npy, or raw .f64
 * as versions before .npy did, with `legacy`); returns the keys computed.
 */
async function study(outDir: string, options: { resume?: boolean; name?: string; legacy?: boolean } = {}): Promise<string[]> {
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
      const files = options.legacy ? { [`${job}.f64`]: new Uint8Array(values.buffer) } : { [jobValuesFile(String(job))]: npyFloat64(values) };
      return { record: { key: String(job), sum: values.reduce((a, b) => a + b, 0) }, files };
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
  const original = readFileSync(join(out, 'jobs', '2.npy'));
  truncateSync(join(out, 'jobs', '2.npy'), 1000 * 8);
  writeFileSync(join(out, 'jobs', '3.json'), readFileSync(join(out, 'jobs', '3.json'), 'utf8').replace('"sum":', '"sum":1'));
  assert.deepEqual(await study(out, { resume: true }), ['2', '3']);
  assert.deepEqual(readFileSync(join(out, 'jobs', '2.npy')), original);
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
        return { record: { key: String(job) }, files: { [jobValuesFile(String(job))]: npyFloat64(new Float64Array(8).fill(job)) } };
      },
    });
  }
  truncateSync(join(root, 'shard2', 'jobs', '2.npy'), 10);
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

test('--resume over jobs an older version kept as raw .f64: recomputed as .npy, the .f64 removed; merge refuses them', async () => {
  const root = tempDir();
  const out = join(root, 'out');
  assert.deepEqual(await study(out, { legacy: true }), ['1', '2', '3', '4']);
  assert.ok(existsSync(join(out, 'jobs', '1.f64')));
  await rejectsInput(() => mergeShards([out], join(root, 'merged')), /out\/jobs\/1\.json: its values are a raw \.f64 file of an older version \(now \.npy\); rerun that shard with --resume$/);
  assert.equal(existsSync(join(root, 'merged')), false);
  assert.deepEqual(await study(out, { resume: true }), ['1', '2', '3', '4']);
  assert.deepEqual(readdirSync(join(out, 'jobs')).filter((n) => n.endsWith('.f64')), []);
  const { values, shape } = parseNpyFloat64(readFileSync(join(out, 'jobs', '3.npy')), '3.npy');
  assert.deepEqual(shape, [4096]);
  assert.deepEqual([values[0], values[4095]], [3000, 3000 + 4095]);
  assert.deepEqual(await study(out, { resume: true }), []);
});

/** The .npy `bytes` with its header text edited by `edit`, kept at the same length (its padding spaces absorb the change). */
function withHeader(bytes: Uint8Array, edit: (header: string) => string): Uint8Array {
  const length = bytes[8]! | (bytes[9]! << 8);
  const header = Buffer.from(bytes.subarray(10, 10 + length)).toString('latin1');
  const body = edit(header.trimEnd());
  assert.ok(body.length < length, 'the edited header fits');
  const out = new Uint8Array(bytes);
  out.set(Buffer.from(body.padEnd(length - 1) + '\n', 'latin1'), 10);
  return out;
}

/** Writes `bytes` as job file `name` and forges its entry in the job's .sum to match (as a careless hand would). */
function forge(jobsDir: string, key: string, name: string, bytes: Uint8Array): void {
  writeFileSync(join(jobsDir, name), bytes);
  const sums = JSON.parse(readFileSync(join(jobsDir, `${key}.sum`), 'utf8'));
  sums[name] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  writeFileSync(join(jobsDir, `${key}.sum`), JSON.stringify(sums) + '\n');
}

test('CLI: a job .npy with a wrong dtype, a lying shape or cut-short data is one line naming it, even with a matching .sum; without one, --resume recomputes it', async () => {
  const out = join(tempDir(), 'out');
  // A tiny CIFAR ResNet (widths 4, 8, 16): the two largest values of unit 3.1 come at once.
  const model = fileURLToPath(new URL('../fixtures/families/cifar-a.pt', import.meta.url));
  const args = ['spectrum', '--model', model, '--images', '0', '--units', '3.1', '--method', 'topk', '--k', '2', '--workers', '1', '--quiet', '--out', out];
  const first = await runCli(args);
  assert.equal(first.code, 0, first.stderr);
  const jobsDir = join(out, 'jobs');
  const name = readdirSync(jobsDir).find((n) => n.endsWith('.npy'))!;
  const key = name.slice(0, -'.npy'.length);
  const good = new Uint8Array(readFileSync(join(jobsDir, name)));
  assert.deepEqual(parseNpyFloat64(good, name).shape, [2]);
  const cases: [string, Uint8Array, RegExp][] = [
    ['float32', withHeader(good, (h) => h.replace("'<f8'", "'<f4'")), /dtype '<f4', not float64 \('<f8'\)$/],
    ['big-endian', withHeader(good, (h) => h.replace("'<f8'", "'>f8'")), /dtype '>f8', not float64 \('<f8'\)$/],
    ['lying shape', withHeader(good, (h) => h.replace('(2,)', '(3,)')), /its header says shape \(3\), 3 float64 values, but the file holds 16 bytes of data \(cut short\?\)$/],
    ['huge shape', withHeader(good, (h) => h.replace('(2,)', '(1000000000000000,)')), /shape \(1000000000000000\), 1000000000000000 float64 values, but the file holds 16 bytes/],
    ['cut short', good.subarray(0, good.length - 3), /holds 13 bytes of data \(cut short\?\)$/],
    ['not npy', new Uint8Array(good.subarray(good.length - 16)), /not a NumPy \.npy file/],
  ];
  for (const [what, bytes, pattern] of cases) {
    forge(jobsDir, key, name, bytes);
    const path = join(jobsDir, name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await cliFails([...args, '--resume'], 1, new RegExp(`${path}: .*`), {}).then((run) => assert.match(run.stderr.trim(), pattern, what));
  }
  // Cut short with its checksum left alone: damage that --resume recomputes.
  forge(jobsDir, key, name, good);
  truncateSync(join(jobsDir, name), good.length - 8);
  const resumed = await runCli([...args, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(new Uint8Array(readFileSync(join(jobsDir, name))), good);
});
