/**
 * The one owner of WebAssembly memory on the TypeScript side: a scope allocates blocks (and records
 * kernel-side objects to destroy), and releases all of them, last first, when it closes.
 *
 *   kernels.scope((s) => { const a = s.copyIn(x); ...; return result; })
 *
 * closes the scope when the body returns, throws, or (for an async body) when its promise settles.
 * Scopes nest by being taken inside one another. What must outlive its scope is handed out: one block
 * with `keep` (its new owner releases it: `own` in an enclosing scope, or kernels.release), everything
 * with `keepAll`, a scope its holder closes (an operator's records, until dispose).
 */
import type { KernelExports } from './kernel-exports.generated.js';
import type { Precision, PrecisionKernels } from './precision.js';

/**
 * What a scope needs of the kernels it allocates from (the Kernels class of kernels.ts has all of it).
 * Declared here rather than imported so that kernels.ts, which opens scopes, and this file do not
 * import each other.
 */
export interface ScopeKernels {
  readonly exports: KernelExports;
  readonly memory: WebAssembly.Memory;
  typed(precision: Precision): PrecisionKernels;
  f64(ptr: number, count: number): Float64Array;
  f32(ptr: number, count: number): Float32Array;
  allocBytes(bytes: number): number;
  release(ptr: number): void;
  scope<T>(body: (scope: WasmScope) => T): T;
}

/** Typed arrays copied into WASM memory as they are (element type and layout kept). */
export type CopyableArray = Float64Array | Float32Array | Int32Array | Uint32Array | Uint8Array;

export class WasmScope {
  /** Blocks (byte offsets) and cleanups, in the order taken; closing runs them last first. */
  readonly #owned: (number | (() => void))[] = [];
  #closed = false;

  constructor(readonly kernels: ScopeKernels) {}

  /** Room for `bytes` bytes, 16-byte aligned (not zeroed). */
  allocBytes(bytes: number): number {
    this.checkOpen();
    const ptr = this.kernels.allocBytes(bytes);
    this.#owned.push(ptr);
    return ptr;
  }

  /** Room for `count` float64 values. */
  allocF64(count: number): number {
    return this.allocBytes(count * 8);
  }

  /** Room for `count` float32 values. */
  allocF32(count: number): number {
    return this.allocBytes(count * 4);
  }

  /** Room for `count` values of `precision`. */
  alloc(precision: Precision, count: number): number {
    return this.allocBytes(count * this.kernels.typed(precision).bytes);
  }

  /** A new block holding a copy of `data`. */
  copyIn(data: CopyableArray): number {
    const ptr = this.allocBytes(data.byteLength);
    new Uint8Array(this.kernels.memory.buffer, ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return ptr;
  }

  /** A new block holding `data` converted to `precision`. */
  copyInAs(data: ArrayLike<number>, precision: Precision): number {
    const ptr = this.alloc(precision, data.length);
    this.kernels.typed(precision).view(ptr, data.length).set(data);
    return ptr;
  }

  /** Take over a block allocated elsewhere (e.g. one another scope handed out). */
  own(ptr: number): number {
    this.checkOpen();
    this.#owned.push(ptr);
    return ptr;
  }

  /** Run `cleanup` when the scope closes (e.g. destroying an object the kernels built). */
  defer(cleanup: () => void): void {
    this.checkOpen();
    this.#owned.push(cleanup);
  }

  /** Release one of this scope's blocks now, before the scope closes. */
  release(ptr: number): void {
    this.disown(ptr);
    this.kernels.release(ptr);
  }

  /** Hand a block out of the scope: it is no longer released on close; its new owner releases it. */
  keep(ptr: number): number {
    this.disown(ptr);
    return ptr;
  }

  /**
   * Hand out everything the scope owns, as a new scope that the caller closes: what a body builds to
   * outlive it (an operator's records), kept only once the whole of it has been built.
   */
  keepAll(): WasmScope {
    this.checkOpen();
    const kept = new WasmScope(this.kernels);
    kept.#owned.push(...this.#owned.splice(0));
    return kept;
  }

  /** Whether the scope has closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Release every block and run every cleanup, last first (idempotent). All run even if one throws;
   * the first error is rethrown afterwards.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    let failure: { error: unknown } | undefined;
    for (let i = this.#owned.length - 1; i >= 0; i--) {
      const entry = this.#owned[i];
      try {
        if (typeof entry === 'number') this.kernels.release(entry);
        else entry();
      } catch (error) {
        failure ??= { error };
      }
    }
    this.#owned.length = 0;
    if (failure) throw failure.error;
  }

  private disown(ptr: number): void {
    this.checkOpen();
    const at = this.#owned.lastIndexOf(ptr);
    if (at < 0) throw new Error(`WASM block ${ptr} is not owned by this scope`);
    this.#owned.splice(at, 1);
  }

  private checkOpen(): void {
    if (this.#closed) throw new Error('WASM scope used after it closed');
  }
}

/**
 * Run `body` with a new scope of `kernels`, closed when the body returns or throws, or, when it returns
 * a promise, when that settles. Returns what the body returns. When the body fails, its error is the
 * one thrown (a failure to clean up after it would only hide it).
 */
export function withScope<T>(kernels: ScopeKernels, body: (scope: WasmScope) => T): T {
  const scope = new WasmScope(kernels);
  let result: T;
  try {
    result = body(scope);
  } catch (error) {
    closeAfterFailure(scope);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => (scope.close(), value),
      (error) => {
        closeAfterFailure(scope);
        throw error;
      },
    ) as T;
  }
  scope.close();
  return result;
}

function closeAfterFailure(scope: WasmScope): void {
  try {
    scope.close();
  } catch {
    // The body's error is the one to report.
  }
}
