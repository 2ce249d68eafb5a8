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
import type { FloatArray, Kernels, PrecisionKernels, WasmScope } from '../wasm/kernels.js';
import type { Precision } from './parameters.js';

export type { Precision } from './parameters.js';

/** The array type of a precision: Float64Array for 'f64', Float32Array for 'f32'. */
export type ArrayOf<P extends Precision> = P extends 'f32' ? Float32Array : Float64Array;

/** A block of vectors as accepted by the products. */
export type VectorBlock = Float64Array | Float32Array | ArrayLike<number>;

/**
 * Record an assembly/operator.ts handle in `owner`, destroyed when the owner closes (after every record
 * taken later, so a chain goes before the parts it refers to). A 0 handle means the constructor failed.
 */
export function ownOperator(owner: WasmScope, handle: number, what: string): number {
  const h = handle >>> 0;
  if (h === 0) throw new Error(`could not build the WASM operator for ${what}`);
  owner.defer(() => owner.kernels.exports.operatorDestroy(h));
  return h;
}

/** Chain operator handles (first applied first) into one record owned by `owner`. */
export function chainOperators(owner: WasmScope, handles: number[], what: string): number {
  return owner.kernels.scope((s) => {
    const list = s.copyIn(Uint32Array.from(handles));
    return ownOperator(owner, owner.kernels.exports.operatorChain(list, handles.length), what);
  });
}

/** Closes the records of operators that were garbage-collected without dispose(). */
const registry = new FinalizationRegistry<WasmScope>((owner) => owner.close());

/** Elements per WASM staging block in products and dense assembly (32 MB in f64). */
const CHUNK_ELEMENTS = 1 << 22;

/**
 * How the dense rows of an operator are produced, when it can do better than J^T e_i: rows
 * first..first+count-1 when rowsPtr is 0, else the `count` i32 row indices at rowsPtr, written to the
 * count x n block at out (all WASM pointers).
 */
export type DenseRowsKernel = (rowsPtr: number, first: number, count: number, out: number) => void;

export interface JacobianOperatorParts {
  /** Owns the operator's records (and nothing that refers to the operator object). */
  owner: WasmScope;
  /** The assembly/operator.ts handle. */
  handle: number;
  shape: [number, number];
  precision: Precision;
  /** What the operator is, for messages: "unit 3.9 (26) of resnet56". */
  description: string;
  /** Rows of J that are not structurally zero. */
  activeRows: () => Int32Array;
  /** Columns of J that are not structurally zero (default: all). */
  activeColumns?: () => Int32Array;
  /** The same linearization built on another kernel instance (e.g. the threaded one). */
  relinearize?: (kernels: Kernels) => Promise<JacobianOperator>;
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
  private readonly owner: WasmScope;
  /** The kernels of the operator's precision. */
  private readonly kernels: PrecisionKernels;
  private readonly handle: number;
  private readonly activeRowsOf: () => Int32Array;
  private readonly activeColumnsOf?: () => Int32Array;
  private readonly relinearizeOn?: (kernels: Kernels) => Promise<JacobianOperator>;
  private readonly denseRowsKernel?: DenseRowsKernel;
  private disposed = false;

