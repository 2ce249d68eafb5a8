/**
 * Issue 5's benchmark: wall time of `propagate --attack pgd` (PGD-10, L-infinity eps 8/255, 100 images,
 * ResNet-56, without and with the first-order prediction) against the same computation in PyTorch for
 * CPU (2 threads) in the same run, and the wall time of `report --preset quick` (when present).
 *
 *   node --import tsx bench/report.ts [--runs 3]
 *
 * Issue 15's schedule: `report` end to end with this build's schedule (large spectra one at a time on
 * all threads beside the other jobs) against another build's CLI (`--before`, e.g. the parent commit
 * built elsewhere), the two taking turns in each round, with each job's own seconds by kind:
 *
 *   node --import tsx bench/report.ts --schedule --before /tmp/base/dist/node/cli.js [--presets quick,depth] [--runs 1]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, runPython, sharedDir } from './support.js';

const option = (name: string) => (process.argv.indexOf(name) > 0 ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const runs = Number(option('--runs') ?? 3);
const cli = new URL('../dist/node/cli.js', import.meta.url).pathname;
const eps = 8 / 255;
const tmp = mkdtempSync(join(tmpdir(), 'rs-bench-report-'));
const env = { ...process.env, RESNET_STABILITY_DATA: `${sharedDir}data/cifar10` };

function timeCommand(args: string[], program = cli): number {
  const start = performance.now();
  execFileSync(process.execPath, [program, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return (performance.now() - start) / 1000;
}

/** Each job's own seconds in a report's jobs folder, summed by kind (spectra by stage: unit index / units per stage). */
function jobSeconds(out: string, unitsPerStage: number): Record<string, { jobs: number; seconds: number; max: number }> {
  const kinds: Record<string, { jobs: number; seconds: number; max: number }> = {};
  for (const name of readdirSync(join(out, 'jobs')).filter((n) => n.endsWith('.json'))) {
    const r = JSON.parse(readFileSync(join(out, 'jobs', name), 'utf8')) as { kind: string; unit?: number; seconds: number };
    const kind = r.kind === 'spectrum' ? `spectrum, stage ${Math.floor(r.unit! / unitsPerStage) + 1}` : r.kind;
    const k = (kinds[kind] ??= { jobs: 0, seconds: 0, max: 0 });
    k.jobs++;
    k.seconds += r.seconds;
    k.max = Math.max(k.max, r.seconds);
  }
  return kinds;
}

if (process.argv.includes('--schedule')) {
  const before = option('--before');
  if (!before || !existsSync(before)) throw new Error('--schedule needs --before <the other build\'s dist/node/cli.js>');
  const presets = (option('--presets') ?? 'quick').split(',');
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  for (const preset of presets) {
    const wall: Record<'before' | 'after', number[]> = { before: [], after: [] };
    for (let r = 0; r < runs; r++) {
      // Alternate which goes first, so a change of load hits both alike.
      for (const which of r % 2 ? (['after', 'before'] as const) : (['before', 'after'] as const)) {
        const out = join(tmp, `${preset}-${which}-${r}`);
        const loadBefore = load();
        const seconds = timeCommand(['report', '--model', 'resnet56', '--preset', preset, '--quiet', '--out', out], which === 'after' ? cli : before);
        wall[which].push(seconds);
        console.log(`${preset} ${which} run ${r + 1}: ${seconds.toFixed(1)} s wall; load ${loadBefore} -> ${load()}`);
        for (const [kind, k] of Object.entries(jobSeconds(out, 9))) console.log(`  ${kind}: ${k.jobs} jobs, ${k.seconds.toFixed(1)} s (longest ${k.max.toFixed(1)} s)`);
        rmSync(out, { recursive: true, force: true });
      }
    }
    console.log(`| report --preset ${preset} (ResNet-56), wall | ${median(wall.before).toFixed(1)} s | ${median(wall.after).toFixed(1)} s | ${(median(wall.before) / median(wall.after)).toFixed(2)}x |`);
  }
  rmSync(tmp, { recursive: true, force: true });
  process.exit(0);
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
