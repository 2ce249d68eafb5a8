/**
 * The linearized map as an object: a WASM operator (assembly/operator.ts) plus the buffers it owns,
 * with block products, dense assembly and explicit disposal.
 *
 * A `JacobianOperator` J of shape [m, n] maps input perturbations (length n) to output perturbations
 * (length m). Blocks of k vectors are row-major k x n (input) and k x m (output): vector i occupies
 * elements [i*n, (i+1)*n). f64 operators take and return Float64Arrays, f32 operators Float32Arrays
 * (inputs of another numeric type are converted on the way in).
 *
 * Memory: the operator lives in WebAssembly memory until `dispose()`; a FinalizationRegistry frees it
 * if the object is garbage-collected first, but GC timing is not guaranteed, so dispose explicitly
 * (e.g. in `finally`). Products stream their blocks through WASM memory in chunks of a few tens of
 * MB, so any k is fine.
 */
import { checkIndices } from '../util/checks.js';
import { InputError } from '../util/errors.js';
import type { Kernels } from '../wasm/kernels.js';
import { newArray, type FloatArray, type Precision } from './parameters.js';

export type { Precision } from './parameters.js';

/** The array type of a precision: Float64Array for 'f64', Float32Array for 'f32'. */
export type ArrayOf<P extends Precision> = P extends 'f32' ? Float32Array : Float64Array;

/** A block of vectors as accepted by the products. */
export type VectorBlock = Float64Array | Float32Array | ArrayLike<number>;

/**
 * WASM resources of one operator, freed together: operator records first (a chain before the parts
 * it refers to), then unit handles, then plain blocks. Holds no reference to the operator object, so
 * it can serve as the FinalizationRegistry's held value.
 */
export class WasmResources {
  private readonly operators: number[] = [];
  private readonly unitHandles: number[] = [];
  private readonly blocks: number[] = [];
  private freed = false;

  constructor(readonly kernels: Kernels) {}

  /** Record an operator handle (from an assembly/operator.ts constructor); 0 means it failed. */
  operator(handle: number, what: string): number {
    const h = handle >>> 0;
    if (h === 0) throw new Error(`could not build the WASM operator for ${what}`);
    this.operators.push(h);
    return h;
  }

  unit(handle: number): number {
    const h = handle >>> 0;
    if (h === 0) throw new Error('could not build a unit Jacobian operator');
    this.unitHandles.push(h);
    return h;
  }

  block(ptr: number): number {
    this.blocks.push(ptr);
    return ptr;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    const e = this.kernels.exports;
    for (const h of this.operators.reverse()) e.operatorDestroy(h);
    for (const h of this.unitHandles.reverse()) e.unitOperatorDestroy(h);
    for (const p of this.blocks.reverse()) this.kernels.release(p);
  }
}

const registry = new FinalizationRegistry<WasmResources>((resources) => resources.free());

/** Copy `data` into new WASM memory of the given precision (typed-array conversion); caller releases. */
export function copyInAs(kernels: Kernels, data: ArrayLike<number>, precision: Precision): number {
  const ptr = precision === 'f64' ? kernels.allocF64(data.length) : kernels.allocF32(data.length);
  viewOf(kernels, precision, ptr, data.length).set(data);
  return ptr;
}

/** Copy a u8 mask into new WASM memory; caller releases. */
export function copyInBytes(kernels: Kernels, data: Uint8Array): number {
  const ptr = kernels.allocBytes(data.length);
  new Uint8Array(kernels.memory.buffer, ptr, data.length).set(data);
  return ptr;
}

export function viewOf(kernels: Kernels, precision: Precision, ptr: number, count: number): FloatArray {
  return precision === 'f64' ? kernels.f64(ptr, count) : kernels.f32(ptr, count);
}

/** Elements per WASM staging block in products and dense assembly (32 MB in f64). */
const CHUNK_ELEMENTS = 1 << 22;

/**
 * How the dense rows of an operator are produced, when it can do better than J^T e_i: rows
 * first..first+count-1 when rowsPtr is 0, else the `count` i32 row indices at rowsPtr, written to the
 * count x n block at out (all WASM pointers).
 */
export type DenseRowsKernel = (rowsPtr: number, first: number, count: number, out: number) => void;

export interface JacobianOperatorParts {
  kernels: Kernels;
  resources: WasmResources;
  /** The assembly/operator.ts handle. */
  handle: number;
  shape: [number, number];
  precision: Precision;
  /** What the operator is, for messages: "unit 3.9 (26) of resnet56". */
  description: string;
  /** Rows of J that are not structurally zero. */
  activeRows: () => Int32Array;
  /** Direct assembly of rows (units); otherwise rows come from J^T applied to unit vectors. */
  denseRows?: DenseRowsKernel;
}

