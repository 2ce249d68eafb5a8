/**
 * Issue 15: where the GEMM micro-kernel loses against the SIMD peak. Times register-blocked micro-kernel
 * variants on packed panels only (no packing, no edges), beside the peak kernel of bench/peak/peak.ts and
 * the package's own GEMM, all in one run and one thread:
 *
 *   node --experimental-wasm-relaxed-simd --import tsx bench/gemm-micro.ts [--slice 0.005] [--trials 40] [--runs 5] [--only f64] [--variants REGEX]
 *
 * Every figure is the best of many short timings (see bestRate): on a shared machine that is the rate
 * with a core to ourselves; the package GEMM 1024^3 is the best of --runs calls.
 *
 * Each variant is AssemblyScript generated here from its shape and compiled by asc into a temporary folder
 * (twice: plain SIMD, and with relaxed-simd for the relaxed_madd variants); nothing of it ships. A variant:
 * - MR x NR: the register tile of C (NR a multiple of the lanes; MR * NR / lanes v128 accumulators);
 * - "bcast": A's values are broadcast from the packed sliver (load64_splat / load32_splat, as blas.ts);
 *   "dup": A is packed pre-broadcast (each value repeated over the lanes), so the loop issues plain
 *   v128 loads only, like the peak kernel;
 * - unroll: the k loop unrolled 1, 2 or 4 times;
 * - madd: separate mul + add (every engine) or relaxed_madd (an FMA where the engine lowers it so).
 * Two settings: "L1" reruns one A sliver against one B sliver (kc = 256: both in L1) into one C tile,
 * "GEMM" walks an A block of about 48 rows x 512 (L2) against 16 B slivers into the tiles of a C of
 * leading dimension 1024, the loop order and sizes of blas.ts's GEMM.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKernels } from '../src/wasm/kernels.js';
import { SeededRandom } from '../src/util/random.js';
import { benchDir } from './support.js';

const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const slice = Number(argValue('--slice') ?? 0.005);
const trials = Number(argValue('--trials') ?? 40);
const runs = Number(argValue('--runs') ?? 5);
const only = argValue('--only');
const variantFilter = argValue('--variants'); // a regular expression on the variant names

type Precision = 'f64' | 'f32';
interface Variant { t: Precision; mr: number; nr: number; unroll: number; dup: boolean; fma: boolean }

const lanes = (t: Precision) => (t === 'f64' ? 2 : 4);
const size = (t: Precision) => (t === 'f64' ? 8 : 4);
const nameOf = (v: Variant) => `${v.t}_${v.mr}x${v.nr}_${v.dup ? 'dup' : 'bcast'}_u${v.unroll}_${v.fma ? 'madd' : 'muladd'}`;

/** AssemblyScript of one variant: run(kc, ap, bp, c, nA, nB, reps) does reps x nB x nA micro-kernel calls. */
function variantSource(v: Variant): string {
  const L = lanes(v.t), S = size(v.t), nv = v.nr / L, vt = `${v.t}x${L}`;
  const aStep = v.mr * (v.dup ? L : 1) * S; // bytes of packed A per k
  const bStep = v.nr * S;
  const acc = (r: number, j: number) => `c${r}_${j}`;
  const lines: string[] = [];
  lines.push(`export function ${nameOf(v)}(kc: i32, ap0: usize, bp0: usize, c0: usize, ldc: i32, nA: i32, nB: i32, reps: i32): void {`);
  if (v.fma) lines.push('  if (!ASC_FEATURE_RELAXED_SIMD) return;');
  lines.push('  for (let rep = 0; rep < reps; rep++) {');
  lines.push('  for (let jb = 0; jb < nB; jb++) {');
  lines.push(`    const bp1 = bp0 + <usize>(jb * kc) * ${bStep};`);
  lines.push('    for (let ia = 0; ia < nA; ia++) {');
  lines.push(`      let ap = ap0 + <usize>(ia * kc) * ${aStep};`);
  lines.push(`      const c = c0 + (<usize>(ia * ${v.mr}) * <usize>ldc + <usize>(jb * ${v.nr})) * ${S};`);
  lines.push('      let bp = bp1;');
  for (let r = 0; r < v.mr; r++) lines.push(`      let ${Array.from({ length: nv }, (_, j) => `${acc(r, j)} = ${vt}.splat(0)`).join(', ')};`);
  lines.push(`      for (let p = 0; p < kc; p += ${v.unroll}) {`);
  for (let u = 0; u < v.unroll; u++) {
    for (let j = 0; j < nv; j++) lines.push(`        const b${u}_${j} = v128.load(bp, ${u * bStep + 16 * j});`);
    for (let r = 0; r < v.mr; r++) {
      const off = u * aStep + r * (v.dup ? 16 : S);
      const load = v.dup ? `v128.load(ap, ${off})` : `v128.load${S * 8}_splat(ap, ${off})`;
      lines.push(`        const a${u}_${r} = ${load};`);
      for (let j = 0; j < nv; j++) {
        const c = acc(r, j);
        lines.push(v.fma
          ? `        ${c} = ${vt}.relaxed_madd(a${u}_${r}, b${u}_${j}, ${c});`
          : `        ${c} = ${vt}.add(${c}, ${vt}.mul(a${u}_${r}, b${u}_${j}));`);
      }
    }
  }
  lines.push(`        ap += ${aStep * v.unroll}; bp += ${bStep * v.unroll};`);
  lines.push('      }');
  // Merge into C (beta = 1): the tile of this A and B sliver in a matrix of leading dimension ldc.
  for (let r = 0; r < v.mr; r++) {
    lines.push(`      const c${r} = c + <usize>(${r} * ldc) * ${S};`);
    for (let j = 0; j < nv; j++) {
      lines.push(`      v128.store(c${r}, ${vt}.add(v128.load(c${r}, ${16 * j}), ${acc(r, j)}), ${16 * j});`);
    }
  }
  lines.push('    }', '  }', '  }', '}');
  return lines.join('\n');
}

