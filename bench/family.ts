/**
 * Issue 11's full-size contract and benchmarks, through the built CLI (dist/node/cli.js, `npm run build`)
 * on random-weight checkpoints written by scripts/make-family-bench-checkpoints.py into a temporary
 * directory (never committed):
 *
 *  contract  import of torchvision ResNet-18 (1000 classes, 224x224) and pre-activation ResNet-18
 *            (CIFAR); `predict --images 0-1 --json` of both against PyTorch float64 logits; the refusal
 *            of `spectrum --method full` for torchvision unit 1.1 (200704 x 200704); `--method full` of
 *            pre-activation units 3.1 (16384 x 32768) and 4.1
 *  bench 1   top-10 singular values of torchvision ResNet-18 unit 1.1 at a 224x224 image: ours
 *            (`spectrum --method topk --k 10`) against scipy svds over torch.func jvp/vjp (bench_family.py)
 *  bench 2   the full spectrum of pre-activation ResNet-18 unit 4.1 (8192 x 16384): ours (`spectrum
 *            --values-out`) against torch.autograd.functional.jacobian + torch.linalg.svdvals
 *
 * Rounds alternate ours and PyTorch so that load changes hit both; our time is the CLI process's wall
 * time (model loading included), PyTorch's is its own `seconds` (model in memory, image to values).
 * Values are compared in each run, relative to s_max. `--side ours|pytorch` runs only one side of
 * benchmark 2 (its rounds then alternate across separate holds of the bench lock; our values are
 * compared with the PyTorch values of an earlier run, when there are any).
 *
 *   node --import tsx bench/family.ts [--runs 3] [--dir /tmp/family-bench] [--skip contract,3.1,1,2] [--side ours|pytorch]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { benchDir, median, runPython } from './support.js';

const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(argValue('--runs') ?? 3);
const dir = argValue('--dir') ?? '/tmp/family-bench';
const skip = new Set((argValue('--skip') ?? '').split(',').filter(Boolean));
const side = argValue('--side');
if (side !== undefined && side !== 'ours' && side !== 'pytorch') throw new Error(`--side must be ours or pytorch, got ${side}`);
const root = join(benchDir, '..');
const cli = join(root, 'dist/node/cli.js');
const python = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
const tv = join(dir, 'tv'), pre = join(dir, 'pre');

const log = (text: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)} load ${loadavg()[0].toFixed(1)}] ${text}\n`);

/** One CLI run: exit code, stdout, stderr, wall seconds. */
function runCli(args: string[]) {
  const start = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - start) / 1000 };
}

