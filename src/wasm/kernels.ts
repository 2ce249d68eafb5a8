/**
 * Loading the compiled AssemblyScript module (build/resnet-stability.wasm) and owning its memory.
 *
 * Node reads the binary from disk next to the package; browsers and edge runtimes fetch it by URL
 * (resolved against this module's URL, or given explicitly).
 *
 * The seam to the kernels:
 * - `exports` is typed by KernelExports, generated from the AssemblyScript build (scripts/kernel-types.mjs),
 *   so a kernel whose signature changes no longer type-checks where it is called;
 * - `typed(precision)` is the f64 or f32 family of kernels under one set of names (precision.ts);
 * - memory is owned by scopes (scope.ts): `scope(s => ...)` releases what `s` allocated when the body
 *   ends, also on throw, unless handed out (`keep`, `keepAll`). allocF64/allocF32/release remain for
 *   callers that manage a block by hand.
 * Typed-array views are taken fresh each time (`f64`, `f32`) because memory growth detaches old ones.
 */

import { isNode } from '../util/runtime.js';
import type { KernelExports } from './kernel-exports.generated.js';
import { precisionKernels, type Precision, type PrecisionKernels } from './precision.js';
import { withScope, type ScopeKernels, type WasmScope } from './scope.js';

export type { KernelExports, TestingExports, ThreadPoolExports } from './kernel-exports.generated.js';
export { newFloatArray, type FloatArray, type Precision, type PrecisionKernels } from './precision.js';
export { WasmScope, type CopyableArray, type ScopeKernels } from './scope.js';

export type WasmSource = BufferSource | WebAssembly.Module | URL | string;

/** The kernels of one instance; E is its exports (KernelExports, or more for the threads and testing builds). */
export class Kernels<E extends KernelExports = KernelExports> {
  readonly #families = new Map<Precision, PrecisionKernels<E>>();

  constructor(readonly exports: E) {}

  get memory(): WebAssembly.Memory {
    return this.exports.memory;
  }

  /**
   * The kernels of one precision under unsuffixed names (`typed('f64').gebrd` is gebrdF64), with
   * `bytes`, `view` and `array` of that precision. Errors: RangeError for a precision other than
   * 'f64' or 'f32'.
   */
  typed(precision: Precision): PrecisionKernels<E> {
    let family = this.#families.get(precision);
    if (!family) {
      family = precisionKernels(this, precision);
      this.#families.set(precision, family);
    }
    return family;
  }

  /**
   * Run `body` with a new scope: every block it allocates (and every cleanup it defers) is released
   * when the body returns or throws, or when the promise an async body returns settles.
   */
  scope<T>(body: (scope: WasmScope) => T): T {
    // A build with more exports (threads, testing) has every kernel of the shipped one, which is all a
    // scope hands on; TypeScript cannot see that through the generic E.
    return withScope(this as unknown as ScopeKernels, body);
  }

  /** Blocks allocated (by anyone, through `allocate`) and not yet released: the allocator's count. */
  allocatedBlocks(): number {
    return this.exports.allocatedBlocks();
  }

  /** Allocate room for `count` float64 values; returns a 16-byte aligned byte offset. */
  allocF64(count: number): number {
    return this.allocBytes(count * 8);
  }

  /** Allocate room for `count` float32 values; returns a 16-byte aligned byte offset. */
  allocF32(count: number): number {
    return this.allocBytes(count * 4);
  }

  allocBytes(bytes: number): number {
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`invalid allocation size ${bytes}`);
    const ptr = this.exports.allocate(Math.max(16, bytes)) >>> 0;
    if (ptr === 0) throw new Error(`WebAssembly memory exhausted allocating ${bytes} bytes`);
    return ptr;
  }

  release(ptr: number): void {
    if (ptr) this.exports.release(ptr);
  }

  /** A fresh Float64Array view of `count` values at `ptr` (invalidated by memory growth). */
  f64(ptr: number, count: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, count);
  }

  /** A fresh Float32Array view of `count` values at `ptr` (invalidated by memory growth). */
  f32(ptr: number, count: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, count);
  }

  /** Copy a typed array into newly allocated WASM memory; the caller releases the pointer. */
  copyIn(data: Float64Array | Float32Array): number {
    const ptr = data instanceof Float64Array ? this.allocF64(data.length) : this.allocF32(data.length);
    (data instanceof Float64Array ? this.f64(ptr, data.length) : this.f32(ptr, data.length)).set(data);
    return ptr;
  }
}

