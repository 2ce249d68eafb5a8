/**
 * Issue 15, "know the limit": the most f64 and f32 multiply-adds per second WebAssembly SIMD can issue on
 * this machine and engine, per core and on all cores, with plain mul+add and (where the engine has it)
 * relaxed-SIMD relaxed_madd; then our hot kernels, one thread, as a fraction of that peak.
 *
 *   node --experimental-wasm-relaxed-simd --import tsx bench/peak.ts [--seconds 0.5] [--runs 5] [--threads 1,2]
 *
 * (Node 22+ has relaxed SIMD without the flag.) The peak kernels are bench/peak/peak.ts, compiled here by
 * asc twice (without and with --enable relaxed-simd) into a temporary folder; nothing of it ships.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadTestingKernels } from '../test/support/testing-kernels.js';
import { SeededRandom } from '../src/util/random.js';
import { benchDir, median } from './support.js';

const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const seconds = Number(argValue('--seconds') ?? 0.5);
const runs = Number(argValue('--runs') ?? 5);
const threadCounts = (argValue('--threads') ?? `1,${cpus().length}`).split(',').map(Number);

const FLOPS_PER_ROUND = { f64: 48, f32: 96 } as const;
type PeakKernel = 'peakF64MulAdd' | 'peakF32MulAdd' | 'peakF64Relaxed' | 'peakF32Relaxed';

function compilePeak(): { plain: Uint8Array<ArrayBuffer>; relaxed: Uint8Array<ArrayBuffer> } {
  const dir = mkdtempSync(join(tmpdir(), 'peak-'));
  const asc = join(benchDir, '..', 'node_modules', '.bin', 'asc');
  const common = [join(benchDir, 'peak', 'peak.ts'), '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd'];
  execFileSync(asc, [...common, '-o', join(dir, 'plain.wasm')]);
  execFileSync(asc, [...common, '--enable', 'relaxed-simd', '-o', join(dir, 'relaxed.wasm')]);
  const read = (file: string) => new Uint8Array(readFileSync(join(dir, file)));
  return { plain: read('plain.wasm'), relaxed: read('relaxed.wasm') };
}

// One thread's measurement, as code a worker can run too: rounds calibrated to `seconds`, then timed.
const measureSource = `
function measure(bytes, kernel, seconds) {
  const imports = { env: { abort() { throw new Error('abort'); }, seed: () => 0, trace() {} } };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports); instance.exports.fillTable(0.5); const run = instance.exports[kernel];
  let rounds = 1 << 16;
  for (;;) {
    const t = performance.now(); run(rounds, 1.5); const dt = (performance.now() - t) / 1000;
    if (dt > seconds / 4) { rounds = Math.max(1, Math.round(rounds * seconds / dt)); break; }
    rounds *= 4;
  }
  const t = performance.now(); run(rounds, 1.5); return { rounds, seconds: (performance.now() - t) / 1000 };
}`;
const measure = new Function(`${measureSource}; return measure;`)() as (
  bytes: Uint8Array, kernel: PeakKernel, seconds: number) => { rounds: number; seconds: number };

/** GFLOP/s of `kernel` on `threads` threads at once (sum over threads; they start together). */
async function peakRate(bytes: Uint8Array, kernel: PeakKernel, threads: number): Promise<number> {
  const flops = FLOPS_PER_ROUND[kernel.includes('F64') ? 'f64' : 'f32'];
  if (threads === 1) {
    const r = measure(bytes, kernel, seconds);
    return (r.rounds * flops) / r.seconds / 1e9;
  }
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const workerCode = `${measureSource}
    const { parentPort, workerData } = require('node:worker_threads');
    const gate = new Int32Array(workerData.gate);
    Atomics.add(gate, 0, 1); Atomics.wait(gate, 0, Atomics.load(gate, 0) < workerData.threads ? Atomics.load(gate, 0) : -1, 50);
    while (Atomics.load(gate, 0) < workerData.threads) {}
    parentPort.postMessage(measure(workerData.bytes, workerData.kernel, workerData.seconds));`;
  const results = await Promise.all(Array.from({ length: threads }, () => new Promise<{ rounds: number; seconds: number }>((resolve, reject) => {
    const w = new Worker(workerCode, { eval: true, workerData: { bytes, kernel, seconds, threads, gate: gate.buffer } });
    w.once('message', (m) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  })));
  return results.reduce((sum, r) => sum + (r.rounds * flops) / r.seconds / 1e9, 0);
}

/** Median GFLOP/s of one of our kernels over `runs` calls of `call`, which does `flops` flops. */
function kernelRate(flops: number, call: () => void): number {
  call();
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    call();
    rates.push(flops / ((performance.now() - t) / 1000) / 1e9);
  }
  return median(rates);
}

const { plain, relaxed } = compilePeak();
const hasRelaxed = WebAssembly.validate(relaxed);
console.log(`CPU: ${cpus()[0].model} (${cpus().length} logical); node ${process.version}; ` +
  `relaxed SIMD ${hasRelaxed ? 'available' : 'NOT available in this engine (Node 20: --experimental-wasm-relaxed-simd)'}`);
