/**
 * The demo page's first load and time to first result, in Debian's Chromium (headless, fresh profile,
 * served from localhost by scripts/serve-web.mjs, so no network latency):
 *   - bytes of every file fetched until the page is ready (samples shown, model loaded), by file, and
 *     until the first result (the prediction, which needs tfjs' WebAssembly too);
 *   - from navigation to ready, and from pressing Compute (unit 3.3, sample image 3) to the prediction,
 *     the top-5 values and the last figure.
 * Usage: npm run build && node --import tsx bench/web-page.ts [runs=3]
 */
import { existsSync, statSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { serveStatic } from '../test/support/static-server.js';

const runs = Number(process.argv[2] ?? 3);
const server = await serveStatic('dist/web');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: Record<string, number[]> = { ready: [], prediction: [], topk: [], done: [], firstLoadBytes: [], bytesToFirstResult: [] };
let files: Record<string, number> = {};
let firstResultFiles: Record<string, number> = {};

try {
  for (let r = 0; r < runs; r++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const sizes: Record<string, number> = {};
    // Bytes as served (serve-web sends files uncompressed): the size on disk of every file asked for,
    // by the page and by its worker, each time it is asked for.
    page.on('requestfinished', (request) => {
      const path = new URL(request.url()).pathname;
      const file = `dist/web${path.endsWith('/') ? `${path}index.html` : path}`;
      if (existsSync(file)) sizes[path] = (sizes[path] ?? 0) + statSync(file).size;
    });
    const start = Date.now();
    await page.goto(server.url.href);
    await page.waitForSelector('#status[data-state="ready"]', { timeout: 120_000 });
    await page.waitForSelector('#gallery button', { timeout: 120_000 });
    rows.ready.push(Date.now() - start);
    files = { ...sizes };
    rows.firstLoadBytes.push(Object.values(sizes).reduce((a, b) => a + b, 0));
    await page.selectOption('#unit', '3.3');
    const clicked = Date.now();
    await page.click('#run');
    await page.waitForSelector('#prediction[data-probabilities]', { timeout: 120_000 });
    rows.prediction.push(Date.now() - clicked);
    rows.bytesToFirstResult.push(Object.values(sizes).reduce((a, b) => a + b, 0));
    firstResultFiles = { ...sizes };
    await page.waitForSelector('#top-values[data-values]', { timeout: 120_000 });
    rows.topk.push(Date.now() - clicked);
    await page.waitForSelector('#status[data-state="done"]', { timeout: 300_000 });
    rows.done.push(Date.now() - clicked);
    await context.close();
  }
} finally {
  await browser.close();
  server.close();
}

console.log(`runs: ${runs} (median)`);
console.log(`first load: ${median(rows.firstLoadBytes)} bytes; to the first result: ${median(rows.bytesToFirstResult)} bytes`);
for (const [file, bytes] of Object.entries(firstResultFiles).sort((a, b) => b[1] - a[1])) console.log(`  ${file}: ${bytes}${file in files ? '' : ' (after ready)'}`);
console.log(`navigation -> ready: ${median(rows.ready)} ms`);
console.log(`Compute -> prediction: ${median(rows.prediction)} ms; -> top-5: ${median(rows.topk)} ms; -> all figures: ${median(rows.done)} ms`);
