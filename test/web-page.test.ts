/**
 * The demo page (dist/web) as a visitor uses it, in Debian's Chromium driven by playwright-core, at a
 * desktop (1280 x 800) and a phone (375 x 812) viewport. Numbers are checked against the library called
 * here in Node (and against the CLI for a checkpoint loaded from disk); layout against the viewport.
 * Screenshots are kept in test-artifacts/.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'fflate';
import { PNG } from 'pngjs';
import type { Page } from 'playwright-core';
import { imageToFloat } from '../src/data/cifar.js';
import { decodeImage } from '../src/data/image.js';
import { loadModel } from '../src/model/load.js';
import { unitTopSpectrum } from '../src/web/unit-top-spectrum.js';
import { sharedPath } from './support/shared.js';
import { repoRoot } from './support/static-server.js';
import {
  artifacts, assertInsideWidth, assertNoHorizontalScroll, runToEnd, samples, SAMPLES_FILE, useDemoPage, VIEWPORTS,
} from './support/web-page.js';

/** Sample 3 is a cat; unit 3.3 is a stage-3 unit, so the page computes its full spectrum. */
const IMAGE = 3;
const UNIT = '3.3';

const { openPage } = useDemoPage();

/** The element is on screen, in the current scroll position, without scrolling. */
async function assertInView(page: Page, selector: string, viewport: { width: number; height: number }): Promise<void> {
  const r = await page.locator(selector).evaluate((e) => e.getBoundingClientRect().toJSON() as DOMRect);
  assert.ok(r.width > 0 && r.top >= 0 && r.bottom <= viewport.height && r.right <= viewport.width, `${selector} at ${JSON.stringify(r)} is not in the ${viewport.width} x ${viewport.height} view`);
}

const nodeTop5 = async (model: string, index: number, unit: string) =>
  (await unitTopSpectrum({ model: await loadModel(model), pixels: imageToFloat(samples, index), unit, k: 5 })).values;

