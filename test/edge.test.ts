/**
 * The edge entry (dist/edge/index.js): it must import no Node built-in and no tfjs, and its request
 * handler must compute a unit's top-k singular values in a worker whose Node globals are removed,
 * equal to what the Node library computes for the same model, image and unit: the shipped ResNet-56,
 * and imported models of other families (test/fixtures/families) served as model directories (written
 * by the CLI's import) or as a checkpoint URL, equal to the CLI's `spectrum --method topk`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { imageToFloat, loadCifar } from '../src/data/cifar.js';
import { loadModel } from '../src/model/load.js';
import { ResNetModel } from '../src/model/model.js';
import { unitTopSpectrum } from '../src/web/unit-top-spectrum.js';
import { f64, graphOfFixture, type FixtureFamily } from './support/graph-fixture.js';
import { runCli } from './support/cli.js';
import { cifarTestFile, fixturePath } from './support/shared.js';
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
/** A folder of model directories imported by the CLI from the family fixtures, served on its own. */
let imported: { dir: string; server: StaticServer } | undefined;
before(async () => {
  server = await serveStatic('.');
});
after(() => {
  server?.close();
  imported?.server.close();
  if (imported) rmSync(imported.dir, { recursive: true, force: true });
});

/** `import` each (fixture, extra options) into <tmp>/<name>, once; the folder is then served. */
async function importedModels(): Promise<{ dir: string; url: URL }> {
  if (!imported) {
    const dir = mkdtempSync(join(tmpdir(), 'edge-models-'));
    const imports: [string, string, string[]][] = [
      ['wrn', 'wrn.pt', []],
      ['tv-basic-24', 'tv-basic.pt', ['--input-size', '24x24']],
    ];
    for (const [name, file, extra] of imports) {
      const r = await runCli(['import', fixturePath(`families/${file}`), '--out', join(dir, name), '--quiet', ...extra]);
      assert.equal(r.code, 0, r.stderr);
    }
    imported = { dir, server: await serveStatic(dir) };
  }
  return { dir: imported.dir, url: imported.server.url };
}

/**
 * Run the handler inside a worker with process, global (and no require: ESM) removed. setImmediate stays,
 * like Buffer: Node 22+'s own fetch calls it at run time; the bundle's text is checked for it above.
 */
function runInBareWorker(
  request: { url: string; body: number[] },
  options: { models?: string; modelNames?: string[]; allowModelUrls?: boolean; maxK?: number } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const code = `
    const { parentPort, workerData } = await import('node:worker_threads');
    // Node's fetch loads lazily and needs Node's globals to load: load it first, as a runtime's own.
    // (Once per origin: a new origin's connection pool loads more of it.)
    for (const url of workerData.warmUp) await (await fetch(url)).arrayBuffer();
    await new Response(new Uint8Array(1)).arrayBuffer();
    // Buffer and setImmediate stay: Node's own fetch, Request and Response use them internally (the
    // bundle's text is checked for setImmediate above; jpeg-js guards its Buffer).
    for (const name of ['process', 'global', 'require', 'module', '__filename', '__dirname']) {
      try { delete globalThis[name]; } catch {}
      if (name in globalThis) throw new Error(name + ' is still defined');
    }
    const { createSpectrumHandler } = await import(workerData.bundle);
    const handler = createSpectrumHandler(workerData.options);
    const response = await handler.fetch(new Request(workerData.url, { method: 'POST', body: new Uint8Array(workerData.body) }));
    parentPort.postMessage({ status: response.status, body: await response.json() });
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, {
      eval: true,
      workerData: {
        bundle: `file://${edgeBundle}`,
        warmUp: [
          new URL('models/resnet56/model.json', server.url).href,
          ...(options.models && options.modelNames ? options.modelNames.map((name) => new URL(`${name}/model.json`, options.models).href) : []),
        ],
        options: { models: new URL('models/', server.url).href, ...options },
        ...request,
      },
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

/** The CLI's top-k (`spectrum --method topk --json`) of `unit` of `model` at CIFAR image `image`. */
async function cliTopK(model: string, image: number, unit: string, k: number): Promise<{ values: number[]; shape: number[] }> {
  const r = await runCli(['spectrum', '--model', model, '--image', String(image), '--unit', unit, '--method', 'topk', '--k', String(k), '--json', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { results: { values: number[]; shape: number[] }[] }).results[0];
}

function assertClose(values: number[], expected: number[], what: string): void {
  assert.equal(values.length, expected.length, what);
  values.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-9 * expected[0], `${what} value ${i}: ${v} vs ${expected[i]}`));
}

test('an imported WRN model directory named in modelNames: top-5 of unit 2.1 equal to the CLI to 1e-9', async () => {
  const { dir, url } = await importedModels();
  const batch = await loadCifar(cifarTestFile);
  const record = Array.from(batch.pixels.subarray(7 * 3072, 8 * 3072));
  const { status, body } = await runInBareWorker({ url: 'http://edge.test/?model=wrn&unit=2.1&k=5', body: record }, { models: url.href, modelNames: ['wrn'] });
  assert.equal(status, 200, JSON.stringify(body));
  const cli = await cliTopK(join(dir, 'wrn'), 7, '2.1', 5);
  assert.equal(body.model, 'wrn');
  assert.equal(body.unitLabel, '2.1');
  assert.deepEqual(body.shape, cli.shape);
  assert.deepEqual(body.shape, [4096, 8192]);
  assertClose(body.values as number[], cli.values, 'wrn 2.1');
  // Not named: refused before anything is fetched.
  const unnamed = await runInBareWorker({ url: 'http://edge.test/?model=wrn&unit=2.1', body: record }, { models: url.href });
  assert.equal(unnamed.status, 400);
  assert.match(unnamed.body.error as string, /^model: expected one of resnet56, resnet110, got wrn$/);
});

