/**
 * The tfjs WebAssembly backend, initialised once per thread. In Node the backend finds its .wasm files
 * inside its own package; browsers and edge runtimes must say where they are served (`wasmPaths`).
 * The SIMD build is used wherever the runtime supports SIMD; the threaded SIMD build only where the
 * runtime allows shared memory threads (cross-origin isolated pages) — Node uses our own worker pool.
 */
import type * as Tf from '@tensorflow/tfjs-core';

/*
 * tfjs is imported on first use, not with this module: loading it takes longer than a command that
 * never runs the network (`--help`, `merge`, `compare`) should wait.
 */
let ready: Promise<typeof Tf> | undefined;

export interface BackendOptions {
  /** Prefix URL (ending in '/') where tfjs-backend-wasm*.wasm are served (browsers, edge). */
  wasmPaths?: string;
}

let defaultOptions: BackendOptions = {};

/** Options used when `initBackend()` is called without any (the browser bundle points at its assets). */
export function setDefaultBackendOptions(options: BackendOptions): void {
  defaultOptions = options;
}

export function initBackend(options: BackendOptions = defaultOptions): Promise<typeof Tf> {
  ready ??= (async () => {
    const [tf, { setWasmPaths }] = await Promise.all([import('@tensorflow/tfjs-core'), import('@tensorflow/tfjs-backend-wasm')]);
    // Gradients (attacks, gradient checks) need tfjs' gradient registry, which tfjs-core leaves optional.
    await import('../../build/tfjs-gradients.js');
    if (options.wasmPaths) setWasmPaths(options.wasmPaths);
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('cannot initialise the tfjs WebAssembly backend');
    await tf.ready();
    return tf;
  })();
  return ready;
}