for (const viewport of VIEWPORTS) {
  describe(`at ${viewport.width} x ${viewport.height} (${viewport.name})`, () => {
    test('sample images are there with no file chosen; Compute is in view; no horizontal scroll', { timeout: 180_000 }, async () => {
      const page = await openPage(viewport);
      assert.equal(await page.locator('#gallery button').count(), 50);
      assert.match((await page.textContent('#gallery-info'))!, /of 50/);
      assert.match((await page.textContent('#selected-label'))!, /image 3 .*cat/);
      assert.equal(await page.isDisabled('#run'), false);
      await assertInView(page, '#run', viewport);
      await assertNoHorizontalScroll(page);
      // One column below 700 px (the results under the inputs), two beside each other above.
      const [inputs, results] = await Promise.all(['#inputs', '#results'].map((s) => page.locator(s).evaluate((e) => e.getBoundingClientRect().toJSON() as DOMRect)));
      if (viewport.width < 700) assert.ok(results.top >= inputs.bottom && results.width >= inputs.width - 1, `one column: inputs ${JSON.stringify(inputs)}, results ${JSON.stringify(results)}`);
      else assert.ok(results.left >= inputs.right && Math.abs(results.top - inputs.top) < 1, 'two columns');
      // Status as a polite live region with a labelled progress bar; the gallery one tab stop.
      assert.equal(await page.getAttribute('#status', 'role'), 'status');
      assert.equal(await page.getAttribute('#status', 'aria-live'), 'polite');
      assert.match((await page.getAttribute('#progress', 'aria-label')) ?? '', /progress/);
      assert.equal(await page.getAttribute('#error', 'role'), 'alert');
      assert.equal(await page.locator('#gallery button[tabindex="0"]').count(), 1);
      assert.equal(await page.getAttribute('#gallery button[data-index="3"]', 'aria-pressed'), 'true');
      assert.match((await page.getAttribute('#gallery button[data-index="3"]', 'aria-label'))!, /^image 3: cat$/);
      assert.deepEqual(page.errors, []);
      await page.screenshot({ path: `${artifacts}/web-page-${viewport.name}-start.png` });
    });

    test('eps = -1 and other bad inputs give an error before any computation, in view', { timeout: 180_000 }, async () => {
      const page = await openPage(viewport);
      const bad: [string, string, RegExp][] = [
        ['#eps', '-1', /^eps: "-1" is not a number with 0 < eps ≤ 1$/],
        ['#eps', '0', /^eps: "0"/],
        ['#k', '0', /^Top-k: "0" is not a whole number from 1 to 50$/],
        ['#k', '2.5', /^Top-k: "2.5"/],
        ['#k', '51', /^Top-k: "51"/],
      ];
      for (const [field, value, message] of bad) {
        await page.fill('#k', '5');
        await page.fill('#eps', '0.01');
        await page.fill(field, value);
        await page.click('#run');
        // The check is synchronous in the click handler: no step of the computation has started.
        assert.equal(await page.getAttribute('#status', 'data-state'), 'error', `${field} = ${value}`);
        assert.match((await page.textContent('#error'))!, message);
        assert.equal(await page.getAttribute('#results', 'data-state'), 'empty', 'results untouched');
        assert.equal(await page.textContent('#prediction'), '—', 'no prediction was made');
        await assertInView(page, '#error', viewport);
      }
      // The limits the page shows are the ones it checks.
      assert.match((await page.textContent('#k-label'))!, /1 to 50/);
      assert.match((await page.textContent('#eps-label'))!, /0 < eps ≤ 1/);
    });

    test(`unit ${UNIT}: top-5 equal to Node, every figure inside the viewport, stale results gone during the next run`, { timeout: 600_000 }, async () => {
      const page = await openPage(viewport);
      await page.selectOption('#unit', UNIT);
      await runToEnd(page);
      const pageValues = JSON.parse((await page.getAttribute('#top-values', 'data-values'))!) as number[];
      const node = await nodeTop5('resnet56', IMAGE, UNIT);
      assert.equal(pageValues.length, 5);
      pageValues.forEach((v, i) => assert.ok(Math.abs(v - node[i]) <= 1e-9 * node[0], `value ${i}: page ${v}, Node ${node[i]}`));
      // Text shows 4 significant digits.
      assert.deepEqual(await page.locator('#top-values li').allTextContents(), node.map((v) => v.toPrecision(4)));
      assert.match((await page.textContent('#prediction'))!, /^cat \(\d+\.\d\d %\); true label: cat$/);

      assert.equal(await assertInsideWidth(page, '.figure[data-figure] svg', viewport.width), 4, 'four figures drawn');
      assert.equal(await assertInsideWidth(page, '.figure[data-figure]', viewport.width), 4);
      for (const figure of await page.locator('.figure[data-figure]').all()) {
        assert.match((await figure.getAttribute('aria-label')) ?? '', /\d/, 'a text alternative with the numbers');
        assert.equal(await figure.getAttribute('role'), 'img');
      }
      assert.match((await page.getAttribute('#spectrum-figure', 'aria-label'))!, /4096 singular values .* above 1/);
      // A caption under each figure, inside the viewport too.
      for (const figure of await page.locator('figure:has(.figure[data-figure])').all()) {
        const [chart, caption] = await Promise.all([figure.locator('.figure').boundingBox(), figure.locator('figcaption').boundingBox()]);
        assert.ok(chart && caption && caption.y >= chart.y + chart.height - 0.5, 'the caption is under its figure');
        assert.ok((await figure.locator('figcaption').textContent())!.trim().length > 40, 'the caption says what to look at');
      }
      assert.equal(await assertInsideWidth(page, 'figure figcaption', viewport.width), 4);
      await assertNoHorizontalScroll(page);
      await page.screenshot({ path: `${artifacts}/web-page-${viewport.name}-done.png`, fullPage: true });

      // A new image: the old results go at once, while the new run is in flight.
      await page.click('#gallery button[data-index="8"]');
      // Read the page in the same task as the click, before any answer of the worker can arrive.
      const inFlight = await page.evaluate(() => {
        document.getElementById('run')!.click();
        return {
          state: document.getElementById('status')!.dataset.state,
          prediction: document.getElementById('prediction')!.textContent,
          values: document.getElementById('top-values')!.dataset.values,
          items: document.querySelectorAll('#top-values li').length,
          figures: document.querySelectorAll('.figure svg').length,
          summary: document.getElementById('propagation-summary')!.textContent,
        };
      });
      assert.deepEqual(inFlight, { state: 'running', prediction: '', values: undefined, items: 0, figures: 0, summary: '' });
      await page.screenshot({ path: `${artifacts}/web-page-${viewport.name}-running.png` });
      await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]', { timeout: 280_000 });
      assert.match((await page.textContent('#prediction'))!, /true label: ship/);

      // Only the unit changes: the propagation is reused (drawn before the unit's values arrive).
      await page.selectOption('#unit', '3.1');
      await page.click('#run');
      await page.waitForSelector('#propagation-figure svg', { timeout: 10_000 });
      assert.equal(await page.getAttribute('#top-values', 'data-values'), null, 'propagation drawn before the top-k: it was not recomputed');
      await page.waitForSelector('#status[data-state="done"]', { timeout: 280_000 });
      assert.match((await page.getAttribute('#propagation-figure', 'aria-label'))!, /unit 3\.1 marked/);
      assert.deepEqual(page.errors, []);
    });
  });
}

