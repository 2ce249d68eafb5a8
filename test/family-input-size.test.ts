/**
 * The CLI contract on a model whose input is not 32x32 (issue 11's 224x224 torchvision case, at a size
 * CI can afford): tv-basic.pt imported with --input-size 64x64, a 64x64 PNG, and predict / spectrum
 * full / spectrum topk against PyTorch float64 (test/fixtures/families/size64.json,
 * scripts/make-family-size-fixture.py). The full-size runs are recorded in BENCHMARKS.md (bench/family.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { runCli } from './support/cli.js';

const DIR = new URL('./fixtures/families/', import.meta.url);
const fixture = (file: string) => fileURLToPath(new URL(file, DIR));
const REF = JSON.parse(readFileSync(new URL('size64.json', DIR), 'utf8')) as {
  logits: number[]; spectra: Record<string, { shape: [number, number]; values: number[] }>;
};
const tmp = mkdtempSync(join(tmpdir(), 'family-size-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('a 64x64 torchvision-named model: predict, spectrum full and topk on a 64x64 PNG equal PyTorch', async () => {
  const model = join(tmp, 'tv64');
  const imported = await runCli(['import', fixture('tv-basic.pt'), '--out', model, '--input-size', '64x64', '--json']);
  assert.equal(imported.code, 0, imported.stderr);
  assert.deepEqual(JSON.parse(imported.stdout).recognised.inputShape, [3, 64, 64]);
  const png = fixture('size64-cifar0.png');

  const predict = await runCli(['predict', '--model', model, '--data', png, '--json']);
  assert.equal(predict.code, 0, predict.stderr);
  const logits: number[] = JSON.parse(predict.stdout).logits[0];
  const scale = Math.max(...REF.logits.map(Math.abs));
  logits.forEach((v, k) => assert.ok(Math.abs(v - REF.logits[k]!) <= 1e-4 * scale, `logit ${k}: ${v} vs ${REF.logits[k]}`));

  for (const label of ['1.1', '2.1']) {
    const ref = REF.spectra[label]!;
    const valuesFile = join(tmp, `${label}.f64`);
    const full = await runCli(['spectrum', '--model', model, '--data', png, '--image', '0', '--unit', label, '--values-out', valuesFile, '--json']);
    assert.equal(full.code, 0, full.stderr);
    assert.deepEqual(JSON.parse(full.stdout).shape, ref.shape);
    const bytes = readFileSync(valuesFile);
    const values = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    assert.equal(values.length, Math.min(...ref.shape));
    const worst = Math.max(...Array.from(values, (s, i) => Math.abs(s - ref.values[i]!)));
    assert.ok(worst <= 1e-10 * ref.values[0]!, `unit ${label}: largest difference ${worst} (s_max ${ref.values[0]})`);
  }

  const top = await runCli(['spectrum', '--model', model, '--data', png, '--image', '0', '--unit', '1.1', '--method', 'topk', '--k', '5', '--json']);
  assert.equal(top.code, 0, top.stderr);
  const result = JSON.parse(top.stdout).results[0];
  assert.deepEqual(result.shape, REF.spectra['1.1']!.shape);
  const ref = REF.spectra['1.1']!.values;
  result.values.forEach((s: number, i: number) => assert.ok(Math.abs(s - ref[i]!) <= 1e-9 * ref[0]!, `top ${i}: ${s} vs ${ref[i]}`));

  // A 32x32 image for this 64x64 model: one line naming the file and both sizes, exit 1.
  const small = await runCli(['spectrum', '--model', model, '--image', '0', '--unit', '1.1', '--method', 'topk', '--k', '2', '--data', fixture('../gray-32x32.jpg')]);
  assert.equal(small.code, 1);
  assert.match(small.stderr, /gray-32x32\.jpg: .*32x32.*expected 64x64/);
  assert.equal(small.stderr.trim().split('\n').length, 1);
});
