/**
 * Linearization (src/linearize) against independent references only:
 * - PyTorch float64 logits and singular values (../shared/reference),
 * - the plain-loop float64 forward pass of test/support/naive-resnet.ts,
 * - the forward kernel unitForwardF64 (finite differences: J is exact while no mask flips),
 * - tfjs' own autograd (tf.grad of the logits with respect to the pixels),
 * - identities: <J v, u> = <v, J^T u>, ||J||_F^2 = sum s_i^2, ||J J^T||_F^2 = sum s_i^4.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCifar } from '../src/data/cifar.js';
import { initBackend } from '../src/model/backend.js';
import { forwardTrajectories, logitsFromPixels } from '../src/model/forward.js';
import { loadModel } from '../src/model/load.js';
import type { ResNetModel } from '../src/model/model.js';
import {
  float64Trajectories, float64Trajectory, linearizeNetwork, linearizePaper, linearizeStage, linearizeUnit, resolveUnit, unitLabel,
  type JacobianOperator, type Trajectory64,
} from '../src/linearize/index.js';
import { svdValues } from '../src/spectrum/svd.js';
import { InputError } from '../src/util/errors.js';
import { loadKernels } from '../src/wasm/kernels.js';
import { naiveForward, naiveNormalize } from './support/naive-resnet.js';
import { cifarTestFile, readReferenceF64, readReferenceJson } from './support/shared.js';
import { mulberry32 } from './support/random.js';

interface ReferenceLogits {
  images: number[];
  logits: number[][];
}

const kernels = await loadKernels();
const data = await loadCifar(cifarTestFile);
const resnet56 = await loadModel('resnet56');
const resnet110 = await loadModel('resnet110');

/** Image i as PyTorch's reference saw it: byte / 255 in float64. */
function pixels64(indices: number[]): Float64Array {
  const out = new Float64Array(indices.length * 3072);
  indices.forEach((idx, b) => {
    for (let i = 0; i < 3072; i++) out[b * 3072 + i] = data.pixels[idx * 3072 + i] / 255;
  });
  return out;
}

/** Deterministic uniform(-1, 1) numbers, so failures reproduce. */
function random(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => uniform() * 2 - 1;
}
function randomVector(length: number, seed: number): Float64Array {
  const r = random(seed);
  return Float64Array.from({ length }, r);
}
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));
const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const sameMask = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** A scaled ResNet-56: alpha and beta differ from 1 in units of all three stages. */
const scaled56 = resnet56.withScaling({
  alpha: Array.from({ length: 27 }, (_, i) => (i % 4 === 1 ? 0.7 : i === 18 ? 1.25 : 1)),
  beta: Array.from({ length: 27 }, (_, i) => (i % 5 === 2 ? 0.8 : i === 9 ? 1.1 : 1)),
});

// -------------------------------------------------------------------------------------------------
// The float64 trajectory

test('float64Trajectory: logits of ResNet-56 and ResNet-110 within 1e-9 of PyTorch float64', async () => {
  for (const [model, images] of [[resnet56, [0, 1, 17, 42, 99]], [resnet110, [0, 5, 63]]] as const) {
    const reference = readReferenceJson<ReferenceLogits>(`${model.name}_logits_100.json`);
    const trajectories = await float64Trajectories(model, pixels64([...images]));
    images.forEach((image, b) => {
      const diff = maxAbsDiff(trajectories[b].logits, reference.logits[reference.images.indexOf(image)]);
      assert.ok(diff <= 1e-9, `${model.name} image ${image}: max |logit - PyTorch| = ${diff}`);
    });
    const single = await float64Trajectory(model, pixels64([images[0]]));
    assert.ok(maxAbsDiff(single.logits, trajectories[0].logits) <= 1e-12, 'one image alone gives the logits it gets in a block');
  }
});

