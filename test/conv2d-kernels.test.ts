/**
 * The general convolution and max-pool kernels (assembly/conv2d.ts, assembly/pool.ts) through the
 * TypeScript seam: `kernels.typed(precision)` inside `kernels.scope`, on the testing build (its F32
 * twins and adjoints are not shipped: test/support/testing-kernels.ts), against
 * - a naive JavaScript convolution written from PyTorch's definition, for every (K, S, P) the ResNet
 *   families use, odd and even sizes, channel counts on and off the SIMD widths;
 * - PyTorch float64 values (test/fixtures/conv2d-pytorch.json, scripts/make-conv2d-fixture.py): one
 *   convolution per kernel size with its autograd input gradient, and the torchvision stem's max-pool
 *   with its indices, JVP and VJP;
 * - refusals of windows and indices the kernels cannot serve.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { type Precision } from '../src/wasm/kernels.js';
import { mulberry32 } from './support/random.js';
import { loadTestingKernels } from './support/testing-kernels.js';

const kernels = await loadTestingKernels();

interface Shape {
  batch: number;
  cIn: number;
  cOut: number;
  h: number;
  w: number;
  kernel: number;
  stride: number;
  pad: number;
}

const outSize = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;

/** out[b,o,y,x] = sum w[o,i,dy,dx] x[b,i,S*y+dy-P,S*x+dx-P] and sum |w||x| (the error scale), in f64. */
function naiveConv(q: Shape, x: ArrayLike<number>, weight: ArrayLike<number>) {
  const ho = outSize(q.h, q.kernel, q.stride, q.pad), wo = outSize(q.w, q.kernel, q.stride, q.pad);
  const y = new Float64Array(q.batch * q.cOut * ho * wo), mag = new Float64Array(y.length);
  const K = q.kernel;
  for (let b = 0; b < q.batch; b++)
    for (let o = 0; o < q.cOut; o++)
      for (let oy = 0; oy < ho; oy++)
        for (let ox = 0; ox < wo; ox++) {
          const j = ((b * q.cOut + o) * ho + oy) * wo + ox;
          for (let i = 0; i < q.cIn; i++)
            for (let dy = 0; dy < K; dy++)
              for (let dx = 0; dx < K; dx++) {
                const iy = q.stride * oy + dy - q.pad, ix = q.stride * ox + dx - q.pad;
                if (iy < 0 || iy >= q.h || ix < 0 || ix >= q.w) continue;
                const prod = weight[((o * q.cIn + i) * K + dy) * K + dx] * x[((b * q.cIn + i) * q.h + iy) * q.w + ix];
                y[j] += prod;
                mag[j] += Math.abs(prod);
              }
        }
  return { y, mag, ho, wo };
}

/** The adjoint by scattering: out[b,i,r,c] += w[o,i,dy,dx] g[b,o,y,x], with its error scale. */
function naiveConvTranspose(q: Shape, g: ArrayLike<number>, weight: ArrayLike<number>) {
  const ho = outSize(q.h, q.kernel, q.stride, q.pad), wo = outSize(q.w, q.kernel, q.stride, q.pad);
  const out = new Float64Array(q.batch * q.cIn * q.h * q.w), mag = new Float64Array(out.length);
  const K = q.kernel;
  for (let b = 0; b < q.batch; b++)
    for (let o = 0; o < q.cOut; o++)
      for (let oy = 0; oy < ho; oy++)
        for (let ox = 0; ox < wo; ox++) {
          const gv = g[((b * q.cOut + o) * ho + oy) * wo + ox];
          for (let i = 0; i < q.cIn; i++)
            for (let dy = 0; dy < K; dy++)
              for (let dx = 0; dx < K; dx++) {
                const iy = q.stride * oy + dy - q.pad, ix = q.stride * ox + dx - q.pad;
                if (iy < 0 || iy >= q.h || ix < 0 || ix >= q.w) continue;
                const j = ((b * q.cIn + i) * q.h + iy) * q.w + ix;
                const prod = weight[((o * q.cIn + i) * K + dy) * K + dx] * gv;
                out[j] += prod;
                mag[j] += Math.abs(prod);
              }
        }
  return { out, mag };
}

