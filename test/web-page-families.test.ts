/**
 * The demo page with models of other families chosen from disk (issue 11): a Wide ResNet checkpoint
 * and a torchvision ResNet imported at a 24x24 input, at 1280 x 800 and 375 x 812 in Debian's Chromium.
 * The top singular values equal the library's in Node for the same model, image and unit (the WRN's
 * at the 32x32 sample; the torchvision model's at the sample resized by PyTorch, fixture
 * resize-pytorch.json), so do the perturbation growths, and every figure drawn fits the viewport.
 * Screenshots in test-artifacts/.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { decodeImage } from '../src/data/image.js';
import { resizeBilinear } from '../src/web/resize-image.js';
import { imageToFloat } from '../src/data/cifar.js';
import { loadModel } from '../src/model/load.js';
import type { ResNetModel } from '../src/model/model.js';
import { propagatePerturbations } from '../src/study/propagation.js';
import { unitTopSpectrum } from '../src/web/unit-top-spectrum.js';
import { fixturePath } from './support/shared.js';
import { repoRoot } from './support/static-server.js';
import { artifacts, assertInsideWidth, assertNoHorizontalScroll, runToEnd, samples, useDemoPage, VIEWPORTS } from './support/web-page.js';

/** The page's first image: sample 3, a cat (also the image of resize-pytorch.json). */
const IMAGE = 3;

const { openPage } = useDemoPage();
let modelsDir: string;

before(() => {
  // A torchvision ResNet imported by the CLI for 24x24 inputs: a model folder a visitor picks.
  modelsDir = mkdtempSync(join(tmpdir(), 'web-families-'));
  for (const size of [24, 400]) {
    execFileSync(process.execPath, [`${repoRoot}dist/node/cli.js`, 'import', fixturePath('families/tv-basic.pt'), '--out', join(modelsDir, `tv-basic-${size}`), '--input-size', `${size}x${size}`, '--quiet']);
  }
});

after(() => {
  if (modelsDir) rmSync(modelsDir, { recursive: true, force: true });
});

/** Pick `files` in `input`, wait for the model to be chosen, choose `unit` and k = 5, run to the end. */
async function runOwnModel(page: Page, input: string, files: string[], title: RegExp, unit: string): Promise<number[]> {
  await page.setInputFiles(input, files);
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector<HTMLSelectElement>('#model')!.selectedOptions[0].textContent ?? ''), title.source, { timeout: 120_000 });
  await page.waitForSelector('#status[data-state="ready"], #status[data-state="error"]');
  assert.equal(await page.getAttribute('#status', 'data-state'), 'ready', (await page.textContent('#error')) ?? '');
  await page.selectOption('#unit', unit);
  await page.fill('#k', '5');
  await runToEnd(page);
  return JSON.parse((await page.getAttribute('#top-values', 'data-values'))!) as number[];
}

function assertClose(page: number[], node: number[], tolerance: number, what: string): void {
  assert.equal(page.length, node.length, what);
  page.forEach((v, i) => assert.ok(Math.abs(v - node[i]) <= tolerance * node[0], `${what} value ${i}: page ${v}, Node ${node[i]}`));
}

/** Every drawn figure (and its box) has a size and lies inside the viewport's width; no horizontal scroll. */
async function assertFiguresFit(page: Page, width: number): Promise<number> {
  const count = await assertInsideWidth(page, '.figure[data-figure]:has(svg)', width);
  await assertNoHorizontalScroll(page);
  return count;
}

/**
 * The perturbation growth drawn for the model (probabilities too), its relative perturbations after the
 * stem and each unit equal to Node's propagatePerturbations for the same image, label and eps (FGSM from
 * a float32 tfjs gradient in both: 1e-4 relative).
 */
async function assertPropagationAsNode(page: Page, model: ResNetModel, pixels: Float32Array, label: number): Promise<void> {
  assert.equal(await page.getAttribute('#propagation-summary', 'data-unavailable'), null, (await page.textContent('#propagation-summary')) ?? '');
  assert.equal(await page.locator('#propagation-figure svg').count(), 1);
  assert.equal(await page.locator('#probabilities-figure svg').count(), 1);
  const shown = JSON.parse((await page.getAttribute('#propagation-figure', 'data-relative'))!) as { fgsm: number[]; gaussian: number[] };
  const eps = Number(await page.inputValue('#eps'));
  for (const attack of ['fgsm', 'gaussian'] as const) {
    const [node] = await propagatePerturbations(model, pixels, [label], [0], { attack, eps, seed: 0 });
    assert.equal(shown[attack].length, model.unitCount + 1, `${attack}: after the stem and each unit`);
    shown[attack].forEach((v, i) => assert.ok(Math.abs(v - node.relative[i]) <= 1e-4 * node.relative[i], `${attack} ${i}: page ${v}, Node ${node.relative[i]}`));
  }
}

