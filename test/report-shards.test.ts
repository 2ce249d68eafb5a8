/**
 * A report spread over machines, through a real scheduler: the tiny `test` preset run once on one
 * machine and as 3 shards under GNU `parallel` (Debian package `parallel`, installed by .ci/run), one
 * shard SIGKILLed after its first finished job and retried with --resume (parallel --retry-failed),
 * then merged. With --reproducible the merged report.json, report.html and study.json must be the
 * one-machine run's bytes; the killed shard must keep the job it finished and leave nothing half-written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliPath, runCli } from './support/cli.js';
import { cifarTestFile } from './support/shared.js';

const PARALLEL = '/usr/bin/parallel';
const skip = existsSync(PARALLEL) ? false : `${PARALLEL} is missing (Debian package "parallel"; .ci/run installs it)`;

test('report --shard k/3 under GNU parallel, one shard killed and resumed, merged: the one-machine bytes', { skip }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-report-shards-'));
  try {
    const env = { ...process.env, RESNET_STABILITY_DATA: cifarTestFile, SOURCE_DATE_EPOCH: '1700000000' };
    const common = ['report', '--model', 'resnet56', '--preset', 'test', '--workers', '1', '--reproducible', '--quiet'];
    const one = await runCli([...common, '--out', join(tmp, 'one')], { SOURCE_DATE_EPOCH: '1700000000' });
    assert.equal(one.code, 0, one.stderr);

    // Shard 2 is killed (SIGKILL: no handler runs) on its first attempt, once a job of it is on disk.
    const killOnce = join(tmp, 'kill-once.sh');
    writeFileSync(killOnce, [
      'k=$1; shift',
      `if [ "$k" = 2 ] && [ ! -e "${tmp}/killed" ]; then`,
      `  touch "${tmp}/killed"; "$@" & pid=$!`,
      `  until ls "${tmp}"/s2/jobs/*.json >/dev/null 2>&1; do sleep 0.05; done`,
      '  kill -9 $pid; wait $pid; exit $?',
      'fi',
      'exec "$@"',
    ].join('\n') + '\n');
    const joblog = join(tmp, 'joblog');
    const shardCommand = ['sh', killOnce, '{}', process.execPath, cliPath, ...common, '--shard', '{}/3', '--out', `${tmp}/s{}`, '--resume'];
    const first = spawnSync(PARALLEL, ['--joblog', joblog, '-j', '3', ...shardCommand, ':::', '1', '2', '3'], { env, encoding: 'utf8' });
    assert.equal(first.status, 1, `one job failed: ${first.stderr}`);
    // joblog columns: Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
    const log = readFileSync(joblog, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
    assert.deepEqual(log.map((r) => [/--shard (\d)\/3/.exec(r[8])?.[1], r[6]]).sort(), [['1', '0'], ['2', '137'], ['3', '0']], first.stderr);
    const kept = readdirSync(join(tmp, 's2', 'jobs')).filter((n) => n.endsWith('.json'));
    assert.ok(kept.length >= 1, 'the killed shard kept its finished job');
    assert.equal(existsSync(join(tmp, 's2', '.lock')), true, 'the killed shard left its lock');

    // parallel reruns the failed job with the same command line, which resumes.
    const retry = spawnSync(PARALLEL, ['--joblog', joblog, '--retry-failed', '-j', '3'], { env, encoding: 'utf8' });
    assert.equal(retry.status, 0, retry.stderr);
    for (const k of [1, 2, 3]) {
      const jobsDir = join(tmp, `s${k}`, 'jobs');
      assert.deepEqual(readdirSync(jobsDir).filter((n) => n.includes('.tmp-')), [], `temporaries in ${jobsDir}`);
      assert.equal(existsSync(join(tmp, `s${k}`, 'report.json')), false, 'a shard writes no report');
    }
    for (const name of kept) assert.ok(existsSync(join(tmp, 's2', 'jobs', name)));

    const merged = await runCli(['merge', join(tmp, 's1'), join(tmp, 's2'), join(tmp, 's3'), '--out', join(tmp, 'merged'), '--json'], { SOURCE_DATE_EPOCH: '1700000000' });
    assert.equal(merged.code, 0, merged.stderr);
    assert.deepEqual(JSON.parse(merged.stdout).written, ['report.json', 'report.html']);
    for (const file of ['report.json', 'report.html', 'study.json']) {
      assert.ok(readFileSync(join(tmp, 'merged', file)).equals(readFileSync(join(tmp, 'one', file))), `${file} differs from the one-machine run`);
    }
    const report = JSON.parse(readFileSync(join(tmp, 'merged', 'report.json'), 'utf8'));
    assert.equal(report.meta.created, '2023-11-14T22:13:20.000Z'); // SOURCE_DATE_EPOCH 1700000000
    assert.deepEqual(Object.values(report.seconds), [0, 0, 0, 0, 0]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('report --shard refusals: bad k/N, several models, no --out are usage errors (exit 2) and write nothing', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-report-shard-usage-'));
  try {
    for (const [args, message] of [
      [['--model', 'resnet56', '--shard', '4/3', '--out', join(tmp, 'a')], /^resnet-stability: --shard must be k\/N with 1 <= k <= N, got "4\/3"$/],
      [['--model', 'resnet56', '--shard', '0/2', '--out', join(tmp, 'a')], /--shard must be k\/N/],
      [['--model', 'resnet56', '--shard', '1/2'], /^resnet-stability: --shard needs --out/],
      [['--model', 'resnet56', 'resnet110', '--shard', '1/2', '--out', join(tmp, 'a')], /^resnet-stability: --shard takes one model/],
    ] as const) {
      const result = await runCli(['report', ...args, '--preset', 'test', '--quiet']);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr.trimEnd(), message);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    }
    const bad = await runCli(['report', '--model', 'resnet56', '--preset', 'test', '--reproducible', '--out', join(tmp, 'b'), '--quiet'], { SOURCE_DATE_EPOCH: 'yesterday' });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /^resnet-stability: SOURCE_DATE_EPOCH must be whole seconds since 1970, got "yesterday"\n$/);
    assert.deepEqual(readdirSync(tmp), []);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
