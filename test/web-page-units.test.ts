/**
 * The demo page's parts that run without a browser: input checks, the figures' data and their compiled
 * Vega specs, the .tar.gz reader and models from chosen files.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gzipSync } from 'fflate';
import * as vega from 'vega';
import { InputError } from '../src/util/errors.js';
import { ARCHIVE_MEMBER, testBatchFromArchive } from '../src/web/cifar-archive.js';
import {
  binCounts, histogramData, histogramEdges, PAGE_FIGURES, probabilitiesData, propagationData, referenceLines, spectrumData, type FigureData,
} from '../src/web/figures.js';
import { loadModel } from '../src/model/load.js';
import { modelFromFiles, readModelFiles, type PickedFile } from '../src/web/model-files.js';
import { checkFileSize, checkPageInputs, FILE_LIMITS } from '../src/web/page-inputs.js';
import { VEGA_SPECS } from '../web/vega-specs.js';
import { imageToFloat, readCifarBatch } from '../src/data/cifar.js';
import { resizeBilinear } from '../src/web/resize-image.js';
import { imageDimensions } from '../src/data/image.js';
import { fixturePath } from './support/shared.js';

const LABELS = Array.from({ length: 27 }, (_, i) => `${Math.floor(i / 9) + 1}.${(i % 9) + 1}`);

test('page inputs: good values pass, each bad one is named with the limits the page shows', () => {
  assert.deepEqual(checkPageInputs({ k: ' 5 ', eps: '0.00392', unit: '3.3' }, LABELS), { k: 5, eps: 0.00392, unit: '3.3' });
  assert.deepEqual(checkPageInputs({ k: '50', eps: '1', unit: '1.1' }, LABELS), { k: 50, eps: 1, unit: '1.1' });
  const error = (k: string, eps: string, unit = '3.3') => (checkPageInputs({ k, eps, unit }, LABELS) as { error: string }).error;
  assert.equal(error('5', '-1'), 'eps: "-1" is not a number with 0 < eps ≤ 1');
  for (const eps of ['0', '', 'abc', '1.0001', 'Infinity', 'NaN']) assert.match(error('5', eps), /^eps: /, eps);
  assert.equal(error('0', '0.1'), 'Top-k: "0" is not a whole number from 1 to 50');
  for (const k of ['51', '2.5', '-1', '', '1e1', ' ']) assert.match(error(k, '0.1'), /^Top-k: /, k);
  assert.equal(error('5', '0.1', '3.12'), 'unit: "3.12" is not a unit of this model (1.1 to 3.9)');
});

test('histogram bins: counts equal a naive count, sigma = 1 always in range, the last edge inclusive', () => {
  const values = [0, 0, 0.2, 0.5, 0.99, 1, 1.01, 1.7, 2.4, 2.5];
  const edges = histogramEdges(2.5, 10);
  assert.equal(edges.length, 11);
  assert.equal(edges[10], 2.55);
  const naive = edges.slice(0, -1).map((lo, i) => values.filter((v) => v >= lo && (i === 9 ? v <= edges[10] : v < edges[i + 1])).length);
  assert.deepEqual(binCounts(values, edges), naive);
  assert.equal(binCounts(values, edges).reduce((a, b) => a + b, 0), values.length);
  assert.ok(histogramEdges(0.3).at(-1)! > 1, 'sigma = 1 in view even when every value is small');
  const { bins } = histogramData(edges, naive, 20, 1) as { bins: { fraction: number }[] };
  assert.equal(bins.reduce((t, b) => t + b.fraction, 0), 0.5);
});

test('reference lines: sigma = 1, and sigma = alpha only when alpha differs from 1', () => {
  assert.deepEqual(referenceLines(1).map((l) => l.label), ['σ = 1']);
  assert.deepEqual(referenceLines(0.5).map((l) => [l.value, l.label]), [[1, 'σ = 1'], [0.5, 'σ = α = 0.5000']]);
});

test('propagation data: stage boundaries labelled before each stage, the chosen unit at its output, no zeros on the log scale', () => {
  const curve = (scale: number) => ({ relative: Array.from({ length: 28 }, (_, i) => scale * (i + 1)), firstOrder: [0, ...Array.from({ length: 27 }, (_, i) => scale * (i + 2))] });
  const data = propagationData({ fgsm: curve(1), gaussian: curve(0.1) }, LABELS, 20);
  assert.deepEqual(data.stages, [{ position: 0.5, label: 'stage 1' }, { position: 9.5, label: 'stage 2' }, { position: 18.5, label: 'stage 3' }]);
  assert.deepEqual(data.chosen, [{ position: 21, label: 'unit 3.3' }]);
  assert.equal(data.curves.length, 4 * 28 - 2, 'the two zero first-order values are left out');
});

/** Render a compiled page figure with `data` in Node; the SVG text. */
async function render(name: keyof typeof VEGA_SPECS, data: FigureData): Promise<string> {
  const view = new vega.View(vega.parse(VEGA_SPECS[name]), { renderer: 'none' });
  for (const [source, rows] of Object.entries(data)) view.data(source, rows);
  view.width(320);
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

test('every compiled figure has the data sources the page fills, and draws them', async () => {
  assert.deepEqual(Object.keys(VEGA_SPECS).sort(), Object.keys(PAGE_FIGURES).sort());
  const values = [2.5, 1.5, 1, 0.5, 0];
  const edges = histogramEdges(2.5, 10);
  const data: Record<keyof typeof VEGA_SPECS, FigureData> = {
    spectrum: spectrumData(values, 0.5),
    histogram: histogramData(edges, binCounts(values, edges), values.length, 1),
    propagation: propagationData({ fgsm: { relative: [0.1, 0.2], firstOrder: [0.1, 0.3] }, gaussian: { relative: [0.1, 0.1], firstOrder: [0.1, 0.1] } }, ['1.1'], 0),
    probabilities: probabilitiesData(['cat', 'dog'], [0.9, 0.1], [0.2, 0.8], [0.85, 0.15]),
  };
  for (const [name, sources] of Object.entries(data) as [keyof typeof VEGA_SPECS, FigureData][]) {
    const declared = new Set((VEGA_SPECS[name].data ?? []).map((d) => d.name));
    for (const source of Object.keys(sources)) assert.ok(declared.has(source), `${name}: no data source ${source} in the compiled spec`);
    const svg = await render(name, sources);
    assert.match(svg, /^<svg/, name);
  }
  assert.match(await render('spectrum', data.spectrum), /σ = α = 0\.5000/);
  const propagation = await render('propagation', data.propagation);
  for (const text of ['stage 1', 'unit 1.1', 'FGSM, measured', 'random, first order']) assert.ok(propagation.includes(text), `propagation figure: ${text}`);
  // Legends: full-opacity symbols (the report's were at 0.18).
  for (const spec of Object.values(VEGA_SPECS)) assert.doesNotMatch(JSON.stringify(spec.legends ?? []), /"opacity":\{"value":0\.[0-9]/);
});

function tar(members: { name: string; bytes: Uint8Array; declared?: number }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const { name, bytes, declared } of members) {
    const header = new Uint8Array(512);
    header.set(new TextEncoder().encode(name), 0);
    header.set(new TextEncoder().encode(`${(declared ?? bytes.length).toString(8).padStart(11, '0')}\0`), 124);
    header[156] = 0x30;
    header.set(new TextEncoder().encode('ustar\x0000'), 257);
    parts.push(header, bytes, new Uint8Array((512 - (bytes.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

const streamOf = (bytes: Uint8Array, chunk = 1000) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += chunk) controller.enqueue(bytes.slice(i, i + chunk));
      controller.close();
    },
  });

const rejectsInput = (promise: Promise<unknown>, message: RegExp) =>
  assert.rejects(promise, (err: unknown) => err instanceof InputError && message.test(err.message) && !err.message.includes('\n'));

test('.tar.gz: test_batch.bin comes out byte for byte, whatever precedes it; damaged archives are refused by name', async () => {
  const batch = Uint8Array.from({ length: 2 * 3073 }, (_, i) => (i * 7) % 251);
  const archive = gzipSync(tar([
    { name: 'cifar-10-batches-bin/batches.meta.txt', bytes: new TextEncoder().encode('airplane\n') },
    { name: 'cifar-10-batches-bin/data_batch_1.bin', bytes: new Uint8Array(3073 * 3) },
    { name: ARCHIVE_MEMBER, bytes: batch },
  ]));
  const progress: number[] = [];
  assert.deepEqual(await testBatchFromArchive(streamOf(archive), 'a.tar.gz', (n) => progress.push(n)), batch);
  assert.ok(progress.length > 0 && progress.every((n, i) => i === 0 || n > progress[i - 1]));

  await rejectsInput(testBatchFromArchive(streamOf(gzipSync(tar([{ name: 'other.bin', bytes: batch }]))), 'b.tar.gz'), /^b\.tar\.gz: the archive holds no cifar-10-batches-bin\/test_batch\.bin$/);
  await rejectsInput(testBatchFromArchive(streamOf(archive.subarray(0, 300)), 'c.tar.gz'), /^c\.tar\.gz: /);
  await rejectsInput(testBatchFromArchive(streamOf(new TextEncoder().encode('not gzip at all')), 'd.tar.gz'), /^d\.tar\.gz: not a gzip archive/);
  const huge = gzipSync(tar([{ name: ARCHIVE_MEMBER, bytes: new Uint8Array(0), declared: 2 ** 33 - 1 }]));
  await rejectsInput(testBatchFromArchive(streamOf(huge), 'e.tar.gz'), /^e\.tar\.gz: .*declares 8589934591 bytes/);
});

test('a model folder from chosen files: the weights named by model.json, nothing outside it', () => {
  const dir = new URL('../models/resnet56/', import.meta.url);
  const json = new Uint8Array(readFileSync(new URL('model.json', dir)));
  const weights = new Uint8Array(readFileSync(new URL('weights.bin', dir)));
  const model = modelFromFiles([{ path: 'resnet56/model.json', bytes: json }, { path: 'resnet56/weights.bin', bytes: weights }, { path: 'resnet56/notes.txt', bytes: new Uint8Array(3) }]);
  assert.equal(model.unitCount, 27);
  // The first tensor of weights.bin is conv1.weight (16 x 3 x 3 x 3 float32, little-endian).
  const first = new Float32Array(weights.buffer.slice(weights.byteOffset, weights.byteOffset + 16 * 27 * 4));
  assert.deepEqual(Array.from(model.params.stem.conv.weight), Array.from(first));

  const manifest = JSON.parse(new TextDecoder().decode(json));
  const withPath = (p: string) => new TextEncoder().encode(JSON.stringify({ ...manifest, weightsManifest: [{ ...manifest.weightsManifest[0], paths: [p] }] }));
  for (const p of ['../weights.bin', '/etc/passwd', 'https://example.com/w.bin', 'a\\..\\b']) {
    assert.throws(() => modelFromFiles([{ path: 'm/model.json', bytes: withPath(p) }, { path: 'weights.bin', bytes: weights }]), (err: unknown) =>
      err instanceof InputError && err.message.startsWith('m/model.json: weights path'), p);
  }
  assert.throws(() => modelFromFiles([{ path: 'm/model.json', bytes: json }]), /m\/model\.json: weights file weights\.bin was not chosen with it/);
  assert.throws(() => modelFromFiles([{ path: 'notes.txt', bytes: new Uint8Array(4) }]), /^InputError: notes\.txt: not a PyTorch checkpoint/);
  assert.throws(() => modelFromFiles([{ path: 'x.th', bytes: new Uint8Array(0) }]), (err: unknown) => err instanceof InputError && /^x\.th: /.test(err.message));
});

/** WCAG 2.1 relative luminance of a #rgb or #rrggbb colour, and its contrast ratio against white. */
function contrastOnWhite(color: string): number {
  const hex = color.length === 4 ? color.replace(/^#(.)(.)(.)$/, '#$1$1$2$2$3$3') : color;
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05);
}

test('contrast on white: 1 : 1, 21 : 1 and the WCAG example values', () => {
  assert.equal(contrastOnWhite('#fff'), 1);
  assert.equal(Math.round(contrastOnWhite('#000000') * 100) / 100, 21);
  assert.equal(Math.round(contrastOnWhite('#767676') * 100) / 100, 4.54); // the lightest grey with 4.5:1 for text
});

test('every drawn mark, legend symbol and text of every figure is opaque, with 3:1 contrast (text 4.5:1)', async () => {
  const edges = histogramEdges(2.5, 10);
  const values = [2.5, 1.5, 1, 0.5, 0];
  const data: Record<keyof typeof VEGA_SPECS, FigureData> = {
    spectrum: spectrumData(values, 0.5),
    histogram: histogramData(edges, binCounts(values, edges), values.length, 0.5),
    propagation: propagationData({ fgsm: { relative: [0.1, 0.2, 0.4], firstOrder: [0.1, 0.3, 0.5] }, gaussian: { relative: [0.1, 0.1, 0.1], firstOrder: [0.1, 0.1, 0.1] } }, ['1.1', '2.1'], 1),
    probabilities: probabilitiesData(['cat', 'dog'], [0.9, 0.1], [0.2, 0.8], [0.85, 0.15]),
  };
  // Grid lines and the plot frame are decoration (WCAG 1.4.11 asks contrast of what is needed to read the figure).
  const decoration = new Set(['axis-grid', 'frame']);
  type Item = { items?: Item[]; marktype?: string; role?: string; fill?: string; stroke?: string; opacity?: number; fillOpacity?: number; strokeOpacity?: number };
  for (const [name, sources] of Object.entries(data) as [keyof typeof VEGA_SPECS, FigureData][]) {
    const view = new vega.View(vega.parse(VEGA_SPECS[name]), { renderer: 'none' });
    for (const [source, rows] of Object.entries(sources)) view.data(source, rows);
    view.width(320);
    await view.runAsync();
    const roles = new Set<string>();
    const visit = (mark: Item) => {
      for (const item of mark.items ?? []) {
        if (mark.marktype && mark.marktype !== 'group' && !decoration.has(mark.role!) && item.opacity !== 0) {
          const paint = item.fill && item.fill !== 'transparent' ? item.fill : item.stroke;
          const where = `${name}: ${mark.role} ${mark.marktype} ${paint}`;
          assert.ok(paint && /^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(paint), `${where}: a colour the test can read`);
          for (const o of [item.opacity, item.fillOpacity, item.strokeOpacity]) assert.ok(o === undefined || o === 1, `${where}: opacity ${o}`);
          const needed = mark.marktype === 'text' ? 4.5 : 3;
          assert.ok(contrastOnWhite(paint) >= needed, `${where}: contrast ${contrastOnWhite(paint).toFixed(2)}:1 < ${needed}:1`);
          roles.add(mark.role!);
        }
        visit(item);
      }
    };
    visit((view.scenegraph() as unknown as { root: Item }).root);
    view.finalize();
    assert.ok(roles.has('mark'), `${name}: data marks checked`);
    if (name === 'propagation' || name === 'probabilities') assert.ok(roles.has('legend-symbol') && roles.has('legend-label'), `${name}: legend checked`);
  }
});

/** A picked file that holds `bytes`, or one that only claims `size` and fails the test if it is read. */
const picked = (path: string, bytes: Uint8Array<ArrayBuffer>): PickedFile => ({ path, file: new Blob([bytes]) });
const unread = (path: string, size: number): PickedFile => ({
  path,
  file: { size, arrayBuffer: () => Promise.reject(new Error(`${path} was read`)) },
});

test('picked model files: a folder gives model.json and the weights it names, nothing else is read', async () => {
  const dir = new URL('../models/resnet56/', import.meta.url);
  const json = new Uint8Array(readFileSync(new URL('model.json', dir)));
  const weights = new Uint8Array(readFileSync(new URL('weights.bin', dir)));
  const files = await readModelFiles([
    unread('resnet56/notes.txt', 3), picked('resnet56/weights.bin', weights), unread('resnet56/study.json', 10), picked('resnet56/model.json', json),
  ]);
  assert.deepEqual(files.map((f) => [f.path, f.bytes.length]), [['resnet56/model.json', json.length], ['resnet56/weights.bin', weights.length]]);
  assert.equal(modelFromFiles(files).unitCount, 27);
  // Picked as two files (no folder): bare names.
  assert.deepEqual((await readModelFiles([picked('model.json', json), picked('weights.bin', weights)])).map((f) => f.path), ['model.json', 'weights.bin']);
});

test('picked model files: sizes beyond loadModel\'s limits, a wrong total, missing or escaping weights are refused before reading', async () => {
  const dir = new URL('../models/resnet56/', import.meta.url);
  const json = new Uint8Array(readFileSync(new URL('model.json', dir)));
  const weightBytes = readFileSync(new URL('weights.bin', dir)).length;
  const refused = (files: PickedFile[], message: RegExp) => rejectsInput(readModelFiles(files), message);
  await refused([unread('big.th', 512 * 2 ** 20 + 1)], /^big\.th: 536870913 bytes, more than the 512 MiB a checkpoint may have$/);
  await refused([unread('m/model.json', 16 * 2 ** 20 + 1), unread('m/weights.bin', 4)], /^m\/model\.json: 16777217 bytes, more than the 16 MiB a model\.json may have$/);
  await refused([picked('m/model.json', json), unread('m/weights.bin', weightBytes - 4)], new RegExp(`^m/model\\.json: the weight files hold ${weightBytes - 4} bytes, the manifest describes ${weightBytes}$`));
  await refused([picked('m/model.json', json), unread('other/weights.bin', weightBytes)], /^m\/model\.json: weights file weights\.bin was not chosen with it/);
  const manifest = JSON.parse(new TextDecoder().decode(json));
  const escaping = new TextEncoder().encode(JSON.stringify({ ...manifest, weightsManifest: [{ ...manifest.weightsManifest[0], paths: ['../weights.bin'] }] }));
  await refused([picked('m/model.json', escaping), unread('weights.bin', weightBytes)], /^m\/model\.json: weights path "\.\.\/weights\.bin" is not a file beside model\.json$/);
  await refused([picked('m/model.json', new TextEncoder().encode('{ nope'))], /^m\/model\.json: invalid JSON/);
  await refused([unread('a/model.json', 10), unread('b/model.json', 10)], /^2 model\.json files chosen/);
  await refused([unread('a.json', 10), unread('b.json', 10)], /^2 \.json files chosen and none is model\.json/);
  await refused([unread('a.th', 10), unread('b.th', 10)], /^2 files chosen without a model\.json/);
  await refused([], /^no model file chosen$/);
});

test('a checkpoint or .safetensors file picked from disk is imported as loadModel imports it, for every family', async () => {
  const files = ['checkpoints/resnet8-legacy.th', 'checkpoints/resnet14-zip.th', 'families/preact-bn.pt', 'families/wrn.pt', 'families/tv-basic.pt', 'families/tv-bottleneck.safetensors'];
  for (const file of files) {
    const path = new URL(`fixtures/${file}`, import.meta.url);
    const name = file.split('/')[1];
    const fromPage = modelFromFiles(await readModelFiles([picked(name, new Uint8Array(readFileSync(path)))]));
    const fromLoad = await loadModel(path.pathname);
    assert.equal(fromPage.name, fromLoad.name, name);
    assert.equal(fromPage.unitCount, fromLoad.unitCount, name);
    assert.deepEqual(fromPage.classes, fromLoad.classes, name);
    assert.deepEqual(fromPage.graph, fromLoad.graph, name);
  }
  // Not a checkpoint, whatever its name: refused by content, with the file's name.
  await rejectsInput(Promise.resolve().then(async () => modelFromFiles(await readModelFiles([picked('notes.txt', new TextEncoder().encode('hello'))]))), /^notes\.txt: not a PyTorch checkpoint/);
});

test('chosen CIFAR-10 binaries and images: empty or beyond the CLI\'s limits are refused by name', () => {
  assert.equal(checkFileSize('cifarBinary', 'test_batch.bin', 10_000 * 3073), undefined);
  assert.equal(checkFileSize('cifarBinary', 'all.bin', 60_000 * 3073), undefined);
  assert.equal(checkFileSize('cifarBinary', 'huge.bin', FILE_LIMITS.cifarBinary + 1), `huge.bin: ${60_000 * 3073 + 1} bytes, more than the ${60_000 * 3073} bytes a CIFAR-10 binary file may have here`);
  assert.equal(checkFileSize('image', 'cat.png', 2000), undefined);
  assert.match(checkFileSize('image', 'big.png', 16 * 2 ** 20 + 1)!, /^big\.png: 16777217 bytes, more than the 16777216 bytes a PNG\/JPEG image may have here$/);
  assert.equal(checkFileSize('image', 'empty.png', 0), 'empty.png: file is empty');
});

test("resizing a 32x32 image to a model's input size equals PyTorch's bilinear interpolate (align_corners=False)", () => {
  const fixture = JSON.parse(readFileSync(fixturePath('resize-pytorch.json'), 'utf8')) as { image: number; resized: { size: [number, number]; pixels: number[] }[] };
  const samples = readCifarBatch(readFileSync(new URL('../web/samples/cifar10-test-0-49.bin', import.meta.url)), 'samples');
  const pixels = imageToFloat(samples, fixture.image);
  assert.equal(fixture.resized.length, 2);
  for (const { size, pixels: expected } of fixture.resized) {
    const resized = resizeBilinear(pixels, [3, 32, 32], size);
    assert.equal(resized.length, expected.length, `${size}`);
    // float32 storage of float64 values computed from float32 pixels (the fixture's are float64 of bytes / 255).
    resized.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `${size} value ${i}: ${v} vs ${expected[i]}`));
  }
  assert.equal(resizeBilinear(pixels, [3, 32, 32], [32, 32]), pixels, 'same size: the same array');
  assert.throws(() => resizeBilinear(pixels, [3, 32, 32], [0, 32]), /^InputError: resize: size 0x32 is not whole numbers from 1 to 512$/);
  assert.throws(() => resizeBilinear(pixels.subarray(1), [3, 32, 32], [8, 8]), /^InputError: resize: 3071 values for a 3x32x32 image$/);
});

test('imageDimensions reads [height, width] from a PNG or JPEG header, and names a file that is neither', () => {
  assert.deepEqual(imageDimensions(readFileSync(fixturePath('gray-32x32.jpg')), 'gray.jpg'), [32, 32]);
  // A PNG signature and IHDR of width 40, height 24 (color type 2), nothing after it.
  const png = new Uint8Array(33);
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 40, 0, 0, 0, 24, 8, 2]);
  assert.deepEqual(imageDimensions(png, 'wide.png'), [24, 40]);
  assert.throws(() => imageDimensions(new Uint8Array([1, 2, 3]), 'notes.txt'), /^InputError: notes\.txt: not a PNG or JPEG file$/);
});
