/** The repository served over http on 127.0.0.1 by scripts/serve-web.mjs (what `npm run web` runs). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface StaticServer {
  url: URL;
  close(): void;
}

/** Serve `dir` (relative to the repository) on a free port; resolves once it listens. */
export function serveStatic(dir: string): Promise<StaticServer> {
  const child: ChildProcess = spawn(process.execPath, ['scripts/serve-web.mjs', '--dir', dir, '--port', '0'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('exit', (code) => reject(new Error(`static server exited with ${code}: ${stderr.trim()}`)));
    child.stdout!.on('data', (d: Buffer) => {
      const match = /http:\/\/localhost:(\d+)\//.exec(d.toString());
      if (match) resolve({ url: new URL(`http://127.0.0.1:${match[1]}/`), close: () => child.kill() });
    });
  });
}