test('a torchvision checkpoint by URL (allowModelUrls): top-4 of unit 1.2 equal to the CLI on the same checkpoint', async () => {
  const batch = await loadCifar(cifarTestFile);
  const record = Array.from(batch.pixels.subarray(3 * 3072, 4 * 3072));
  const checkpoint = new URL('test/fixtures/families/tv-basic.pt', server.url).href;
  const url = `http://edge.test/?model=${encodeURIComponent(checkpoint)}&unit=1.2&k=4`;
  const { status, body } = await runInBareWorker({ url, body: record }, { allowModelUrls: true });
  assert.equal(status, 200, JSON.stringify(body));
  const cli = await cliTopK(fixturePath('families/tv-basic.pt'), 3, '1.2', 4);
  assert.equal(body.unitLabel, '1.2');
  assert.deepEqual(body.shape, cli.shape);
  assertClose(body.values as number[], cli.values, 'tv-basic 1.2');
  // k beyond the unit's size is a usage error, answered 400 (the last unit maps 32x2x2 to 64x1x1).
  const tooMany = await runInBareWorker(
    { url: `http://edge.test/?model=${encodeURIComponent(checkpoint)}&unit=4.1&k=100`, body: record }, { allowModelUrls: true, maxK: 100 },
  );
  assert.equal(tooMany.status, 400);
  assert.equal(tooMany.body.error, 'k must be an integer in 1..64, got 100');
});

test("a model with a 24x24 input takes 24x24 raw bytes (equal to Node) and refuses a 32x32 image with one line", async () => {
  const { dir, url } = await importedModels();
  const options = { models: url.href, modelNames: ['tv-basic-24'] };
  const body = Array.from({ length: 3 * 24 * 24 }, (_, i) => (i * 37) % 256);
  const ok = await runInBareWorker({ url: 'http://edge.test/?model=tv-basic-24&unit=2.1&k=3', body }, options);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const model = await loadModel(join(dir, 'tv-basic-24'));
  assert.deepEqual(model.inputShape, [3, 24, 24]);
  const node = await unitTopSpectrum({ model, pixels: Float32Array.from(body, (v) => v / 255), unit: '2.1', k: 3 });
  assert.deepEqual(ok.body.shape, node.shape);
  assertClose(ok.body.values as number[], node.values, 'tv-basic-24 2.1');
  const cifar = await runInBareWorker({ url: 'http://edge.test/?model=tv-basic-24&unit=2.1', body: new Array(3072).fill(0) }, options);
  assert.equal(cifar.status, 400);
  assert.equal(cifar.body.error, 'request body: expected a 24x24 PNG or JPEG, 1728 raw bytes (CHW), got 3072 bytes');
  const jpeg = readFileSync(fixturePath('gray-32x32.jpg'));
  const wrongSize = await runInBareWorker({ url: 'http://edge.test/?model=tv-basic-24&unit=2.1', body: Array.from(jpeg) }, options);
  assert.equal(wrongSize.status, 400);
  assert.equal(wrongSize.body.error, "request body: image is 32x32 pixels; expected 24x24 (images are never resized)");
});

test('unitTopSpectrum (what the edge serves) on the WRN and torchvision graph fixtures equals PyTorch to 1e-9', async () => {
  const { families } = JSON.parse(readFileSync(fixturePath('graph-units-pytorch.json'), 'utf8')) as { families: FixtureFamily[] };
  let checked = 0;
  for (const family of families.filter((f) => f.name === 'wrn' || f.name === 'tv-basic')) {
    // The fixture's input is already normalized (float32 values stored as float64): identity normalization.
    const model = new ResNetModel(graphOfFixture(family), { name: family.name, normalization: { mean: [0, 0, 0], std: [1, 1, 1] } }, { alpha: family.alpha, beta: family.beta });
    const input = f64(family.input);
    const pixels = Float32Array.from(input);
    assert.deepEqual(Array.from(pixels), Array.from(input));
    for (const record of family.records) {
      // All singular values (autograd Jacobian + torch.linalg.svdvals) or the top 6 (scipy svds).
      const reference = f64((record.singularValues ?? record.topSingularValues)!);
      const k = 4;
      const top = await unitTopSpectrum({ model, pixels, unit: record.label, k });
      assert.equal(top.unitLabel, record.label);
      assert.deepEqual(top.shape, [record.rows, record.columns]);
      assertClose(top.values, Array.from(reference.subarray(0, k)), `${family.name} ${record.label}`);
      checked++;
    }
  }
  assert.equal(checked, 4);
  await assert.rejects(
    unitTopSpectrum({ model: await loadModel(fixturePath('families/wrn.pt')), pixels: new Float32Array(768), unit: '1.1' }),
    /^InputError: image: model wrn takes one 3x32x32 image = 3072 values, got 768 values$/,
  );
});
