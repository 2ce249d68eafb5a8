/**
 * The edge entry (dist/edge/index.js): it must import no Node built-in and no tfjs, and its request
 * handler must compute a unit's top-k singular values in a worker whose Node globals are removed,
 * equal to what the Node library computes for the same model, image and unit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { imageToFloat, loadCifar } from '../src/data/cifar.js';
import { loadModel } from '../src/model/load.js';
import { unitTopSpectrum } from '../src/web/unit-top-spectrum.js';
import { cifarTestFile } from './support/shared.js';
import { repoRoot, serveStatic, type StaticServer } from './support/static-server.js';

const edgeBundle = `${repoRoot}dist/edge/index.js`;

test('the edge bundle imports no Node built-in, no tfjs and no worker', () => {
  const meta = JSON.parse(readFileSync(`${repoRoot}build/meta-edge.json`, 'utf8')) as {
    inputs: Record<string, unknown>;
    outputs: Record<string, { imports: { path: string }[] }>;
  };
  const inputs = Object.keys(meta.inputs);
  // Node-only branches (file paths) stay in the code, but their built-ins are refusing stubs, never imports.
  assert.deepEqual(inputs.filter((p) => /^node:|^(fs|path|url|os|crypto|worker_threads)$/.test(p)), []);
  assert.deepEqual(inputs.filter((p) => /tensorflow|comlink|worker|pngjs/.test(p)), []);
  for (const [file, output] of Object.entries(meta.outputs)) assert.deepEqual(output.imports, [], `${file} imports`);
  const text = readFileSync(edgeBundle, 'utf8');
  // (jpeg-js mentions Buffer behind a `typeof module` guard; Buffer is not a module import.)
  for (const pattern of [/\bnode:/, /\brequire\(/, /worker_threads/, /\bimport\s*\(/, /\bsetImmediate\b/]) {
    const at = text.search(pattern);
    assert.equal(at, -1, `edge bundle contains ${pattern}: ...${text.slice(at - 80, at + 80)}...`);
  }
});

let server: StaticServer;
before(async () => {
  server = await serveStatic('.');
});
after(() => server?.close());

/**
 * Run the handler inside a worker with process, global (and no require: ESM) removed. setImmediate stays,
 * like Buffer: Node 22+'s own fetch calls it at run time; the bundle's text is checked for it above.
 */
function runInBareWorker(request: { url: string; body: number[] }): Promise<{ status: number; body: Record<string, unknown> }> {
  const code = `
    const { parentPort, workerData } = await import('node:worker_threads');
    // Node's fetch loads lazily and needs Node's globals to load: load it first, as a runtime's own.
    await (await fetch(workerData.models + 'resnet56/model.json')).arrayBuffer();
    await new Response(new Uint8Array(1)).arrayBuffer();
    // Buffer and setImmediate stay: Node's own fetch, Request and Response use them internally (the
    // bundle's text is checked for setImmediate above; jpeg-js guards its Buffer).
    for (const name of ['process', 'global', 'require', 'module', '__filename', '__dirname']) {
      try { delete globalThis[name]; } catch {}
      if (name in globalThis) throw new Error(name + ' is still defined');
    }
    const { createSpectrumHandler } = await import(workerData.bundle);
    const handler = createSpectrumHandler({ models: workerData.models });
    const response = await handler.fetch(new Request(workerData.url, { method: 'POST', body: new Uint8Array(workerData.body) }));
    parentPort.postMessage({ status: response.status, body: await response.json() });
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, {
      eval: true,
      workerData: { bundle: `file://${edgeBundle}`, models: new URL('models/', server.url).href, ...request },
    });
    worker.once('message', (m) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

test('the edge handler computes a stage-3 unit top-5 equal to Node to 1e-9 in a worker without Node globals', async () => {
  const batch = await loadCifar(cifarTestFile);
  const record = Array.from(batch.pixels.subarray(7 * 3072, 8 * 3072));
  const { status, body } = await runInBareWorker({ url: 'http://edge.test/?model=resnet56&unit=3.2&k=5', body: record });
  assert.equal(status, 200, JSON.stringify(body));
  const expected = await unitTopSpectrum({ model: await loadModel('resnet56'), pixels: imageToFloat(batch, 7), unit: '3.2', k: 5 });
  assert.equal(body.unitLabel, '3.2');
  assert.deepEqual(body.shape, [4096, 4096]);
  const values = body.values as number[];
  assert.equal(values.length, 5);
  values.forEach((v, i) => assert.ok(Math.abs(v - expected.values[i]) <= 1e-9 * expected.values[0], `value ${i}: ${v} vs ${expected.values[i]}`));
  assert.ok((body.wasmMemoryBytes as number) > 0);
});

test('the edge handler answers bad requests with 400 and a one-line error', async () => {
  const tooShort = await runInBareWorker({ url: 'http://edge.test/?model=resnet56&unit=3.2', body: [1, 2, 3] });
  assert.equal(tooShort.status, 400);
  assert.match(tooShort.body.error as string, /request body: expected a 32x32 PNG or JPEG, 3072 raw bytes.*got 3 bytes/);
  const badUnit = await runInBareWorker({ url: 'http://edge.test/?model=resnet56&unit=4.1', body: new Array(3072).fill(0) });
  assert.equal(badUnit.status, 400);
  assert.match(badUnit.body.error as string, /unit/);
  const badModel = await runInBareWorker({ url: 'http://edge.test/?model=vgg&unit=1', body: new Array(3072).fill(0) });
  assert.equal(badModel.status, 400);
  assert.match(badModel.body.error as string, /model: expected one of resnet56, resnet110, got vgg/);
});