/** W x and W^T g from the kernels of `precision`. */
function wasmConv(precision: Precision, q: Shape, x: ArrayLike<number>, weight: ArrayLike<number>, g: ArrayLike<number>) {
  return kernels.scope((s) => {
    const k = kernels.typed(precision);
    const ho = kernels.exports.conv2dOutputSize(q.h, q.kernel, q.stride, q.pad);
    const wo = kernels.exports.conv2dOutputSize(q.w, q.kernel, q.stride, q.pad);
    const nOut = q.batch * q.cOut * ho * wo, nIn = q.batch * q.cIn * q.h * q.w;
    const xp = s.copyInAs(x, precision), wp = s.copyInAs(weight, precision), gp = s.copyInAs(g, precision);
    const yp = s.alloc(precision, nOut), tp = s.alloc(precision, nIn);
    k.conv2dForward(xp, q.batch, q.cIn, q.h, q.w, wp, q.cOut, q.kernel, q.stride, q.pad, yp);
    k.conv2dTranspose(gp, q.batch, q.cIn, q.h, q.w, wp, q.cOut, q.kernel, q.stride, q.pad, tp);
    return { y: Float64Array.from(k.view(yp, nOut)), t: Float64Array.from(k.view(tp, nIn)) };
  });
}

/** Values rounded to f32, so that both precisions and the naive loops see one problem. */
function randomF32(random: () => number, count: number): Float64Array {
  return Float64Array.from(Float32Array.from({ length: count }, () => 2 * random() - 1));
}

function worstScaled(got: ArrayLike<number>, want: ArrayLike<number>, scale: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let j = 0; j < want.length; j++) {
    const e = Math.abs(got[j] - want[j]);
    if (scale[j] === 0) assert.equal(got[j], 0, `entry ${j} no tap reaches must be 0`);
    else worst = Math.max(worst, e / scale[j]);
  }
  return worst;
}

const FAMILY_WINDOWS: [number, number, number][] = [
  [1, 1, 0],
  [1, 2, 0],
  [3, 1, 1],
  [3, 2, 1],
  [7, 2, 3],
];
const SIZES: [number, number, number, number, number][] = [
  [1, 3, 5, 7, 6],
  [2, 4, 3, 8, 9],
  [1, 6, 2, 11, 10],
];

test('conv2dForward and conv2dTranspose match the naive convolution for every family window, f64 and f32', () => {
  const random = mulberry32(1107);
  for (const [kernel, stride, pad] of FAMILY_WINDOWS) {
    for (const [batch, cIn, cOut, h, w] of SIZES) {
      const q: Shape = { batch, cIn, cOut, h, w, kernel, stride, pad };
      const ho = outSize(h, kernel, stride, pad), wo = outSize(w, kernel, stride, pad);
      const x = randomF32(random, batch * cIn * h * w), weight = randomF32(random, cOut * cIn * kernel * kernel);
      const g = randomF32(random, batch * cOut * ho * wo);
      const forward = naiveConv(q, x, weight), adjoint = naiveConvTranspose(q, g, weight);
      const label = `K=${kernel} S=${stride} P=${pad} ${batch}x${cIn}->${cOut} ${h}x${w}`;
      const f64 = wasmConv('f64', q, x, weight, g), f32 = wasmConv('f32', q, x, weight, g);
      assert.ok(worstScaled(f64.y, forward.y, forward.mag) < 1e-14, `${label}: forward f64`);
      assert.ok(worstScaled(f64.t, adjoint.out, adjoint.mag) < 1e-14, `${label}: transpose f64`);
      assert.ok(worstScaled(f32.y, forward.y, forward.mag) < 1e-5, `${label}: forward f32`);
      assert.ok(worstScaled(f32.t, adjoint.out, adjoint.mag) < 1e-5, `${label}: transpose f32`);
      // <W x, g> = <x, W^T g> in f64.
      let lhs = 0, rhs = 0, nwx = 0, ng = 0;
      for (let j = 0; j < g.length; j++) (lhs += f64.y[j] * g[j]), (nwx += f64.y[j] ** 2), (ng += g[j] ** 2);
      for (let j = 0; j < x.length; j++) rhs += x[j] * f64.t[j];
      assert.ok(Math.abs(lhs - rhs) / Math.sqrt(nwx * ng) < 1e-13, `${label}: adjoint identity`);
    }
  }
});

interface ConvCase extends Shape {
  outShape: number[];
  x: number[];
  weight: number[];
  y: number[];
  g: number[];
  gradX: number[];
}
interface PoolCase {
  channels: number;
  h: number;
  w: number;
  kernel: number;
  stride: number;
  pad: number;
  outShape: number[];
  x: number[];
  y: number[];
  index: number[];
  v: number[];
  jv: number[];
  g: number[];
  gradX: number[];
}
const fixture = JSON.parse(await readFile(new URL('./fixtures/conv2d-pytorch.json', import.meta.url), 'utf8')) as {
  conv: ConvCase[];
  pool: PoolCase[];
};

