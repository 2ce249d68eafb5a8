/**
 * Startup: commands that print help, the version or a usage error must not load vega, vega-lite or tfjs
 * (loaded on first use by report/render.ts and model/backend.ts), and should answer well under 0.3 s on
 * top of Node's own start. The bound below is generous because the test machine may be busy; the
 * measured figures are in BENCHMARKS.md.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { repoRoot } from './support/shared.js';

const cli = `${repoRoot}dist/node/cli.js`;

test('the CLI bundle imports vega, vega-lite and tfjs only dynamically', () => {
  const text = readFileSync(cli, 'utf8');
  const staticImports = [...text.matchAll(/^import\b[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]);
  assert.ok(staticImports.includes('commander'), 'the bundle is the one expected (it imports commander)');
  assert.deepEqual(staticImports.filter((name) => /^(vega|vega-lite|@tensorflow\/)/.test(name)), []);
});

/** The fastest of three runs, in seconds. */
function fastest(args: string[]): { seconds: number; status: number | null; stdout: string; stderr: string } {
  let best = { seconds: Infinity, status: null as number | null, stdout: '', stderr: '' };
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint();
    const run = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: repoRoot });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (seconds < best.seconds) best = { seconds, status: run.status, stdout: run.stdout, stderr: run.stderr };
  }
  return best;
}

// The bound scales with a bare `node -e 0` measured just before each case, since a busy machine slows both
// alike; on an idle one it is well under 0.5 s, while loading vega and tfjs alone takes longer than that.
test('--version, --help and usage errors answer within 0.3 s + 2.5 bare node starts', () => {
  const cases: [string[], number, RegExp][] = [
    [['--version'], 0, /^\d+\.\d+\.\d+/],
    [['--help'], 0, /Usage: resnet-stability/],
    [['predict', '--help'], 0, /--images/],
    [['no-such-command'], 2, /unknown command/],
    [['eval', '--model', 'resnet56', '--no-such-option'], 2, /unknown option/],
  ];
  for (const [args, status, output] of cases) {
    const bare = fastest(['-e', '0']).seconds;
    const run = fastest([cli, ...args]);
    assert.equal(run.status, status, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stdout + run.stderr, output);
    assert.ok(run.seconds < 0.3 + 2.5 * bare, `${args.join(' ')}: ${run.seconds.toFixed(3)} s against ${bare.toFixed(3)} s for node -e 0`);
  }
});
