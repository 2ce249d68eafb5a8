/**
 * The Winograd F(4x4, 3x3) convolution (assembly/winograd.ts) and its use on the tfjs wasm backend
 * (src/model/backend.ts registers it as FusedConv2D / Conv2D for 3x3 stride-1 shapes), against
 * PyTorch float64 (test/fixtures/winograd-pytorch.json, scripts/make-winograd-fixture.py):
 * - the kernel through the TypeScript seam, shapes on and off the 4 x 4 tiles;
 * - tf.fused.conv2d / tf.conv2d on the backend, including the shapes that keep tfjs' own kernel
 *   (3 input channels, stride 2);
 * - the input gradient of stride-1 and stride-2 convolutions as graph-forward.ts computes it
 *   (stridedAdjoint: stride 2 spread onto the stride-1 grid, then the Winograd adjoint).
 * Winograd's f32 error is larger than a direct sum's (the transforms scale values by up to 8 and
 * 1/24): the stated bound is 2e-5 of the largest |output| (measured 1e-6 to 5e-6), the direct
 * sum's about 1e-6.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { initBackend } from '../src/model/backend.js';
import { stridedAdjoint } from '../src/model/graph-forward.js';
import { loadKernels } from '../src/wasm/kernels.js';

interface Case {
  batch: number; h: number; w: number; c: number; k: number; stride: number; relu: boolean;
  outShape: [number, number, number, number];
  x: number[]; filter: number[]; bias: number[]; y: number[]; g: number[]; gradX: number[];
}
const fixture = JSON.parse(await readFile(new URL('./fixtures/winograd-pytorch.json', import.meta.url), 'utf8')) as { cases: Case[] };
const kernels = await loadKernels();
const BOUND = 2e-5;

function assertClose(got: ArrayLike<number>, want: number[], what: string): number {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
  }
  assert.ok(scale > 0, `${what}: a non-zero reference`);
  assert.ok(diff <= BOUND * scale, `${what}: max |error| ${diff} > ${BOUND} * max |reference| ${scale}`);
  return diff / scale;
}

const label = (q: Case) => `${q.batch}x${q.h}x${q.w}x${q.c} -> ${q.k}, stride ${q.stride}${q.relu ? ', relu' : ''}`;

test('winogradConv3x3F32 through the seam: PyTorch float64 within 2e-5 of max |y|, ragged tiles included', () => {
  const served = fixture.cases.filter((q) => q.stride === 1 && q.c % 4 === 0 && q.k % 8 === 0);
  assert.ok(served.length >= 4);
  for (const q of served) {
    kernels.scope((s) => {
      const e = kernels.exports;
      const filter = s.copyIn(Float32Array.from(q.filter));
      const u = s.allocF32(36 * q.c * q.k);
      e.winogradFilterF32(filter, q.c, q.k, u);
      const x = s.copyIn(Float32Array.from(q.x));
      const bias = s.copyIn(Float32Array.from(q.bias));
      const n = q.outShape.reduce((a, b) => a * b, 1);
      const y = s.allocF32(n);
      e.winogradConv3x3F32(x, q.batch, q.h, q.w, q.c, u, q.k, bias, q.relu ? 1 : 0, y);
      assertClose(kernels.f32(y, n), q.y, label(q));
    });
  }
});

test('winogradConv3x3F32 refuses channel counts off its tiles', () => {
  kernels.scope((s) => {
    const p = s.allocF32(36 * 8 * 8 * 4);
    assert.throws(() => kernels.exports.winogradConv3x3F32(p, 1, 4, 4, 6, p, 8, 0, 0, p), /C a multiple of 4, K a multiple of 8/);
    assert.throws(() => kernels.exports.winogradConv3x3F32(p, 1, 4, 4, 8, p, 12, 0, 0, p), /C a multiple of 4, K a multiple of 8/);
  });
});

test('tfjs wasm backend: fused and plain conv2d (Winograd where served, tfjs elsewhere) match PyTorch', async () => {
  const tf = await initBackend();
  for (const q of fixture.cases) {
    const out = tf.tidy(() => {
      const x = tf.tensor4d(q.x, [q.batch, q.h, q.w, q.c]);
      const filter = tf.tensor4d(q.filter, [3, 3, q.c, q.k]);
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
      const fused = tf.fused.conv2d({ x, filter, strides: q.stride, pad, bias: tf.tensor1d(q.bias), activation: q.relu ? 'relu' : 'linear' });
      const plain = tf.conv2d(x, filter, q.stride, pad);
      return [fused, plain];
    });
    assertClose(await out[0]!.data(), q.y, `fused ${label(q)}`);
    const pre = await out[1]!.data();
    // y = max(conv + bias, 0) when relu: compare where the reference is positive (there it is conv + bias).
    const k = q.k;
    const withBias = Array.from(pre, (v, i) => v + q.bias[i % k]!);
    const wanted = q.relu ? withBias.map((v, i) => (q.y[i]! > 0 ? q.y[i]! : v)) : q.y;
    assertClose(withBias, wanted, `plain ${label(q)}`);
    if (q.stride === 1) assertClose(await tf.conv2d(tf.tensor4d(q.x, [q.batch, q.h, q.w, q.c]), tf.tensor4d(q.filter, [3, 3, q.c, q.k]), 1, 'same').data().then((d) => Array.from(d, (v, i) => v + q.bias[i % k]!)), wanted, `'same' ${label(q)}`);
    out.forEach((t) => t.dispose());
  }
});

test('input gradients of stride-1 and stride-2 convolutions (stridedAdjoint) match PyTorch autograd', async () => {
  const tf = await initBackend();
  for (const q of fixture.cases) {
    const rotated = new Float32Array(9 * q.c * q.k); // [3, 3, K, C], taps reversed
    for (let t = 0; t < 9; t++) {
      for (let i = 0; i < q.c; i++) for (let o = 0; o < q.k; o++) rotated[((8 - t) * q.k + o) * q.c + i] = q.filter[(t * q.c + i) * q.k + o]!;
    }
    const grad = tf.tidy(() =>
      stridedAdjoint(tf, tf.tensor4d(q.g, q.outShape), tf.tensor4d(rotated, [3, 3, q.k, q.c]), q.stride, 3, 1, [q.batch, q.h, q.w, q.c]),
    );
    assert.deepEqual(grad.shape, [q.batch, q.h, q.w, q.c]);
    assertClose(await grad.data(), q.gradX, `gradient ${label(q)}`);
    grad.dispose();
  }
});