test('float64Trajectory: every tensor and mask matches the plain-loop float64 forward pass (alpha, beta scaled)', async () => {
  const model = scaled56;
  const t = await float64Trajectory(model, pixels64([7]));
  assert.equal(t.modelFingerprint, model.fingerprint);
  // The documented convention: mean and std are the float32 numbers the network stores.
  const mean = model.normalization.mean.map(Math.fround);
  const std = model.normalization.std.map(Math.fround);
  const x = naiveNormalize(pixels64([7]), mean, std);
  const ref = naiveForward(model.params, x, model.alpha, model.beta);
  const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
    const diff = maxAbsDiff(got, want);
    assert.ok(diff <= 1e-10 * Math.max(1, maxAbs(want)), `${what}: max diff ${diff}`);
  };
  close(t.input, x, 'normalized input');
  close(t.stem, ref.stem, 'stem');
  t.units.forEach((u, i) => {
    const r = ref.units[i];
    close(u.input, r.input, `unit ${i} input`);
    close(u.hiddenPre, r.hiddenPre, `unit ${i} hidden pre-activation`);
    close(u.outputPre, r.outputPre, `unit ${i} output pre-activation`);
    close(u.output, r.output, `unit ${i} output`);
    for (const [mask, pre, what] of [[u.hiddenMask, r.hiddenPre, 'hidden'], [u.outputMask, r.outputPre, 'output']] as const) {
      for (let k = 0; k < pre.length; k++) {
        if (mask[k] !== (pre[k] > 0 ? 1 : 0)) assert.ok(Math.abs(pre[k]) < 1e-12, `unit ${i} ${what} mask ${k}: pre ${pre[k]}`);
      }
    }
  });
  close(t.logits, ref.logits, 'logits');
});

// -------------------------------------------------------------------------------------------------
// Adjoint identity

/** max over a block of k random pairs of |<J v, u> - <v, J^T u>| / (||J v|| ||u|| + ||v|| ||J^T u||). */
function adjointError(op: JacobianOperator, k: number, seed: number): number {
  const [m, n] = op.shape;
  const v = randomVector(k * n, seed);
  const u = randomVector(k * m, seed + 1);
  const jv = op.apply(v, k);
  const jtu = op.applyTranspose(u, k);
  let worst = 0;
  for (let b = 0; b < k; b++) {
    const vb = v.subarray(b * n, (b + 1) * n), ub = u.subarray(b * m, (b + 1) * m);
    const jvb = jv.subarray(b * m, (b + 1) * m), jtub = jtu.subarray(b * n, (b + 1) * n);
    const scale = norm(jvb) * norm(ub) + norm(vb) * norm(jtub);
    assert.ok(scale > 0, `${op.description}: J is zero on the test vectors`);
    worst = Math.max(worst, Math.abs(dot(jvb, ub) - dot(vb, jtub)) / scale);
  }
  return worst;
}

test('adjoint identity <J v, u> = <v, J^T u>: units of all stages (with both downsampling units), stages, network', async () => {
  const t = await float64Trajectory(scaled56, pixels64([3]));
  const operators: JacobianOperator[] = [];
  try {
    for (const unit of [0, 5, 9, 13, 18, '3.9']) {
      operators.push(await linearizeUnit(scaled56, t, unit));
      operators.push(await linearizeUnit(scaled56, t, unit, { precision: 'f32' }));
    }
    for (const stage of [1, 2, 3]) operators.push(await linearizeStage(scaled56, t, stage));
    operators.push(await linearizeStage(scaled56, t, 2, { precision: 'f32' }));
    operators.push(await linearizeNetwork(scaled56, t));
    operators.push(await linearizeNetwork(scaled56, t, { precision: 'f32' }));
    for (const op of operators) {
      const error = adjointError(op, 3, 11);
      const tolerance = op.precision === 'f64' ? 1e-12 : 1e-5;
      assert.ok(error <= tolerance, `${op.description} (${op.precision}): adjoint error ${error}`);
    }
  } finally {
    for (const op of operators) op.dispose();
  }
});

