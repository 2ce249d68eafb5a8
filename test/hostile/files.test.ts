/**
 * Only regular files are read (a device or FIFO can block or never end), and a model directory's
 * manifest names only files inside that directory.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCifar } from '../../src/data/cifar.js';
import { loadImage } from '../../src/data/image.js';
import { loadModel } from '../../src/model/load.js';
import { cliFails, rejectsInput, tempDir } from './support.js';

const shippedModel = new URL('../../models/resnet56/', import.meta.url);
const mkfifo = (path: string): string => {
  execFileSync('mkfifo', [path]);
  return path;
};

/** A copy of the shipped ResNet-56 directory whose model.json names `paths` (default: weights.bin copied). */
function modelDir(root: string, paths?: string[]): string {
  const dir = join(root, `model-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  const json = JSON.parse(readFileSync(new URL('model.json', shippedModel), 'utf8'));
  if (paths) json.weightsManifest[0].paths = paths;
  else copyFileSync(new URL('weights.bin', shippedModel), join(dir, 'weights.bin'));
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  return dir;
}

test('--data /dev/zero is refused as a character device', async () => {
  await rejectsInput(() => loadCifar('/dev/zero'), /^\/dev\/zero: not a regular file \(a character device\)$/);
  await rejectsInput(() => loadImage('/dev/zero'), /^\/dev\/zero: not a regular file \(a character device\)$/);
});

test('a FIFO as data, image, checkpoint or weights file is refused without waiting for a writer', async () => {
  const dir = tempDir();
  const fifo = mkfifo(join(dir, 'fifo.bin'));
  await rejectsInput(() => loadCifar(fifo), /fifo\.bin: not a regular file \(a FIFO\)$/);
  await rejectsInput(() => loadImage(mkfifo(join(dir, 'fifo.png'))), /fifo\.png: not a regular file \(a FIFO\)$/);
  await rejectsInput(() => loadModel(mkfifo(join(dir, 'fifo.th'))), /^model .*fifo\.th: not a regular file \(a FIFO\)$/);
  const model = modelDir(dir, ['weights.bin']);
  mkfifo(join(model, 'weights.bin'));
  await rejectsInput(() => loadModel(model), /model\.json: weights file weights\.bin: not a regular file \(a FIFO\)$/);
  const json = join(dir, 'fifo-model');
  mkdirSync(json);
  mkfifo(join(json, 'model.json'));
  await rejectsInput(() => loadModel(json), /fifo-model\/model\.json: not a regular file \(a FIFO\)$/);
});

test('CLI: --data /dev/zero and a FIFO checkpoint exit 1 at once', async () => {
  const dir = tempDir();
  await cliFails(['eval', '--model', 'resnet56', '--data', '/dev/zero', '--quiet'], 1, /\/dev\/zero: not a regular file \(a character device\)/, { unchanged: dir });
  const fifo = mkfifo(join(dir, 'fifo.th'));
  await cliFails(['import', fifo, '--out', join(dir, 'out')], 1, /fifo\.th: not a regular file \(a FIFO\)/, { unchanged: dir });
  await cliFails(['predict', '--model', fifo, '--images', '0'], 1, /fifo\.th: not a regular file \(a FIFO\)/, { unchanged: dir });
});

test('a manifest naming ../ or an absolute path is refused', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'secret.bin'), new Uint8Array(16));
  await rejectsInput(() => loadModel(modelDir(dir, ['../secret.bin'])), /model\.json: weights file \.\.\/secret\.bin is outside the model directory$/);
  await rejectsInput(() => loadModel(modelDir(dir, [join(dir, 'secret.bin')])), /model\.json: weights file \/.*secret\.bin is outside the model directory$/);
  await rejectsInput(() => loadModel(modelDir(dir, ['.'])), /model\.json: weights file \. is outside the model directory$/);
});

test('a weights file that is a symlink leaving the directory is refused; one inside it is followed', async () => {
  const dir = tempDir();
  copyFileSync(new URL('weights.bin', shippedModel), join(dir, 'outside.bin'));
  const escaping = modelDir(dir, ['weights.bin']);
  symlinkSync(join(dir, 'outside.bin'), join(escaping, 'weights.bin'));
  await rejectsInput(() => loadModel(escaping), /model\.json: weights file weights\.bin links outside the model directory$/);
  const inside = modelDir(dir, ['link.bin']);
  copyFileSync(new URL('weights.bin', shippedModel), join(inside, 'real.bin'));
  symlinkSync('real.bin', join(inside, 'link.bin'));
  const model = await loadModel(inside);
  assert.equal(model.params.depth, 56);
});

test('a manifest whose shape is not a list names the field', async () => {
  const dir = tempDir();
  const model = modelDir(dir);
  const json = JSON.parse(readFileSync(join(model, 'model.json'), 'utf8'));
  json.weightsManifest[0].weights[3].shape = 16;
  writeFileSync(join(model, 'model.json'), JSON.stringify(json));
  await rejectsInput(() => loadModel(model), /model\.json: bn1\.running_mean: shape 16 is not a list of at most 8 non-negative integers$/);
  json.weightsManifest[0].weights[3].shape = [1e9, 1e9];
  writeFileSync(join(model, 'model.json'), JSON.stringify(json));
  await rejectsInput(() => loadModel(model), /model\.json: the manifest describes more than 536870912 bytes of weights$/);
});

test('CLI: compare refuses a report.json that is a FIFO, a directory or far too large, without reading it', async () => {
  const dir = tempDir();
  const reports = ['fifo', 'folder', 'huge'].map((name) => join(dir, name));
  for (const r of reports) mkdirSync(r);
  mkfifo(join(reports[0]!, 'report.json'));
  mkdirSync(join(reports[1]!, 'report.json'));
  // Sparse: 300 MiB on paper, nothing on disk.
  execFileSync('truncate', ['-s', `${300 * 2 ** 20}`, join(reports[2]!, 'report.json')]);
  const out = join(dir, 'out');
  await cliFails(['compare', reports[0]!, reports[1]!, '--out', out], 1, /fifo\/report\.json: not a regular file \(a FIFO\)$/, { unchanged: dir });
  await cliFails(['compare', reports[1]!, reports[0]!, '--out', out], 1, /folder\/report\.json: not a regular file \(a directory\)$/, { unchanged: dir });
  await cliFails(['compare', reports[2]!, reports[0]!, '--out', out], 1, /huge\/report\.json: 314572800 bytes, more than the 268435456 such a file may have$/, { unchanged: dir });
});

test('scale on an image folder of 257 classes is refused before any image is decoded (labels are bytes)', async () => {
  const root = join(tempDir(), 'folder');
  // Empty "images": decoding any of them would fail with another message, so the class count is checked first.
  for (let c = 0; c < 257; c++) {
    mkdirSync(join(root, `class${String(c).padStart(3, '0')}`), { recursive: true });
    writeFileSync(join(root, `class${String(c).padStart(3, '0')}`, 'a.png'), '');
  }
  const model = new URL('../fixtures/families/tv-basic.pt', import.meta.url).pathname;
  await cliFails(['scale', '--model', model, '--data', root, '--param', 'alpha', '--values', '1', '--workers', '1'], 2, /folder: 257 classes; scale reads at most 256$/, { unchanged: root });
});
