/**
 * Issue 6's benchmark, in one run on one machine: ResNet-56 at CIFAR-10 test image 0,
 *  1. the full spectrum of a stage-3 unit (3.1, 4096 x 8192: `unitSpectrum`) and the top-20 singular
 *     values of a stage-1 unit (1.1, 16384 x 16384: `unitTopSpectrum`), in Node (the library from src/)
 *     and in Chromium (dist/browser/index.js) on the page's main thread and in a module Web Worker;
 *     the browser's values are checked against Node's;
 *  2. the edge entry (dist/edge/index.js, `createSpectrumHandler`) for units 1.1, 2.1, 3.1 and k = 5, 20,
 *     each configuration in a fresh isolate (a Node worker thread, a Chromium module Web Worker): the
 *     first request (model fetch and kernel compilation included), then `--runs` more, reporting the
 *     response's `seconds` and `wasmMemoryBytes` (the WebAssembly memory never shrinks, so this is the
 *     peak of the isolate, which served only that configuration).
 * Every timing is a median of `--runs` runs after one untimed warm-up. Node, the page and the worker run
 * in turn within each round, so load changes on the shared machine hit all three alike.
 *
 *   node --import tsx bench/browser.ts [--runs 3]     (needs dist/: node scripts/build.mjs --no-types)
 */
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { chromium } from 'playwright-core';
import { imageToFloat, loadCifar } from '../src/data/cifar.js';
import { loadModel } from '../src/model/load.js';
import { unitSpectrum } from '../src/study/spectrum.js';
import { loadKernels } from '../src/wasm/kernels.js';
import { unitTopSpectrum } from '../src/web/unit-top-spectrum.js';
import { cifarTestFile } from '../test/support/shared.js';
import { repoRoot, serveStatic } from '../test/support/static-server.js';
import { median } from './support.js';

const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(argValue('--runs') ?? 3);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IMAGE = 0;
const FULL_UNIT = '3.1';
const TOP_UNIT = '1.1';
const TOP_K = 20;
/** Units 1.1, 2.1, 3.1 at k = 5 and 20, and 1.1 at k = 50 (the handler is created with maxK: 50). */
const EDGE_CONFIGS = [...['1.1', '2.1', '3.1'].flatMap((unit) => [5, 20].map((k) => ({ unit, k }))), { unit: '1.1', k: 50 }];

