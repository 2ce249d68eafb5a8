/**
 * conv2d.ts's direct convolutions against conv-gemm.ts's batched GEMM formulation, per layer shape of
 * the families' late stages (which one assembly/layer-operators.ts picks): seconds per product of a
 * batch, and the largest difference between the two relative to the largest output.
 *
 *   node --import tsx bench/conv-gemm.ts [batch]
 */
import { loadTestingKernels } from '../test/support/testing-kernels.js';

const kernels = await loadTestingKernels();
const e = kernels.exports;
const batch = Number(process.argv[2] ?? 64);
// [cIn, h, cOut, kernel, stride, pad]
const shapes: [number, number, number, number, number, number][] = [
  [512, 4, 512, 3, 1, 1], [256, 8, 512, 3, 2, 1], [256, 8, 512, 1, 2, 0], [256, 8, 256, 3, 1, 1],
  [128, 16, 256, 3, 2, 1], [128, 16, 128, 3, 1, 1], [64, 32, 64, 3, 1, 1], [64, 32, 128, 3, 2, 1],
];
const out = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;
for (const [cIn, h, cOut, k, s, p] of shapes) {
  const ho = out(h, k, s, p);
  const n = cIn * h * h, m = cOut * ho * ho;
  kernels.scope((sc) => {
    const x = sc.allocF64(batch * n), g = sc.allocF64(batch * m), wt = sc.allocF64(cOut * cIn * k * k);
    const y1 = sc.allocF64(batch * m), y2 = sc.allocF64(batch * m), t1 = sc.allocF64(batch * n), t2 = sc.allocF64(batch * n);
    for (const [ptr, len] of [[x, batch * n], [g, batch * m], [wt, cOut * cIn * k * k]] as const) {
      const v = kernels.f64(ptr, len);
      for (let i = 0; i < len; i++) v[i] = Math.sin(i * 0.7 + len) ;
    }
    const time = (f: () => void) => { f(); const t = performance.now(); f(); return (performance.now() - t) / 1000; };
    const fd = time(() => e.conv2dForwardF64(x, batch, cIn, h, h, wt, cOut, k, s, p, y1));
    const fg = time(() => e.conv2dGemmForwardF64(x, batch, cIn, h, h, wt, cOut, k, s, p, y2));
    const td = time(() => e.conv2dTransposeF64(g, batch, cIn, h, h, wt, cOut, k, s, p, t1));
    const tg = time(() => e.conv2dGemmTransposeF64(g, batch, cIn, h, h, wt, cOut, k, s, p, t2));
    const diff = (a: number, b: number, len: number) => {
      const u = kernels.f64(a, len), v = kernels.f64(b, len);
      let d = 0, mx = 0;
      for (let i = 0; i < len; i++) { d = Math.max(d, Math.abs(u[i] - v[i])); mx = Math.max(mx, Math.abs(u[i])); }
      return d / mx;
    };
    const macs = batch * m * cIn * k * k;
    console.log(`${cIn}x${h}x${h} -> ${cOut}x${ho}x${ho} k${k}s${s}: forward direct ${fd.toFixed(3)} s (${(2 * macs / fd / 1e9).toFixed(1)} GFLOP/s) gemm ${fg.toFixed(3)} s (${(2 * macs / fg / 1e9).toFixed(1)}), diff ${diff(y1, y2, batch * m).toExponential(1)}; ` +
      `transpose direct ${td.toFixed(3)} s (${(2 * macs / td / 1e9).toFixed(1)}) gemm ${tg.toFixed(3)} s (${(2 * macs / tg / 1e9).toFixed(1)}), diff ${diff(t1, t2, batch * n).toExponential(1)}`);
  });
}
