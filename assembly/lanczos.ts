/**
 * The machinery shared by the two Krylov iterations over WASM operators (operator.ts), f64:
 *
 *   gkl.ts  thick-restart (block) Golub-Kahan-Lanczos bidiagonalization: the k largest or smallest
 *           singular triplets of an operator (src/spectrum/lanczos.ts);
 *   slq.ts  block Lanczos tridiagonalization of A^T A and Gauss quadrature, the ingredients of
 *           stochastic Lanczos quadrature (src/spectrum/density.ts).
 *
 * Both iterations are written in REVERSE COMMUNICATION (as ARPACK): a state object is created, and
 * each call of the step function advances the iteration until it needs a product with the operator;
 * it then returns a request code and leaves the operand and result locations in the state
 * (lanczosRequestCount / Input / Output). gklRun / slqRun answer the requests with a WASM operator
 * handle (operatorApplyF64 / operatorApplyTransposeF64) without ever returning to JavaScript; a
 * JavaScript operator answers them from TypeScript instead, so both kinds of operators run the very
 * same algorithm. Request codes, always in terms of the caller's operator A (rows x columns):
 *
 *   REQUEST_DONE = 0        the iteration has finished; read the results
 *   REQUEST_APPLY = 1       Y = A X:   X is count x columns at Input, write count x rows at Output
 *   REQUEST_TRANSPOSE = 2   X = A^T Y: Y is count x rows at Input, write count x columns at Output
 *
 * Vectors are blocks of `count` vectors stored vector-major, like operator.ts.
 *
 * Also here, for both iterations: Gram-Schmidt against a basis stored as rows (CGS2 for one vector,
 * BCGS2 for a block; full reorthogonalization, so the bases stay orthonormal to O(eps)), and the
 * seeded generator (splitmix64) that makes start vectors and breakdown replacements a function of
 * the seed alone, on every runtime.
 */
import { gemvF64, nrm2F64, scalF64 } from "./blas";
import { operatorApplyF64, operatorApplyTransposeF64 } from "./operator";
import { getAt, rowF64, setAt } from "./lib/elements";
import { axpyUnit, dotUnit } from "./lib/level1";
import { vSum } from "./lib/simd";

// ---------------------------------------------------------------------------------------------------
// Reverse communication

export const REQUEST_DONE: i32 = 0;
export const REQUEST_APPLY: i32 = 1;
export const REQUEST_TRANSPOSE: i32 = 2;

/** The request part shared (at the same offsets) by the state objects of gkl.ts and slq.ts. */
@unmanaged
export class RequestHeader {
  kind: i32;
  count: i32;
  input: usize;
  output: usize;
}

/** Number of vectors in the pending request of a GKL or SLQ state. */
export function lanczosRequestCount(state: usize): i32 {
  return changetype<RequestHeader>(state).count;
}
/** Address of the operand block of the pending request (see the file header for its shape). */
export function lanczosRequestInput(state: usize): usize {
  return changetype<RequestHeader>(state).input;
}
/** Address where the result block of the pending request must be written. */
export function lanczosRequestOutput(state: usize): usize {
  return changetype<RequestHeader>(state).output;
}

/** Answer a pending request with a WASM operator (f64). */
export function answerRequest(handle: usize, header: RequestHeader): void {
  if (header.kind == REQUEST_APPLY) operatorApplyF64(handle, header.input, header.count, header.output);
  else operatorApplyTransposeF64(handle, header.input, header.count, header.output);
}

// ---------------------------------------------------------------------------------------------------
// Deterministic random numbers (splitmix64)

