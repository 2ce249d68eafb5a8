/**
 * The testing build of the kernels (build/resnet-stability.testing.wasm, asconfig target "testing",
 * entry assembly/testing.ts): the shipped module plus the kernels only tests and benchmarks call (F32
 * twins, the pool's JVP/VJP, the convolution's VJP and output size, a dense operator), so that the
 * shipped module exports only what src/ uses. One instance per process, separate from the package's.
 */
import { readFile } from 'node:fs/promises';
import { instantiateKernels, type KernelExports, type Kernels, type TestingExports } from '../../src/wasm/kernels.js';
import { repoRoot } from './shared.js';

export type TestingKernels = Kernels<KernelExports & TestingExports>;

export const testingWasmPath = `${repoRoot}build/resnet-stability.testing.wasm`;

let loaded: Promise<TestingKernels> | undefined;

/** The process-wide instance of the testing build (run "npm run build:wasm" first). */
export function loadTestingKernels(): Promise<TestingKernels> {
  loaded ??= readFile(testingWasmPath).then(
    async (bytes) => (await instantiateKernels(bytes)) as unknown as TestingKernels,
    () => {
      throw new Error(`${testingWasmPath} is missing: run "npm run build:wasm" first`);
    },
  );
  return loaded;
}