function isView(v: VectorBlock): v is Float64Array | Float32Array {
  return v instanceof Float64Array || v instanceof Float32Array;
}

/**
 * A linearization J (m x n) held in WebAssembly memory. See the module comment for layouts; every
 * product is accurate to a few units of the working precision times the magnitudes involved (the
 * bounds of assembly/unit.ts per unit, composed along a chain).
 */
export class JacobianOperator<A extends FloatArray = FloatArray> {
  /** [m, n]: m outputs, n inputs. */
  readonly shape: readonly [number, number];
  readonly precision: Precision;
  readonly description: string;
  private readonly kernels: Kernels;
  private readonly resources: WasmResources;
  private readonly handle: number;
  private readonly activeRowsOf: () => Int32Array;
  private readonly denseRowsKernel?: DenseRowsKernel;
  private disposed = false;

  constructor(parts: JacobianOperatorParts) {
    this.kernels = parts.kernels;
    this.resources = parts.resources;
    this.handle = parts.handle;
    this.shape = parts.shape;
    this.precision = parts.precision;
    this.description = parts.description;
    this.activeRowsOf = parts.activeRows;
    this.denseRowsKernel = parts.denseRows;
    registry.register(this, this.resources, this);
  }

  /**
   * The assembly/operator.ts handle, for WASM-side solvers (Lanczos): operatorApplyF64 /
   * operatorApplyTransposeF64 for an f64 operator, the F32 routines for an f32 one. Valid until
   * dispose().
   */
  get wasmHandle(): number {
    this.checkAlive();
    return this.handle;
  }

  /**
   * J V for a block of k vectors: V is k x n (row-major), the result k x m. k defaults to
   * V.length / n. Errors: InputError if V.length is not a positive multiple of n, or not k*n when k
   * is given.
   */
  apply(v: VectorBlock, k?: number): A {
    return this.product(false, v, k);
  }

  /**
   * J^T U for a block of k vectors: U is k x m (row-major), the result k x n. k defaults to
   * U.length / m. Errors: as apply, with m.
   */
  applyTranspose(u: VectorBlock, k?: number): A {
    return this.product(true, u, k);
  }

  /** Rows of J that are not structurally zero, ascending (units: D_out = 1; networks: all rows). */
  activeRows(): Int32Array {
    this.checkAlive();
    return this.activeRowsOf();
  }

  /**
   * The explicit J, m x n row-major (m*n values: a stage-1 unit of ResNet-56 is 16384^2 f64 = 2 GiB).
   * Units are assembled row by row from their local structure (unitJacobianRowBlock); stages and
   * networks row by row as J^T e_i, in blocks of unit vectors (m applications of J^T: cheap for the
   * network's 10 rows, expensive for a whole stage). Entries carry the products' accuracy.
   */
  toDense(): A {
    const [m, n] = this.shape;
    const out = newArray(this.precision, m * n) as A;
    this.rowsInto(null, 0, m, out);
    return out;
  }

  /**
   * The explicit J written straight into WebAssembly memory: m x n row-major values of the operator's
   * precision at byte offset `ptr` (allocated by the caller, e.g. kernels.allocF64(m * n), which serves
   * blocks of 256 MiB and more from memory.grow; 2 GiB for a stage-1 unit in f64). For WASM-side
   * consumers (SVD) this avoids the JS copy of toDense(). Units: one unitJacobianRowBlock call; other
   * operators: J^T applied to blocks of unit vectors (rows) written in place.
   */
  denseInto(ptr: number): void {
    this.checkAlive();
    const [m, n] = this.shape;
    if (this.denseRowsKernel) {
      this.denseRowsKernel(0, 0, m, ptr);
      return;
    }
    const size = this.precision === 'f64' ? 8 : 4;
    const e = this.kernels.exports;
    const applyT = this.precision === 'f64' ? e.operatorApplyTransposeF64 : e.operatorApplyTransposeF32;
    const chunk = Math.max(1, Math.min(m, Math.floor(CHUNK_ELEMENTS / Math.max(m, n))));
    const unitPtr = this.precision === 'f64' ? this.kernels.allocF64(chunk * m) : this.kernels.allocF32(chunk * m);
    try {
      for (let r0 = 0; r0 < m; r0 += chunk) {
        const c = Math.min(chunk, m - r0);
        const unit = viewOf(this.kernels, this.precision, unitPtr, c * m);
        unit.fill(0);
        for (let r = 0; r < c; r++) unit[r * m + r0 + r] = 1;
        applyT(this.handle, unitPtr, c, ptr + r0 * n * size);
      }
    } finally {
      this.kernels.release(unitPtr);
    }
  }

