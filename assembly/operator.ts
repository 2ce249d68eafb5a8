/**
 * Linear operators inside WASM memory, so that iterative solvers (lanczos.ts) can apply them without
 * crossing into JavaScript at every step. An operator is a handle to a small record:
 *
 *   DENSE  an m x n row-major f64 matrix owned by the caller (tests, generic matrices)
 *   UNIT   a residual-unit Jacobian from unit.ts (unitOperatorCreateF64)
 *   CHAIN  a product A_p ... A_2 A_1 of other operators, applied right to left (stages, networks)
 *
 * Every kind implements the same two f64 routines on blocks of k vectors stored vector-major
 * (k x n in, k x m out): operatorApplyF64 (Y = A X) and operatorApplyTransposeF64 (X = A^T Y).
 * Operators never own the operators a CHAIN refers to; destroy those separately.
 */
import {
  unitOperatorApplyF64,
  unitOperatorApplyTransposeF64,
  unitOperatorColumns,
  unitOperatorRows,
} from "./unit";

const KIND_DENSE: i32 = 1;
const KIND_UNIT: i32 = 2;
const KIND_CHAIN: i32 = 3;

@unmanaged
class OperatorRecord {
  kind: i32;
  rows: i32;
  columns: i32;
  /** DENSE: the matrix; UNIT: the unit handle; CHAIN: an array of `count` operator handles. */
  data: usize;
  count: i32;
}

function recordOf(handle: usize): OperatorRecord {
  return changetype<OperatorRecord>(handle);
}

function newRecord(kind: i32, rows: i32, columns: i32, data: usize, count: i32): usize {
  const r = changetype<OperatorRecord>(heap.alloc(offsetof<OperatorRecord>()));
  r.kind = kind;
  r.rows = rows;
  r.columns = columns;
  r.data = data;
  r.count = count;
  return changetype<usize>(r);
}

/** An operator for the m x n row-major f64 matrix at `matrix` (not copied: keep it alive). */
export function operatorFromDenseF64(matrix: usize, rows: i32, columns: i32): usize {
  return newRecord(KIND_DENSE, rows, columns, matrix, 0);
}

/** An operator for a unit Jacobian handle from unitOperatorCreateF64 (not owned). */
export function operatorFromUnitF64(unit: usize): usize {
  return newRecord(KIND_UNIT, unitOperatorRows(unit), unitOperatorColumns(unit), unit, 0);
}

/**
 * The product A_count ... A_1 of the operators whose handles are the `count` usize values at
 * `handles` (A_1 first, applied first). Adjacent shapes must agree (rows of A_i = columns of A_i+1);
 * returns 0 if they do not.
 */
export function operatorChain(handles: usize, count: i32): usize {
  if (count < 1) return 0;
  for (let i = 1; i < count; i++) {
    const prev = recordOf(load<usize>(handles + ((<usize>(i - 1)) << alignof<usize>())));
    const next = recordOf(load<usize>(handles + ((<usize>i) << alignof<usize>())));
    if (prev.rows != next.columns) return 0;
  }
  const bytes = (<usize>count) << alignof<usize>();
  const list = heap.alloc(bytes);
  memory.copy(list, handles, bytes);
  const first = recordOf(load<usize>(list));
  const last = recordOf(load<usize>(list + ((<usize>(count - 1)) << alignof<usize>())));
  return newRecord(KIND_CHAIN, last.rows, first.columns, list, count);
}

export function operatorRows(handle: usize): i32 {
  return recordOf(handle).rows;
}

export function operatorColumns(handle: usize): i32 {
  return recordOf(handle).columns;
}

/** Free the record (and a CHAIN's handle list); never the matrix or the operators it refers to. */
export function operatorDestroy(handle: usize): void {
  if (!handle) return;
  const r = recordOf(handle);
  if (r.kind == KIND_CHAIN) heap.free(r.data);
  heap.free(handle);
}

