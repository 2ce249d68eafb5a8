// Bundles the TypeScript sources with esbuild.
//  - Node (dist/node): ESM bundles of the library, the CLI and the pool worker, with dependencies left
//    external (npm installs them alongside).
//  - Browser (dist/browser): the library and its Web Worker with every dependency bundled; both
//    WebAssembly binaries (ours and tfjs') are copied next to them and fetched relative to the bundle.
//  - Edge (dist/edge): one file, our kernels inlined, no tfjs, no workers.
//  - The demo page (dist/web), self-contained: page, worker, WebAssembly binaries and shipped models.
// The web bundles must not import any Node built-in: `nodeBuiltinsRefused` makes that a build error for
// static imports, and turns the (always Node-guarded) dynamic ones into modules that throw.
// Declarations come from tsc.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

// The Node bundles load tfjs' gradient registry from build/ when the backend starts (model/backend.ts)
// instead of carrying its 7,000 lines: every command, even `--version`, would parse them at startup.
const gradientsBesideBundle = {
  name: 'tfjs-gradients-external',
  setup(b) {
    b.onResolve({ filter: /\/build\/tfjs-gradients\.js$/ }, () => ({ path: '../../build/tfjs-gradients.js', external: true }));
  },
};

const node = {
  plugins: [gradientsBesideBundle],
  bundle: true,
  format: 'esm',
  sourcemap: true,
  target: 'es2022',
  logLevel: 'warning',
  platform: 'node',
  packages: 'external',
  outdir: 'dist/node',
};

// tfjs-core's Node bundle leaves out the gradient registry and its ESM files cannot be imported by
// Node directly, so the registry is bundled once into build/ (it registers into tfjs' global engine).
await build({
  entryPoints: ['node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js'],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  outfile: 'build/tfjs-gradients.js',
  logLevel: 'warning',
});

await build({ ...node, entryPoints: { index: 'src/index.ts', worker: 'src/workers/worker.ts' } });
await build({ ...node, entryPoints: { cli: 'src/cli/main.ts' }, banner: { js: '#!/usr/bin/env node' } });
chmodSync('dist/node/cli.js', 0o755);

const nodeBuiltinsRefused = {
  name: 'node-builtins-refused',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => {
      if (args.kind !== 'dynamic-import') {
        return { errors: [{ text: `${args.path} imported statically by ${args.importer}: web bundles cannot use Node built-ins` }] };
      }
      return { path: args.path.slice(5), namespace: 'refused-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'refused-builtin' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is a Node built-in; in browsers and edge runtimes pass bytes or URLs instead`)});`,
      loader: 'js',
    }));
  },
};

const web = {
  bundle: true,
  format: 'esm',
  sourcemap: true,
  target: 'es2022',
  logLevel: 'warning',
  mainFields: ['browser', 'module', 'main'],
  define: { __RESNET_STABILITY_WEB__: 'true' },
  plugins: [nodeBuiltinsRefused],
  metafile: true,
  minify: true,
};

const wasmAssets = [
  'build/resnet-stability.wasm',
  ...['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'].map(
    (f) => `node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`,
  ),
];

function copyInto(dir, files) {
  mkdirSync(dir, { recursive: true });
  for (const f of files) cpSync(f, `${dir}/${f.split('/').pop()}`);
}

const browser = await build({
  ...web,
  platform: 'browser',
  entryPoints: { index: 'src/browser.ts', worker: 'src/workers/browser-worker.ts' },
  outdir: 'dist/browser',
});
copyInto('dist/browser', wasmAssets);

const edge = await build({
  ...web,
  platform: 'neutral',
  entryPoints: { index: 'src/edge.ts' },
  loader: { '.wasm': 'binary' },
  outdir: 'dist/edge',
});

// The demo page: its own entry points, assets, sample images and models in one folder any static server
// can serve. Its figures are Vega-Lite specs compiled to Vega here, in Node (web/vega-specs.ts is run
// once and its result replaces it in the bundle), so the page ships the Vega runtime but no compiler.
await build({
  ...node,
  entryPoints: { 'web-vega-specs': 'web/vega-specs.ts' },
  outdir: 'build',
  sourcemap: false,
  metafile: false,
});
const { VEGA_SPECS } = await import(`${pathToFileURL('build/web-vega-specs.js').href}?${Date.now()}`);
const compiledFigures = {
  name: 'compiled-figures',
  setup(b) {
    b.onLoad({ filter: /[\\/]web[\\/]vega-specs\.ts$/ }, () => ({
      contents: `export const VEGA_SPECS = ${JSON.stringify(VEGA_SPECS)};`,
      loader: 'js',
    }));
  },
};
const page = await build({
  ...web,
  platform: 'browser',
  plugins: [...web.plugins, compiledFigures],
  entryPoints: { app: 'web/app.ts', worker: 'web/worker.ts' },
  outdir: 'dist/web',
});
copyInto('dist/web', [...wasmAssets, 'web/index.html', 'web/style.css']);
copyInto('dist/web/samples', ['web/samples/cifar10-test-0-49.bin']);
for (const model of ['resnet56', 'resnet110']) cpSync(`models/${model}`, `dist/web/models/${model}`, { recursive: true });
const pageInputs = (name) => Object.keys(page.metafile.outputs[`dist/web/${name}.js`].inputs);
if (pageInputs('app').some((input) => input.includes('@tensorflow') || input.includes('vega-lite'))) {
  throw new Error('dist/web/app.js bundles tfjs or vega-lite: they belong in the worker or at build time only');
}

mkdirSync('build', { recursive: true });
writeFileSync('build/meta-browser.json', JSON.stringify(browser.metafile));
writeFileSync('build/meta-edge.json', JSON.stringify(edge.metafile));
writeFileSync('build/meta-web.json', JSON.stringify(page.metafile));

if (!process.argv.includes('--no-types')) {
  // The kernels' export interface the declarations refer to (regenerated only when assembly/ changed).
  execFileSync(process.execPath, ['scripts/kernel-types.mjs'], { stdio: 'inherit' });
  // Emitted afresh, so that a renamed or deleted module leaves no stale declaration in the package.
  rmSync('dist/types', { recursive: true, force: true });
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
