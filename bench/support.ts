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

/** `fn` as a timed call: each call of the result runs `fn` once and returns its rate in GFLOP/s. */
export function gflopsOf(flops: number, fn: () => void): () => number {
  return () => {
    const start = performance.now();
    fn();
    return flops / ((performance.now() - start) / 1000) / 1e9;
  };
}

/**
 * `rounds` rounds of every call in turn (interleaved, so that a load that comes and goes falls on all
 * alike); what each call returned, by call.
 */
export function interleaved(rounds: number, calls: (() => number)[]): number[][] {
  const results: number[][] = calls.map(() => []);
  for (let i = 0; i < rounds; i++) calls.forEach((call, j) => results[j].push(call()));
  return results;
}
