/**
 * The studies (stage, propagate, project, scale) for models of every family of issue 11, against
 * PyTorch float64 (test/fixtures/graph-study-pytorch.json, `scripts/make-graph-fixtures.py --study`):
 * one small network per family (CIFAR option A and B, pre-activation, WRN, torchvision basic and
 * bottleneck), built here from the fixture's weights and layer lists into a graph-only ResNetModel
 * with the fixture's input normalization.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { test } from 'node:test';
import { ResNetModel } from '../src/model/model.js';
import { firstOrderPropagation } from '../src/study/first-order.js';
import { crossEntropyGradient, crossEntropyGradient64, perturbImages } from '../src/study/perturbations.js';
import { projectPerturbations } from '../src/study/projection.js';
import { propagatePerturbations } from '../src/study/propagation.js';
import { scalingSweep } from '../src/study/scaling.js';
import { ONE_TOLERANCE, ZERO_TOLERANCE } from '../src/study/spectrum.js';
import { stageSpectrum } from '../src/study/stage.js';
import { runCli } from './support/cli.js';
import { f32, f64, graphOfFixture, type FixtureFamily } from './support/graph-fixture.js';
import { fixturePath } from './support/shared.js';

interface StudyFamily extends FixtureFamily {
  normalization: { mean: [number, number, number]; std: [number, number, number] };
  pixels: string;
  label: number;
  stage: { stage: number; rows: number; columns: number; singularValues: string };
  fgsm: { eps: number; perturbed: string; predClean: number; predPerturbed: number; relative: number[]; firstOrder: number[] };
  projection: { k: number; attack: string; rows: { unit: number; fraction: number; amplification: number }[] };
  scale: {
    parameter: 'beta'; unit: number; values: number[]; images: string; labels: number[];
    results: { value: number; logits: string; singularValues: string }[];
  };
}

const fixture = JSON.parse(readFileSync(fixturePath('graph-study-pytorch.json'), 'utf8')) as { families: StudyFamily[] };

function modelOf(family: StudyFamily): ResNetModel {
  return new ResNetModel(graphOfFixture(family), { name: family.name, normalization: family.normalization });
}

for (const family of fixture.families) {
  const model = modelOf(family);
  const pixels = f32(family.pixels);

  test(`${family.name}: stage ${family.stage.stage} full spectrum and top 5 equal PyTorch's (autograd Jacobian + svdvals) to 1e-9 s_max`, async () => {
    const want = f64(family.stage.singularValues);
    const full = await stageSpectrum(model, pixels, family.stage.stage, 'full');
    assert.deepEqual(full.shape, [family.stage.rows, family.stage.columns]);
    assert.equal(full.values!.length, want.length);
    full.values!.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-9 * want[0], `full ${i}: ${v} vs ${want[i]}`));
    const top = await stageSpectrum(model, pixels, family.stage.stage, 'topk', { k: 5 });
    top.values!.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-9 * want[0], `top ${i}: ${v} vs ${want[i]}`));
  });

  test(`${family.name}: FGSM image, predictions, relative perturbation per unit (1e-4) and its first-order prediction (1e-9) equal PyTorch's`, async () => {
    const { fgsm } = family;
    const options = { attack: 'fgsm' as const, eps: fgsm.eps };
    const perturbed = await perturbImages(model, pixels, [family.label], options);
    const want = f32(fgsm.perturbed);
    assert.equal(perturbed.length, want.length);
    let differ = 0;
    for (let i = 0; i < want.length; i++) if (perturbed[i] !== want[i]) differ++;
    assert.equal(differ, 0, `${differ} pixels differ from PyTorch's FGSM image`);
    const [result] = await propagatePerturbations(model, pixels, [family.label], ['fixture'], options, firstOrderPropagation);
    assert.equal(result.predClean, fgsm.predClean);
    assert.equal(result.predPerturbed, fgsm.predPerturbed);
    assert.equal(result.relative.length, family.units.length + 1);
    result.relative.forEach((v, k) => assert.ok(Math.abs(v - fgsm.relative[k]) <= 1e-4 * fgsm.relative[k], `relative ${k}: ${v} vs ${fgsm.relative[k]}`));
    result.firstOrder.forEach((v, k) => assert.ok(Math.abs(v - fgsm.firstOrder[k]) <= 1e-9 * fgsm.firstOrder[k], `first order ${k}: ${v} vs ${fgsm.firstOrder[k]}`));
  });

  test(`${family.name}: the FGSM perturbation entering each unit, projected on the unit's top right singular vectors, as PyTorch's (1e-3)`, async () => {
    const { projection } = family;
    const [result] = await projectPerturbations(model, pixels, family.label, 0, [{ attack: 'fgsm', eps: family.fgsm.eps }], projection.k);
    assert.equal(result.attack, 'fgsm');
    assert.equal(result.rows.length, projection.rows.length);
    result.rows.forEach((row, k) => {
      const want = projection.rows[k];
      assert.equal(row.unit, want.unit);
      // The entering perturbation is a difference of float32 trajectories (as for the paper's family).
      assert.ok(Math.abs(row.fraction - want.fraction) <= 1e-3 * want.fraction, `unit ${k} fraction: ${row.fraction} vs ${want.fraction}`);
      assert.ok(Math.abs(row.amplification - want.amplification) <= 1e-3 * want.amplification, `unit ${k} amplification: ${row.amplification} vs ${want.amplification}`);
    });
  });

  test(`${family.name}: scaling beta in one unit: accuracy and that unit's spectrum as PyTorch's`, async () => {
    const { scale } = family;
    const bytes = Buffer.from(scale.images, 'base64');
    const data = { count: scale.labels.length, labels: Uint8Array.from(scale.labels), pixels: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    const result = await scalingSweep(model, data, {
      parameter: 'beta', values: scale.values, units: [scale.unit], spectrumUnits: [scale.unit], spectrumImages: [0],
    });
    assert.deepEqual(result.units, [scale.unit]);
    scale.results.forEach((want, v) => {
      const logits = f64(want.logits);
      const classes = logits.length / data.count;
      let correct = 0;
      for (let i = 0; i < data.count; i++) {
        const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
        if (row.indexOf(Math.max(...row)) === scale.labels[i]) correct++;
      }
      assert.equal(result.accuracy[v].value, want.value);
      assert.equal(result.accuracy[v].correct, correct, `beta ${want.value}`);
      const values = f64(want.singularValues);
      const spectrum = result.spectra[v];
      assert.equal(spectrum.value, want.value);
      assert.ok(Math.abs(spectrum.smax - values[0]) <= 1e-9 * values[0], `beta ${want.value}: s_max ${spectrum.smax} vs ${values[0]}`);
      assert.equal(spectrum.fractionZero, values.filter((x) => x < ZERO_TOLERANCE).length / values.length);
      assert.equal(spectrum.fractionOne, values.filter((x) => Math.abs(x - 1) < ONE_TOLERANCE).length / values.length);
    });
  });

  test(`${family.name}: the tfjs pixel gradient of the graph forward (PGD's) equals the float64 J^T gradient to 1e-4`, async () => {
    const batch = new Float32Array(2 * pixels.length);
    batch.set(pixels);
    batch.set(f32(family.fgsm.perturbed), pixels.length);
    const labels = [family.label, (family.label + 1) % 10];
    const f32Gradient = await crossEntropyGradient(model, batch, labels);
    const f64Gradient = await crossEntropyGradient64(model, batch, labels);
    let diff = 0;
    let size = 0;
    // tfjs' loss is the mean over the batch: its gradient is each image's divided by the batch size.
    for (let i = 0; i < batch.length; i++) {
      diff = Math.max(diff, Math.abs(labels.length * f32Gradient[i] - f64Gradient[i]));
      size = Math.max(size, Math.abs(f64Gradient[i]));
    }
    assert.ok(size > 0 && diff <= 1e-4 * size, `max difference ${diff} of max ${size}`);
  });
}

test('stage on an imported family checkpoint: Lanczos equals the full spectrum, and a missing stage is refused naming the stages', async () => {
  const model = fixturePath('families/wrn.pt');
  const run = async (args: string[]) => {
    const result = await runCli(['stage', '--model', model, '--image', '0', ...args, '--json']);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  const top = await run(['--stage', '3', '--method', 'topk', '--k', '4']);
  const full = await run(['--stage', '3', '--method', 'full']);
  assert.deepEqual(top.shape, full.shape);
  top.values.forEach((v: number, i: number) => assert.ok(Math.abs(v - full.values[i]) <= 1e-9 * full.values[0], `rank ${i}: ${v} vs ${full.values[i]}`));
  const bad = await runCli(['stage', '--model', model, '--image', '0', '--stage', '7', '--json']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /stage "?7"? is out of range.*stages 1, 2, 3/);
});

test('propagate on an imported torchvision checkpoint (PGD through the tfjs graph gradients, worker pool): one value per unit and the first-order prediction close at the stem', async () => {
  const result = await runCli(['propagate', '--model', fixturePath('families/tv-basic.pt'), '--images', '0-1', '--attack', 'pgd', '--eps', '0.01', '--steps', '2', '--workers', '2', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  assert.equal(out.results.length, 2);
  for (const r of out.results) {
    assert.equal(r.relative.length, r.firstOrder.length);
    assert.ok(r.relative.length >= 2);
    r.relative.forEach((v: number) => assert.ok(v > 0 && v < 10, `relative ${v}`));
    assert.ok(Math.abs(r.firstOrder[0] - r.relative[0]) <= 0.2 * r.relative[0], `stem: ${r.firstOrder[0]} vs ${r.relative[0]}`);
  }
});

test('bad inputs for a graph model: images of another size, data of another size, a first-order call without the image', async () => {
  const family = fixture.families[0];
  const model = modelOf(family);
  const [c, h, w] = model.inputShape;
  const wrong = new Float32Array(3 * 32 * 32).fill(0.5);
  assert.notEqual(wrong.length, c * h * w);
  await assert.rejects(perturbImages(model, wrong.subarray(0, c * h * w - 1), [0], { attack: 'fgsm', eps: 0.01 }), /must be a multiple of 3x16x16 = 768 values, got 767/);
  await assert.rejects(stageSpectrum(model, wrong, 2, 'topk'), /must be 3x16x16 = 768 values, got 3072/);
  const data = { count: 1, labels: Uint8Array.of(0), pixels: new Uint8Array(3072) };
  await assert.rejects(scalingSweep(model, data, { parameter: 'beta', values: [1] }), /not 3x16x16 .*the input of cifar-a/);
  await assert.rejects(firstOrderPropagation(model, undefined as never, new Float64Array(c * h * w)), /needs the clean image's pixels/);
});

test('scale and project on imported checkpoints of other families: units by stage.unit, accuracy per value, projections per unit', async () => {
  const scale = await runCli(['scale', '--model', fixturePath('families/tv-basic.pt'), '--param', 'beta', '--values', '0.5,1', '--units', '1.1',
    '--limit', '20', '--spectrum-units', '1.1', '--workers', '1', '--json']);
  assert.equal(scale.code, 0, scale.stderr);
  const swept = JSON.parse(scale.stdout);
  assert.deepEqual(swept.units, [0]);
  assert.deepEqual(swept.accuracy.map((a: { images: number }) => a.images), [20, 20]);
  assert.equal(swept.spectra.length, 2);
  assert.ok(swept.spectra.every((s: { smax: number }) => s.smax > 0));
  const project = await runCli(['project', '--model', fixturePath('families/preact-bn.pt'), '--images', '0', '--eps', '0.01', '--k', '3', '--json']);
  assert.equal(project.code, 0, project.stderr);
  const [result] = JSON.parse(project.stdout).results;
  assert.deepEqual(result.attacks.map((a: { attack: string }) => a.attack), ['fgsm', 'gaussian']);
  for (const attack of result.attacks) {
    assert.ok(attack.rows.length >= 2);
    for (const row of attack.rows) assert.ok(row.fraction >= 0 && row.fraction <= 1 + 1e-12, `unit ${row.unit}: ${row.fraction}`);
  }
});

test('scale reads an image folder at the model size: the same accuracy as the same images from the CIFAR file', async () => {
  // CIFAR sample images 0-9 have classes 0-9: written as PNGs into folders c0..c9 (sorted: labels 0..9).
  const sample = readFileSync(fixturePath('../../data/cifar10-sample/test_batch_1000.bin'));
  const root = mkdtempSync(join(tmpdir(), 'rs-scale-folder-'));
  try {
    for (let i = 0; i < 10; i++) {
      const record = sample.subarray(i * 3073, (i + 1) * 3073);
      const image = new PNG({ width: 32, height: 32 });
      for (let p = 0; p < 1024; p++) {
        for (let c = 0; c < 3; c++) image.data[4 * p + c] = record[1 + c * 1024 + p];
        image.data[4 * p + 3] = 255;
      }
      mkdirSync(join(root, `c${record[0]}`), { recursive: true });
      writeFileSync(join(root, `c${record[0]}`, `${i}.png`), PNG.sync.write(image));
    }
    const run = async (data: string) => {
      const result = await runCli(['scale', '--model', fixturePath('families/tv-basic.pt'), '--data', data, '--param', 'alpha', '--values', '0.5,1',
        '--limit', '10', '--workers', '1', '--json']);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout).accuracy;
    };
    const fromFolder = await run(root);
    assert.deepEqual(fromFolder.map((a: { images: number }) => a.images), [10, 10]);
    assert.deepEqual(fromFolder, await run(fixturePath('../../data/cifar10-sample/test_batch_1000.bin')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
