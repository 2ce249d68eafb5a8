/**
 * The demo page with models of other families chosen from disk (issue 11): a Wide ResNet checkpoint
 * and a torchvision ResNet imported at a 24x24 input, at 1280 x 800 and 375 x 812 in Debian's Chromium.
 * The top singular values equal the library's in Node for the same model, image and unit (the WRN's
 * at the 32x32 sample; the torchvision model's at the sample resized by PyTorch, fixture
 * resize-pytorch.json), and every figure drawn fits the viewport. Screenshots in test-artifacts/.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { decodeImage } from '../src/data/image.js';
import { imageToFloat, readCifarBatch } from '../src/data/cifar.js';
import { loadModel } from '../src/model/load.js';
import { unitTopSpectrum } from '../src/web/unit-top-spectrum.js';
import { fixturePath } from './support/shared.js';
import { repoRoot, serveStatic, type StaticServer } from './support/static-server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = `${repoRoot}test-artifacts`;
const samples = readCifarBatch(readFileSync(`${repoRoot}web/samples/cifar10-test-0-49.bin`), 'samples');
/** The page's first image: sample 3, a cat (also the image of resize-pytorch.json). */
const IMAGE = 3;
const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 375, height: 812 },
];

let server: StaticServer;
let browser: Browser;
let modelsDir: string;

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium), or set CHROMIUM_PATH`);
  // A torchvision ResNet imported by the CLI for 24x24 inputs: a model folder a visitor picks.
  modelsDir = mkdtempSync(join(tmpdir(), 'web-families-'));
  execFileSync(process.execPath, [`${repoRoot}dist/node/cli.js`, 'import', fixturePath('families/tv-basic.pt'), '--out', join(modelsDir, 'tv-basic-24'), '--input-size', '24x24', '--quiet']);
  server = await serveStatic('dist/web');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(artifacts, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.close();
  if (modelsDir) rmSync(modelsDir, { recursive: true, force: true });
});

async function openPage(viewport: { width: number; height: number }): Promise<Page & { errors: string[] }> {
  const page = (await (await browser.newContext({ viewport })).newPage()) as Page & { errors: string[] };
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(err.message));
  await page.goto(server.url.href);
  await page.waitForSelector('#status[data-state="ready"]', { timeout: 120_000 });
  return page;
}

/** Pick `files` in `input`, wait for the model to be chosen, choose `unit` and k = 5, run to the end. */
async function runOwnModel(page: Page, input: string, files: string[], title: RegExp, unit: string): Promise<number[]> {
  await page.setInputFiles(input, files);
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector<HTMLSelectElement>('#model')!.selectedOptions[0].textContent ?? ''), title.source, { timeout: 120_000 });
  await page.waitForSelector('#status[data-state="ready"], #status[data-state="error"]');
  assert.equal(await page.getAttribute('#status', 'data-state'), 'ready', (await page.textContent('#error')) ?? '');
  await page.selectOption('#unit', unit);
  await page.fill('#k', '5');
  await page.click('#run');
  await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]', { timeout: 280_000 });
  assert.equal(await page.getAttribute('#status', 'data-state'), 'done', (await page.textContent('#error')) ?? '');
  return JSON.parse((await page.getAttribute('#top-values', 'data-values'))!) as number[];
}

function assertClose(page: number[], node: number[], tolerance: number, what: string): void {
  assert.equal(page.length, node.length, what);
  page.forEach((v, i) => assert.ok(Math.abs(v - node[i]) <= tolerance * node[0], `${what} value ${i}: page ${v}, Node ${node[i]}`));
}

/** Every drawn figure (and its box) has a size and lies inside the viewport's width; no horizontal scroll. */
async function assertFiguresFit(page: Page, width: number): Promise<number> {
  const boxes = await page.locator('.figure[data-figure]:has(svg)').evaluateAll((elements) => elements.map((e) => {
    const r = e.getBoundingClientRect();
    return { id: e.id, x: r.x, width: r.width, height: r.height };
  }));
  for (const b of boxes) {
    assert.ok(b.width > 0 && b.height > 0, `${b.id}: size ${b.width} x ${b.height}`);
    assert.ok(b.x >= 0 && b.x + b.width <= width + 0.5, `${b.id}: spans ${b.x}..${b.x + b.width} in a ${width} px viewport`);
  }
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
  assert.ok(scrollWidth <= clientWidth, `horizontal scroll: content ${scrollWidth} px wide in a ${clientWidth} px viewport`);
  return boxes.length;
}

/** The perturbation-growth part: drawn, or (while propagation supports only the paper's family) a one-line note. */
async function assertPropagationShownOrExplained(page: Page): Promise<void> {
  if ((await page.getAttribute('#propagation-summary', 'data-unavailable')) === 'true') {
    assert.match((await page.textContent('#propagation-summary'))!, /^Perturbation growth is not available for this model: model .* supports only/);
    assert.equal(await page.isHidden('#propagation-block'), true, 'no empty figure');
    assert.equal(await page.isHidden('#probabilities-block'), true, 'no empty figure');
  } else {
    assert.equal(await page.locator('#propagation-figure svg').count(), 1);
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
      await assertPropagationShownOrExplained(page);
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
      await assertPropagationShownOrExplained(page);
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