function readF64(path: string): Float64Array {
  const b = readFileSync(path);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Largest |ours - theirs| over the common ranks, relative to s_max (theirs). */
function relativeDifference(ours: ArrayLike<number>, theirs: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < Math.min(ours.length, theirs.length); i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
  return worst / theirs[0];
}

function must(r: ReturnType<typeof runCli>, what: string) {
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}: ${r.stderr.trim()}`);
  return r;
}

log(`CPU ${cpus()[0]?.model} x ${cpus().length}; runs ${runs}; dir ${dir}`);
if (!existsSync(join(dir, 'resnet18-tv.pt'))) {
  log('writing the checkpoints');
  execFileSync(python, [join(root, 'scripts/make-family-bench-checkpoints.py'), dir], { stdio: 'inherit' });
}
for (const [file, out] of [['resnet18-tv.pt', tv], ['preact18.pt', pre]] as const) {
  if (existsSync(join(out, 'model.json'))) continue;
  const r = must(runCli(['import', join(dir, file), '--out', out, '--json']), `import ${file}`);
  const { recognised } = JSON.parse(r.stdout);
  log(`import ${file}: ${JSON.stringify(recognised)} (${r.seconds.toFixed(1)} s)`);
}

if (!skip.has('contract')) {
  for (const [model, family, side] of [[tv, 'tv', 224], [pre, 'preact', 32]] as const) {
    const r = must(runCli(['predict', '--model', model, '--data', join(dir, `images${side}`), '--images', '0-1', '--json']), `predict ${family}`);
    const ours: number[][] = JSON.parse(r.stdout).logits;
    const theirs = runPython<{ logits: number[][] }>('bench_family.py', ['logits', join(dir, family === 'tv' ? 'resnet18-tv.pt' : 'preact18.pt'), family, side, 2]).logits;
    const scale = Math.max(...theirs.flat().map(Math.abs));
    const worst = Math.max(...ours.flatMap((row, i) => row.map((v, k) => Math.abs(v - theirs[i]![k]!))));
    log(`predict ${family} (${ours[0]!.length} classes, ${side}x${side}): max |logit - PyTorch| / max |logit| = ${(worst / scale).toExponential(2)} (${r.seconds.toFixed(1)} s)`);
  }
  const refusal = runCli(['spectrum', '--model', tv, '--data', join(dir, 'images224'), '--image', '0', '--unit', '1.1', '--method', 'full', '--json']);
  log(`spectrum --method full, torchvision 1.1: exit ${refusal.code}, ${refusal.stderr.trim().split('\n').length} line(s): ${refusal.stderr.trim()} (${refusal.seconds.toFixed(1)} s)`);
}
if (!skip.has('3.1')) {
  const r31 = must(runCli(['spectrum', '--model', pre, '--image', '0', '--unit', '3.1', '--values-out', join(dir, 'ours-3.1.f64'), '--json']), 'full 3.1');
  const j31 = JSON.parse(r31.stdout);
  log(`spectrum --method full, pre-activation 3.1: shape ${j31.shape}, s_max ${j31.smax}, ${r31.seconds.toFixed(1)} s`);
}

if (!skip.has('1')) {
  const ours: number[] = [], theirs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = must(runCli(['spectrum', '--model', tv, '--data', join(dir, 'images224'), '--image', '0', '--unit', '1.1', '--method', 'topk', '--k', '10', '--json']), 'topk');
    ours.push(r.seconds);
    const values: number[] = JSON.parse(r.stdout).results[0].values;
    const peer = runPython<{ seconds: number; products: unknown; smax: number }>('bench_family.py', ['topk', join(dir, 'resnet18-tv.pt'), 224, 0, '1.1', 10, join(dir, 'torch-topk.f64')]);
    theirs.push(peer.seconds);
    log(`topk run ${i + 1}: ours ${r.seconds.toFixed(1)} s, PyTorch ${peer.seconds.toFixed(1)} s (${JSON.stringify(peer.products)}); ` +
      `values max diff / s_max ${relativeDifference(values, readF64(join(dir, 'torch-topk.f64'))).toExponential(2)}; s_max ${values[0]} vs ${peer.smax}`);
  }
  console.log(`| top-10 of torchvision ResNet-18 unit 1.1 (200704 x 200704), 224x224 | ${median(ours).toFixed(1)} | ${median(theirs).toFixed(1)} | ${(median(theirs) / median(ours)).toFixed(2)}x |`);
  console.log(`<!-- topk runs: ours ${ours.map((s) => s.toFixed(1))}, PyTorch ${theirs.map((s) => s.toFixed(1))} -->`);
}

if (!skip.has('2')) {
  const ours: number[] = [], theirs: number[] = [];
  const torchValues = join(dir, 'torch-4.1.f64');
  for (let i = 0; i < runs; i++) {
    let line = `full 4.1 run ${i + 1}:`;
    if (side !== 'pytorch') {
      const r = must(runCli(['spectrum', '--model', pre, '--image', '0', '--unit', '4.1', '--values-out', join(dir, 'ours-4.1.f64'), '--json']), 'full 4.1');
      ours.push(r.seconds);
      line += ` ours ${r.seconds.toFixed(1)} s`;
    }
    if (side !== 'ours') {
      const peer = runPython<{ seconds: number; jacobianSeconds: number; smax: number }>('bench_family.py', ['full', join(dir, 'preact18.pt'), 0, '4.1', torchValues]);
      theirs.push(peer.seconds);
      line += ` PyTorch ${peer.seconds.toFixed(1)} s (Jacobian ${peer.jacobianSeconds.toFixed(1)} s)`;
    }
    if (side !== 'pytorch' && existsSync(torchValues)) {
      const a = readF64(join(dir, 'ours-4.1.f64')), b = readF64(torchValues);
      // The Gram route's small values: compare those above 1e-3 s_max separately.
      const big = b.filter((s) => s > 1e-3 * b[0]).length;
      line += `; ${a.length} vs ${b.length} values, max diff / s_max ${relativeDifference(a, b).toExponential(2)}` +
        ` (the ${big} above 1e-3 s_max: ${relativeDifference(a.subarray(0, big), b.subarray(0, big)).toExponential(2)}); s_max ${a[0]} vs ${b[0]}`;
    }
    log(line);
  }
  if (side !== undefined) {
    console.log(`<!-- full runs (${side} only): ${(side === 'ours' ? ours : theirs).map((s) => s.toFixed(1))}, median ${median(side === 'ours' ? ours : theirs).toFixed(1)} -->`);
    log('done');
    process.exit(0);
  }
  console.log(`| full spectrum of pre-activation ResNet-18 unit 4.1 (8192 x 16384) | ${median(ours).toFixed(1)} | ${median(theirs).toFixed(1)} | ${(median(theirs) / median(ours)).toFixed(2)}x |`);
  console.log(`<!-- full runs: ours ${ours.map((s) => s.toFixed(1))}, PyTorch ${theirs.map((s) => s.toFixed(1))} -->`);
}
log('done');
