/**
 * The studies (stage, propagate, project, scale) for models of every family of issue 11, against
 * PyTorch float64 (test/fixtures/graph-study-pytorch.json, `scripts/make-graph-fixtures.py --study`):
 * one small network per family (CIFAR option A and B, pre-activation, WRN, torchvision basic and
 * bottleneck), built here from the fixture's weights and layer lists into a graph-only ResNetModel
 * with the fixture's input normalization.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ResNetModel } from '../src/model/model.js';
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
