// Bundles the TypeScript sources with esbuild. Node: ESM bundles of the library, the CLI and the pool
// worker, with dependencies left external (npm installs them alongside). Declarations come from tsc.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';

const node = {
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

if (!process.argv.includes('--no-types')) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
