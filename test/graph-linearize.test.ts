/**
 * The general linearization (src/linearize/graph-*.ts) against independent references only:
 * - PyTorch float64 (test/fixtures/graph-units-pytorch.json, scripts/make-graph-fixtures.py): one small
 *   network per family of issue 11 (CIFAR option A and B, pre-activation, WRN, torchvision basic and
 *   bottleneck), built from the fixture's weights here; logits and unit inputs, unit JVP / VJP of
 *   random vectors, full unit spectra (autograd Jacobian + LAPACK), top-6 from SciPy svds;
 * - central finite differences of our own float64 forward (exact on the linear region: f(x + t v) is
 *   affine in t while no mask flips, so a difference quotient only carries rounding);
 * - adjoint identities <J v, u> = <v, J^T u>;
 * - the paper model's existing unit/network operators (bitwise-close: 1e-13), when ../shared has it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  float64Trajectory, graphTrajectory64, linearize, linearizeNetwork, linearizeUnit, modelTrajectory64, runUnit,
  type GraphTrajectory64,
} from '../src/linearize/index.js';
import { topSingularTriplets } from '../src/spectrum/lanczos.js';
import { svdValues } from '../src/spectrum/svd.js';
import { InputError } from '../src/util/errors.js';
import { loadKernels } from '../src/wasm/kernels.js';
import { mulberry32 } from './support/random.js';
import { fixturePath, sharedOrSkip } from './support/shared.js';
import { f64, graphOfFixture as graphOf, type FixtureFamily } from './support/graph-fixture.js';

const kernels = await loadKernels();

const fixture = JSON.parse(readFileSync(fixturePath('graph-units-pytorch.json'), 'utf8')) as { families: FixtureFamily[] };

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
/** max |a - b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m / Math.max(maxAbs(b), 1e-300);
}
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
function randomVector(n: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => 2 * r() - 1);
}

const points = new Map<string, GraphTrajectory64>();
async function pointOf(family: FixtureFamily): Promise<GraphTrajectory64> {
  let p = points.get(family.name);
  if (!p) {
    p = await graphTrajectory64(graphOf(family), f64(family.input), { alpha: family.alpha, beta: family.beta, kernels });
    points.set(family.name, p);
  }
  return p;
}

for (const family of fixture.families) {
  test(`${family.name}: float64 trajectory and logits equal PyTorch's to 1e-9`, async () => {
    const point = await pointOf(family);
    assert.ok(relErr(point.logits, f64(family.logits)) < 1e-9, `logits: ${relErr(point.logits, f64(family.logits))}`);
    family.unitInputs.forEach((text, k) => {
      const mine = k < point.units.length ? point.units[k].input : point.units[k - 1].output;
      assert.ok(relErr(mine, f64(text)) < 1e-9, `unit ${k} input: ${relErr(mine, f64(text))}`);
    });
  });

  for (const record of family.records) {
    test(`${family.name} unit ${record.label}: J v and J^T u equal PyTorch's autograd to 1e-12`, async () => {
      const point = await pointOf(family);
      const op = await linearize(point, { unit: record.label }, { kernels });
      try {
        assert.deepEqual(op.shape, [record.rows, record.columns]);
        const jv = op.apply(f64(record.v));
        const jtu = op.applyTranspose(f64(record.u));
        assert.ok(relErr(jv, f64(record.jv)) < 1e-12, `J v: ${relErr(jv, f64(record.jv))}`);
        assert.ok(relErr(jtu, f64(record.jtu)) < 1e-12, `J^T u: ${relErr(jtu, f64(record.jtu))}`);
        // The same unit by its 0-based index.
        const byIndex = await linearize(point, { unit: record.unit }, { kernels });
        assert.deepEqual(Array.from(byIndex.apply(f64(record.v))), Array.from(jv));
        byIndex.dispose();
      } finally {
        op.dispose();
      }
    });

    if (record.singularValues) {
      test(`${family.name} unit ${record.label}: all singular values equal autograd + LAPACK to 1e-12 of s_max`, async () => {
        const point = await pointOf(family);
        const op = await linearize(point, { unit: record.unit }, { kernels });
        try {
          const [m, n] = op.shape;
          const mine = await svdValues(op.toDense(), m, n, { kernels });
          const ref = f64(record.singularValues!);
          assert.equal(mine.length, ref.length);
          const err = Math.max(...Array.from(mine, (s, i) => Math.abs(s - ref[i])));
          assert.ok(err < 1e-12 * ref[0], `max |s - s_ref| = ${err}, s_max = ${ref[0]}`);
        } finally {
          op.dispose();
        }
      });
    }

    if (record.topSingularValues) {
      test(`${family.name} unit ${record.label}: top singular values (Lanczos on the operator) equal SciPy svds to 1e-9`, async () => {
        const point = await pointOf(family);
        const op = await linearize(point, { unit: record.unit }, { kernels });
        try {
          const ref = f64(record.topSingularValues!);
          const top = await topSingularTriplets({ shape: op.shape, wasmHandle: op.wasmHandle, kernels }, ref.length, { tol: 1e-12 });
          assert.ok(relErr(top.values, ref) < 1e-9, `top-${ref.length}: ${Array.from(top.values)} vs ${Array.from(ref)}`);
        } finally {
          op.dispose();
        }
      });
    }
  }

  test(`${family.name}: every unit, stage and the network pass the adjoint identity and central finite differences`, async () => {
    const point = await pointOf(family);
    const graph = point.graph;
    // Units: J v against (unit(x + t v) - unit(x - t v)) / 2t from our float64 forward.
    for (let k = 0; k < graph.units.length; k++) {
      const op = await linearize(point, { unit: k }, { kernels });
      try {
        const [m, n] = op.shape;
        const v = randomVector(n, 100 + k), u = randomVector(m, 200 + k);
        const jv = op.apply(v), jtu = op.applyTranspose(u);
        const gap = Math.abs(dot(jv, u) - dot(v, jtu)) / (maxAbs(jv) * m + maxAbs(jtu) * n);
        assert.ok(gap < 1e-14, `unit ${k}: adjoint gap ${gap}`);
        const x = point.units[k].input;
        const t = 1e-7 * maxAbs(x);
        const plus = runUnit(kernels, graph.units[k], x.map((xi, i) => xi + t * v[i]), point.alpha[k], point.beta[k]).output;
        const minus = runUnit(kernels, graph.units[k], x.map((xi, i) => xi - t * v[i]), point.alpha[k], point.beta[k]).output;
        const fd = plus.map((p, i) => (p - minus[i]) / (2 * t));
        assert.ok(relErr(fd, jv) < 1e-6, `unit ${k}: finite difference ${relErr(fd, jv)}`);
      } finally {
        op.dispose();
      }
    }
    // Stage 2 equals the product of its units.
    const stage = await linearize(point, { stage: 2 }, { kernels });
    const stageUnits = graph.units.flatMap((u, i) => (u.stage === 2 ? [i] : []));
    let w: Float64Array = randomVector(stage.shape[1], 7);
    const sw = stage.apply(w);
    for (const k of stageUnits) {
      const op = await linearize(point, { unit: k }, { kernels });
      w = op.apply(w);
      op.dispose();
    }
    assert.ok(relErr(sw, w) < 1e-14, `stage 2 vs its units: ${relErr(sw, w)}`);
    stage.dispose();
    // The network (stem with its max-pool, units, head): gradient of a logit against finite differences.
    const net = await linearize(point, 'network', { kernels });
    try {
      assert.deepEqual(net.shape, [10, point.input.length]);
      const v = randomVector(point.input.length, 9);
      const jv = net.apply(v);
      const t = 1e-7;
      const image = point.input;
      const plus = await graphTrajectory64(graph, image.map((xi, i) => xi + t * v[i]), { alpha: point.alpha, beta: point.beta, kernels });
      const minus = await graphTrajectory64(graph, image.map((xi, i) => xi - t * v[i]), { alpha: point.alpha, beta: point.beta, kernels });
      const fd = plus.logits.map((p, i) => (p - minus.logits[i]) / (2 * t));
      assert.ok(relErr(fd, jv) < 1e-6, `network finite difference ${relErr(fd, jv)}`);
      const e = new Float64Array(10);
      e[3] = 1;
      assert.ok(Math.abs(dot(net.applyTranspose(e), v) - jv[3]) < 1e-12 * maxAbs(jv) * 10);
    } finally {
      net.dispose();
    }
  });
}

test('f32 operators agree with f64 ones to float32 accuracy', async () => {
  const family = fixture.families.find((f) => f.name === 'tv-bottleneck')!;
  const point = await pointOf(family);
  const a = await linearize(point, { unit: 1 }, { kernels });
  const b = await linearize(point, { unit: 1 }, { kernels, precision: 'f32' });
  const v = randomVector(a.shape[1], 3);
  const ya = a.apply(v), yb = b.apply(v);
  assert.ok(yb instanceof Float32Array);
  assert.ok(relErr(yb, ya) < 1e-5, `f32 vs f64 ${relErr(yb, ya)}`);
  a.dispose();
  b.dispose();
});

test('bad segments, scales, images and graphs are refused with one line naming them', async () => {
  const family = fixture.families.find((f) => f.name === 'cifar-a')!;
  const point = await pointOf(family);
  await assert.rejects(linearize(point, { unit: '4.1' }, { kernels }), (e: Error) => e instanceof InputError && /unit 4\.1 is out of range: the network has units 1\.1-3\.1 \(0-2\)/.test(e.message));
  await assert.rejects(linearize(point, { unit: 7 }, { kernels }), InputError);
  await assert.rejects(linearize(point, { unit: 'x' }, { kernels }), /neither an index nor stage\.unit/);
  await assert.rejects(linearize(point, { stage: 9 }, { kernels }), /stage "9" is out of range: the network has stages 1, 2, 3/);
  await assert.rejects(linearize(point, { units: [2, 0] }, { kernels }), /the last comes before the first/);
  await assert.rejects(linearize(point, { unit: 0 }, { kernels, alpha: 1 }), /alpha differs from the one the point was computed with/);
  await assert.rejects(linearize(point, 'everything' as never, { kernels }), /segment must be/);
  await assert.rejects(linearize({} as never, 'network', { kernels }), /not a graph trajectory/);
  const graph = graphOf(family);
  await assert.rejects(graphTrajectory64(graph, new Float64Array(5), { kernels }), /an image must be 3x16x16 = 768 values, got 5/);
  await assert.rejects(graphTrajectory64(graph, new Float64Array(768).fill(NaN), { kernels }), /image value 0 is not finite/);
  await assert.rejects(graphTrajectory64(graph, f64(family.input), { kernels, beta: [1, 2] }), /beta has 2 entries, the network has 3 units/);
  const broken = { ...graph, units: graph.units.map((u, i) => (i === 1 ? { ...u, body: u.body.slice(1) } : u)) };
  await assert.rejects(graphTrajectory64(broken, f64(family.input), { kernels }), /unit 2\.1 \(layer2\.0\) body layer 0 \(bn\): expects 8 channels on an input of 4x16x16/);
  // A range of units equals the chain of the units.
  const range = await linearize(point, { units: ['1.1', '2.1'] }, { kernels });
  assert.deepEqual(range.shape, [8 * 8 * 8, 4 * 16 * 16]);
  range.dispose();
});

test('the paper ResNet-56 as a graph gives the operators of linearizeUnit / linearizeNetwork to 1e-13', async (t) => {
  if (!sharedOrSkip(t, 'models/resnet56.th', 'the shipped ResNet-56 checkpoint')) return;
  const { loadModel } = await import('../src/model/load.js');
  const model = (await loadModel('resnet56')).withScaling({ alpha: 0.7, beta: 1.3 });
  const pixels = Float64Array.from({ length: 3072 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2);
  const reference = await float64Trajectory(model, pixels, { kernels });
  const point = await modelTrajectory64(model, pixels, kernels);
  assert.ok(relErr(point.logits, reference.logits) < 1e-13);
  for (const unit of ['1.1', '2.1', '3.9']) {
    const a = await linearizeUnit(model, reference, unit, { kernels });
    const b = await linearize(point, { unit }, { kernels });
    const v = randomVector(a.shape[1], 11), u = randomVector(a.shape[0], 12);
    assert.ok(relErr(b.apply(v), a.apply(v)) < 1e-13, unit);
    assert.ok(relErr(b.applyTranspose(u), a.applyTranspose(u)) < 1e-13, unit);
    assert.deepEqual(Array.from(b.activeRows()), Array.from(a.activeRows()));
    a.dispose();
    b.dispose();
  }
  const a = await linearizeNetwork(model, reference, { kernels });
  const b = await linearize(point, 'network', { kernels });
  const e = new Float64Array(10).fill(0.1);
  assert.ok(relErr(b.applyTranspose(e), a.applyTranspose(e)) < 1e-13);
  a.dispose();
  b.dispose();
});