const variants: Variant[] = [];
const add = (t: Precision, mr: number, nr: number, unroll: number, dup: boolean, fma: boolean) =>
  variants.push({ t, mr, nr, unroll, dup, fma });
for (const fma of [false, true]) {
  // f64: today's 6x4, then fewer accumulators (4x4, 5x4, 8x2), a wider B (4x6, 3x8), pre-broadcast A, unrolling.
  for (const [mr, nr] of [[6, 4], [5, 4], [4, 4], [8, 2], [4, 6], [3, 8], [2, 8]]) {
    for (const unroll of [1, 2, 4]) add('f64', mr, nr, unroll, false, fma);
    add('f64', mr, nr, 1, true, fma);
  }
  for (const [mr, nr] of [[6, 8], [5, 8], [4, 8], [8, 4], [4, 12], [3, 16], [2, 16]]) {
    for (const unroll of [1, 2, 4]) add('f32', mr, nr, unroll, false, fma);
    add('f32', mr, nr, 1, true, fma);
  }
}
const selected = variants.filter((v) => (!only || v.t === only) && (!variantFilter || new RegExp(variantFilter).test(nameOf(v))));

function compile(relaxed: boolean): WebAssembly.Instance {
  const dir = mkdtempSync(join(tmpdir(), 'gemm-micro-'));
  const source = [
    'export function buffer(bytes: i32): usize {',
    '  const base = <usize>memory.size() << 16;',
    '  memory.grow((bytes + 0xffff) >>> 16);',
    '  return base;',
    '}',
    ...selected.filter((v) => relaxed || !v.fma).map(variantSource),
  ].join('\n\n');
  writeFileSync(join(dir, 'micro.ts'), source);
  const asc = join(benchDir, '..', 'node_modules', '.bin', 'asc');
  const args = [join(dir, 'micro.ts'), '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd', '-o', join(dir, 'micro.wasm')];
  if (relaxed) args.push('--enable', 'relaxed-simd');
  execFileSync(asc, args);
  const bytes = new Uint8Array(readFileSync(join(dir, 'micro.wasm')));
  if (!WebAssembly.validate(bytes)) throw new Error('relaxed SIMD is not available in this engine');
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { abort() { throw new Error('abort'); }, seed: () => 0, trace() {} } });
}

function peaks(): { f64: number; f32: number } {
  const asc = join(benchDir, '..', 'node_modules', '.bin', 'asc');
  const dir = mkdtempSync(join(tmpdir(), 'peak-'));
  execFileSync(asc, [join(benchDir, 'peak', 'peak.ts'), '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd', '-o', join(dir, 'p.wasm')]);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(join(dir, 'p.wasm'))), { env: { abort() {}, seed: () => 0, trace() {} } });
  const e = inst.exports as Record<string, (...a: number[]) => number>;
  e.fillTable(0.5);
  const rate = (kernel: string, flops: number) => bestRate(flops, (rounds) => e[kernel](rounds, 1.5));
  return { f64: rate('peakF64MulAdd', 48), f32: rate('peakF32MulAdd', 96) };
}

let relaxedInstance: WebAssembly.Instance | null = null;
const plainInstance = compile(false);
try { relaxedInstance = compile(true); } catch { relaxedInstance = null; }

console.log(`CPU: ${cpus()[0].model} (${cpus().length} logical); node ${process.version}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ` +
  `relaxed SIMD ${relaxedInstance ? 'available' : 'not available'}`);

/**
 * GFLOP/s of `run(reps)` (which does flopsPerRep * reps flops): the best of `trials` short timings of
 * about `slice` seconds each. Other processes share the two cores, so a long timing measures the share
 * the scheduler gave us; the best short one measures the kernel when it had a core to itself.
 */
