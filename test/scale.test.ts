/** `scale`: accuracy under scaled alpha/beta against an independent float64 forward pass, and spectra moving. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageToFloat, loadCifar } from '../src/data/cifar.js';
import { loadModel } from '../src/model/load.js';
import { runCli } from './support/cli.js';
import { naiveForward, naiveNormalize } from './support/naive-resnet.js';
import { cifarTestFile, readReferenceJson } from './support/shared.js';

const argmax = (row: ArrayLike<number>) => Array.from(row).indexOf(Math.max(...Array.from(row)));

test('network-wide beta: accuracy equals that of a plain float64 forward pass; beta = 1 equals PyTorch', async () => {
  const result = await runCli(['scale', '--model', 'resnet56', '--param', 'beta', '--values', '1,0.9,1.2', '--limit', '20', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  assert.equal(out.parameter, 'beta');
  assert.equal(out.units, 'all');
  const reference = readReferenceJson<{ logits: number[][] }>('resnet56_logits_100.json');
  const baseline = reference.logits.slice(0, 20).filter((row, i) => argmax(row) === i % 10).length;
  assert.equal(out.accuracy[0].correct, baseline);
  const model = await loadModel('resnet56');
  const data = await loadCifar(cifarTestFile);
  for (const [k, beta] of [[1, 0.9], [2, 1.2]] as const) {
    let correct = 0;
    for (let i = 0; i < 20; i++) {
      const x = naiveNormalize(imageToFloat(data, i), model.normalization.mean, model.normalization.std);
      const logits = naiveForward(model.params, x, new Float64Array(27).fill(1), new Float64Array(27).fill(beta)).logits;
      if (argmax(logits) === data.labels[i]) correct++;
    }
    assert.equal(out.accuracy[k].value, beta);
    assert.equal(out.accuracy[k].correct, correct, `beta ${beta}`);
  }
});

test('beta = 0 in unit 3.9 leaves J = D_out: its singular values are all 1 or 0', async () => {
  const result = await runCli(['scale', '--model', 'resnet56', '--param', 'beta', '--values', '0', '--units', '3.9', '--limit', '10', '--spectrum-units', '3.9', '--spectrum-images', '5', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const [row] = JSON.parse(result.stdout).spectra;
  assert.equal(row.unit, 26);
  assert.equal(row.smax, 1);
  assert.equal(row.fractionOne + row.fractionZero, 1);
});

test('bad sweep arguments are one-line errors', async () => {
  for (const [args, pattern] of [
    [['--param', 'gamma', '--values', '1'], /argument 'gamma' is invalid/],
    [['--param', 'alpha', '--values', '1,x'], /--values must be comma-separated numbers/],
    [['--param', 'alpha', '--values', '1', '--units', '3.10'], /unit 3\.10 is out of range/],
  ] as [string[], RegExp][]) {
    const r = await runCli(['scale', '--model', 'resnet56', ...args]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
  }
});