  /**
   * Selected rows of J: out[r, :] = J[rows[r], :], rows.length x n row-major (e.g. the activeRows(),
   * which keep every nonzero singular value). Errors: InputError for a row outside 0..m-1.
   */
  denseRows(rows: ArrayLike<number>): A {
    const [m, n] = this.shape;
    const list = Int32Array.from(checkIndices(rows, m, 'row', this.description));
    const out = newArray(this.precision, list.length * n) as A;
    this.rowsInto(list, 0, list.length, out);
    return out;
  }

  /** Free the WASM memory (idempotent). The operator cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    registry.unregister(this);
    this.resources.free();
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error(`${this.description}: operator used after dispose()`);
  }

  /** Rows first..first+count-1 (rows == null) or rows[first..first+count) of J into out. */
  private rowsInto(rows: Int32Array | null, first: number, count: number, out: FloatArray): void {
    this.checkAlive();
    const n = this.shape[1];
    const chunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / n));
    const kernel = this.denseRowsKernel;
    if (kernel) {
      const size = Math.min(chunk, count);
      const block = this.precision === 'f64' ? this.kernels.allocF64(size * n) : this.kernels.allocF32(size * n);
      const rowPtr = rows ? this.kernels.allocBytes(4 * size) : 0;
      try {
        for (let r0 = 0; r0 < count; r0 += chunk) {
          const c = Math.min(chunk, count - r0);
          if (rows) new Int32Array(this.kernels.memory.buffer, rowPtr, c).set(rows.subarray(r0, r0 + c));
          kernel(rowPtr, first + r0, c, block);
          out.set(viewOf(this.kernels, this.precision, block, c * n), r0 * n);
        }
      } finally {
        this.kernels.release(block);
        if (rowPtr) this.kernels.release(rowPtr);
      }
      return;
    }
    // Row i of J is J^T e_i.
    const m = this.shape[0];
    for (let r0 = 0; r0 < count; r0 += chunk) {
      const c = Math.min(chunk, count - r0);
      const unit = newArray(this.precision, c * m);
      for (let r = 0; r < c; r++) unit[r * m + (rows ? rows[r0 + r] : first + r0 + r)] = 1;
      out.set(this.applyTranspose(unit, c), r0 * n);
    }
  }

  private product(transpose: boolean, input: VectorBlock, k: number | undefined): A {
    this.checkAlive();
    const [m, n] = this.shape;
    const inLength = transpose ? m : n;
    const outLength = transpose ? n : m;
    const what = transpose ? 'applyTranspose' : 'apply';
    const dim = transpose ? 'm' : 'n';
    const length = input.length;
    let count: number;
    if (k === undefined) {
      if (length === 0 || length % inLength !== 0) {
        throw new InputError(
          `${what} on ${this.description}: expected a multiple of ${dim} = ${inLength} values (k vectors of length ${inLength}), got ${length}`,
        );
      }
      count = length / inLength;
    } else {
      if (!Number.isInteger(k) || k < 1) throw new InputError(`${what} on ${this.description}: k must be a positive integer, got ${k}`);
      if (length !== k * inLength) {
        throw new InputError(`${what} on ${this.description}: expected k*${dim} = ${k}*${inLength} = ${k * inLength} values, got ${length}`);
      }
      count = k;
    }
    const e = this.kernels.exports;
    const fn = this.precision === 'f64'
      ? (transpose ? e.operatorApplyTransposeF64 : e.operatorApplyF64)
      : (transpose ? e.operatorApplyTransposeF32 : e.operatorApplyF32);
    const out = newArray(this.precision, count * outLength) as A;
    const chunk = Math.max(1, Math.min(count, Math.floor(CHUNK_ELEMENTS / Math.max(m, n))));
    const alloc = (c: number) => (this.precision === 'f64' ? this.kernels.allocF64(c) : this.kernels.allocF32(c));
    const inPtr = alloc(chunk * inLength);
    const outPtr = alloc(chunk * outLength);
    try {
      for (let c0 = 0; c0 < count; c0 += chunk) {
        const c = Math.min(chunk, count - c0);
        const part = isView(input)
          ? input.subarray(c0 * inLength, (c0 + c) * inLength)
          : Array.prototype.slice.call(input, c0 * inLength, (c0 + c) * inLength) as number[];
        viewOf(this.kernels, this.precision, inPtr, c * inLength).set(part);
        fn(this.handle, inPtr, c, outPtr);
        out.set(viewOf(this.kernels, this.precision, outPtr, c * outLength), c0 * outLength);
      }
    } finally {
      this.kernels.release(inPtr);
      this.kernels.release(outPtr);
    }
    return out;
  }
}
