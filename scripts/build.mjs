// Bundles the TypeScript sources with esbuild. Node: ESM bundles of the library and the CLI with
// dependencies left external (they are installed alongside). Type declarations come from tsc.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';

const common = {
  bundle: true,
  format: 'esm',
  sourcemap: true,
  target: 'es2022',
  logLevel: 'warning',
};

await build({
  ...common,
  platform: 'node',
  packages: 'external',
  entryPoints: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
  outdir: 'dist/node',
  banner: { js: '#!/usr/bin/env node' },
});
chmodSync('dist/node/cli.js', 0o755);

if (!process.argv.includes('--no-types')) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