test('shapes, labels, active rows and output types', async () => {
  const t = await float64Trajectory(resnet56, pixels64([0]));
  const unit9 = await linearizeUnit(resnet56, t, '2.1');
  const stage3 = await linearizeStage(resnet56, t, 3, { precision: 'f32' });
  const network = await linearizeNetwork(resnet56, t);
  try {
    assert.deepEqual(unit9.shape, [8192, 16384]);
    assert.equal(unit9.description, 'unit 2.1 (9) of resnet56');
    assert.deepEqual(stage3.shape, [4096, 8192]);
    assert.deepEqual(network.shape, [10, 3072]);
    assert.ok(unit9.apply(new Float32Array(16384)) instanceof Float64Array);
    assert.ok(stage3.apply(new Float64Array(8192)) instanceof Float32Array);
    assert.equal(resolveUnit(resnet56, '3.9'), 26);
    assert.equal(resolveUnit(resnet56, '17'), 17);
    assert.equal(unitLabel(resnet56, 26), '3.9');
    assert.equal(unitLabel(resnet110, 18), '2.1');
    const activeOf = (mask: Uint8Array) => Int32Array.from(Array.from(mask).flatMap((v, i) => (v ? [i] : [])));
    const expected = activeOf(t.units[9].outputMask);
    assert.deepEqual(unit9.activeRows(), expected);
    assert.deepEqual(stage3.activeRows(), activeOf(t.units[26].outputMask));
    assert.deepEqual(network.activeRows(), Int32Array.from({ length: 10 }, (_, i) => i));
    assert.ok(typeof unit9.wasmHandle === 'number' && unit9.wasmHandle > 0);
    // The dense J written into WASM memory is toDense()'s (units: row kernel; network: J^T e_i).
    for (const op of [network, await linearizeUnit(resnet56, t, 19)]) {
      const [m, n] = op.shape;
      const ptr = kernels.allocF64(m * n);
      try {
        op.denseInto(ptr);
        assert.deepEqual(kernels.f64(ptr, m * n).slice(), op.toDense());
      } finally {
        kernels.release(ptr);
        if (op !== network) op.dispose();
      }
    }
    // J V on inactive rows is exactly zero.
    const jv = unit9.apply(randomVector(16384, 5));
    t.units[9].outputMask.forEach((active, i) => active || assert.equal(jv[i], 0));
  } finally {
    unit9.dispose();
    stage3.dispose();
    network.dispose();
  }
  assert.throws(() => unit9.apply(new Float64Array(16384)), /used after dispose/);
});

// -------------------------------------------------------------------------------------------------
// Exactness on the linear region: finite differences of the forward kernel

/** The unit's forward map in f64 by unitForwardF64, parameters folded here from the definitions. */
function unitForward(model: ResNetModel, index: number, h: Float64Array): { output: Float64Array; masks: Uint8Array[] } {
  const e = kernels.exports;
  const u = model.params.units[index];
  const beta = model.beta[index];
  const bn = (p: typeof u.bn1) => {
    const scale = Float64Array.from(p.weight, (g, c) => g / Math.sqrt(p.runningVar[c] + p.eps));
    return [scale, Float64Array.from(scale, (s, c) => p.bias[c] - p.runningMean[c] * s)];
  };
  const [s1, c1] = bn(u.bn1);
  const [s2, c2] = bn(u.bn2);
  const m = u.outChannels * u.outSize * u.outSize;
  const ptrs = [
    h, Float64Array.from(u.conv1.weight, (w) => beta * w), s1, c1, Float64Array.from(u.conv2.weight, (w) => beta * w), s2, c2,
  ].map((a) => kernels.copyIn(a));
  const pre = kernels.allocF64(m), mid = kernels.allocBytes(m), preOut = kernels.allocF64(m), maskOut = kernels.allocBytes(m);
  const out = kernels.allocF64(m);
  try {
    e.unitForwardF64(ptrs[0], 1, u.inChannels, u.inSize, u.inSize, ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5], ptrs[6],
      u.outChannels, u.stride, model.alpha[index], pre, mid, preOut, maskOut, out);
    return {
      output: kernels.f64(out, m).slice(),
      masks: [new Uint8Array(kernels.memory.buffer, mid, m).slice(), new Uint8Array(kernels.memory.buffer, maskOut, m).slice()],
    };
  } finally {
    for (const p of [...ptrs, pre, mid, preOut, maskOut, out]) kernels.release(p);
  }
}

