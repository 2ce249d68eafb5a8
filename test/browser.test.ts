/**
 * The browser and edge bundles in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
 * the browser bundle's worker pool on Web Workers predicts as Node does, and the edge bundle runs inside
 * a Chromium module Web Worker. The demo page itself is tested in web-page.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { imageToFloat, loadCifar } from '../src/data/cifar.js';
import { predictLogits } from '../src/model/forward.js';
import { loadModel } from '../src/model/load.js';
import { unitTopSpectrum } from '../src/web/unit-top-spectrum.js';
import { cifarTestFile } from './support/shared.js';
import { useChromium } from './support/web-page.js';

const { browser, server } = useChromium('.');

async function openDemo(): Promise<Page> {
  // A fresh context is a fresh, empty profile.
  const page = await (await browser().newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(new URL('dist/web/', server().url).href);
  await page.waitForSelector('#unit option', { state: 'attached' });
  assert.deepEqual(errors, []);
  return page;
}

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
  }, { bundle: new URL('dist/browser/index.js', server().url).href, pixels });
  const nodeLogits = await predictLogits(await loadModel('resnet56'), Float32Array.from(pixels));
  assert.equal(browserLogits.length, 10);
  browserLogits.forEach((v, i) => assert.ok(Math.abs(v - nodeLogits[i]) < 1e-4, `logit ${i}: browser ${v}, Node ${nodeLogits[i]}`));
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
    { bundle: new URL('dist/edge/index.js', server().url).href, models: new URL('models/', server().url).href, body: record },
  ) as { status: number; body: { values: number[] } };
  assert.equal(result.status, 200, JSON.stringify(result.body));
  const batch = await loadCifar(cifarTestFile);
  const node = await unitTopSpectrum({ model: await loadModel('resnet56'), pixels: imageToFloat(batch, 0), unit: '3.1', k: 3 });
  result.body.values.forEach((v, i) => assert.ok(Math.abs(v - node.values[i]) <= 1e-9 * node.values[0]));
});