  constructor(parts: JacobianOperatorParts) {
    this.owner = parts.owner;
    this.kernels = parts.owner.kernels.typed(parts.precision);
    this.handle = parts.handle;
    this.shape = parts.shape;
    this.precision = parts.precision;
    this.description = parts.description;
    this.activeRowsOf = parts.activeRows;
    this.activeColumnsOf = parts.activeColumns;
    this.relinearizeOn = parts.relinearize;
    this.denseRowsKernel = parts.denseRows;
    registry.register(this, this.owner, this);
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
   * Columns of J that are not structurally zero, ascending (a unit whose every path starts with a
   * ReLU, as a pre-activation unit's: the entries that ReLU passes; otherwise all columns).
   */
  activeColumns(): Int32Array {
    this.checkAlive();
    return this.activeColumnsOf ? this.activeColumnsOf() : Int32Array.from({ length: this.shape[1] }, (_, i) => i);
  }

  /**
   * The same operator (same values, bitwise) built on the kernel instance `kernels`, e.g. the threaded
   * one, whose products then run there; undefined for operators that cannot be rebuilt (the caller
   * keeps this one). The caller disposes the result.
   */
  async relinearize(kernels: Kernels): Promise<JacobianOperator<A> | undefined> {
    this.checkAlive();
    return this.relinearizeOn ? ((await this.relinearizeOn(kernels)) as JacobianOperator<A>) : undefined;
  }

  /**
   * The explicit J, m x n row-major (m*n values: a stage-1 unit of ResNet-56 is 16384^2 f64 = 2 GiB).
   * Units are assembled row by row from their local structure (unitJacobianRowBlock); stages and
   * networks row by row as J^T e_i, in blocks of unit vectors (m applications of J^T: cheap for the
   * network's 10 rows, expensive for a whole stage). Entries carry the products' accuracy.
   */
  toDense(): A {
    const [m, n] = this.shape;
    const out = this.kernels.array(m * n) as A;
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
    const chunk = Math.max(1, Math.min(m, Math.floor(CHUNK_ELEMENTS / Math.max(m, n))));
    const kernels = this.kernels;
    this.owner.kernels.scope((s) => {
      const unitPtr = s.alloc(this.precision, chunk * m);
      for (let r0 = 0; r0 < m; r0 += chunk) {
        const c = Math.min(chunk, m - r0);
        const unit = kernels.view(unitPtr, c * m);
        unit.fill(0);
        for (let r = 0; r < c; r++) unit[r * m + r0 + r] = 1;
        kernels.operatorApplyTranspose(this.handle, unitPtr, c, ptr + r0 * n * kernels.bytes);
      }
    });
  }

  /**
   * Selected rows of J: out[r, :] = J[rows[r], :], rows.length x n row-major (e.g. the activeRows(),
   * which keep every nonzero singular value). Errors: InputError for a row outside 0..m-1.
   */
  denseRows(rows: ArrayLike<number>): A {
    const [m, n] = this.shape;
    const list = Int32Array.from(checkIndices(rows, m, 'row', this.description));
    const out = this.kernels.array(list.length * n) as A;
    this.rowsInto(list, 0, list.length, out);
    return out;
  }

  /** Free the WASM memory (idempotent). The operator cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    registry.unregister(this);
    this.owner.close();
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
      this.owner.kernels.scope((s) => {
        const block = s.alloc(this.precision, size * n);
        const rowPtr = rows ? s.allocBytes(4 * size) : 0;
        for (let r0 = 0; r0 < count; r0 += chunk) {
          const c = Math.min(chunk, count - r0);
          if (rows) new Int32Array(s.kernels.memory.buffer, rowPtr, c).set(rows.subarray(r0, r0 + c));
          kernel(rowPtr, first + r0, c, block);
          out.set(this.kernels.view(block, c * n), r0 * n);
        }
      });
      return;
    }
    // Row i of J is J^T e_i.
    const m = this.shape[0];
    for (let r0 = 0; r0 < count; r0 += chunk) {
      const c = Math.min(chunk, count - r0);
      const unit = this.kernels.array(c * m);
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
    const kernels = this.kernels;
    const multiply = transpose ? kernels.operatorApplyTranspose : kernels.operatorApply;
    const out = kernels.array(count * outLength) as A;
    const chunk = Math.max(1, Math.min(count, Math.floor(CHUNK_ELEMENTS / Math.max(m, n))));
    this.owner.kernels.scope((s) => {
      const inPtr = s.alloc(this.precision, chunk * inLength);
      const outPtr = s.alloc(this.precision, chunk * outLength);
      for (let c0 = 0; c0 < count; c0 += chunk) {
        const c = Math.min(chunk, count - c0);
        const part = isView(input)
          ? input.subarray(c0 * inLength, (c0 + c) * inLength)
          : Array.prototype.slice.call(input, c0 * inLength, (c0 + c) * inLength) as number[];
        kernels.view(inPtr, c * inLength).set(part);
        multiply(this.handle, inPtr, c, outPtr);
        out.set(kernels.view(outPtr, c * outLength), c0 * outLength);
      }
    });
    return out;
  }
}
