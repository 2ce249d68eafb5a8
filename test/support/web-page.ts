/**
 * The browser tests' set-up (browser.test.ts, web-page*.test.ts): a folder served on 127.0.0.1 and
 * Debian's Chromium driven by playwright-core; for the demo page (dist/web), the two viewports every
 * layout is checked at, the page's 50 CIFAR samples, and the checks those tests make of a page.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readCifarBatch } from '../../src/data/cifar.js';
import { repoRoot, serveStatic, type StaticServer } from './static-server.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots go here. */
export const artifacts = `${repoRoot}test-artifacts`;
export const SAMPLES_FILE = `${repoRoot}web/samples/cifar10-test-0-49.bin`;
/** The samples the page offers (CIFAR-10 test images 0-49). */
export const samples = readCifarBatch(readFileSync(SAMPLES_FILE), 'samples');

export interface Viewport {
  name: string;
  width: number;
  height: number;
}

export const VIEWPORTS: Viewport[] = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 375, height: 812 },
];

/** A page of the demo, with the errors it threw. */
export type DemoPage = Page & { errors: string[] };

/**
 * Registers the test file's before/after hooks that serve `dir` (relative to the repository) on
 * 127.0.0.1 and launch Chromium, and close both; returns them once the hooks have run.
 */
export function useChromium(dir: string): { browser(): Browser; server(): StaticServer } {
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium), or set CHROMIUM_PATH`);
    server = await serveStatic(dir);
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
  return { browser: () => browser!, server: () => server! };
}

/** useChromium for the demo page (dist/web); returns how to open the page, ready, at a viewport. */
export function useDemoPage(): { openPage(viewport: { width: number; height: number }): Promise<DemoPage> } {
  const chromium = useChromium('dist/web');
  before(() => mkdirSync(artifacts, { recursive: true }));
  return {
    async openPage(viewport) {
      const page = (await (await chromium.browser().newContext({ viewport })).newPage()) as DemoPage;
      page.errors = [];
      page.on('pageerror', (err) => page.errors.push(err.message));
      await page.goto(chromium.server().url.href);
      await page.waitForSelector('#status[data-state="ready"]', { timeout: 120_000 });
      return page;
    },
  };
}

/** Press Run and wait for the end: it must finish ('done'), not fail or be cancelled. */
export async function runToEnd(page: Page): Promise<void> {
  await page.click('#run');
  await page.waitForSelector('#status[data-state="done"], #status[data-state="error"], #status[data-state="cancelled"]', { timeout: 280_000 });
  assert.equal(await page.getAttribute('#status', 'data-state'), 'done', (await page.textContent('#error')) ?? '');
}

export async function assertNoHorizontalScroll(page: Page): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
  assert.ok(scrollWidth <= clientWidth, `horizontal scroll: content ${scrollWidth} px wide in a ${clientWidth} px viewport`);
}

/** Every element fully inside the viewport's width, with a non-zero size; returns how many there are. */
export async function assertInsideWidth(page: Page, selector: string, width: number): Promise<number> {
  const boxes = await page.locator(selector).evaluateAll((elements) => elements.map((e) => {
    const r = e.getBoundingClientRect();
    return { id: e.id || e.tagName, x: r.x, width: r.width, height: r.height };
  }));
  for (const b of boxes) {
    assert.ok(b.width > 0 && b.height > 0, `${selector} ${b.id}: size ${b.width} x ${b.height}`);
    assert.ok(b.x >= 0 && b.x + b.width <= width + 0.5, `${selector} ${b.id}: spans ${b.x}..${b.x + b.width} in a ${width} px viewport`);
  }
  return boxes.length;
}
