/**
 * Issue 15: the 3x3 convolution products of assembly/conv.ts (conv3x3Forward = the JVP of a
 * convolution, conv3x3Transpose = its VJP) from two versions of the source side by side in one run, so
 * a kernel change is measured under the same machine load: a ResNet-56 stage-1 convolution, 16 -> 16
 * channels, 32 x 32, stride 1, a block of 64 vectors, f64 and f32, one thread, the calls of the two
 * builds and of the peak kernel (bench/peak/peak.ts, same flops per call) interleaved; then the same for one
 * full panel alone (16 f64 / 32 f32 vectors), whose shorter calls a loaded machine interrupts less often,
 * and for a 2-register panel (4 f64 / 8 f32 vectors: the ragged tail of a block).
 *
 *   node --import tsx bench/conv-before-after.ts --before <git revision> [--trials 40]
 *
 * Each version's assembly/conv.ts and assembly/lib/simd.ts (the "before" ones from `git show`, the
 * "after" ones from the work tree) are compiled by asc into a small module exporting the four
 * conv3x3 entries. Reports, per product, the best and the median of the trials in GFLOP/s and as a
 * percentage of the peak kernel's best, and whether the two builds' outputs agree bitwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../src/util/random.js';
import { benchDir, gflopsOf, interleaved, median } from './support.js';

const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const beforeRev = argValue('--before');
if (!beforeRev) {
  console.error('conv-before-after: --before <git revision> is required');
  process.exit(2);
}
const trials = Number(argValue('--trials') ?? 40);
if (!Number.isInteger(trials) || trials < 1) {
  console.error('conv-before-after: --trials must be a positive integer');
  process.exit(2);
}

const root = join(benchDir, '..');
const asc = join(root, 'node_modules', '.bin', 'asc');
const work = mkdtempSync(join(tmpdir(), 'conv-ba-'));
const imports = { env: { abort() { throw new Error('abort'); }, seed: () => 0, trace() {} } };
type Exports = Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory };

function build(name: string, source: (path: string) => string): Exports {
  const dir = join(work, name);
  mkdirSync(join(dir, 'lib'), { recursive: true });
  for (const path of ['conv.ts', 'lib/simd.ts']) writeFileSync(join(dir, path), source(`assembly/${path}`));
  writeFileSync(join(dir, 'entry.ts'), 'export { conv3x3ForwardF64, conv3x3ForwardF32, conv3x3TransposeF64, conv3x3TransposeF32 } from "./conv";\n'
    + 'export function alloc(bytes: usize): usize { return heap.alloc(bytes); }\n');
  execFileSync(asc, [join(dir, 'entry.ts'), '-O3', '--noAssert', '--runtime', 'minimal', '--enable', 'simd', '-o', join(dir, 'm.wasm')]);
  return new WebAssembly.Instance(new WebAssembly.Module(readFileSync(join(dir, 'm.wasm'))), imports).exports as Exports;
}

const modules = {
  before: build('before', (path) => execFileSync('git', ['show', `${beforeRev}:${path}`], { cwd: root, encoding: 'utf8' })),
  after: build('after', (path) => readFileSync(join(root, path), 'utf8')),
};
execFileSync(asc, [join(benchDir, 'peak', 'peak.ts'), '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd', '-o', join(work, 'peak.wasm')]);
const peak = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(join(work, 'peak.wasm'))), imports).exports as Exports;
peak.fillTable(0.5);

console.log(`CPU: ${cpus()[0].model} (${cpus().length} logical); node ${process.version}; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`before: ${beforeRev} (${execFileSync('git', ['rev-parse', '--short', beforeRev], { cwd: root, encoding: 'utf8' }).trim()}); after: work tree; best and median of ${trials} interleaved calls`);
const ch = 16, hw = 32, n = ch * hw * hw;
const rows: string[] = [];
/** max |a - b| / max |a| (the new kernels may round differently where they change the order of a sum). */
const maxAbsDifference = (a: number[], b: number[]) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0) / a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
for (const precision of ['f64', 'f32'] as const) {
  const size = precision === 'f64' ? 8 : 4;
  const suffix = precision === 'f64' ? 'F64' : 'F32';
  const [flopsPerRound, peakKernel] = precision === 'f64' ? [48, 'peakF64MulAdd'] : [96, 'peakF32MulAdd'];
  // The block of 64 vectors, and one full panel alone (16 f64 / 32 f32 vectors: the same work per vector
  // in calls a quarter / half as long, which a loaded machine interrupts less often).
  const results: { label: string; best: number[]; medians: number[]; equal: boolean; difference: number }[] = [];
  let peakBest = 0;
  for (const batch of [64, 128 / size, 32 / size]) {
    const flops = 2 * batch * n * ch * 9;
    const rounds = Math.round(flops / flopsPerRound);
    for (const product of ['Forward', 'Transpose'] as const) {
      const cases = (['before', 'after'] as const).map((name) => {
        const m = modules[name];
        const x = m.alloc(batch * n * size), y = m.alloc(batch * n * size), w = m.alloc(ch * ch * 9 * size);
        const view = (p: number, count: number) => (precision === 'f64' ? new Float64Array(m.memory.buffer, p, count) : new Float32Array(m.memory.buffer, p, count));
        const r = new SeededRandom(15);
        const xs = view(x, batch * n);
        for (let i = 0; i < xs.length; i++) xs[i] = r.normal();
        const ws = view(w, ch * ch * 9);
        for (let i = 0; i < ws.length; i++) ws[i] = r.normal();
        const call = () => m[`conv3x3${product}${suffix}`](x, batch, ch, hw, hw, w, ch, 1, y);
        return { call, output: () => view(y, batch * n).slice() };
      });
      const calls = [gflopsOf(flops, () => peak[peakKernel](rounds, 1.5)), gflopsOf(flops, cases[0].call), gflopsOf(flops, cases[1].call)];
      const rates = interleaved(trials, calls);
      const [before, after] = cases.map((c) => c.output());
      peakBest = Math.max(peakBest, ...rates[0]);
      results.push({
        label: `${product === 'Forward' ? 'forward (JVP)' : 'transpose (VJP)'}, ${batch} vectors`,
        best: rates.map((r) => Math.max(...r)), medians: rates.map((r) => median(r)),
        equal: before.every((v, i) => Object.is(v, after[i])),
        difference: maxAbsDifference(Array.from(before), Array.from(after)),
      });
    }
  }
  // "% of peak" against the best the peak kernel reached in any of this precision's trials.
  const cell = (r: (typeof results)[number], j: number) => `${r.best[j].toFixed(1)} (${(100 * r.best[j] / peakBest).toFixed(0)} %); ${r.medians[j].toFixed(1)}`;
  for (const r of results) {
    rows.push(`| ${r.label} | ${precision} | ${peakBest.toFixed(1)} | ${cell(r, 1)} | ${cell(r, 2)} | ${(r.medians[2] / r.medians[1]).toFixed(2)}x | ${r.equal ? 'yes' : `no: max difference ${r.difference.toExponential(1)} of max abs`} |`);
  }
}
console.log('\n| conv 3x3 16->16, 32 x 32, stride 1 (1 thread) | precision | peak mul+add GFLOP/s (best) | before GFLOP/s: best (% of peak); median | after GFLOP/s: best (% of peak); median | after / before (medians) | outputs bitwise equal (before vs after) |');
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
console.log(`\nload average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