function readAssemblyScriptString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
}

function importsFor(getMemory: () => WebAssembly.Memory): WebAssembly.Imports {
  return {
    env: {
      abort(message: number, file: number, line: number, column: number) {
        const memory = getMemory();
        throw new Error(
          `WASM kernel aborted: ${readAssemblyScriptString(memory, message)} ` +
            `(${readAssemblyScriptString(memory, file)}:${line}:${column})`,
        );
      },
      seed: () => Date.now(),
      trace() {},
    },
  };
}

/** Instantiate the kernels from bytes or a compiled module. */
export async function instantiateKernels(binary: BufferSource | WebAssembly.Module): Promise<Kernels> {
  let memory: WebAssembly.Memory | undefined;
  const imports = importsFor(() => memory!);
  const instance =
    binary instanceof WebAssembly.Module
      ? await WebAssembly.instantiate(binary, imports)
      : (await WebAssembly.instantiate(binary, imports)).instance;
  const exports = instance.exports as unknown as KernelExports;
  memory = exports.memory;
  return new Kernels(exports);
}

/** Where the release (or debug) binary lives relative to this module, in the source tree and in dist/. */
function defaultWasmUrl(debug: boolean): URL {
  const file = debug ? 'resnet-stability.debug.wasm' : 'resnet-stability.wasm';
  // src/wasm/kernels.ts and dist/<target>/index.js are both two levels below the package root.
  return new URL(`../../build/${file}`, import.meta.url);
}

let defaultSource: WasmSource | undefined;
let shared: Promise<Kernels> | undefined;

/**
 * Where `loadKernels()` takes the binary from when no source is given: a URL (browsers serve the file
 * next to the bundle), bytes (the edge bundle inlines them) or a compiled `WebAssembly.Module` (edge
 * runtimes that forbid compiling code at run time import the .wasm as a module instead). Must be
 * called before the first `loadKernels()`.
 */
export function setDefaultKernelSource(source: WasmSource): void {
  if (shared) throw new Error('setDefaultKernelSource must be called before the kernels are first loaded');
  defaultSource = source;
}

async function readSource(source: WasmSource): Promise<BufferSource | WebAssembly.Module> {
  if (source instanceof WebAssembly.Module || ArrayBuffer.isView(source) || source instanceof ArrayBuffer) {
    return source as BufferSource | WebAssembly.Module;
  }
  const url = source instanceof URL ? source : new URL(source, isNode ? `file://${process.cwd()}/` : globalThis.location?.href);
  if (url.protocol === 'file:' && isNode) {
    const { readFile } = await import('node:fs/promises');
    const { fileURLToPath } = await import('node:url');
    const path = fileURLToPath(url);
    try {
      return await readFile(path);
    } catch {
      throw new Error(`WebAssembly kernels not found at ${path} (run "npm run build:wasm")`);
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch WebAssembly kernels from ${url}: HTTP ${response.status}`);
  return await response.arrayBuffer();
}

/**
 * The process-wide kernel instance (one per thread or worker). `source` overrides where the binary
 * comes from; `RESNET_STABILITY_WASM_DEBUG=1` selects the debug build in Node.
 */
export function loadKernels(source?: WasmSource): Promise<Kernels> {
  if (source !== undefined) return readSource(source).then(instantiateKernels);
  const debug = isNode && process.env.RESNET_STABILITY_WASM_DEBUG === '1';
  shared ??= readSource(defaultSource ?? defaultWasmUrl(debug)).then(instantiateKernels);
  return shared;
}
