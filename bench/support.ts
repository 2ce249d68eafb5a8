/** Shared pieces of the benchmarks: medians, the PyTorch peer, and where ../shared is. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const sharedDir = fileURLToPath(new URL('../../shared/', import.meta.url));
export const benchDir = fileURLToPath(new URL('./', import.meta.url));

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Run one of bench/bench_*.py with Debian's python3 (python3-torch, python3-numpy) and parse its JSON. */
export function runPython<T>(script: string, args: (string | number)[]): T {
  const python = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
  const out = execFileSync(python, [script, ...args.map(String)], { cwd: benchDir, encoding: 'utf8', maxBuffer: 1 << 28 });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

export async function timeRuns(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push((performance.now() - start) / 1000);
  }
  return times;
}