console.log(`load average at start: ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);

const peaks: Record<string, Record<number, number>> = {};
console.log('\n| peak kernel | ' + threadCounts.map((t) => `${t} thread${t > 1 ? 's' : ''} GFLOP/s`).join(' | ') + ' |');
console.log('|---|' + threadCounts.map(() => '---|').join(''));
for (const kernel of ['peakF64MulAdd', 'peakF32MulAdd', 'peakF64Relaxed', 'peakF32Relaxed'] as PeakKernel[]) {
  const isRelaxed = kernel.endsWith('Relaxed');
  if (isRelaxed && !hasRelaxed) continue;
  peaks[kernel] = {};
  for (const t of threadCounts) {
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) rates.push(await peakRate(isRelaxed ? relaxed : plain, kernel, t));
    peaks[kernel][t] = median(rates);
  }
  console.log(`| ${kernel} | ${threadCounts.map((t) => peaks[kernel][t].toFixed(1)).join(' | ')} |`);
}

// Our kernels, one thread, against the plain mul+add peak of one core (they are written with mul+add).
// The testing build: the same kernels plus the f32 convolution and the convolution's VJP, which the
// shipped module does not export (src/ runs convolutions through operators).
const kernels = await loadTestingKernels();
const random = new SeededRandom(15);
const rows: { name: string; precision: 'f64' | 'f32'; gflops: number }[] = [];
for (const precision of ['f64', 'f32'] as const) {
  const k = kernels.typed(precision);
  kernels.scope((s) => {
    const fill = (n: number) => {
      const a = precision === 'f64' ? s.allocF64(n) : s.allocF32(n);
      const view = k.view(a, n);
      for (let i = 0; i < n; i++) view[i] = random.normal();
      return a;
    };
    const n = 1024;
    const a = fill(n * n), b = fill(n * n), c = fill(n * n);
    rows.push({ name: `gemm ${n}x${n}x${n}`, precision, gflops: kernelRate(2 * n ** 3, () => k.gemm(0, 0, n, n, n, 1, a, n, b, n, 0, c, n)) });
    // The symmetric rank-2k update of the Gram route's band reduction: lower triangle of [V W][W V]^T.
    const k2 = 256;
    const vw = fill(n * k2), wv = fill(n * k2);
    rows.push({ name: `syr2k-like gemmLower n=${n}, k=${k2}`, precision, gflops: kernelRate(n * (n + 1) * k2, () => k.gemmLower(0, 1, n, k2, 1, vw, k2, wv, k2, 1, c, n)) });
    // A stage-1 convolution of ResNet-56 (16 -> 16 channels, 32 x 32, 3 x 3), a batch of 64 probes.
    const batch = 64, ch = 16, hw = 32;
    const x = fill(batch * ch * hw * hw), w = fill(ch * ch * 9), y = fill(batch * ch * hw * hw);
    const convFlops = 2 * batch * ch * hw * hw * ch * 9;
    rows.push({ name: 'conv 3x3 16->16 32x32, batch 64 (JVP / forward)', precision, gflops: kernelRate(convFlops, () => k.conv2dForward(x, batch, ch, hw, hw, w, ch, 3, 1, 1, y)) });
    rows.push({ name: 'conv 3x3 16->16 32x32, batch 64 (VJP / transpose)', precision, gflops: kernelRate(convFlops, () => k.conv2dTranspose(y, batch, ch, hw, hw, w, ch, 3, 1, 1, x)) });
  });
}
// The forward pass's 3x3 stride-1 convolutions (assembly/winograd.ts, f32 NHWC, batch 100, bias and
// ReLU) at ResNet-56's three stage shapes. "Direct-equivalent" counts the 2*9*C*K flops per output a
// direct convolution does; the Winograd products themselves execute a quarter of them (36 instead of
// 144 multiply-adds per 4 x 4 tile and channel pair), the rest of the time goes to the transforms.
kernels.scope((s) => {
  const e = kernels.exports;
  for (const [hw, ch] of [[32, 16], [16, 32], [8, 64]] as const) {
    const batch = 100, n = batch * hw * hw * ch;
    const x = s.allocF32(n), y = s.allocF32(n), w = s.allocF32(9 * ch * ch), u = s.allocF32(36 * ch * ch), bias = s.allocF32(ch);
    const xs = kernels.f32(x, n);
    for (let i = 0; i < n; i++) xs[i] = random.normal();
    const ws = kernels.f32(w, 9 * ch * ch);
    for (let i = 0; i < ws.length; i++) ws[i] = random.normal() / (3 * Math.sqrt(ch));
    e.winogradFilterF32(w, ch, ch, u);
    const direct = 2 * batch * hw * hw * ch * ch * 9;
    const rate = kernelRate(direct, () => e.winogradConv3x3F32(x, batch, hw, hw, ch, u, ch, bias, 1, y));
    rows.push({ name: `Winograd F(4x4,3x3) conv ${ch}->${ch} ${hw}x${hw}, batch 100, direct-equivalent (products alone: a quarter)`, precision: 'f32', gflops: rate });
  }
});
console.log('\n| our kernel (1 thread) | precision | GFLOP/s | fraction of the 1-thread mul+add peak |');
console.log('|---|---|---|---|');
for (const r of rows) {
  const peak = peaks[r.precision === 'f64' ? 'peakF64MulAdd' : 'peakF32MulAdd'][1];
  console.log(`| ${r.name} | ${r.precision} | ${r.gflops.toFixed(1)} | ${(100 * r.gflops / peak).toFixed(0)} % |`);
}
