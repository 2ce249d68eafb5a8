/**
 * spectrum/full.ts on general linearizations: every route against PyTorch's autograd + LAPACK values
 * (test/fixtures/graph-units-pytorch.json, scripts/make-graph-fixtures.py), the memory rule, and the
 * matrix-free methods on a general operator.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { graphTrajectory64, linearize } from '../src/linearize/index.js';
import type { NetworkGraph } from '../src/model/graph.js';
import { spectralDensity } from '../src/spectrum/density.js';
import { fullSingularValues } from '../src/spectrum/full.js';
import { UsageError } from '../src/util/errors.js';
import { loadKernels } from '../src/wasm/kernels.js';
import { fixturePath } from './support/shared.js';
import { f64, graphOfFixture } from './support/graph-fixture.js';

const kernels = await loadKernels();
const fixture = JSON.parse(readFileSync(fixturePath('graph-units-pytorch.json'), 'utf8'));

test('fullSingularValues: dense and operator-Gram routes equal autograd + LAPACK (preact and bottleneck units)', async () => {
  for (const name of ['preact', 'tv-bottleneck']) {
    const family = fixture.families.find((f: { name: string }) => f.name === name);
    const graph: NetworkGraph = graphOfFixture(family);
    const point = await graphTrajectory64(graph, f64(family.input), { alpha: family.alpha, beta: family.beta, kernels });
    const record = family.records.find((r: { singularValues?: string }) => r.singularValues);
    const ref = f64(record.singularValues);
    const op = await linearize(point, { unit: record.unit }, { kernels });
    try {
      const dense = await fullSingularValues(op, { kernels });
      assert.equal(dense.route, 'dense');
      const gram = await fullSingularValues(op, { kernels, route: 'operator-gram' });
      assert.equal(gram.values.length, ref.length);
      for (const [what, values, tol] of [['dense', dense.values, 1e-12], ['operator-gram', gram.values, 1e-12]] as const) {
        // The Gram route squares: absolute error ~ N eps s_max^2 / s, so compare the values above 1e-3 s_max.
        let worst = 0;
        ref.forEach((s, i) => {
          if (what === 'dense' || s > 1e-3 * ref[0]) worst = Math.max(worst, Math.abs(values[i] - s));
        });
        assert.ok(worst < tol * ref[0] * (what === 'dense' ? 1 : 100), `${name} ${what}: ${worst}`);
      }
      // Too small a limit: a UsageError naming the size and the methods that fit.
      await assert.rejects(fullSingularValues(op, { kernels, memoryLimit: 1000 }), (e: Error) =>
        e instanceof UsageError && /needs at least .* GiB, more than the memory limit of .*; the matrix-free methods fit: topk, density, count/.test(e.message));
      await assert.rejects(fullSingularValues(op, { kernels, memoryLimit: -1 }), /memoryLimit must be a positive number/);
      // Density on the general operator (matrix-free, through its WASM handle): all mass accounted for.
      const density = await spectralDensity({ shape: op.shape, wasmHandle: op.wasmHandle, kernels }, { bins: [0, ref[0] / 2, ref[0] * 1.01], seed: 1 });
      const total = density.counts[0] + density.counts[1];
      assert.ok(Math.abs(total - ref.length) < 0.05 * ref.length, `density mass ${total} of ${ref.length}`);
    } finally {
      op.dispose();
    }
  }
});

test('a model of another family: unitSpectrum (full) and topk through the study equal PyTorch, unit labels from its graph', async () => {
  const { ResNetModel } = await import('../src/model/model.js');
  const { unitSpectrum } = await import('../src/study/spectrum.js');
  const { withUnitLinearization, topUnitSingularValues } = await import('../src/study/spectrum-methods.js');
  const family = fixture.families.find((f: { name: string }) => f.name === 'wrn');
  const model = new ResNetModel(graphOfFixture(family), { name: 'wrn-fixture', normalization: { mean: [0, 0, 0], std: [1, 1, 1] } },
    { alpha: family.alpha, beta: family.beta });
  assert.equal(model.hasParams, false);
  const pixels = Float32Array.from(f64(family.input));
  const record = family.records.find((r: { singularValues?: string }) => r.singularValues);
  const ref = f64(record.singularValues);
  const spectrum = await unitSpectrum(model, pixels, record.label);
  assert.equal(spectrum.unitLabel, record.label);
  assert.equal(spectrum.values.length, ref.length);
  assert.ok(Math.max(...Array.from(spectrum.values, (s, i) => Math.abs(s - ref[i]))) < 1e-12 * ref[0]);
  const top = await withUnitLinearization(model, pixels, record.unit, {}, (op) => topUnitSingularValues(op, 3, 1e-12));
  assert.ok(Math.max(...Array.from(top.values, (s, i) => Math.abs(s - ref[i]))) < 1e-9 * ref[0]);
  // count and topk as the spectrum command runs them (runSpectrumJob): exact count against PyTorch's values.
  const { runSpectrumJob } = await import('../src/study/spectrum-study.js');
  // Edges midway between neighbouring values, so rounding cannot move a value across one.
  const q = ref.length >> 2;
  const lo = (ref[q] + ref[q + 1]) / 2, hi = (ref[1] + ref[2]) / 2;
  const expected = Array.from(ref).filter((s) => s >= lo && s < hi).length;
  const counted = await runSpectrumJob(model, pixels, record.unit, 0, { method: 'count', interval: [lo, hi] } as never);
  assert.equal(counted.record.count?.count, expected);
  const topk = await runSpectrumJob(model, pixels, record.unit, 0, { method: 'topk', k: 2 } as never);
  assert.ok(Math.abs(topk.record.smax! - ref[0]) < 1e-9 * ref[0]);
  await assert.rejects(unitSpectrum(model, pixels, '4.1'), (e: Error) => e instanceof UsageError && /unit 4\.1 is out of range: the network has units 1\.1-3\.2 \(0-5\)/.test(e.message));
});
