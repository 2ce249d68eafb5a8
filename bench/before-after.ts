/**
 * Issue 15: two builds of the kernels side by side in one run, so a kernel change is measured under the
 * same machine load (others share the cores): GEMM 1024^3 and the Gram route's lower-triangle rank-2k
 * update (n = 1024, k = 256) in f64 and f32, one thread, calls of the two builds interleaved; then end to
 * end, svdValues of a random 1024 x 1024 matrix (bidiagonal route) and of a 2048 x 2048 one (Gram route),
 * each in its own child process per run, the two builds alternating.
 *
 *   node --import tsx bench/before-after.ts --before /path/to/old/resnet-stability.wasm [--after build/resnet-stability.wasm] [--runs 7] [--no-svd]
 *
 * Reports the median and the best of the runs. Under load a call of 0.1-0.3 s measures the share of a
 * core the scheduler gave it; so the same kernels also run at sizes of a few ms (GEMM 256^3, rank-2k
 * n = 512, k = 128), best of --trials interleaved calls, beside the peak kernel of bench/peak/peak.ts
 * timed the same way: those are the rates with a core to ourselves, and their ratio the "% of peak".
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadKernels, setDefaultKernelSource } from '../src/wasm/kernels.js';
import { SeededRandom } from '../src/util/random.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchDir, gflopsOf, interleaved, median } from './support.js';

const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};

async function child(wasm: string, which: string): Promise<void> {
  setDefaultKernelSource(new Uint8Array(readFileSync(wasm)));
  const { svdValues } = await import('../src/spectrum/svd.js');
  const n = which === 'gram' ? 2048 : 1024;
  const r = new SeededRandom(n);
  const a = Float64Array.from({ length: n * n }, () => r.normal());
  const t = performance.now();
  await svdValues(a, n, n, { route: which === 'gram' ? 'gram' : 'bidiagonal' });
  console.log(JSON.stringify({ seconds: (performance.now() - t) / 1000 }));
}

const childWasm = argValue('--child');
if (childWasm) {
  await child(childWasm, argValue('--case') ?? 'bidiagonal');
} else {
  const before = argValue('--before');
  if (!before) {
    console.error('before-after: --before <old resnet-stability.wasm> is required');
    process.exit(2);
  }
  const after = argValue('--after') ?? fileURLToPath(new URL('../build/resnet-stability.wasm', import.meta.url));
  const runs = Number(argValue('--runs') ?? 7);
  const trials = Number(argValue('--trials') ?? 60);
  const builds = { before, after } as const;
  console.log(`CPU: ${cpus()[0].model} (${cpus().length} logical); node ${process.version}; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`before: ${before}\nafter: ${after}`);

  const kernels = {
    before: await loadKernels(new Uint8Array(readFileSync(before))),
    after: await loadKernels(new Uint8Array(readFileSync(after))),
  };
  console.log('\n| kernel (1 thread) | precision | before GFLOP/s, median (best) | after GFLOP/s, median (best) | after / before (medians) |');
  console.log('|---|---|---|---|---|');
  for (const precision of ['f64', 'f32'] as const) {
    const n = 1024, k2 = 256;
    // Each build gets its own copies of the same operands (its own memory); the calls alternate.
    const cases = (['before', 'after'] as const).map((build) => {
      const kk = kernels[build];
      const k = kk.typed(precision);
      const alloc = (count: number, seed: number) => {
        const p = precision === 'f64' ? kk.allocF64(count) : kk.allocF32(count);
        const view = k.view(p, count);
        const r = new SeededRandom(seed);
        for (let i = 0; i < count; i++) view[i] = r.normal();
        return p;
      };
      const a = alloc(n * n, 1), b = alloc(n * n, 2), c = alloc(n * n, 3), vw = alloc(n * k2, 4), wv = alloc(n * k2, 5);
      return {
        build,
        gemm: () => k.gemm(0, 0, n, n, n, 1, a, n, b, n, 0, c, n),
        lower: () => k.gemmLower(0, 1, n, k2, 1, vw, k2, wv, k2, 1, c, n),
        free: () => { for (const p of [a, b, c, vw, wv]) kk.release(p); },
      };
    });
    for (const cs of cases) { cs.gemm(); cs.lower(); }
    const [beforeGemm, beforeLower, afterGemm, afterLower] = interleaved(runs, cases.flatMap((cs) => [gflopsOf(2 * n ** 3, cs.gemm), gflopsOf(n * (n + 1) * k2, cs.lower)]));
    const rates = { gemm: { before: beforeGemm, after: afterGemm }, lower: { before: beforeLower, after: afterLower } };
    for (const cs of cases) cs.free();
    for (const [name, label] of [['gemm', `GEMM ${n}^3`], ['lower', `lower-triangle GEMM n = ${n}, k = ${k2} (rank-2k update)`]] as const) {
      const b = rates[name].before, a = rates[name].after;
      console.log(`| ${label} | ${precision} | ${median(b).toFixed(1)} (${Math.max(...b).toFixed(1)}) | ${median(a).toFixed(1)} (${Math.max(...a).toFixed(1)}) | ${(median(a) / median(b)).toFixed(2)}x |`);
    }
  }

  // Short calls, best of `trials`, interleaved, beside the peak kernel timed in slices of the same length.
  const asc = join(benchDir, '..', 'node_modules', '.bin', 'asc');
  const peakDir = mkdtempSync(join(tmpdir(), 'peak-'));
  execFileSync(asc, [join(benchDir, 'peak', 'peak.ts'), '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd', '-o', join(peakDir, 'p.wasm')]);
  const peakExports = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(join(peakDir, 'p.wasm'))),
    { env: { abort() { throw new Error('abort'); }, seed: () => 0, trace() {} } }).exports as Record<string, (...a: number[]) => number>;
  peakExports.fillTable(0.5);
  const bestOf = (calls: (() => number)[]) => interleaved(trials, calls).map((rates) => Math.max(...rates));
  console.log('\n| short calls, best of ' + trials + ' (1 thread) | precision | peak mul+add GFLOP/s | before GFLOP/s (% of peak) | after GFLOP/s (% of peak) |');
  console.log('|---|---|---|---|---|');
  for (const precision of ['f64', 'f32'] as const) {
    const g = 256, n = 512, k2 = 128;
    const cases = (['before', 'after'] as const).map((build) => {
      const kk = kernels[build];
      const k = kk.typed(precision);
      const alloc = (count: number, seed: number) => {
        const p = precision === 'f64' ? kk.allocF64(count) : kk.allocF32(count);
        const view = k.view(p, count);
        const r = new SeededRandom(seed);
        for (let i = 0; i < count; i++) view[i] = r.normal();
        return p;
      };
      const a = alloc(g * g, 1), b = alloc(g * g, 2), c = alloc(n * n, 3), vw = alloc(n * k2, 4), wv = alloc(n * k2, 5);
      return {
        gemm: gflopsOf(2 * g ** 3, () => k.gemm(0, 0, g, g, g, 1, a, g, b, g, 0, c, g)),
        lower: gflopsOf(n * (n + 1) * k2, () => k.gemmLower(0, 1, n, k2, 1, vw, k2, wv, k2, 1, c, n)),
        free: () => { for (const p of [a, b, c, vw, wv]) kk.release(p); },
      };
    });
    const [flopsPerRound, kernel] = precision === 'f64' ? [48, 'peakF64MulAdd'] : [96, 'peakF32MulAdd'];
    const rounds = Math.round(2 * g ** 3 / flopsPerRound); // the flops (so about the time) of one GEMM call
    const peakCall = gflopsOf(rounds * flopsPerRound, () => peakExports[kernel](rounds, 1.5));
    const [pg, bg, ag, bl, al] = bestOf([peakCall, cases[0].gemm, cases[1].gemm, cases[0].lower, cases[1].lower]);
    for (const cs of cases) cs.free();
    const pct = (x: number) => `${x.toFixed(1)} (${(100 * x / pg).toFixed(0)} %)`;
    console.log(`| GEMM ${g}^3 | ${precision} | ${pg.toFixed(1)} | ${pct(bg)} | ${pct(ag)} |`);
    console.log(`| lower-triangle GEMM n = ${n}, k = ${k2} (rank-2k update) | ${precision} | ${pg.toFixed(1)} | ${pct(bl)} | ${pct(al)} |`);
  }

  if (!process.argv.includes('--no-svd')) {
    console.log('\n| end to end (1 thread, own process) | before s, median (best) | after s, median (best) | before / after (medians) |');
    console.log('|---|---|---|---|');
    const self = fileURLToPath(import.meta.url);
    for (const [which, label] of [['bidiagonal', 'svdValues 1024 x 1024, bidiagonal route'], ['gram', 'svdValues 2048 x 2048, Gram route']] as const) {
      const seconds = { before: [] as number[], after: [] as number[] };
      for (let i = 0; i < runs; i++) {
        for (const build of ['before', 'after'] as const) {
          const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', builds[build], '--case', which], { encoding: 'utf8' });
          seconds[build].push((JSON.parse(out.trim().split('\n').pop()!) as { seconds: number }).seconds);
        }
      }
      const b = seconds.before, a = seconds.after;
      console.log(`| ${label} | ${median(b).toFixed(2)} (${Math.min(...b).toFixed(2)}) | ${median(a).toFixed(2)} (${Math.min(...a).toFixed(2)}) | ${(median(b) / median(a)).toFixed(2)}x |`);
    }
  }
  console.log(`\nload average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
