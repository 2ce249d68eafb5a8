/** The CLI end to end (built bin), against PyTorch references, including every bad-input case. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { strToU8, zipSync } from 'fflate';
import { PNG } from 'pngjs';
import { runCli, type CliResult } from './support/cli.js';
import { CHECKPOINT_FIXTURES, checkpointFixture, cifarTestFile, readReferenceJson, repoRoot } from './support/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'rs-cli-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

interface ReferenceLogits {
  images: number[];
  logits: number[][];
}
const reference = readReferenceJson<ReferenceLogits>('resnet56_logits_100.json');
const argmax = (row: number[]) => row.indexOf(Math.max(...row));
const cifarLabel = (i: number) => i % 10; // test/fixtures/README.md: image i has class i mod 10

function assertOneLineFailure(result: CliResult, pattern: RegExp): void {
  assert.notEqual(result.code, 0, `expected failure, got exit 0; stdout: ${result.stdout}`);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `stderr has ${lines.length} lines: ${result.stderr}`);
  assert.match(lines[0], pattern);
}

test('eval --json on the first 100 images counts what PyTorch float64 logits predict', async () => {
  const result = await runCli(['eval', '--model', 'resnet56', '--limit', '100', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  const correct = reference.logits.filter((row, i) => argmax(row) === cifarLabel(i)).length;
  const { data, ...rest } = out;
  assert.deepEqual(rest, { model: 'resnet56', images: 100, correct, accuracy: correct / 100 });
  assert.deepEqual(data, { file: cifarTestFile, origin: 'environment', images: readFileSync(cifarTestFile).length / 3073 });
});

test('offline, with no data given, no variable and no cache, the shipped 1,000-image sample is used and named', async () => {
  const env = { RESNET_STABILITY_DATA: undefined, XDG_CACHE_HOME: join(tmp, 'empty-cache') };
  const sample = join(repoRoot, 'data/cifar10-sample/test_batch_1000.bin');
  const json = await runCli(['eval', '--model', 'resnet56', '--limit', '20', '--json'], env);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout).data, { file: sample, origin: 'sample', images: 1000 });
  const text = await runCli(['predict', '--model', 'resnet56', '--images', '999'], env);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stderr, new RegExp(`^data: ${sample} \\(1000 images, the CIFAR-10 sample shipped with the package, the first 1000 test images; --data cifar10 for the full set\\)$`, 'm'));
  assert.match(text.stdout, /^999: .* \(label truck\)/);
  assert.equal(existsSync(join(tmp, 'empty-cache')), false, 'nothing is downloaded');
});

test('predict --json returns the reference logits and predictions', async () => {
  const result = await runCli(['predict', '--model', 'resnet56', '--data', cifarTestFile, '--images', '0-9,15', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  const ids = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15];
  assert.equal(out.model, 'resnet56');
  assert.deepEqual(out.images, ids);
  assert.deepEqual(out.predictions, ids.map((i) => argmax(reference.logits[i])));
  out.logits.forEach((row: number[], k: number) => {
    assert.equal(row.length, 10);
    row.forEach((v, c) => assert.ok(Math.abs(v - reference.logits[ids[k]][c]) <= 2e-4));
  });
});

test('predict accepts 32x32 PNG files and matches the CIFAR path for the same pixels', async () => {
  const bytes = readFileSync(cifarTestFile).subarray(0, 3073);
  const png = new PNG({ width: 32, height: 32 });
  for (let p = 0; p < 1024; p++) {
    for (let c = 0; c < 3; c++) png.data[4 * p + c] = bytes[1 + c * 1024 + p];
    png.data[4 * p + 3] = 255;
  }
  const file = join(tmp, 'img0.png');
  writeFileSync(file, PNG.sync.write(png));
  const result = await runCli(['predict', '--model', 'resnet56', '--data', file, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  assert.deepEqual(out.images, [file]);
  out.logits[0].forEach((v: number, c: number) => assert.ok(Math.abs(v - reference.logits[0][c]) <= 2e-4));
});

test('import writes a model directory that eval and predict use, with the logits PyTorch computes', async () => {
  // A legacy-format ResNet-8 with PyTorch's float64 logits for images 0-4 (test/fixtures/make-checkpoints.py).
  const checkpoint = checkpointFixture('resnet8-legacy.th');
  const expected = CHECKPOINT_FIXTURES['resnet8-legacy.th'];
  const out = join(tmp, 'r8');
  const imported = await runCli(['import', checkpoint, '--out', out]);
  assert.equal(imported.code, 0, imported.stderr);
  const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  assert.equal(json.architecture.depth, 8);
  assert.equal(json.name, 'resnet8-legacy');
  const viaDir = await runCli(['predict', '--model', out, '--images', '0-4', '--json']);
  const viaCheckpoint = await runCli(['predict', '--model', checkpoint, '--images', '0-4', '--json']);
  assert.equal(viaDir.code, 0, viaDir.stderr);
  assert.equal(viaCheckpoint.code, 0, viaCheckpoint.stderr);
  const logits: number[][] = JSON.parse(viaDir.stdout).logits;
  assert.deepEqual(logits, JSON.parse(viaCheckpoint.stdout).logits);
  logits.forEach((row, i) => row.forEach((v, c) => assert.ok(Math.abs(v - expected.logits[i]![c]!) <= 2e-4, `image ${i} class ${c}: ${v}`)));
});

test('bad input: one line on stderr, non-zero exit, nothing written', async (t) => {
  const empty = join(tmp, 'empty.bin');
  writeFileSync(empty, new Uint8Array(0));
  const ragged = join(tmp, 'ragged.bin');
  writeFileSync(ragged, new Uint8Array(3073 * 2 + 100));
  const truncated = join(tmp, 'truncated.th');
  writeFileSync(truncated, readFileSync(checkpointFixture('resnet14-zip.th')).subarray(0, 100000));
  const small = new PNG({ width: 31, height: 32 });
  small.data.fill(255);
  const smallPng = join(tmp, 'small.png');
  writeFileSync(smallPng, PNG.sync.write(small));
  const gray = new PNG({ width: 32, height: 32, colorType: 0 });
  gray.data.fill(128);
  const grayPng = join(tmp, 'gray.png');
  writeFileSync(grayPng, PNG.sync.write(gray, { colorType: 0 }));
  const notDict = join(tmp, 'list.th');
  // A zip checkpoint whose pickle is a list ([]), not a state dict.
  writeFileSync(notDict, zipSync({ 'list/data.pkl': new Uint8Array([0x80, 0x02, 0x5d, 0x71, 0x00, 0x2e]), 'list/byteorder': strToU8('little') }));

  const cases: [string, string[], RegExp][] = [
    ['missing model file', ['eval', '--model', join(tmp, 'nope.th')], /no such file or directory/],
    ['truncated checkpoint', ['eval', '--model', truncated], /truncated\.th: truncated or corrupt zip archive/],
    ['pickle that is not a state dict', ['eval', '--model', notDict], /list\.th: .*not a state dict/],
    ['not a checkpoint', ['import', join(repoRoot, 'LICENSE'), '--out', join(tmp, 'never')], /LICENSE: not a PyTorch checkpoint/],
    ['missing data file', ['eval', '--model', 'resnet56', '--data', join(tmp, 'none.bin')], /none\.bin: no such file or directory/],
    ['empty data file', ['eval', '--model', 'resnet56', '--data', empty], /empty\.bin: file is empty/],
    ['data not a multiple of 3073', ['eval', '--model', 'resnet56', '--data', ragged], /ragged\.bin: length 6246 is not a multiple of the 3073-byte/],
    ['wrong image size', ['predict', '--model', 'resnet56', '--data', smallPng], /small\.png: .*31x32/],
    ['wrong channel count', ['predict', '--model', 'resnet56', '--data', grayPng], /gray\.png: expected 3 color channels/],
    ['image index out of range', ['predict', '--model', 'resnet56', '--images', '10000'], /--images.*10000/],
    ['bad --limit', ['eval', '--model', 'resnet56', '--limit', 'ten'], /--limit must be a positive integer/],
    ['bad --threads', ['spectrum', '--model', 'resnet56', '--unit', '3.1', '--threads', '0'], /--threads must be a positive integer, got "0"/],
    ['unknown option', ['eval', '--model', 'resnet56', '--bogus'], /unknown option '--bogus'/],
  ];
  for (const [name, args, pattern] of cases) {
    await t.test(name, async () => assertOneLineFailure(await runCli(args), pattern));
  }
  assert.equal(existsSync(join(tmp, 'never')), false, 'a failed import must not create its output directory');
});