for (const file of ['dist/browser/index.js', 'dist/edge/index.js']) {
  if (!existsSync(repoRoot + file)) throw new Error(`${file} missing: run node scripts/build.mjs --no-types`);
}
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (apt-get install chromium, or set CHROMIUM_PATH)`);

type Task = 'full' | 'top';
interface Timed {
  seconds: number;
  values: number[];
  wasmMemoryBytes: number;
}
interface EdgeResult {
  coldWallSeconds: number;
  coldSeconds: number;
  seconds: number[];
  wasmMemoryBytes: number[];
  values: number[];
  shape: number[];
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const s = (x: number) => (x < 10 ? x.toFixed(3) : x.toFixed(2));
/** max_i |a_i - b_i| / |b_i| over the first n values. */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, n = Math.min(a.length, b.length)): number {
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.abs(b[i]));
  return worst;
}
/** max_i |a_i - b_i| / b_0 over all values (absolute error in units of s_max). */
function maxDiffOfMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.NaN;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / b[0];
}
const uptime = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const loadBefore = uptime();
console.error(`load average before: ${loadBefore}`);

// ---------------------------------------------------------------------------------------------------
// Setup: Node, the static server, Chromium (the page and one module Web Worker).

const batch = await loadCifar(cifarTestFile);
const pixels = imageToFloat(batch, IMAGE);
const record = Array.from(batch.pixels.subarray(IMAGE * 3072, (IMAGE + 1) * 3072));
const model = await loadModel('resnet56');

const shapes: Record<Task, number[]> = { full: [], top: [] };
const nodeTasks: Record<Task, () => Promise<number[]>> = {
  full: async () => {
    const r = await unitSpectrum(model, pixels, FULL_UNIT);
    shapes.full = r.shape;
    return Array.from(r.values);
  },
  top: async () => {
    const r = await unitTopSpectrum({ model, pixels, unit: TOP_UNIT, k: TOP_K });
    shapes.top = r.shape;
    return r.values;
  },
};
async function runNode(task: Task): Promise<Timed> {
  const start = performance.now();
  const values = await nodeTasks[task]();
  const seconds = (performance.now() - start) / 1000;
  return { seconds, values, wasmMemoryBytes: (await loadKernels()).memory.buffer.byteLength };
}

const server = await serveStatic('.');
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const chromiumVersion = browser.version();
/** Chromium's V8 version, from chrome://version (the page's text, not an API). */
async function chromiumV8(): Promise<string> {
  const page = await browser.newPage();
  try {
    await page.goto('chrome://version');
    return /JavaScript\s+V8\s+(\S+)/.exec((await page.textContent('body')) ?? '')?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  } finally {
    await page.close();
  }
}
const chromiumV8Version = await chromiumV8();

try {
  const page = await (await browser.newContext()).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  // A blank page on the server's origin (the demo page would load and compute things of its own).
  const blank = new URL('bench-blank.html', server.url).href;
  await page.route(blank, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>bench</title>' }));
  await page.goto(blank);

  const bundle = new URL('dist/browser/index.js', server.url).href;
  const edgeBundle = new URL('dist/edge/index.js', server.url).href;
  const modelsUrl = new URL('models/', server.url).href;

  // The same agent runs on the page's main thread and in the worker: browser bundle, model, `run(task)`.
  const agent = `
    const rs = await import(${JSON.stringify(bundle)});
    const pixels = Float32Array.from(${JSON.stringify(Array.from(pixels))});
    const model = await rs.loadModel('resnet56');
    const tasks = {
      full: async () => (await rs.unitSpectrum(model, pixels, ${JSON.stringify(FULL_UNIT)})).values,
      top: async () => (await rs.unitTopSpectrum({ model, pixels, unit: ${JSON.stringify(TOP_UNIT)}, k: ${TOP_K} })).values,
    };
    const run = async (task) => {
      const start = performance.now();
      const values = await tasks[task]();
      const seconds = (performance.now() - start) / 1000;
      return { seconds, values: Array.from(values), wasmMemoryBytes: (await rs.loadKernels()).memory.buffer.byteLength };
    };
  `;
  await page.evaluate(`(async () => { ${agent}; globalThis.benchRun = run; })()`);
  const workerSource = `
    ${agent}
    self.onmessage = async (e) => {
      try { postMessage({ result: await run(e.data) }); }
      catch (err) { postMessage({ error: String((err && err.stack) || err) }); }
    };
    postMessage({ ready: true });
  `;
  await page.evaluate(`new Promise((resolve, reject) => {
    const worker = new Worker(URL.createObjectURL(new Blob([${JSON.stringify(workerSource)}], { type: 'text/javascript' })), { type: 'module' });
    worker.onerror = (e) => reject(new Error('worker: ' + e.message));
    worker.onmessage = (e) => { if (e.data.ready) resolve(); else reject(new Error(JSON.stringify(e.data))); };
    globalThis.benchWorker = (task) => new Promise((res, rej) => {
      worker.onmessage = (m) => (m.data.error ? rej(new Error(m.data.error)) : res(m.data.result));
      worker.postMessage(task);
    });
  })`);
  const runPage = (task: Task) => page.evaluate((t) => (globalThis as unknown as { benchRun(t: string): Promise<Timed> }).benchRun(t), task);
  const runWorker = (task: Task) => page.evaluate((t) => (globalThis as unknown as { benchWorker(t: string): Promise<Timed> }).benchWorker(t), task);

  // -------------------------------------------------------------------------------------------------
  // 1. Node vs Chromium (main thread, worker): one untimed warm-up each, then `runs` interleaved rounds.

  const places = { node: runNode, page: runPage, worker: runWorker } as const;
  type Place = keyof typeof places;
  const results: Record<Place, Record<Task, Timed[]>> = {
    node: { full: [], top: [] }, page: { full: [], top: [] }, worker: { full: [], top: [] },
  };
  for (const place of Object.keys(places) as Place[]) {
    for (const task of ['full', 'top'] as Task[]) {
      const warm = await places[place](task);
      console.error(`warm-up ${place} ${task}: ${warm.seconds.toFixed(3)} s`);
    }
  }
  for (let round = 0; round < runs; round++) {
    for (const task of ['full', 'top'] as Task[]) {
      for (const place of Object.keys(places) as Place[]) {
        const r = await places[place](task);
        results[place][task].push(r);
        console.error(`round ${round + 1} ${place} ${task}: ${r.seconds.toFixed(3)} s`);
      }
    }
  }
  if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join('; ')}`);

  const med = (place: Place, task: Task) => median(results[place][task].map((r) => r.seconds));
  const mem = (place: Place) => Math.max(...results[place].full.concat(results[place].top).map((r) => r.wasmMemoryBytes));
  const nodeFull = results.node.full[0].values;
  const nodeTop = results.node.top[0].values;
  // Every run's values against Node's first (Node's own runs too: they must be deterministic).
  const diffs = (place: Place) => ({
    top: Math.max(...results[place].top.map((r) => maxRelDiff(r.values, nodeTop, TOP_K))),
    smax: Math.max(...results[place].full.map((r) => maxRelDiff(r.values, nodeFull, 1))),
    all: Math.max(...results[place].full.map((r) => maxDiffOfMax(r.values, nodeFull))),
  });

  console.log(`\nChromium ${chromiumVersion} (${CHROMIUM}, V8 ${chromiumV8Version}), Node ${process.version} (V8 ${process.versions.v8}); ResNet-56, CIFAR-10 test image ${IMAGE}; medians of ${runs} runs after one warm-up.\n`);
  console.log('| computation | Node (s) | Chromium main thread (s) | Chromium Web Worker (s) | main thread / Node | worker / Node |');
  console.log('|---|---|---|---|---|---|');
  const rows: [Task, string][] = [
    ['full', `full spectrum of unit ${FULL_UNIT} (${shapes.full.join(' x ')}, \`unitSpectrum\`)`],
    ['top', `top-${TOP_K} of unit ${TOP_UNIT} (${shapes.top.join(' x ')}, \`unitTopSpectrum\`)`],
  ];
  for (const [task, label] of rows) {
    const n = med('node', task);
    const p = med('page', task);
    const w = med('worker', task);
    console.log(`| ${label} | ${s(n)} | ${s(p)} | ${s(w)} | ${(p / n).toFixed(2)}x | ${(w / n).toFixed(2)}x |`);
  }
  console.log(`\n| agreement with Node (every run) | Node (rerun) | Chromium main thread | Chromium Web Worker |`);
  console.log('|---|---|---|---|');
  const d = { node: diffs('node'), page: diffs('page'), worker: diffs('worker') };
  const e = (x: number) => x.toExponential(1);
  console.log(`| top-${TOP_K} of ${TOP_UNIT}: max relative difference | ${e(d.node.top)} | ${e(d.page.top)} | ${e(d.worker.top)} |`);
  console.log(`| full spectrum of ${FULL_UNIT}: relative difference of s_max | ${e(d.node.smax)} | ${e(d.page.smax)} | ${e(d.worker.smax)} |`);
  console.log(`| full spectrum of ${FULL_UNIT}: max abs difference / s_max, all ${nodeFull.length} values | ${e(d.node.all)} | ${e(d.page.all)} | ${e(d.worker.all)} |`);
  console.log(`| WebAssembly memory after both computations | ${mib(mem('node'))} | ${mib(mem('page'))} | ${mib(mem('worker'))} |`);
  console.error(`s_max of ${FULL_UNIT}: ${nodeFull[0]}; top-3 of ${TOP_UNIT}: ${nodeTop.slice(0, 3).join(', ')}`);

  // -------------------------------------------------------------------------------------------------
  // 2. The edge handler, each configuration in a fresh isolate.

  // In the Chromium worker and the Node worker thread alike: cold request, then `runs` warm ones.
  const edgeSource = (bundleUrl: string, post: string) => `
    const body = new Uint8Array(${JSON.stringify(record)});
    const config = ${'__CONFIG__'};
    const { createSpectrumHandler } = await import(${JSON.stringify(bundleUrl)});
    const handler = createSpectrumHandler({ models: ${JSON.stringify(modelsUrl)}, maxK: 50 });
    const request = async () => {
      const start = performance.now();
      const response = await handler.fetch(new Request('http://edge.test/?model=resnet56&unit=' + config.unit + '&k=' + config.k, { method: 'POST', body }));
      const json = await response.json();
      if (response.status !== 200) throw new Error(JSON.stringify(json));
      return { wall: (performance.now() - start) / 1000, json };
    };
    try {
      const cold = await request();
      const warm = [];
      for (let i = 0; i < ${runs}; i++) warm.push((await request()).json);
      ${post}({ result: {
        coldWallSeconds: cold.wall, coldSeconds: cold.json.seconds,
        seconds: warm.map((r) => r.seconds), wasmMemoryBytes: [cold.json.wasmMemoryBytes, ...warm.map((r) => r.wasmMemoryBytes)],
        values: cold.json.values, shape: cold.json.shape,
      } });
    } catch (err) { ${post}({ error: String((err && err.stack) || err) }); }
  `;
  const nodeEdgeSource = `const { parentPort } = await import('node:worker_threads');\n${edgeSource(pathToFileURL(`${repoRoot}dist/edge/index.js`).href, 'parentPort.postMessage')}`;
  const browserEdgeSource = edgeSource(edgeBundle, 'postMessage');

  function edgeInNode(config: { unit: string; k: number }): Promise<EdgeResult> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(nodeEdgeSource.replace('__CONFIG__', JSON.stringify(config)), { eval: true });
      worker.once('message', (m: { result?: EdgeResult; error?: string }) => {
        void worker.terminate();
        if (m.error) reject(new Error(m.error));
        else resolve(m.result!);
      });
      worker.once('error', reject);
    });
  }
  function edgeInChromium(config: { unit: string; k: number }): Promise<EdgeResult> {
    return page.evaluate(`new Promise((resolve, reject) => {
      const worker = new Worker(URL.createObjectURL(new Blob([${JSON.stringify(browserEdgeSource.replace('__CONFIG__', JSON.stringify(config)))}], { type: 'text/javascript' })), { type: 'module' });
      worker.onerror = (e) => reject(new Error('edge worker: ' + e.message));
      worker.onmessage = (e) => { worker.terminate(); if (e.data.error) reject(new Error(e.data.error)); else resolve(e.data.result); };
    })`) as Promise<EdgeResult>;
  }

  // Node's top-20 of each unit (untimed) to check the edge's values against.
  const reference = new Map<string, number[]>();
  for (const unit of new Set(EDGE_CONFIGS.map((c) => c.unit))) {
    reference.set(unit, (await unitTopSpectrum({ model, pixels, unit, k: 20 })).values);
  }

  const edge: { unit: string; k: number; node: EdgeResult; chromium: EdgeResult }[] = [];
  for (const config of EDGE_CONFIGS) {
    const node = await edgeInNode(config);
    const inChromium = await edgeInChromium(config);
    console.error(`edge ${config.unit} k=${config.k}: Node ${median(node.seconds).toFixed(3)} s, Chromium ${median(inChromium.seconds).toFixed(3)} s`);
    edge.push({ ...config, node, chromium: inChromium });
  }

  console.log(`\nEdge handler (dist/edge/index.js), POST of the image's 3072 raw bytes; one fresh isolate per row (Node worker thread / Chromium module Web Worker).`);
  console.log('"first request" is the wall time of the isolate\'s first `fetch` (model download and kernel compilation included);');
  console.log(`"seconds" is the response's \`seconds\` (median of the ${runs} requests after it); memory is the response's \`wasmMemoryBytes\` (the isolate's peak).\n`);
  console.log('| unit | shape | k | Node: first request (s) | Node: seconds | Node: wasmMemoryBytes | Chromium worker: first request (s) | Chromium worker: seconds | Chromium worker: wasmMemoryBytes | Chromium / Node | max rel. diff vs the Node library\'s top-20 |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of edge) {
    const n = median(row.node.seconds);
    const c = median(row.chromium.seconds);
    const memNode = Math.max(...row.node.wasmMemoryBytes);
    const memChromium = Math.max(...row.chromium.wasmMemoryBytes);
    const ref = reference.get(row.unit)!;
    const diff = Math.max(maxRelDiff(row.node.values, ref, Math.min(row.k, ref.length)), maxRelDiff(row.chromium.values, ref, Math.min(row.k, ref.length)));
    const grew = (m: number[]) => (m[0] !== m[m.length - 1] ? ` (first ${mib(m[0])})` : '');
    console.log(
      `| ${row.unit} | ${row.node.shape.join(' x ')} | ${row.k} | ${s(row.node.coldWallSeconds)} | ${s(n)} | ${memNode} (${mib(memNode)})${grew(row.node.wasmMemoryBytes)} | ` +
        `${s(row.chromium.coldWallSeconds)} | ${s(c)} | ${memChromium} (${mib(memChromium)})${grew(row.chromium.wasmMemoryBytes)} | ${(c / n).toFixed(2)}x | ${e(diff)} |`,
    );
  }
} finally {
  await browser.close();
  server.close();
}
console.log(`\nload average (1, 5, 15 min): before ${loadBefore}, after ${uptime()}`);
