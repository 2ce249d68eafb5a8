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

await build({ ...node, entryPoints: { index: 'src/index.ts', worker: 'src/workers/worker.ts' } });
await build({ ...node, entryPoints: { cli: 'src/cli/main.ts' }, banner: { js: '#!/usr/bin/env node' } });
chmodSync('dist/node/cli.js', 0o755);

if (!process.argv.includes('--no-types')) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