function bestRate(flopsPerRep: number, run: (reps: number) => void): number {
  let reps = 1;
  for (;;) {
    const t = performance.now(); run(reps); const dt = (performance.now() - t) / 1000;
    if (dt > slice / 4) { reps = Math.max(1, Math.round(reps * slice / dt)); break; }
    reps *= 2;
  }
  let best = 0;
  for (let i = 0; i < trials; i++) {
    const t = performance.now();
    run(reps);
    best = Math.max(best, (flopsPerRep * reps) / ((performance.now() - t) / 1000) / 1e9);
  }
  return best;
}

/** GFLOP/s of one variant in one setting. */
function rate(inst: WebAssembly.Instance, v: Variant, setting: 'L1' | 'GEMM'): number {
  const e = inst.exports as Record<string, (...a: number[]) => number>;
  const S = size(v.t);
  const kc = setting === 'L1' ? 256 : 512;
  const nA = setting === 'L1' ? 1 : Math.max(1, Math.round(48 / v.mr));
  const nB = setting === 'L1' ? 1 : Math.round(64 / v.nr);
  const aBytes = nA * kc * v.mr * (v.dup ? lanes(v.t) : 1) * S, bBytes = nB * kc * v.nr * S;
  // C: one tile (L1), or the rows of the A block in a 1024-column matrix (GEMM), as blas.ts writes it.
  const ldc = setting === 'L1' ? v.nr : 1024;
  const cBytes = nA * v.mr * ldc * S;
  const ap = e.buffer(aBytes + bBytes + cBytes);
  const bp = ap + aBytes, c = bp + bBytes;
  const mem = (e.memory as unknown as WebAssembly.Memory).buffer;
  const view = v.t === 'f64' ? new Float64Array(mem, ap, (aBytes + bBytes + cBytes) / 8) : new Float32Array(mem, ap, (aBytes + bBytes + cBytes) / 4);
  for (let i = 0; i < view.length; i++) view[i] = 1 + (i % 7) * 1e-3;
  const fn = e[nameOf(v)];
  return bestRate(2 * v.mr * v.nr * kc * nA * nB, (reps) => fn(kc, ap, bp, c, ldc, nA, nB, reps));
}

const peak = peaks();
console.log(`peak mul+add, 1 thread: f64x2 ${peak.f64.toFixed(1)} GFLOP/s, f32x4 ${peak.f32.toFixed(1)} GFLOP/s`);

// The package's own GEMM, same run: 1024^3 (best of --runs calls), and m x n x k = 1024 x 128 x 512 (one
// packed B panel, 21 A blocks: a few ms, timed like the variants), as stored and with op(B) = B^T as the
// rank-2k update calls it. The gap to the GEMM-loop figure of the same tile is packing, edges and C.
const kernels = await loadKernels();
const random = new SeededRandom(15);
for (const precision of ['f64', 'f32'] as const) {
  if (only && only !== precision) continue;
  const k = kernels.typed(precision);
  kernels.scope((s) => {
    const n = 1024;
    const fill = (count: number) => {
      const a = precision === 'f64' ? s.allocF64(count) : s.allocF32(count);
      const view = k.view(a, count);
      for (let i = 0; i < count; i++) view[i] = random.normal();
      return a;
    };
    const a = fill(n * n), b = fill(n * n), c = fill(n * n);
    k.gemm(0, 0, n, n, n, 1, a, n, b, n, 0, c, n);
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      k.gemm(0, 0, n, n, n, 1, a, n, b, n, 0, c, n);
      rates.push(2 * n ** 3 / ((performance.now() - t) / 1000) / 1e9);
    }
    const p = peak[precision];
    const report = (label: string, g: number) => console.log(`package gemm ${precision} ${label}: ${g.toFixed(1)} GFLOP/s (${(100 * g / p).toFixed(0)} % of peak)`);
    report('1024^3', Math.max(...rates));
    const [pm, pn, pk] = [1024, 128, 512];
    for (const transB of [0, 1]) {
      report(`${pm} x ${pn} x ${pk}, transB = ${transB}`, bestRate(2 * pm * pn * pk, (reps) => {
        for (let r = 0; r < reps; r++) k.gemm(0, transB, pm, pn, pk, 1, a, n, b, n, 0, c, n);
      }));
    }
  });
}

console.log('\n| variant | L1 GFLOP/s | % of peak | GEMM-loop GFLOP/s | % of peak |');
console.log('|---|---|---|---|---|');
for (const v of selected) {
  const inst = v.fma ? relaxedInstance : plainInstance;
  if (!inst) continue;
  const p = peak[v.t];
  const l1 = rate(inst, v, 'L1'), gm = rate(inst, v, 'GEMM');
  console.log(`| ${nameOf(v)} | ${l1.toFixed(1)} | ${(100 * l1 / p).toFixed(0)} % | ${gm.toFixed(1)} | ${(100 * gm / p).toFixed(0)} % |`);
}