/**
 * (f(h + t v) - f(h)) / t for the composition f of units first..last, at the largest t = 2^-j * t0
 * for which no mask of any unit flips (then the quotient equals J v up to rounding).
 */
function exactDifference(model: ResNetModel, units: number[], h: Float64Array, v: Float64Array): { quotient: Float64Array; t: number } {
  const run = (x: Float64Array) => {
    const masks: Uint8Array[] = [];
    for (const u of units) {
      const r = unitForward(model, u, x);
      masks.push(...r.masks);
      x = r.output;
    }
    return { output: x, masks };
  };
  const base = run(h);
  let t = (1e-3 * norm(h)) / norm(v);
  for (let tries = 0; tries < 60; tries++, t /= 2) {
    const moved = run(Float64Array.from(h, (x, i) => x + t * v[i]));
    if (moved.masks.every((mask, i) => sameMask(mask, base.masks[i]))) {
      return { quotient: Float64Array.from(moved.output, (y, i) => (y - base.output[i]) / t), t };
    }
  }
  throw new Error('no step without a mask flip');
}

test('J v is exact on the linear region: units and a stage against finite differences of unitForwardF64', async () => {
  const model = scaled56;
  const t = await float64Trajectory(model, pixels64([11]));
  const cases: [string, number[]][] = [['unit 0', [0]], ['unit 9', [9]], ['unit 18', [18]], ['unit 24', [24]], ['stage 3', Array.from({ length: 9 }, (_, i) => 18 + i)]];
  for (const [what, units] of cases) {
    const op = units.length === 1 ? await linearizeUnit(model, t, units[0]) : await linearizeStage(model, t, 3);
    try {
      const h = t.units[units[0]].input;
      const v = randomVector(h.length, 100 + units[0]);
      const jv = op.apply(v);
      const { quotient, t: step } = exactDifference(model, units, h, v);
      const diff = maxAbsDiff(jv, quotient);
      assert.ok(diff <= 1e-9 * maxAbs(jv), `${what}: |J v - difference quotient| = ${diff} (|J v| = ${maxAbs(jv)}, t = ${step})`);
    } finally {
      op.dispose();
    }
  }
});

// -------------------------------------------------------------------------------------------------
// Against PyTorch's singular values

/**
 * ||J||_F^2 and ||J J^T||_F^2 of a unit from its dense active rows (fetched in blocks), the latter by
 * a sparse product over the upper triangle: row i of J J^T from column i on is the sum, over the
 * nonzeros J[i, j], of J[i, j] times the part of column j in rows >= i (Gustavson's algorithm).
 */
function frobeniusSums(op: JacobianOperator): { sumSquares: number; sumFourth: number } {
  const n = op.shape[1];
  const rows = op.activeRows();
  const rowStart = new Int32Array(rows.length + 1);
  let colIndex = new Int32Array(1 << 20);
  let values = new Float64Array(1 << 20);
  let nnz = 0;
  let sumSquares = 0;
  for (let r0 = 0; r0 < rows.length; r0 += 256) {
    const block = op.denseRows(rows.subarray(r0, r0 + 256));
    const count = block.length / n;
    for (let r = 0; r < count; r++) {
      const base = r * n;
      if (nnz + n > colIndex.length) {
        const grow = (a: Int32Array | Float64Array) => { const b = new (a.constructor as any)(2 * a.length + n); b.set(a); return b; };
        colIndex = grow(colIndex);
        values = grow(values);
      }
      for (let j = 0; j < n; j++) {
        const a = block[base + j];
        if (a !== 0) {
          colIndex[nnz] = j;
          values[nnz++] = a;
          sumSquares += a * a;
        }
      }
      rowStart[r0 + r + 1] = nnz;
    }
  }
  // Column lists (CSC) of the active-row submatrix; rows ascend within each column.
  const colStart = new Int32Array(n + 1);
  for (let p = 0; p < nnz; p++) colStart[colIndex[p] + 1]++;
  for (let j = 0; j < n; j++) colStart[j + 1] += colStart[j];
  const next = colStart.slice(0, n);
  const colRow = new Int32Array(nnz);
  const colValue = new Float64Array(nnz);
  for (let i = 0; i < rows.length; i++) {
    for (let p = rowStart[i]; p < rowStart[i + 1]; p++) {
      const at = next[colIndex[p]]++;
      colRow[at] = i;
      colValue[at] = values[p];
    }
  }
  // first[j]: the first entry of column j in a row >= the current i (advances as i grows).
  const first = colStart.slice(0, n);
  const acc = new Float64Array(rows.length);
  let sumFourth = 0;
  for (let i = 0; i < rows.length; i++) {
    let last = i;
    for (let p = rowStart[i]; p < rowStart[i + 1]; p++) {
      const j = colIndex[p], a = values[p];
      let q = first[j];
      while (colRow[q] < i) q++;
      first[j] = q;
      const end = colStart[j + 1];
      for (; q < end; q++) acc[colRow[q]] += a * colValue[q];
      last = Math.max(last, colRow[end - 1]);
    }
    sumFourth += acc[i] * acc[i];
    acc[i] = 0;
    for (let r = i + 1; r <= last; r++) {
      sumFourth += 2 * acc[r] * acc[r];
      acc[r] = 0;
    }
  }
  return { sumSquares, sumFourth };
}