function denseApply(r: OperatorRecord, transpose: bool, x: usize, k: i32, y: usize): void {
  const m = r.rows;
  const n = r.columns;
  const a = r.data;
  for (let v = 0; v < k; v++) {
    if (!transpose) {
      const xv = x + (<usize>v * <usize>n << 3);
      const yv = y + (<usize>v * <usize>m << 3);
      for (let i = 0; i < m; i++) {
        const row = a + (<usize>i * <usize>n << 3);
        let acc = f64x2.splat(0);
        let j = 0;
        for (; j + 2 <= n; j += 2) {
          acc = f64x2.add(acc, f64x2.mul(v128.load(row + (<usize>j << 3)), v128.load(xv + (<usize>j << 3))));
        }
        let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
        for (; j < n; j++) s += load<f64>(row + (<usize>j << 3)) * load<f64>(xv + (<usize>j << 3));
        store<f64>(yv + (<usize>i << 3), s);
      }
    } else {
      const yv = y + (<usize>v * <usize>n << 3);
      const xv = x + (<usize>v * <usize>m << 3);
      memory.fill(yv, 0, <usize>n << 3);
      for (let i = 0; i < m; i++) {
        const row = a + (<usize>i * <usize>n << 3);
        const c = f64x2.splat(load<f64>(xv + (<usize>i << 3)));
        let j = 0;
        for (; j + 2 <= n; j += 2) {
          const p = yv + (<usize>j << 3);
          v128.store(p, f64x2.add(v128.load(p), f64x2.mul(c, v128.load(row + (<usize>j << 3)))));
        }
        for (; j < n; j++) {
          const p = yv + (<usize>j << 3);
          store<f64>(p, load<f64>(p) + load<f64>(xv + (<usize>i << 3)) * load<f64>(row + (<usize>j << 3)));
        }
      }
    }
  }
}

function chainApply(r: OperatorRecord, transpose: bool, x: usize, k: i32, y: usize): void {
  if (r.count == 1) {
    applyRecord(recordOf(load<usize>(r.data)), transpose, x, k, y);
    return;
  }
  // Two scratch blocks sized for the widest intermediate, used alternately.
  let widest = 0;
  for (let i = 0; i < r.count; i++) {
    const op = recordOf(load<usize>(r.data + ((<usize>i) << alignof<usize>())));
    widest = max(widest, max(op.rows, op.columns));
  }
  const bytes = (<usize>k * <usize>widest) << 3;
  const s0 = heap.alloc(bytes);
  const s1 = heap.alloc(bytes);
  let src = x;
  for (let step = 0; step < r.count; step++) {
    const i = transpose ? r.count - 1 - step : step;
    const op = recordOf(load<usize>(r.data + ((<usize>i) << alignof<usize>())));
    const dst = step == r.count - 1 ? y : (step & 1 ? s1 : s0);
    applyRecord(op, transpose, src, k, dst);
    src = dst;
  }
  heap.free(s0);
  heap.free(s1);
}

function applyRecord(r: OperatorRecord, transpose: bool, x: usize, k: i32, y: usize): void {
  if (r.kind == KIND_UNIT) {
    if (transpose) unitOperatorApplyTransposeF64(r.data, x, k, y);
    else unitOperatorApplyF64(r.data, x, k, y);
  } else if (r.kind == KIND_DENSE) {
    denseApply(r, transpose, x, k, y);
  } else {
    chainApply(r, transpose, x, k, y);
  }
}

/** Y = A X for k vectors: X is k x columns, Y is k x rows (vector-major, f64, non-overlapping). */
export function operatorApplyF64(handle: usize, x: usize, k: i32, y: usize): void {
  applyRecord(recordOf(handle), false, x, k, y);
}

/** X = A^T Y for k vectors: Y is k x rows, X is k x columns (vector-major, f64, non-overlapping). */
export function operatorApplyTransposeF64(handle: usize, y: usize, k: i32, x: usize): void {
  applyRecord(recordOf(handle), true, y, k, x);
}