test('a model switch keeps the unit by its label, or resets it with a visible note', { timeout: 180_000 }, async () => {
  const page = await openPage(VIEWPORTS[0]);
  await page.selectOption('#unit', '3.3');
  await page.selectOption('#model', 'resnet110');
  await page.waitForSelector('#unit option[value="3.18"]', { state: 'attached', timeout: 120_000 });
  await page.waitForSelector('#status[data-state="ready"]');
  assert.equal(await page.inputValue('#unit'), '3.3');
  assert.equal(await page.isHidden('#unit-note'), true);
  await page.selectOption('#unit', '3.12');
  await page.selectOption('#model', 'resnet56');
  await page.waitForFunction(() => !document.querySelector('#unit option[value="3.18"]'));
  assert.equal(await page.inputValue('#unit'), '3.1');
  assert.match((await page.textContent('#unit-note'))!, /Unit 3\.12 does not exist in ResNet-56.*3\.1/);

  // A model switch during a run leaves the run's status and Cancel alone; Compute waits for both.
  await page.selectOption('#unit', '3.3');
  await page.click('#run');
  await page.waitForSelector('#status[data-state="running"]');
  await page.selectOption('#model', 'resnet110');
  const during = await page.evaluate(() => ({
    state: document.getElementById('status')!.dataset.state,
    run: (document.getElementById('run') as HTMLButtonElement).disabled,
    cancel: (document.getElementById('cancel') as HTMLButtonElement).disabled,
  }));
  assert.deepEqual(during, { state: 'running', run: true, cancel: false });
  await page.waitForSelector('#status[data-state="done"]', { timeout: 280_000 });
  await page.waitForSelector('#unit option[value="3.18"]', { state: 'attached', timeout: 120_000 });
  await page.waitForFunction(() => !(document.getElementById('run') as HTMLButtonElement).disabled);
  assert.equal(await page.inputValue('#unit'), '3.3');
  assert.match((await page.textContent('#top-title'))!, /unit 3\.3/);

  // Cancel while a model is loading: it is loaded again in the new worker.
  await page.selectOption('#unit', '1.1');
  await page.click('#run');
  await page.waitForSelector('#status[data-state="running"]');
  await page.setInputFiles('#model-file', [`${repoRoot}models/resnet56/model.json`, `${repoRoot}models/resnet56/weights.bin`]);
  await page.click('#cancel');
  await page.waitForFunction(() => /yours/.test(document.querySelector<HTMLSelectElement>('#model')!.selectedOptions[0].textContent ?? ''), undefined, { timeout: 120_000 });
  await page.waitForSelector('#status[data-state="ready"]', { timeout: 120_000 });
  assert.equal(await page.isDisabled('#run'), false);
  assert.deepEqual(page.errors, []);
});