/** max |got - want| / max |want|. */
function relative(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let e = 0, m = 0;
  for (let j = 0; j < want.length; j++) (e = Math.max(e, Math.abs(got[j] - want[j]))), (m = Math.max(m, Math.abs(want[j])));
  return e / m;
}

test('conv2d agrees with PyTorch float64 (conv2d and its autograd input gradient) for K = 1, 3, 7', () => {
  assert.deepEqual(fixture.conv.map((c) => c.kernel), [1, 3, 7]);
  for (const c of fixture.conv) {
    const [, , ho, wo] = c.outShape;
    assert.equal(kernels.exports.conv2dOutputSize(c.h, c.kernel, c.stride, c.pad), ho);
    assert.equal(kernels.exports.conv2dOutputSize(c.w, c.kernel, c.stride, c.pad), wo);
    const got = wasmConv('f64', c, c.x, c.weight, c.g);
    assert.ok(relative(got.y, c.y) < 1e-14, `K=${c.kernel}: forward`);
    assert.ok(relative(got.t, c.gradX) < 1e-14, `K=${c.kernel}: input gradient`);
  }
});

test("max-pool agrees with PyTorch: values, first-maximum indices on ties, JVP and VJP", () => {
  for (const c of fixture.pool) {
    const [, , ho, wo] = c.outShape;
    const nIn = c.channels * c.h * c.w, nOut = c.channels * ho * wo;
    kernels.scope((s) => {
      const k = kernels.typed('f64');
      const xp = s.copyInAs(c.x, 'f64'), yp = s.allocF64(nOut), ip = s.allocBytes(nOut * 4);
      k.maxPool2dForward(xp, 1, c.channels, c.h, c.w, c.kernel, c.stride, c.pad, yp, ip);
      assert.deepEqual(Array.from(k.view(yp, nOut)), c.y);
      assert.deepEqual(Array.from(new Int32Array(kernels.memory.buffer, ip, nOut)), c.index);
      const vp = s.copyInAs(c.v, 'f64'), jp = s.allocF64(nOut);
      k.maxPool2dGather(vp, 1, c.channels, c.h, c.w, c.kernel, c.stride, c.pad, ip, jp);
      assert.deepEqual(Array.from(k.view(jp, nOut)), c.jv);
      const gp = s.copyInAs(c.g, 'f64'), tp = s.allocF64(nIn);
      k.maxPool2dScatter(gp, 1, c.channels, c.h, c.w, c.kernel, c.stride, c.pad, ip, tp);
      assert.ok(relative(k.view(tp, nIn), c.gradX) < 1e-15);
    });
  }
});

test('the kernels refuse windows and indices they cannot serve, and the scope releases everything', () => {
  const before = kernels.allocatedBlocks();
  const k = kernels.typed('f64');
  kernels.scope((s) => {
    const a = s.allocF64(64), b = s.allocF64(64), ix = s.allocBytes(64 * 4);
    // A 7x7 window without padding does not fit a 5x5 input.
    assert.throws(() => k.conv2dForward(a, 1, 1, 5, 5, b, 1, 7, 1, 0, a), /window larger than the padded input/);
    assert.throws(() => k.conv2dTranspose(a, 1, 1, 5, 5, b, 1, 3, 0, 1, a), /stride >= 1/);
    assert.throws(() => k.conv2dForward(a, 1, 0, 5, 5, b, 1, 3, 1, 1, a), /at least one channel/);
    assert.throws(() => k.conv2dTranspose(a, -1, 1, 5, 5, b, 1, 3, 1, 1, a), /batch >= 0/);
    assert.throws(() => k.maxPool2dForward(a, 1, 0, 4, 4, 3, 2, 1, b, ix), /at least one channel/);
    // PyTorch's rule: max-pool padding at most half the window.
    assert.throws(() => k.maxPool2dForward(a, 1, 1, 4, 4, 3, 2, 2, b, ix), /at most half the window/);
    new Int32Array(kernels.memory.buffer, ix, 4).set([0, 1, 16, 2]);
    assert.throws(() => k.maxPool2dGather(a, 1, 1, 4, 4, 2, 2, 0, ix, b), /index outside its input plane/);
    new Int32Array(kernels.memory.buffer, ix, 4).set([0, -1, 5, 2]);
    assert.throws(() => k.maxPool2dScatter(a, 1, 1, 4, 4, 2, 2, 0, ix, b), /index outside its input plane/);
  });
  assert.equal(kernels.allocatedBlocks(), before);
});