for (const viewport of VIEWPORTS) {
  describe(`at ${viewport.width} x ${viewport.height} (${viewport.name})`, () => {
    test('a Wide ResNet checkpoint from disk: its own units, top-5 of unit 2.1 equal to Node, its spectrum drawn inside the viewport', { timeout: 600_000 }, async () => {
      const page = await openPage(viewport);
      const checkpoint = fixturePath('families/wrn.pt');
      const values = await runOwnModel(page, '#model-file', [checkpoint], /wrn\.pt \(yours\)/, '2.1');
      const model = await loadModel(checkpoint);
      // The unit select lists the model's own units (3 stages of 2).
      assert.deepEqual(await page.locator('#unit option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), ['1.1', '1.2', '2.1', '2.2', '3.1', '3.2']);
      const node = await unitTopSpectrum({ model, pixels: imageToFloat(samples, IMAGE), unit: '2.1', k: 5 });
      assertClose(values, node.values, 1e-9, 'wrn 2.1');
      assert.match((await page.textContent('#top-title'))!, /unit 2\.1 \(4096 × 8192 linearization\)/);
      assert.equal(await page.isHidden('#input-note'), true, 'a 32x32 model: no resize note');
      assert.ok((await assertFiguresFit(page, viewport.width)) >= 1, 'the spectrum figure is drawn');
      assert.match((await page.getAttribute('#histogram-figure', 'aria-label'))!, /singular values of unit 2\.1/);
      await assertPropagationAsNode(page, model, imageToFloat(samples, IMAGE), samples.labels[IMAGE]);
      assert.deepEqual(page.errors, []);
      await page.screenshot({ path: `${artifacts}/web-page-families-${viewport.name}-wrn.png`, fullPage: true });
    });

    test('a torchvision model folder with a 24x24 input: the image is resized as PyTorch does, top-5 of unit 1.1 equal to Node', { timeout: 600_000 }, async () => {
      const page = await openPage(viewport);
      const dir = join(modelsDir, 'tv-basic-24');
      const values = await runOwnModel(page, '#model-file', [join(dir, 'model.json'), join(dir, 'weights.bin')], /\(yours\)/, '1.1');
      assert.equal(await page.isVisible('#input-note'), true);
      assert.match((await page.textContent('#input-note'))!, /takes 24×24 images: the chosen 32×32 image is resized to 24×24 \(bilinear/);
      const note = await page.locator('#input-note').boundingBox();
      assert.ok(note && note.x >= 0 && note.x + note.width <= viewport.width + 0.5, 'the note fits the viewport');
      // Node's top-5 on PyTorch's resize of the same image (float32 pixels of float64 values: 1e-6).
      const fixture = JSON.parse(readFileSync(fixturePath('resize-pytorch.json'), 'utf8')) as { image: number; resized: { size: number[]; pixels: number[] }[] };
      assert.equal(fixture.image, IMAGE);
      const resized = fixture.resized.find((r) => r.size[0] === 24 && r.size[1] === 24)!;
      const model = await loadModel(dir);
      assert.deepEqual(model.inputShape, [3, 24, 24]);
      const node = await unitTopSpectrum({ model, pixels: Float32Array.from(resized.pixels), unit: '1.1', k: 5 });
      assertClose(values, node.values, 1e-6, 'tv-basic-24 1.1');
      assert.deepEqual(await page.locator('#unit option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), ['1.1', '1.2', '2.1', '3.1', '4.1']);
      assert.ok((await assertFiguresFit(page, viewport.width)) >= 1);
      await assertPropagationAsNode(page, model, Float32Array.from(resized.pixels), samples.labels[IMAGE]);
      await page.screenshot({ path: `${artifacts}/web-page-families-${viewport.name}-tv24.png`, fullPage: true });

      // An upload of the model's own size is taken as it is (no note), equal to Node on the decoded PNG.
      const png = new PNG({ width: 24, height: 24 });
      for (let p = 0; p < 576; p++) {
        for (let c = 0; c < 3; c++) png.data[4 * p + c] = Math.round(255 * resized.pixels[c * 576 + p]);
        png.data[4 * p + 3] = 255;
      }
      const bytes = PNG.sync.write(png);
      await page.locator('#own-images summary').click();
      await page.setInputFiles('#image-file', { name: 'cat-24.png', mimeType: 'image/png', buffer: bytes });
      await page.waitForFunction(() => document.getElementById('selected-label')!.textContent === 'cat-24.png');
      assert.equal(await page.isHidden('#input-note'), true, 'a 24x24 image for a 24x24 model: nothing resized');
      await page.click('#run');
      await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]', { timeout: 280_000 });
      assert.equal(await page.getAttribute('#status', 'data-state'), 'done', (await page.textContent('#error')) ?? '');
      const uploaded = JSON.parse((await page.getAttribute('#top-values', 'data-values'))!) as number[];
      const nodeUploaded = await unitTopSpectrum({ model, pixels: decodeImage(new Uint8Array(bytes), 'cat-24.png', [24, 24]), unit: '1.1', k: 5 });
      assertClose(uploaded, nodeUploaded.values, 1e-9, 'uploaded 24x24 1.1');
      // Any other size is refused with one line naming both sizes accepted.
      const small = new PNG({ width: 16, height: 16 });
      small.data.fill(255);
      await page.setInputFiles('#image-file', { name: 'small.png', mimeType: 'image/png', buffer: PNG.sync.write(small) });
      await page.waitForSelector('#error:not([hidden])');
      assert.equal(await page.textContent('#error'), "small.png: image is 16x16 pixels; expected 32x32 or this model's 24x24");

      // Back to a shipped model: the 24x24 upload is resized to its 32x32 (said so); unit 1.1 is kept by label.
      await page.selectOption('#model', 'resnet56');
      await page.waitForSelector('#status[data-state="ready"], #status[data-state="error"]', { timeout: 120_000 });
      assert.match((await page.textContent('#input-note'))!, /takes 32×32 images: the chosen 24×24 image is resized to 32×32/);
      assert.equal(await page.inputValue('#unit'), '1.1');
      assert.deepEqual(page.errors, []);
    });
  });
}

test('a unit too large for a density in the tab (80000 x 80000): top-5 equal to Node, the spectrum replaced by a one-line note', { timeout: 600_000 }, async () => {
  const page = await openPage(VIEWPORTS[0]);
  const dir = join(modelsDir, 'tv-basic-400');
  const values = await runOwnModel(page, '#model-file', [join(dir, 'model.json'), join(dir, 'weights.bin')], /\(yours\)/, '1.1');
  const model = await loadModel(dir);
  // The page's own resize (tested against PyTorch in web-page-units.test.ts) of sample 3 to 400 x 400.
  const pixels = resizeBilinear(imageToFloat(samples, IMAGE), [3, 32, 32], [400, 400]);
  const node = await unitTopSpectrum({ model, pixels, unit: '1.1', k: 5 });
  assert.deepEqual(node.shape, [80000, 80000]);
  assertClose(values, node.values, 1e-9, 'tv-basic-400 1.1');
  assert.equal(await page.isVisible('#spectrum-note'), true);
  assert.match((await page.textContent('#spectrum-note'))!, /^unit 1\.1 is a 80000 × 80000 linearization, too large for its spectrum here \(more than 65536 rows or columns\)/);
  assert.equal(await page.isHidden('#histogram-block'), true);
  assert.equal(await page.isHidden('#spectrum-block'), true);
  assert.equal(await page.locator('#histogram-figure svg').count(), 0);
  assert.equal(await page.locator('#propagation-figure svg').count(), 1, 'the perturbation growth is still drawn');
  // Unit 3.1 (16x50x50 = 40000 to 32x25x25 = 20000) gets its density again, the note gone.
  await page.selectOption('#unit', '3.1');
  await page.click('#run');
  await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]', { timeout: 280_000 });
  assert.equal(await page.getAttribute('#status', 'data-state'), 'done', (await page.textContent('#error')) ?? '');
  assert.equal(await page.isHidden('#spectrum-note'), true);
  assert.equal(await page.locator('#histogram-figure svg').count(), 1);
  assert.deepEqual(page.errors, []);
  await page.screenshot({ path: `${artifacts}/web-page-families-desktop-tv400.png`, fullPage: true });
});