/** softmax of the CLI's logits for sample `index` with `--model model`. */
function cliProbabilities(model: string, index: number): number[] {
  const out = execFileSync(process.execPath, [`${repoRoot}dist/node/cli.js`, 'predict', '--model', model, '--data', SAMPLES_FILE, '--images', String(index), '--json'], { encoding: 'utf8' });
  const logits = (JSON.parse(out) as { logits: number[][] }).logits[0];
  const top = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

async function predictWithOwnModel(page: Page, input: string, files: string[] | { name: string; mimeType: string; buffer: Buffer }[], title: RegExp): Promise<number[]> {
  await page.setInputFiles(input, files as never);
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector<HTMLSelectElement>('#model')!.selectedOptions[0].textContent ?? ''), title.source, { timeout: 120_000 });
  await page.waitForSelector('#status[data-state="ready"], #status[data-state="error"]');
  assert.equal(await page.getAttribute('#status', 'data-state'), 'ready', (await page.textContent('#error')) ?? '');
  await page.selectOption('#unit', '3.1');
  await page.fill('#k', '1');
  await runToEnd(page);
  return JSON.parse((await page.getAttribute('#prediction', 'data-probabilities'))!) as number[];
}

const assertSameProbabilities = (page: number[], cli: number[]) => {
  assert.equal(page.indexOf(Math.max(...page)), cli.indexOf(Math.max(...cli)), 'same predicted class');
  page.forEach((p, c) => assert.ok(Math.abs(p - cli[c]) < 1e-5, `class ${c}: page ${p}, CLI ${cli[c]}`));
};

test('a model folder chosen as files (model.json + weights) predicts as the CLI does', { timeout: 600_000 }, async () => {
  const page = await openPage(VIEWPORTS[0]);
  const dir = `${repoRoot}models/resnet110`;
  const probabilities = await predictWithOwnModel(page, '#model-file', [`${dir}/model.json`, `${dir}/weights.bin`], /yours/);
  assertSameProbabilities(probabilities, cliProbabilities(dir, IMAGE));
  const values = JSON.parse((await page.getAttribute('#top-values', 'data-values'))!) as number[];
  const node = await nodeTop5('resnet110', IMAGE, '3.1');
  assert.ok(Math.abs(values[0] - node[0]) <= 1e-9 * node[0], `top value: page ${values[0]}, Node ${node[0]}`);

  // The same folder through the folder picker (paths relative to the chosen folder).
  const fromFolder = await predictWithOwnModel(page, '#model-folder', [dir], /resnet110\/ \(yours\)/);
  assert.deepEqual(fromFolder, probabilities);
});

