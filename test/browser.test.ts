/**
 * The demo page (dist/web) in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
 * pick a CIFAR-10 image and a stage-3 unit; the page's top-5 singular values must equal Node's for the
 * same inputs to 1e-9 relative; a wrong-size upload must show an error on the page. A screenshot is
 * kept in test-artifacts/. The edge bundle also runs inside a Chromium module Web Worker.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { imageToFloat, loadCifar } from '../src/data/cifar.js';
import { predictLogits } from '../src/model/forward.js';
import { loadModel } from '../src/model/load.js';
import { unitTopSpectrum } from '../src/web/unit-top-spectrum.js';
import { cifarTestFile } from './support/shared.js';
import { repoRoot, serveStatic, type StaticServer } from './support/static-server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = `${repoRoot}test-artifacts`;
/** ResNet-56 unit 3.3 (index 20) at test image 3: a stage-3 unit, so the page computes its full spectrum too. */
const IMAGE = 3;
const UNIT = 20;

let server: StaticServer;
let browser: Browser;

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium), or set CHROMIUM_PATH`);
  server = await serveStatic('.');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function openDemo(): Promise<Page> {
  // A fresh context is a fresh, empty profile.
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(new URL('dist/web/', server.url).href);
  await page.waitForSelector('#unit option', { state: 'attached' });
  assert.deepEqual(errors, []);
  return page;
}

test('the demo page computes a stage-3 unit top-5 equal to Node to 1e-9, and its figures', { timeout: 300_000 }, async () => {
  const page = await openDemo();
  await page.setInputFiles('#cifar-file', cifarTestFile);
  await page.click(`.thumb[data-index="${IMAGE}"]`);
  await page.selectOption('#unit', String(UNIT));
  await page.fill('#k', '5');
  await page.click('#run');
  await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]', { timeout: 280_000 });
  assert.equal(await page.getAttribute('#status', 'data-state'), 'done', await page.textContent('#error') ?? '');
  const pageValues = JSON.parse((await page.getAttribute('#top-values', 'data-values'))!) as number[];

  const batch = await loadCifar(cifarTestFile);
  const node = await unitTopSpectrum({ model: await loadModel('resnet56'), pixels: imageToFloat(batch, IMAGE), unit: UNIT, k: 5 });
  assert.equal(pageValues.length, 5);
  pageValues.forEach((v, i) => assert.ok(Math.abs(v - node.values[i]) <= 1e-9 * node.values[0], `value ${i}: page ${v}, Node ${node.values[i]}`));

  assert.match((await page.textContent('#prediction'))!, /true label/);
  assert.ok((await page.locator('#spectrum-figure svg').count()) >= 2, 'spectrum figures rendered');
  assert.equal(await page.locator('#propagation-figure svg').count(), 1, 'propagation figure rendered');
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: `${artifacts}/web-demo.png`, fullPage: true });
});

test('Cancel stops a running computation and a new one runs to the end', { timeout: 300_000 }, async () => {
  const page = await openDemo();
  await page.setInputFiles('#cifar-file', cifarTestFile);
  await page.click('.thumb[data-index="1"]');
  await page.selectOption('#unit', '0'); // stage 1: the density, long enough to cancel
  await page.click('#run');
  await page.waitForFunction(() => /^3\/4/.test(document.getElementById('status-text')!.textContent ?? ''), undefined, { timeout: 120_000 });
  await page.click('#cancel');
  assert.equal(await page.getAttribute('#status', 'data-state'), 'cancelled');
  await page.selectOption('#unit', '13'); // unit 2.5: the density route to the end
  await page.click('#run');
  await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]', { timeout: 280_000 });
  assert.equal(await page.getAttribute('#status', 'data-state'), 'done', (await page.textContent('#error')) ?? '');
  assert.match((await page.textContent('#spectrum-title'))!, /Density of the singular values of unit 2\.5/);
  assert.equal(await page.locator('#spectrum-figure svg').count(), 1);
});

test('the browser bundle runs the worker pool on Web Workers and predicts as Node does', { timeout: 120_000 }, async () => {
  const page = await openDemo();
  const batch = await loadCifar(cifarTestFile);
  const pixels = Array.from(imageToFloat(batch, 5));
  const browserLogits = await page.evaluate(async ({ bundle, pixels }) => {
    const rs = await import(bundle);
    const model = await rs.loadModel('resnet56');
    const pool = await rs.WorkerPool.create(2);
    try {
      return Array.from(await pool.run(model, { kind: 'predict', pixels: Float32Array.from(pixels) })) as number[];
    } finally {
      pool.close();
    }
  }, { bundle: new URL('dist/browser/index.js', server.url).href, pixels });
  const nodeLogits = await predictLogits(await loadModel('resnet56'), Float32Array.from(pixels));
  assert.equal(browserLogits.length, 10);
  browserLogits.forEach((v, i) => assert.ok(Math.abs(v - nodeLogits[i]) < 1e-4, `logit ${i}: browser ${v}, Node ${nodeLogits[i]}`));
});

test('an uploaded 32x32 PNG gives the same top-5 as the CIFAR-10 image it holds', { timeout: 300_000 }, async () => {
  const page = await openDemo();
  const batch = await loadCifar(cifarTestFile);
  const png = new PNG({ width: 32, height: 32 });
  for (let p = 0; p < 1024; p++) {
    for (let c = 0; c < 3; c++) png.data[4 * p + c] = batch.pixels[IMAGE * 3072 + c * 1024 + p];
    png.data[4 * p + 3] = 255;
  }
  await page.setInputFiles('#image-file', { name: 'cat.png', mimeType: 'image/png', buffer: PNG.sync.write(png) });
  await page.waitForFunction(() => document.getElementById('selected-label')!.textContent === 'cat.png');
  await page.selectOption('#unit', String(UNIT));
  await page.click('#run');
  await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]', { timeout: 280_000 });
  assert.equal(await page.getAttribute('#status', 'data-state'), 'done', (await page.textContent('#error')) ?? '');
  const pageValues = JSON.parse((await page.getAttribute('#top-values', 'data-values'))!) as number[];
  const node = await unitTopSpectrum({ model: await loadModel('resnet56'), pixels: imageToFloat(batch, IMAGE), unit: UNIT, k: 5 });
  pageValues.forEach((v, i) => assert.ok(Math.abs(v - node.values[i]) <= 1e-9 * node.values[0], `value ${i}: page ${v}, Node ${node.values[i]}`));
});

test('a wrong-size upload shows an error on the page', async () => {
  const page = await openDemo();
  const png = new PNG({ width: 16, height: 16 });
  png.data.fill(255);
  await page.setInputFiles('#image-file', { name: 'small.png', mimeType: 'image/png', buffer: PNG.sync.write(png) });
  await page.waitForSelector('#error:not([hidden])');
  assert.match((await page.textContent('#error'))!, /small\.png: .*16x16.*32x32|small\.png: .*32x32.*16x16/);
  assert.equal(await page.isDisabled('#run'), true);
});

test('the edge bundle runs in a Chromium module Web Worker', { timeout: 120_000 }, async () => {
  const page = await openDemo();
  const record = Array.from(readFileSync(cifarTestFile).subarray(1, 3073));
  const result = await page.evaluate(
    async ({ bundle, models, body }) => {
      const source = `
        import { createSpectrumHandler } from ${JSON.stringify(bundle)};
        const handler = createSpectrumHandler({ models: ${JSON.stringify(models)} });
        const response = await handler.fetch(new Request('http://edge.test/?model=resnet56&unit=3.1&k=3', { method: 'POST', body: new Uint8Array(${JSON.stringify(body)}) }));
        postMessage({ status: response.status, body: await response.json() });
      `;
      const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })), { type: 'module' });
      return await new Promise((resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => reject(new Error(e.message));
      });
    },
    { bundle: new URL('dist/edge/index.js', server.url).href, models: new URL('models/', server.url).href, body: record },
  ) as { status: number; body: { values: number[] } };
  assert.equal(result.status, 200, JSON.stringify(result.body));
  const batch = await loadCifar(cifarTestFile);
  const node = await unitTopSpectrum({ model: await loadModel('resnet56'), pixels: imageToFloat(batch, 0), unit: '3.1', k: 3 });
  result.body.values.forEach((v, i) => assert.ok(Math.abs(v - node.values[i]) <= 1e-9 * node.values[0]));
});