function powerSums(s: Float64Array): { sumSquares: number; sumFourth: number } {
  let sumSquares = 0, sumFourth = 0;
  for (const x of s) {
    sumSquares += x * x;
    sumFourth += x ** 4;
  }
  return { sumSquares, sumFourth };
}

// Unit 19 is checked value by value below, which implies both sums.
test('unit Jacobians 0 and 9 at image 0 against PyTorch: sum s^2 = ||J||_F^2 and sum s^4 = ||J J^T||_F^2 (f64, f32)', async () => {
  const t = await float64Trajectory(resnet56, pixels64([0]));
  for (const unit of [0, 9]) {
    const reference = powerSums(readReferenceF64(`resnet56_sv_img0_unit${unit}.f64`));
    for (const precision of ['f64', 'f32'] as const) {
      const op = await linearizeUnit(resnet56, t, unit, { precision });
      try {
        const ours = frobeniusSums(op);
        const tolerance = precision === 'f64' ? 1e-10 : 1e-4;
        for (const key of ['sumSquares', 'sumFourth'] as const) {
          const rel = Math.abs(ours[key] - reference[key]) / reference[key];
          assert.ok(rel <= tolerance, `unit ${unit} ${precision} ${key}: ${ours[key]} vs PyTorch ${reference[key]} (rel ${rel})`);
        }
      } finally {
        op.dispose();
      }
    }
  }
});

test('unit 19 at image 0: every singular value of the dense J matches PyTorch (f64 1e-9 s_max, f32 1e-4 s_max)', async () => {
  const reference = readReferenceF64('resnet56_sv_img0_unit19.f64');
  const t = await float64Trajectory(resnet56, pixels64([0]));
  for (const precision of ['f64', 'f32'] as const) {
    const op = await linearizeUnit(resnet56, t, 19, { precision });
    try {
      // The inactive rows are zero: the active ones carry every nonzero singular value.
      const rows = op.activeRows();
      const dense = op.denseRows(rows);
      const s = precision === 'f64'
        ? await svdValues(dense as Float64Array, rows.length, op.shape[1], { route: 'bidiagonal' })
        : await svdValues(dense as Float32Array, rows.length, op.shape[1], { route: 'bidiagonal' });
      const tolerance = (precision === 'f64' ? 1e-9 : 1e-4) * reference[0];
      let worst = 0;
      for (let i = 0; i < reference.length; i++) worst = Math.max(worst, Math.abs((s[i] ?? 0) - reference[i]));
      assert.ok(worst <= tolerance, `${precision}: max |s - s_PyTorch| = ${worst} (s_max ${reference[0]})`);
    } finally {
      op.dispose();
    }
  }
});

// -------------------------------------------------------------------------------------------------
// The network: pixels -> logits

