/**
 * Studies as jobs: the worker pool, sharding + merge, interruption + --resume all give exactly the
 * bytes of a plain single-threaded run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliPath, runCli } from './support/cli.js';
import { cifarTestFile } from './support/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'rs-jobs-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const study = ['spectrum', '--model', 'resnet56', '--images', '0-3', '--units', '24-26', '--method', 'topk', '--k', '4', '--quiet'];

async function run(...extra: string[]) {
  const result = await runCli([...study, ...extra]);
  assert.equal(result.code, 0, result.stderr);
  return result;
}

const read = (dir: string, file: string) => readFileSync(join(dir, file));

test('one worker and two workers write identical results', async () => {
  await run('--workers', '1', '--out', join(tmp, 'one'));
  await run('--workers', '2', '--out', join(tmp, 'two'));
  for (const file of ['summary.json', 'summary.csv', 'study.json']) assert.deepEqual(read(join(tmp, 'two'), file), read(join(tmp, 'one'), file), file);
  const summary = JSON.parse(read(join(tmp, 'one'), 'summary.json').toString());
  assert.equal(summary.results.length, 12);
  assert.equal(summary.variation.length, 3);
});

test('three shards merged equal one run, byte for byte', async () => {
  for (const k of [1, 2, 3]) await run('--workers', '1', '--shard', `${k}/3`, '--out', join(tmp, `shard${k}`));
  assert.equal(readdirSync(join(tmp, 'shard1', 'jobs')).filter((n) => n.endsWith('.json')).length, 4);
  assert.equal(existsSync(join(tmp, 'shard1', 'summary.json')), false);
  const merged = await runCli(['merge', join(tmp, 'shard1'), join(tmp, 'shard2'), join(tmp, 'shard3'), '--out', join(tmp, 'merged')]);
  assert.equal(merged.code, 0, merged.stderr);
  for (const file of ['summary.json', 'summary.csv', 'study.json']) assert.deepEqual(read(join(tmp, 'merged'), file), read(join(tmp, 'one'), file), file);
  const missing = await runCli(['merge', join(tmp, 'shard1'), join(tmp, 'shard3'), '--out', join(tmp, 'partial')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /has no result in the given directories \(shards 2 of 3 not given\)/);
});

test('an interrupted run leaves only whole files, and --resume completes it to the same result', async () => {
  const out = join(tmp, 'interrupted');
  const child = spawn(process.execPath, [cliPath, ...study, '--workers', '1', '--out', out], {
    env: { ...process.env, RESNET_STABILITY_DATA: cifarTestFile },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Interrupt as soon as the first job is on disk.
  const jobsDir = join(out, 'jobs');
  while (!(existsSync(jobsDir) && readdirSync(jobsDir).some((n) => n.endsWith('.json')))) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted; finished jobs are kept/);
  assert.equal(existsSync(join(out, 'summary.json')), false);
  const finished = readdirSync(jobsDir).filter((n) => n.endsWith('.json'));
  assert.ok(finished.length >= 1 && finished.length < 12, `${finished.length} jobs finished`);
  for (const name of finished) JSON.parse(readFileSync(join(jobsDir, name), 'utf8')); // every record is whole
  await run('--workers', '1', '--out', out, '--resume');
  for (const file of ['summary.json', 'summary.csv']) assert.deepEqual(read(out, file), read(join(tmp, 'one'), file), file);
  assert.equal(readdirSync(jobsDir).some((n) => n.includes('.tmp-')), false);
});

test('a different study in the same directory, and bad --shard, are one-line errors', async () => {
  const other = await runCli([...study.map((a) => (a === '4' ? '5' : a)), '--out', join(tmp, 'one')]);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /holds results of a different study or shard/);
  for (const shard of ['0/3', '4/3', 'x']) {
    const r = await runCli([...study, '--out', join(tmp, 'never'), '--shard', shard]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--shard must be k\/N with 1 <= k <= N/);
  }
});