/** A file of the shared data: beside the repository, or beside the CIFAR-10 folder that $RESNET_STABILITY_DATA names. */
function sharedFile(relative: string): string {
  const data = process.env.RESNET_STABILITY_DATA;
  const candidates = [sharedPath(relative), ...(data ? [join(dirname(dirname(data.replace(/\/+$/, ''))), relative)] : [])];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

for (const checkpoint of ['models/resnet56.th', 'models/public/resnet20-12fca82f.th']) {
  const path = sharedFile(checkpoint);
  test(`a PyTorch checkpoint from disk (${checkpoint}) predicts as the CLI does`, { timeout: 600_000, skip: existsSync(path) ? false : `${path} not present (the shared data is beside the repository in CI)` }, async () => {
    const page = await openPage(VIEWPORTS[0]);
    const name = checkpoint.split('/').pop()!;
    const probabilities = await predictWithOwnModel(page, '#model-file', [path], new RegExp(name.replace(/[.-]/g, '\\$&')));
    assertSameProbabilities(probabilities, cliProbabilities(path, IMAGE));
  });
}

test('a file that is no model is refused on the page with its name', { timeout: 120_000 }, async () => {
  const page = await openPage(VIEWPORTS[0]);
  await page.setInputFiles('#model-file', { name: 'notes.th', mimeType: 'application/octet-stream', buffer: Buffer.from('hello') });
  await page.waitForSelector('#error:not([hidden])', { timeout: 60_000 });
  assert.match((await page.textContent('#error'))!, /^notes\.th: /);
  assert.equal(await page.inputValue('#model'), 'resnet56', 'the previous model stays chosen');
});

/** A tar archive of the given members (ustar headers, 512-byte blocks, two zero blocks at the end). */
function tar(members: { name: string; bytes: Uint8Array }[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const { name, bytes } of members) {
    const header = new Uint8Array(512);
    const put = (text: string, at: number) => header.set(new TextEncoder().encode(text), at);
    put(name, 0);
    put('0000644\0', 100);
    put(`${bytes.length.toString(8).padStart(11, '0')}\0`, 124);
    put('0', 156);
    put('ustar\0' + '00', 257);
    put('        ', 148);
    const sum = header.reduce((a, b) => a + b, 0);
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, bytes, new Uint8Array((512 - (bytes.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

test('the official .tar.gz layout and paging: any image of a 150-image batch is reachable, by keys too', { timeout: 180_000 }, async () => {
  const page = await openPage(VIEWPORTS[1]);
  const records = readFileSync(SAMPLES_FILE);
  const batch = Buffer.concat([records, records, records]); // 150 images: image i is sample i mod 50
  const archive = gzipSync(tar([
    { name: 'cifar-10-batches-bin/batches.meta.txt', bytes: new TextEncoder().encode('airplane\n') },
    { name: 'cifar-10-batches-bin/data_batch_1.bin', bytes: new Uint8Array(records.subarray(0, 3073)) },
    { name: 'cifar-10-batches-bin/test_batch.bin', bytes: new Uint8Array(batch) },
  ]));
  await page.locator('#own-images summary').click();
  await page.setInputFiles('#cifar-file', { name: 'cifar-10-binary.tar.gz', mimeType: 'application/gzip', buffer: Buffer.from(archive) });
  await page.waitForFunction(() => /of 150/.test(document.getElementById('gallery-info')!.textContent ?? ''));
  await page.click('#page-next');
  assert.equal(await page.getAttribute('#gallery button >> nth=0', 'data-index'), '50');
  await page.fill('#image-index', '137');
  await page.press('#image-index', 'Enter');
  await page.waitForSelector('#gallery button[data-index="137"][aria-pressed="true"]');
  assert.match((await page.textContent('#selected-label'))!, /image 137 .*cifar-10-binary\.tar\.gz.*\(horse\)/); // sample 37: class 7
  // The gallery is one tab stop; arrows move, Enter chooses.
  assert.equal(await page.locator('#gallery button[tabindex="0"]').count(), 1);
  await page.focus('#gallery button[data-index="137"]');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-index')), '148');
  await page.keyboard.press('ArrowDown'); // past the end: stays on the last image
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#gallery button[data-index="149"]', 'aria-pressed'), 'true');
  assert.equal(await page.locator('#gallery button[aria-pressed="true"]').count(), 1);
  assert.equal(await page.locator('#gallery button[tabindex="0"]').count(), 1);
  await page.keyboard.press('PageUp');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-index')), '99');
  await assertNoHorizontalScroll(page);

  // A damaged archive is refused with its name.
  await page.setInputFiles('#cifar-file', { name: 'broken.tar.gz', mimeType: 'application/gzip', buffer: Buffer.from(archive.subarray(0, 200)) });
  await page.waitForSelector('#error:not([hidden])');
  assert.match((await page.textContent('#error'))!, /^broken\.tar\.gz: /);
});

test('Cancel stops a run; the next run reuses the model without fetching it again', { timeout: 600_000 }, async () => {
  const page = await openPage(VIEWPORTS[0]);
  await page.selectOption('#unit', '1.1'); // stage 1: the density, long enough to cancel
  await page.click('#run');
  await page.waitForFunction(() => /^3\/4/.test(document.getElementById('status-text')!.textContent ?? ''), undefined, { timeout: 120_000 });
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.click('#cancel');
  assert.equal(await page.getAttribute('#status', 'data-state'), 'cancelled');
  await page.selectOption('#unit', '2.5'); // a stage-2 unit (8192 x 8192): the density route to the end
  await runToEnd(page);
  assert.deepEqual(requests.filter((u) => u.includes('/models/')), [], 'no model download after Cancel');
  assert.match((await page.textContent('#spectrum-title'))!, /^Density of the 8192 singular values of unit 2\.5 \(stochastic Lanczos quadrature/);
  assert.equal(await page.isHidden('#spectrum-block'), true, 'no sorted spectrum without all the values');
  assert.equal(await page.locator('#histogram-figure svg').count(), 1);
  assert.match((await page.getAttribute('#histogram-figure', 'aria-label'))!, /^Estimated histogram of the 8192 singular values of unit 2\.5/);
});

test('an uploaded 32x32 PNG gives the same top-5 as the CIFAR-10 image it holds; a wrong size is refused', { timeout: 300_000 }, async () => {
  const page = await openPage(VIEWPORTS[0]);
  const png = new PNG({ width: 32, height: 32 });
  for (let p = 0; p < 1024; p++) {
    for (let c = 0; c < 3; c++) png.data[4 * p + c] = samples.pixels[IMAGE * 3072 + c * 1024 + p];
    png.data[4 * p + 3] = 255;
  }
  await page.locator('#own-images summary').click();
  await page.setInputFiles('#image-file', { name: 'cat.png', mimeType: 'image/png', buffer: PNG.sync.write(png) });
  await page.waitForFunction(() => document.getElementById('selected-label')!.textContent === 'cat.png');
  assert.equal(await page.locator('#gallery button[aria-pressed="true"]').count(), 0);
  await page.selectOption('#unit', UNIT);
  await runToEnd(page);
  const pageValues = JSON.parse((await page.getAttribute('#top-values', 'data-values'))!) as number[];
  const node = await nodeTop5('resnet56', IMAGE, UNIT);
  pageValues.forEach((v, i) => assert.ok(Math.abs(v - node[i]) <= 1e-9 * node[0], `value ${i}: page ${v}, Node ${node[i]}`));

  await page.setInputFiles('#image-file', { name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) });
  await page.waitForSelector('#error:not([hidden])');
  assert.equal(await page.textContent('#error'), 'empty.png: file is empty');

  const small = new PNG({ width: 16, height: 16 });
  small.data.fill(255);
  await page.setInputFiles('#image-file', { name: 'small.png', mimeType: 'image/png', buffer: PNG.sync.write(small) });
  await page.waitForSelector('#error:not([hidden])');
  assert.match((await page.textContent('#error'))!, /small\.png: .*16x16.*32x32|small\.png: .*32x32.*16x16/);
});

test('an uploaded JPEG is decoded on the page as decodeImage does in Node', { timeout: 120_000 }, async () => {
  const page = await openPage(VIEWPORTS[1]);
  const file = `${repoRoot}test/fixtures/progressive-32x32.jpg`;
  await page.locator('#own-images summary').click();
  await page.setInputFiles('#image-file', file);
  await page.waitForFunction(() => document.getElementById('selected-label')!.textContent === 'progressive-32x32.jpg');
  const shown = await page.evaluate(() => {
    const data = (document.getElementById('selected-canvas') as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 32, 32).data;
    return Array.from(data);
  });
  const node = decodeImage(new Uint8Array(readFileSync(file)), 'progressive-32x32.jpg');
  for (let p = 0; p < 1024; p++) {
    for (let c = 0; c < 3; c++) assert.equal(shown[4 * p + c], Math.round(node[c * 1024 + p] * 255), `pixel ${p}, channel ${c}`);
  }
  assert.equal(await page.isDisabled('#run'), false);
  assert.deepEqual(page.errors, []);
});