// 3e-6: the f32 gradient runs on the Winograd convolutions (assembly/winograd.ts), measured 1.4e-6
// (4e-7 with tfjs' direct convolutions, RESNET_STABILITY_XNNPACK_CONV=1).
test('network: J^T e_c is tfjs autograd\'s pixel gradient of logit c (3e-6 relative)', async () => {
  const tf = await initBackend();
  const image = 0;
  const pixels32 = Float32Array.from(pixels64([image]));
  // tfjs' own masks, so that both sides differentiate the same piecewise-linear map.
  const [trajectory] = await forwardTrajectories(resnet56, pixels32);
  const network = await linearizeNetwork(resnet56, trajectory);
  try {
    const rows = network.toDense();
    const x = tf.tensor4d(pixels32, [1, 3, 32, 32]);
    for (let c = 0; c < 10; c++) {
      const grad = tf.grad((p) => tf.sum(tf.slice(logitsFromPixels(tf, resnet56, p as typeof x), [0, c], [1, 1])));
      const g = grad(x);
      const tfGradient = (await g.data()) as Float32Array;
      g.dispose();
      const ours = rows.subarray(c * 3072, (c + 1) * 3072);
      const rel = norm(Float64Array.from(ours, (v, i) => v - tfGradient[i])) / norm(tfGradient);
      assert.ok(rel <= 3e-6, `logit ${c}: |J^T e_c - tf.grad| / |tf.grad| = ${rel}`);
      const single = network.applyTranspose(Float64Array.from({ length: 10 }, (_, k) => (k === c ? 1 : 0)));
      assert.ok(maxAbsDiff(single, ours) <= 1e-13 * maxAbs(ours), 'a row of toDense() is J^T e_c');
    }
    x.dispose();
  } finally {
    network.dispose();
  }
});

test('network: J v is the finite difference of float64 logits while no mask flips', async () => {
  // (logits(p + t v) - logits(p)) / t of the float64 trajectory at the largest t = 2^-j 1e-4 without flips.
  const p = pixels64([0]);
  const base = await float64Trajectory(resnet56, p);
  const op = await linearizeNetwork(resnet56, base);
  try {
    const v = randomVector(3072, 77);
    const jv = op.apply(v);
    const masks = (t: Trajectory64) => [t.stemMask, ...t.units.flatMap((u) => [u.hiddenMask, u.outputMask])];
    let step = 1e-4;
    for (;; step /= 2) {
      const moved = await float64Trajectory(resnet56, Float64Array.from(p, (x, i) => x + step * v[i]));
      if (masks(moved).every((m, i) => sameMask(m, masks(base)[i]))) {
        const quotient = Float64Array.from(moved.logits, (y, i) => (y - base.logits[i]) / step);
        const diff = maxAbsDiff(jv, quotient);
        assert.ok(diff <= 1e-8 * maxAbs(jv), `|J v - difference quotient| = ${diff} (|J v| = ${maxAbs(jv)}, t = ${step})`);
        break;
      }
      assert.ok(step > 1e-14, 'no step without a mask flip');
    }
  } finally {
    op.dispose();
  }
});

// -------------------------------------------------------------------------------------------------
// Errors

