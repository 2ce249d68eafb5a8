/**
 * `import` on the families' tiny checkpoints (scripts/make-family-checkpoints.py) through the built
 * CLI: what it reports, the options recorded in model.json, --safetensors-out, predict on the result
 * against PyTorch's logits, and every bad option or weight refused with one line and nothing written.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { PNG } from 'pngjs';
import { readStateDict } from '../src/model/checkpoint/torch.js';
import { writeSafetensors } from '../src/model/safetensors.js';
import { runCli } from './support/cli.js';

const DIR = new URL('./fixtures/families/', import.meta.url);
const fixture = (file: string) => fileURLToPath(new URL(file, DIR));
const INDEX = JSON.parse(readFileSync(new URL('families.json', DIR), 'utf8')) as { checkpoints: Record<string, { logits: number[][] }> };
const tmp = mkdtempSync(join(tmpdir(), 'import-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('import reports what it recognised, records the options, writes safetensors that import the same', async () => {
  const out = join(tmp, 'wrn');
  const st = join(tmp, 'wrn.safetensors');
  const classes = join(tmp, 'classes.txt');
  writeFileSync(classes, 'c0\nc1\nc2\nc3\nc4\nc5\nc6\nc7\nc8\nc9\n');
  const result = await runCli(['import', fixture('wrn.pt'), '--out', out, '--json', '--safetensors-out', st, '--classes', classes]);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.deepEqual(report.recognised, {
    family: 'wide-resnet', depth: 16, widths: [8, 16, 32], unitsPerStage: [2, 2, 2], shortcut: 'conv', block: 'basic', classes: 10, inputShape: [3, 32, 32],
  });
  assert.equal(report.formatVersion, 2);
  assert.equal(report.classes[9], 'c9');
  const predict = await runCli(['predict', '--model', out, '--images', '0-2', '--json']);
  assert.equal(predict.code, 0, predict.stderr);
  const logits: number[][] = JSON.parse(predict.stdout).logits;
  const reference = INDEX.checkpoints.wrn!.logits;
  const scale = Math.max(...reference.flat().map(Math.abs));
  logits.forEach((row, i) => row.forEach((v, k) => assert.ok(Math.abs(v - reference[i]![k]!) <= 1e-4 * scale, `image ${i} class ${k}`)));
  const viaSafetensors = await runCli(['predict', '--model', st, '--images', '0-2', '--json']);
  assert.equal(viaSafetensors.code, 0, viaSafetensors.stderr);
  assert.deepEqual(JSON.parse(viaSafetensors.stdout).logits, logits);

  const custom = join(tmp, 'custom');
  const text = await runCli(['import', fixture('tv-basic.pt'), '--out', custom, '--mean', '0.5,0.5,0.5', '--std', '0.25,0.25,0.25', '--input-size', '64x48']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stderr, /^recognised torchvision-resnet, depth 12, basic blocks, widths 8-16-32-64 \(2-1-1-1 units\), option-B \(1x1 conv \+ BN\) shortcuts, 10 classes, input 3x64x48$/m);
  const json = JSON.parse(readFileSync(join(custom, 'model.json'), 'utf8'));
  assert.deepEqual(json.normalization, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], inputRange: [0, 1] });
  assert.deepEqual(json.architecture.inputShape, [3, 64, 48]);

  // An image folder of 64-high, 48-wide PNGs feeds that model; labels are the sorted class folders.
  const folder = join(tmp, 'folder');
  for (const [cls, seed] of [['dog', 1], ['cat', 2]] as const) {
    mkdirSync(join(folder, cls), { recursive: true });
    const image = new PNG({ width: 48, height: 64 });
    for (let i = 0; i < image.data.length; i++) image.data[i] = i % 4 === 3 ? 255 : (i * seed) % 256;
    writeFileSync(join(folder, cls, 'x.png'), PNG.sync.write(image));
  }
  const viaFolder = await runCli(['predict', '--model', custom, '--data', folder, '--images', '0-1', '--json']);
  assert.equal(viaFolder.code, 0, viaFolder.stderr);
  const predicted = JSON.parse(viaFolder.stdout);
  assert.deepEqual(predicted.images, [0, 1]);
  assert.equal(predicted.logits.length, 2);
  assert.equal(predicted.logits[0].length, 10);
  assert.ok(predicted.logits.flat().every(Number.isFinite));
});

test('--measure-accuracy of a CIFAR-100 model on a CIFAR-100 test.bin counts what PyTorch predicts', async () => {
  // Sample images 0-2 as CIFAR-100 records labelled with PyTorch's argmax, except image 2 (argmax + 1).
  const sample = readFileSync(fileURLToPath(new URL('../data/cifar10-sample/test_batch_1000.bin', import.meta.url)));
  const reference = INDEX.checkpoints['cifar-b']!.logits;
  const argmax = reference.map((row) => row.indexOf(Math.max(...row)));
  const records = new Uint8Array(3 * 3074);
  argmax.forEach((label, i) => {
    records[i * 3074] = 3;
    records[i * 3074 + 1] = i === 2 ? (label + 1) % 100 : label;
    records.set(sample.subarray(i * 3073 + 1, (i + 1) * 3073), i * 3074 + 2);
  });
  mkdirSync(join(tmp, 'c100'));
  const testBin = join(tmp, 'c100', 'test.bin');
  writeFileSync(testBin, records);
  const out = join(tmp, 'cifar-b');
  const result = await runCli(['import', fixture('cifar-b.pt'), '--out', out, '--measure-accuracy', testBin, '--json']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout).accuracy, { dataset: 'CIFAR-100 test set (test.bin)', images: 3, correct: 2, top1: 2 / 3 });
  assert.equal(JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')).classes[99], 'worm');
});

test('import of the paper family still writes formatVersion 1', async () => {
  const out = join(tmp, 'r8');
  const result = await runCli(['import', fileURLToPath(new URL('./fixtures/checkpoints/resnet8-legacy.th', import.meta.url)), '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /^recognised cifar-resnet, depth 8, basic blocks, widths 16-32-64 \(1-1-1 units\), option-A shortcuts, 10 classes, input 3x32x32$/m);
  assert.equal(JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')).formatVersion, 1);
});

test('bad options (exit 2) and bad weights (exit 1): one line, nothing written', async (t) => {
  const nanDict = readStateDict(new Uint8Array(readFileSync(fixture('cifar-a.pt'))), 'cifar-a.pt');
  nanDict.get('layer1.0.bn2.running_var')!.data[2] = -1;
  const badVar = join(tmp, 'bad-var.safetensors');
  writeFileSync(badVar, writeSafetensors(nanDict));
  const infDict = readStateDict(new Uint8Array(readFileSync(fixture('cifar-a.pt'))), 'cifar-a.pt');
  infDict.get('linear.weight')!.data[0] = Infinity;
  const badInf = join(tmp, 'bad-inf.safetensors');
  writeFileSync(badInf, writeSafetensors(infDict));
  const never = join(tmp, 'never');
  const neverSt = join(tmp, 'never.safetensors');
  const cases: [string, string[], number, RegExp][] = [
    ['unknown --arch', ['--arch', 'vgg'], 2, /--arch must be one of cifar-resnet, preact-resnet, wide-resnet, torchvision-resnet, got "vgg"/],
    ['short --mean', ['--mean', '0.5,0.5'], 2, /--mean must be three finite numbers a,b,c, got "0.5,0.5"/],
    ['NaN --mean', ['--mean', 'a,b,c'], 2, /--mean must be three finite numbers/],
    ['zero --std', ['--std', '1,0,1'], 2, /--std must be three positive numbers a,b,c, got "1,0,1"/],
    ['bad --input-size', ['--input-size', '0x32'], 2, /--input-size must be HxW with sides 1\.\.4096/],
    ['huge --input-size', ['--input-size', '99999x2'], 2, /--input-size must be HxW/],
    ['wrong --arch', ['--arch', 'wide-resnet'], 1, /cifar-a\.pt: not a Wide ResNet checkpoint: missing key block1\.layer\.0\.conv1\.weight, unexpected key conv1\.weight/],
    ['accuracy of a 100-class model', ['--measure-accuracy'], 2, /--measure-accuracy evaluates on CIFAR-10/],
  ];
  for (const [name, args, code, pattern] of cases) {
    await t.test(name, async () => {
      const file = name.startsWith('accuracy') ? fixture('cifar-b.pt') : fixture('cifar-a.pt');
      const r = await runCli(['import', file, '--out', never, '--safetensors-out', neverSt, ...args]);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('resnet-stability:')).length, 1);
    });
  }
  for (const [file, pattern] of [
    [badVar, /bad-var\.safetensors: layer1\.0\.bn2\.running_var is -1 at channel 2; batch-norm variances must be positive/],
    [badInf, /bad-inf\.safetensors: linear\.weight holds Infinity at element 0; weights must be finite/],
  ] as const) {
    const r = await runCli(['import', file, '--out', never, '--safetensors-out', neverSt]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, pattern);
  }
  assert.equal(existsSync(never), false);
  assert.equal(existsSync(neverSt), false);
});
