/**
 * PGD-10 on 100 images (ResNet-56, L-infinity eps 8/255, relative perturbations only:
 * `propagate --attack pgd --no-first-order`, one worker per core) with our Winograd convolutions,
 * the same with tfjs' own (RESNET_STABILITY_XNNPACK_CONV=1), and PyTorch for CPU (2 threads,
 * bench_pgd.py), runs interleaved; medians. Needs `npm run build` (runs dist/node/cli.js).
 *
 *   node --import tsx bench/pgd.ts [--runs 3]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, runPython, sharedDir } from './support.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
const cli = new URL('../dist/node/cli.js', import.meta.url).pathname;
const eps = 8 / 255;
const tmp = mkdtempSync(join(tmpdir(), 'rs-bench-pgd-'));
const env = { ...process.env, RESNET_STABILITY_DATA: `${sharedDir}data/cifar10` };

function timeCommand(args: string[], extra: Record<string, string> = {}): number {
  const start = performance.now();
  execFileSync(process.execPath, [cli, ...args], { env: { ...env, ...extra }, stdio: ['ignore', 'ignore', 'inherit'] });
  return (performance.now() - start) / 1000;
}

const pgd = ['propagate', '--model', 'resnet56', '--images', '0-99', '--attack', 'pgd', '--eps', String(eps), '--steps', '10', '--quiet', '--no-first-order', '--out', join(tmp, 'pgd')];
const ours: number[] = [];
const xnnpack: number[] = [];
const torch: number[] = [];
for (let r = 0; r < runs; r++) {
  ours.push(timeCommand(pgd));
  xnnpack.push(timeCommand(pgd, { RESNET_STABILITY_XNNPACK_CONV: '1' }));
  torch.push(runPython<{ seconds: number }>('bench_pgd.py', [`${sharedDir}models/resnet56.th`, `${sharedDir}data/cifar10/test_batch.bin`, 100, eps, 10]).seconds);
}
console.log('| propagate PGD-10, 100 images, ResNet-56 | Winograd (s) | tfjs XNNPACK convolutions (s) | PyTorch CPU 2 threads (s) | throughput ratio to PyTorch | Winograd / XNNPACK |');
console.log('|---|---|---|---|---|---|');
console.log(`| relative perturbations only | ${median(ours).toFixed(1)} | ${median(xnnpack).toFixed(1)} | ${median(torch).toFixed(1)} | ${(median(torch) / median(ours)).toFixed(2)}x | ${(median(xnnpack) / median(ours)).toFixed(2)}x |`);
console.error(`seconds: ours ${ours.map((t) => t.toFixed(1)).join(' ')}; xnnpack ${xnnpack.map((t) => t.toFixed(1)).join(' ')}; torch ${torch.map((t) => t.toFixed(1)).join(' ')}`);
rmSync(tmp, { recursive: true, force: true });
