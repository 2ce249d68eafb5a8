/**
 * What every hostile-input test asserts: the failure is one line naming the input and the problem, it
 * comes within a time limit (and, for the CLI, a peak memory limit), with the right exit code, and
 * nothing is written.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { cliPath } from '../support/cli.js';
import { cifarTestFile } from '../support/shared.js';
import { InputError } from '../../src/util/errors.js';

/** Time a library call may take to refuse a hostile input (the machine may be busy: generous). */
export const LIBRARY_MS = 5000;
/** Time a CLI run may take, node and the WebAssembly backend's start included. */
export const CLI_MS = 20000;
/** Peak resident memory a CLI run may reach, well under the 1 GB the issue sets. */
export const CLI_MAX_RSS_MB = 600;

/** A fresh temporary directory, removed when the test file ends. */
export function tempDir(prefix = 'hostile-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every file below `dir` with its size and modification time, to show that nothing was written. */
export function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      const s = statSync(path);
      if (s.isDirectory()) walk(path);
      out.push(`${path} ${s.size} ${s.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}

/** Awaits `fn`, which must reject with a one-line InputError matching `pattern` within `ms`. */
export async function rejectsInput(fn: () => unknown, pattern: RegExp, ms = LIBRARY_MS): Promise<InputError> {
  const start = performance.now();
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  const elapsed = performance.now() - start;
  assert.ok(caught !== undefined, `expected a rejection matching ${pattern}, got success`);
  assert.ok(caught instanceof InputError, `expected an InputError, got ${String((caught as Error)?.stack ?? caught)}`);
  assert.doesNotMatch(caught.message, /\n/);
  assert.match(caught.message, pattern);
  assert.ok(elapsed < ms, `took ${elapsed.toFixed(0)} ms (limit ${ms} ms)`);
  return caught;
}

export interface BoundedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Peak resident set size in MiB, from /usr/bin/time. */
  maxRssMb: number;
  ms: number;
  timedOut: boolean;
}

/**
 * Runs the built CLI under /usr/bin/time (for its peak resident memory), killing its process group
 * after `ms`.
 */
export function runCliBounded(args: string[], options: { env?: Record<string, string>; ms?: number } = {}): Promise<BoundedRun> {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run "npm run build" first`);
  const ms = options.ms ?? CLI_MS;
  const rssFile = join(tempDir('hostile-rss-'), 'rss');
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, cliPath, ...args], {
      env: { ...process.env, RESNET_STABILITY_DATA: cifarTestFile, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid!, 'SIGKILL');
    }, ms);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const rss = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : NaN;
      resolve({ code, stdout, stderr, maxRssMb: rss / 1024, ms: performance.now() - start, timedOut });
    });
  });
}

/**
 * Runs the CLI and asserts a one-line `resnet-stability: ...` error matching `pattern`, exit `code`,
 * within the time and memory limits, and that `unchanged` (a directory) is as it was.
 */
export async function cliFails(args: string[], code: 1 | 2, pattern: RegExp, options: { env?: Record<string, string>; unchanged?: string; ms?: number } = {}): Promise<BoundedRun> {
  const before = options.unchanged ? snapshot(options.unchanged) : [];
  const run = await runCliBounded(args, options);
  assert.ok(!run.timedOut, `resnet-stability ${args.join(' ')} did not finish within ${options.ms ?? CLI_MS} ms`);
  assert.equal(run.code, code, `exit code ${run.code}, stderr: ${run.stderr}`);
  const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${run.stderr}`);
  assert.match(lines[0]!, /^resnet-stability: /);
  assert.match(lines[0]!, pattern);
  assert.ok(run.maxRssMb < CLI_MAX_RSS_MB, `peak memory ${run.maxRssMb.toFixed(0)} MiB (limit ${CLI_MAX_RSS_MB} MiB)`);
  if (options.unchanged) assert.deepEqual(snapshot(options.unchanged), before, 'files were written');
  return run;
}