@inline export function splitmix(state: u64): u64 {
  let z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/** Fill n entries at p with uniform values in [-1, 1); returns the advanced generator state. */
function fillUniform(rng: u64, p: usize, n: i32): u64 {
  let s = rng;
  for (let i = 0; i < n; i++) {
    s += 0x9e3779b97f4a7c15;
    // The top 53 bits scaled by 2^-52 lie in [0, 2).
    setAt<f64>(p, i, <f64>(splitmix(s) >> 11) * 2.220446049250313e-16 - 1.0);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Gram-Schmidt

/**
 * Orthogonalize w (len entries) against the `count` orthonormal rows of `basis` (row i at
 * basis + i*ld*8) by classical Gram-Schmidt applied twice (CGS2: "twice is enough", Giraud et al.
 * 2005), each pass two SIMD GEMVs; a third and fourth pass run only if a pass still removed more than
 * half of the norm (heavy cancellation). coef (count entries) receives the total projection
 * coefficients basis*w_original; tmp is scratch of count entries. Returns ||w|| after the passes.
 * The result is orthogonal to the basis to O(eps) unless w lies numerically in its span, which the
 * caller detects from the returned norm.
 */
export function orthogonalize(basis: usize, ld: i32, count: i32, len: i32, w: usize, coef: usize, tmp: usize): f64 {
  let norm = nrm2F64(len, w, 1);
  if (count == 0) return norm;
  for (let i = 0; i < count; i++) setAt<f64>(coef, i, 0);
  for (let pass = 0; pass < 4; pass++) {
    gemvF64(0, count, len, 1.0, basis, ld, w, 1, 0.0, tmp, 1);
    gemvF64(1, count, len, -1.0, basis, ld, tmp, 1, 1.0, w, 1);
    for (let i = 0; i < count; i++) setAt<f64>(coef, i, getAt<f64>(coef, i) + getAt<f64>(tmp, i));
    const after = nrm2F64(len, w, 1);
    const previous = norm;
    norm = after;
    if (pass >= 1 && after >= 0.5 * previous) break;
  }
  return norm;
}

/** Columns per chunk of the block kernels: a chunk of every vector of a block stays in L1/L2. */
const CHUNK: i32 = 256;

/**
 * C (count x b, row-major) = basis[0:count] * W^T: the dot products of the `count` basis rows
 * (stride ld) with the b rows of W (stride ldw), all of length len. Works in column chunks so each
 * basis row is read from memory once for the whole block (b dot products per load), two W rows per
 * register pass.
 */
function multiDot(basis: usize, ld: i32, count: i32, len: i32, w: usize, ldw: i32, b: i32, c: usize): void {
  memory.fill(c, 0, <usize>(count * b) << 3);
  for (let j0 = 0; j0 < len; j0 += CHUNK) {
    const width = min(CHUNK, len - j0);
    const off = <usize>j0 << 3;
    for (let i = 0; i < count; i++) {
      const qi = rowF64(basis, i, ld) + off;
      let t = 0;
      for (; t + 2 <= b; t += 2) {
        const w0 = rowF64(w, t, ldw) + off, w1 = rowF64(w, t + 1, ldw) + off;
        let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
        let j = 0;
        for (; j + 2 <= width; j += 2) {
          const o = <usize>j << 3;
          const qv = v128.load(qi + o);
          a0 = f64x2.add(a0, f64x2.mul(qv, v128.load(w0 + o)));
          a1 = f64x2.add(a1, f64x2.mul(qv, v128.load(w1 + o)));
        }
        let s0 = vSum<f64>(a0);
        let s1 = vSum<f64>(a1);
        for (; j < width; j++) {
          s0 += getAt<f64>(qi, j) * getAt<f64>(w0, j);
          s1 += getAt<f64>(qi, j) * getAt<f64>(w1, j);
        }
        setAt<f64>(c, i * b + t, getAt<f64>(c, i * b + t) + s0);
        setAt<f64>(c, i * b + t + 1, getAt<f64>(c, i * b + t + 1) + s1);
      }
      if (t < b) setAt<f64>(c, i * b + t, getAt<f64>(c, i * b + t) + dotUnit<f64>(width, qi, rowF64(w, t, ldw) + off));
    }
  }
}

/** W[t] -= sum_i C[i, t] * basis[i] for t < b (the update of a block GS pass), chunked as multiDot. */
function multiAxpy(basis: usize, ld: i32, count: i32, len: i32, c: usize, w: usize, ldw: i32, b: i32): void {
  for (let j0 = 0; j0 < len; j0 += CHUNK) {
    const width = min(CHUNK, len - j0);
    const off = <usize>j0 << 3;
    for (let i = 0; i < count; i++) {
      const qi = rowF64(basis, i, ld) + off;
      for (let t = 0; t < b; t++) {
        const f = getAt<f64>(c, i * b + t);
        if (f != 0) axpyUnit<f64>(width, -f, qi, rowF64(w, t, ldw) + off);
      }
    }
  }
}

/**
 * Block classical Gram-Schmidt, twice (BCGS2, Barlow & Smoktunowicz 2013): orthogonalize the b rows
 * of W (stride ld, length len) against the `count` orthonormal rows of basis (stride ld), two passes
 * of multiDot + multiAxpy, accumulating the total coefficients in coef (count x b); tmp: count x b
 * scratch. The rows of W are NOT orthogonalized among themselves (the caller does that, one vector at
 * a time). Memory traffic: four reads of the basis per block, independent of b.
 */
export function blockOrthogonalize(basis: usize, ld: i32, count: i32, len: i32, w: usize, b: i32, coef: usize, tmp: usize): void {
  if (count == 0) return;
  memory.fill(coef, 0, <usize>(count * b) << 3);
  for (let pass = 0; pass < 2; pass++) {
    multiDot(basis, ld, count, len, w, ld, b, tmp);
    multiAxpy(basis, ld, count, len, tmp, w, ld, b);
    for (let i = 0; i < count * b; i++) setAt<f64>(coef, i, getAt<f64>(coef, i) + getAt<f64>(tmp, i));
  }
}

/**
 * Overwrite w with a random unit vector orthogonal to the `count` rows of basis (count < len):
 * the replacement after a breakdown of the recurrence.
 */
export function randomOrthogonal(rng: u64, basis: usize, ld: i32, count: i32, len: i32, w: usize, coef: usize, tmp: usize): u64 {
  let s = rng;
  for (let attempt = 0; attempt < 8; attempt++) {
    s = fillUniform(s, w, len);
    const before = nrm2F64(len, w, 1);
    const norm = orthogonalize(basis, ld, count, len, w, coef, tmp);
    if (norm > 1e-3 * before) {
      scalF64(len, 1.0 / norm, w, 1);
      return s;
    }
  }
  // Only reachable when count >= len (no orthogonal direction exists): callers never ask for that.
  memory.fill(w, 0, <usize>len << 3);
  return s;
}
