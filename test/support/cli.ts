/** Running the built CLI (dist/node/cli.js, what `npx resnet-stability` runs) in a child process. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cifarTestFile } from './shared.js';

export const cliPath = fileURLToPath(new URL('../../dist/node/cli.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI with $RESNET_STABILITY_DATA set to the tests' CIFAR-10 file (the full set when present,
 * else the 1,000-image sample), so that no user cache or download is involved; `env` overrides it.
 */
export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run "npm run build" first`);
  const childEnv: Record<string, string | undefined> = { ...process.env, RESNET_STABILITY_DATA: cifarTestFile, ...env };
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: childEnv as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