test('bad units, stages, vector lengths and foreign trajectories are one-line InputErrors', async () => {
  const t = await float64Trajectory(resnet56, pixels64([0]));
  assert.throws(() => resolveUnit(resnet56, 27), (e: Error) => e instanceof InputError && e.message === 'unit 27 is out of range: resnet56 has units 1.1-3.9 (0-26)');
  assert.throws(() => resolveUnit(resnet56, '3.10'), /^UsageError: unit 3\.10 is out of range: resnet56 has units 1\.1-3\.9 \(0-26\)$/);
  assert.throws(() => resolveUnit(resnet56, '0.1'), /unit 0\.1 is out of range/);
  assert.throws(() => resolveUnit(resnet56, -1), /unit -1 is out of range/);
  assert.throws(() => resolveUnit(resnet56, 'last'), /unit "last" is neither an index nor stage\.unit/);
  assert.throws(() => resolveUnit(resnet110, '3.19'), /resnet110 has units 1\.1-3\.18 \(0-53\)/);
  await assert.rejects(linearizeUnit(resnet56, t, 27), InputError);
  await assert.rejects(linearizeStage(resnet56, t, 4), /stage 4 is out of range: resnet56 has stages 1-3/);
  await assert.rejects(linearizeStage(resnet56, t, '1.2'), /stage "1\.2" is out of range/);
  await assert.rejects(linearizeUnit(scaled56, t, 0), /^InputError: trajectory was computed for another model or scaling/);
  await assert.rejects(linearizeNetwork(resnet56.withScaling({ beta: 0.9 }), t), /another model or scaling/);
  await assert.rejects(linearizeUnit(resnet110, t, 0), /another model or scaling/);
  const op = await linearizeUnit(resnet56, t, 9);
  try {
    assert.throws(() => op.apply(new Float64Array(100)), /^InputError: apply on unit 2\.1 \(9\) of resnet56: expected a multiple of n = 16384 values .* got 100$/);
    assert.throws(() => op.applyTranspose(new Float64Array(8193)), /expected a multiple of m = 8192 values .* got 8193/);
    assert.throws(() => op.apply(new Float64Array(3 * 16384), 2), /expected k\*n = 2\*16384 = 32768 values, got 49152/);
    assert.throws(() => op.denseRows([8192]), /row 8192 .* outside 0\.\.8191/);
  } finally {
    op.dispose();
  }
  await assert.rejects(float64Trajectory(resnet56, new Float64Array(100)), /3x32x32 = 3072 values, got 100/);
});

test('linearizePaper: a range of units and the stem are exact on the linear region; bad segments are refused', async () => {
  const t = await float64Trajectory(scaled56, pixels64([1]));
  // Units 1.9 and 2.1 (8, 9): J_9 J_8 v against the difference quotient of unitForwardF64.
  const range = await linearizePaper(scaled56, t, { units: ['1.9', '2.1'] }, { kernels });
  try {
    assert.deepEqual(range.shape, [8192, 16384]);
    assert.equal(range.description, 'units 1.9-2.1 of resnet56');
    const v = randomVector(16384, 31);
    const { quotient } = exactDifference(scaled56, [8, 9], t.units[8].input, v);
    const jv = range.apply(v);
    assert.ok(maxAbsDiff(jv, quotient) <= 1e-6 * maxAbs(quotient), `units 8-9: ${maxAbsDiff(jv, quotient) / maxAbs(quotient)}`);
    assert.deepEqual(range.activeRows(), Int32Array.from(Array.from(t.units[9].outputMask).flatMap((m, i) => (m ? [i] : []))));
  } finally {
    range.dispose();
  }
  // The stem (pixels -> first unit) against a difference quotient of the float64 stem without a mask flip.
  const stem = await linearizePaper(scaled56, t, 'stem', { kernels });
  try {
    assert.deepEqual(stem.shape, [16384, 3072]);
    const v = randomVector(3072, 32);
    let step = 1e-4;
    let moved = await float64Trajectory(scaled56, Float64Array.from(t.pixels, (x, i) => x + step * v[i]));
    while (!sameMask(moved.stemMask, t.stemMask)) {
      step /= 2;
      moved = await float64Trajectory(scaled56, Float64Array.from(t.pixels, (x, i) => x + step * v[i]));
    }
    const quotient = Float64Array.from(moved.stem, (y, i) => (y - t.stem[i]) / step);
    const jv = stem.apply(v);
    assert.ok(maxAbsDiff(jv, quotient) <= 1e-6 * maxAbs(quotient), `stem: ${maxAbsDiff(jv, quotient) / maxAbs(quotient)}`);
  } finally {
    stem.dispose();
  }
  await assert.rejects(linearizePaper(scaled56, t, { units: [9, 8] }, { kernels }), /units 9\.\.8: the last comes before the first/);
  await assert.rejects(linearizePaper(scaled56, t, 'all' as never, { kernels }), /^InputError: segment must be/);
  await assert.rejects(linearizePaper(scaled56, t, { units: ['1.1', '3.10'] }, { kernels }), /unit 3\.10 is out of range/);
});
