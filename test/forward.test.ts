/**
 * The tfjs-wasm forward pass against PyTorch float64 logits (test/fixtures/reference, and the generated
 * checkpoints' own) and its trajectory
 * against an independent plain float64 implementation (test/support/naive-resnet.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCifar, imageToFloat } from '../src/data/cifar.js';
import { forwardTrajectories, predictLogits } from '../src/model/forward.js';
import { loadModel } from '../src/model/load.js';
import { naiveForward, naiveNormalize } from './support/naive-resnet.js';
import { CHECKPOINT_FIXTURES, checkpointFixture, cifarTestFile, readReferenceJson, sharedOrSkip } from './support/shared.js';

interface ReferenceLogits {
  model: string;
  images: number[];
  logits: number[][];
}

const data = await loadCifar(cifarTestFile);

function pixelsFor(indices: number[]): Float32Array {
  const out = new Float32Array(indices.length * 3072);
  indices.forEach((idx, i) => out.set(imageToFloat(data, idx), i * 3072));
  return out;
}

for (const [name, spec] of [
  ['resnet56', 'resnet56'],
  ['resnet110', 'resnet110'],
  ['resnet56', 'models/resnet56.th'],
] as const) {
  test(`${spec === name ? 'shipped' : 'checkpoint'} ${name}: logits of 100 images within 2e-4 of PyTorch float64`, async (t) => {
    const reference = readReferenceJson<ReferenceLogits>(`${name}_logits_100.json`);
    const path = spec === name ? spec : sharedOrSkip(t, spec, 'the trained checkpoint is not in the repository (its converted copy is, tested above)');
    if (!path) return;
    const model = await loadModel(path);
    const logits = await predictLogits(model, pixelsFor(reference.images));
    let maxDiff = 0;
    reference.logits.forEach((row, i) => row.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - logits[i * 10 + k])))));
    assert.ok(maxDiff <= 2e-4, `max |logit - reference| = ${maxDiff}`);
    assert.ok(maxDiff > 0, 'float32 logits cannot equal float64 references exactly');
  });
}

for (const [name, fixture] of Object.entries(CHECKPOINT_FIXTURES)) {
  test(`generated ${fixture.format} checkpoint ${name}: logits within 2e-4 of PyTorch float64`, async () => {
    const model = await loadModel(checkpointFixture(name as keyof typeof CHECKPOINT_FIXTURES));
    assert.equal(model.depth, 6 * fixture.n + 2);
    const logits = await predictLogits(model, pixelsFor(fixture.images));
    let maxDiff = 0;
    fixture.logits.forEach((row, i) => row.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - logits[i * 10 + k]!)))));
    assert.ok(maxDiff <= 2e-4, `max |logit - reference| = ${maxDiff}`);
    assert.ok(maxDiff > 0, 'float32 logits cannot equal float64 references exactly');
  });
}

test('trajectory with per-unit alpha and beta matches a plain float64 forward pass', async () => {
  const base = await loadModel('resnet56');
  const units = base.unitCount;
  const alpha = Array.from({ length: units }, (_, i) => (i % 5 === 2 ? 0.5 : i === 20 ? 1.3 : 1));
  const beta = Array.from({ length: units }, (_, i) => (i % 7 === 3 ? 0.8 : i === 18 ? 1.2 : 1));
  const model = base.withScaling({ alpha, beta });
  const images = [3, 7];
  const trajectories = await forwardTrajectories(model, pixelsFor(images));
  assert.equal(trajectories.length, 2);
  images.forEach((idx, b) => {
    const t = trajectories[b];
    assert.equal(t.modelFingerprint, model.fingerprint);
    const x = naiveNormalize(imageToFloat(data, idx), model.normalization.mean, model.normalization.std);
    const ref = naiveForward(model.params, x, alpha, beta);
    const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
      assert.equal(got.length, want.length, `${what} length`);
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < want.length; i++) {
        scale = Math.max(scale, Math.abs(want[i]));
        diff = Math.max(diff, Math.abs(got[i] - want[i]));
      }
      assert.ok(diff <= 1e-4 * Math.max(1, scale), `${what}: max diff ${diff} (scale ${scale})`);
    };
    close(t.input, x, 'normalized input');
    close(t.stem, ref.stem, 'stem');
    t.units.forEach((u, i) => {
      const r = ref.units[i];
      close(u.input, r.input, `unit ${i} input`);
      close(u.output, r.output, `unit ${i} output`);
      // Masks may differ only where the float64 pre-activation is within float32 rounding of zero.
      for (const [mask, pre, what] of [[u.hiddenMask, r.hiddenPre, 'hidden'], [u.outputMask, r.outputPre, 'output']] as const) {
        assert.equal(mask.length, pre.length);
        for (let k = 0; k < pre.length; k++) {
          if (mask[k] !== (pre[k] > 0 ? 1 : 0)) assert.ok(Math.abs(pre[k]) < 1e-4, `unit ${i} ${what} mask ${k}: pre ${pre[k]}`);
        }
      }
    });
    close(t.logits, ref.logits, 'logits');
  });
});

test('non-finite pixels and wrong image sizes are one-line errors', async () => {
  const model = await loadModel('resnet56');
  const bad = pixelsFor([0]);
  bad[1500] = Number.NaN;
  await assert.rejects(predictLogits(model, bad), /^InputError: image 0 has a non-finite pixel \(NaN\) at offset 1500$/);
  await assert.rejects(predictLogits(model, new Float32Array(3000)), /multiple of 3x32x32 = 3072 values, got 3000/);
});
