/**
 * Issue 5's benchmark: wall time of `propagate --attack pgd` (PGD-10, L-infinity eps 8/255, 100 images,
 * ResNet-56, without and with the first-order prediction) against the same computation in PyTorch for
 * CPU (2 threads) in the same run, and the wall time of `report --preset quick` (when present).
 *
 *   node --import tsx bench/report.ts [--runs 3]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, runPython, sharedDir } from './support.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
const cli = new URL('../dist/node/cli.js', import.meta.url).pathname;
const eps = 8 / 255;
const tmp = mkdtempSync(join(tmpdir(), 'rs-bench-report-'));
const env = { ...process.env, RESNET_STABILITY_DATA: `${sharedDir}data/cifar10` };

function timeCommand(args: string[]): number {
  const start = performance.now();
  execFileSync(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return (performance.now() - start) / 1000;
}

const pgd = ['propagate', '--model', 'resnet56', '--images', '0-99', '--attack', 'pgd', '--eps', String(eps), '--steps', '10', '--quiet', '--out', join(tmp, 'pgd')];
const ours: number[] = [];
const oursFirstOrder: number[] = [];
const torch: number[] = [];
for (let r = 0; r < runs; r++) {
  ours.push(timeCommand([...pgd, '--no-first-order']));
  oursFirstOrder.push(timeCommand(pgd));
  torch.push(runPython<{ seconds: number }>('bench_pgd.py', [`${sharedDir}models/resnet56.th`, `${sharedDir}data/cifar10/test_batch.bin`, 100, eps, 10]).seconds);
}
console.log('| propagate PGD-10, 100 images, ResNet-56 | resnet-stability (s) | PyTorch CPU 2 threads (s) | throughput ratio |');
console.log('|---|---|---|---|');
console.log(`| relative perturbations only | ${median(ours).toFixed(1)} | ${median(torch).toFixed(1)} | ${(median(torch) / median(ours)).toFixed(2)}x |`);
console.log(`| with the first-order prediction (not computed by the peer) | ${median(oursFirstOrder).toFixed(1)} | — | — |`);

if (existsSync(new URL('../src/cli/report.ts', import.meta.url))) {
  const quick = timeCommand(['report', '--model', 'resnet56', '--preset', 'quick', '--quiet', '--out', join(tmp, 'report')]);
  console.log(`\n| report --preset quick (ResNet-56) | ${quick.toFixed(1)} s | goal < 300 s |`);
  console.log('|---|---|---|');
}
rmSync(tmp, { recursive: true, force: true });
