/**
 * INERTIA: exact counts of the eigenvalues of a symmetric matrix below a shift, by Sylvester's law of
 * inertia (the signs of the pivots of an LDL^T factorization of M - shift*I), f64. Differences of
 * two counts give the number of singular values of a Jacobian in an interval (src/spectrum/count.ts).
 *
 *   bandedGramBandwidth   half-bandwidth w of G = A A^T for a sparse A (CSR)
 *   bandedGramFromCsrF64  G = A A^T in lower band storage (rows x (w+1)) from the CSR rows of A
 *   bandedInertiaF64      negatives of M - shift*I, banded LDL^T WITHOUT pivoting (blocked, as LAPACK
 *                         dpbtrf), with an element-growth certificate in info[0..3]
 *   denseInertiaF64       negatives (and zero pivots) of M - shift*I, dense Bunch-Kaufman LDL^T
 *                         (LAPACK dsytf2), for M of order up to a few thousand
 *
 * Contract: each count is exact for a matrix within the factorization's backward error of
 * M - shift*I: ||E|| <= p(n) eps ||M - shift*I|| for Bunch-Kaufman, and gamma_{w+1} |L||D||L^T| for
 * the banded factorization, whose growth the caller must check against a limit (info[0]) and fall
 * back to Bunch-Kaufman beyond it. So a count is exact whenever no eigenvalue lies within that
 * distance of the shift. Details at each routine.
 */
import { gemmLowerF64 } from "./blas";
import { allocZeroedF64, getAt, setAt } from "./lib/elements";
import { axpyUnit } from "./lib/level1";

/**
 * BANDEDGRAMBANDWIDTH: the half-bandwidth w of G = A A^T for the sparse A (rows x columns) in CSR
 * form (rowPointers: rows+1 i32, columnIndices: i32, sorted or not): the largest distance between
 * two rows sharing a column, i.e. G[i, j] = 0 whenever |i - j| > w. Returns w (0 for diagonal G).
 */
export function bandedGramBandwidth(rows: i32, columns: i32, rowPointers: usize, columnIndices: usize): i32 {
  const first = heap.alloc(<usize>max(columns, 1) << 2);
  const last = heap.alloc(<usize>max(columns, 1) << 2);
  for (let c = 0; c < columns; c++) {
    setAt<i32>(first, c, -1);
    setAt<i32>(last, c, -1);
  }
  for (let r = 0; r < rows; r++) {
    for (let p = getAt<i32>(rowPointers, r); p < getAt<i32>(rowPointers, r + 1); p++) {
      const c = getAt<i32>(columnIndices, p);
      if (getAt<i32>(first, c) < 0) setAt<i32>(first, c, r);
      setAt<i32>(last, c, r);
    }
  }
  let w = 0;
  for (let c = 0; c < columns; c++) if (getAt<i32>(first, c) >= 0) w = max(w, getAt<i32>(last, c) - getAt<i32>(first, c));
  heap.free(first);
  heap.free(last);
  return w;
}

/**
 * BANDEDGRAMFROMCSR: G = A A^T (rows x rows) in lower band storage for the sparse A (rows x columns)
 * in CSR form (rowPointers rows+1, columnIndices and values nnz each; column indices need not be
 * sorted, each (row, column) at most once). band: rows x (w+1) f64, overwritten; row i holds
 * G[i, i-w .. i] (entry (i, j) at band[i*(w+1) + j - i + w]; the unused corner j < 0 is zero). w must
 * be at least bandedGramBandwidth; pairs of rows farther apart than w are skipped (so a smaller w
 * truncates G). Returns 0, or -1 if scratch could not be had.
 *
 * Method: the CSR is transposed to CSC (rows ascending within each column) and G accumulated as
 * sum over columns c of a_c a_c^T (a_c the sparse column), lower triangle only:
 * sum_c nnz_c (nnz_c + 1) / 2 multiply-adds (scalar scatter into the band); no dense row is ever
 * formed. Columns are visited in order of their first row, so columns with similar row sets (all
 * input channels of one pixel of a convolution) reuse the same band entries from cache. For a
 * residual-unit Jacobian (rows = active output pixels in pixel-major HWC order) a column holds
 * ~ 25 C_out active rows (a 5x5 pixel window): for a stage-1 unit (16x32x32, 9869 active rows, 371
 * nonzeros per row, w = 1310) that is 4.1e8 multiply-adds. Accuracy: each entry is a sum of
 * products in f64, |error| <= gamma_nnz |A||A|^T entrywise.
 */
export function bandedGramFromCsrF64(
  rows: i32, columns: i32, rowPointers: usize, columnIndices: usize, values: usize, w: i32, band: usize,
): i32 {
  const nnz = getAt<i32>(rowPointers, rows);
  const ld = <usize>(w + 1);
  memory.fill(band, 0, (<usize>rows * ld) << 3);
  const colStart = heap.alloc(<usize>(columns + 1) << 2);
  const rowOf = heap.alloc(<usize>max(nnz, 1) << 2);
  const valueOf = heap.alloc(<usize>max(nnz, 1) << 3);
  if (!colStart || !rowOf || !valueOf) return -1;
  memory.fill(colStart, 0, <usize>(columns + 1) << 2);
  for (let p = 0; p < nnz; p++) {
    const c = getAt<i32>(columnIndices, p);
    setAt<i32>(colStart, c + 1, getAt<i32>(colStart, c + 1) + 1);
  }
  for (let c = 0; c < columns; c++) setAt<i32>(colStart, c + 1, getAt<i32>(colStart, c + 1) + getAt<i32>(colStart, c));
  // Scatter (rows visited in increasing order, so each column's rows come out ascending); colStart
  // is advanced as a fill pointer and shifted back afterwards.
  for (let r = 0; r < rows; r++) {
    for (let p = getAt<i32>(rowPointers, r); p < getAt<i32>(rowPointers, r + 1); p++) {
      const c = getAt<i32>(columnIndices, p);
      const dst = getAt<i32>(colStart, c);
      setAt<i32>(rowOf, dst, r);
      setAt<f64>(valueOf, dst, getAt<f64>(values, p));
      setAt<i32>(colStart, c, dst + 1);
    }
  }
  for (let c = columns; c > 0; c--) setAt<i32>(colStart, c, getAt<i32>(colStart, c - 1));
  setAt<i32>(colStart, 0, 0);
  // Visit columns in order of their first row (a stable counting sort): columns with the same or
  // nearby row sets (e.g. all input channels of one pixel of a convolution) then update the same
  // band entries back to back, from cache, instead of sweeping the whole band for every column.
  const byFirst = heap.alloc(<usize>max(columns, 1) << 2);
  const bucket = heap.alloc(<usize>(rows + 2) << 2);
  memory.fill(bucket, 0, <usize>(rows + 2) << 2);
  for (let c = 0; c < columns; c++) {
    const f = getAt<i32>(colStart, c) < getAt<i32>(colStart, c + 1) ? getAt<i32>(rowOf, getAt<i32>(colStart, c)) : rows;
    setAt<i32>(bucket, f + 1, getAt<i32>(bucket, f + 1) + 1);
  }
  for (let r = 0; r <= rows; r++) setAt<i32>(bucket, r + 1, getAt<i32>(bucket, r + 1) + getAt<i32>(bucket, r));
  for (let c = 0; c < columns; c++) {
    const f = getAt<i32>(colStart, c) < getAt<i32>(colStart, c + 1) ? getAt<i32>(rowOf, getAt<i32>(colStart, c)) : rows;
    const slot = getAt<i32>(bucket, f);
    setAt<i32>(byFirst, slot, c);
    setAt<i32>(bucket, f, slot + 1);
  }
  heap.free(bucket);
  for (let visit = 0; visit < columns; visit++) {
    const c = getAt<i32>(byFirst, visit);
    const start = getAt<i32>(colStart, c), end = getAt<i32>(colStart, c + 1);
    for (let pa = start; pa < end; pa++) {
      const ra = getAt<i32>(rowOf, pa);
      const va = getAt<f64>(valueOf, pa);
      const base = band + ((<usize>ra * ld + <usize>(w - ra)) << 3);
      // Entries pb <= pa with ra - rb <= w (all of them when w is the true bandwidth).
      let pb = start;
      while (pb <= pa && ra - getAt<i32>(rowOf, pb) > w) pb++;
      for (; pb <= pa; pb++) {
        const p = base + (<usize>getAt<i32>(rowOf, pb) << 3);
        store<f64>(p, load<f64>(p) + va * getAt<f64>(valueOf, pb));
      }
    }
  }
  heap.free(byFirst);
  heap.free(colStart);
  heap.free(rowOf);
  heap.free(valueOf);
  return 0;
}

/** Panel width of the blocked banded LDL^T. */
const BAND_BLOCK: i32 = 64;

/**
 * BANDEDINERTIA: the number of negative eigenvalues of M - shift*I for the symmetric banded M
 * (order nn, half-bandwidth w, lower band storage as bandedGramFromCsrF64: entry (i, j), i-w <= j <= i,
 * at band[i*(w+1) + j - i + w]) from the signs of the pivots of M - shift*I = L D L^T WITHOUT pivoting
 * (Sylvester's law of inertia: the inertia of D is that of M - shift*I). band is destroyed. Returns the
 * count, or -1 if a pivot is exactly zero (then the factorization does not exist; info[3] holds its
 * index). info (f64[4], may be 0): [0] growth = max_i (|L||D||L^T|)_ii / max|M - shift*I|,
 * [1] min |d_i| / max|M - shift*I|, [2] max|M - shift*I|, [3] failing index or -1.
 *
 * When is this safe? The computed factors are the exact ones of M - shift*I + E with
 * |E| <= gamma_{w+1} |L||D||L^T| (Higham, Accuracy and Stability, Thm 10.5 for LDL^T/Cholesky-type
 * elimination), so the count is exact whenever no eigenvalue of M lies within
 * ~ (w+1)^2 * eps * growth * max|M - shift*I| of `shift` (bound on ||E||_2). Below the spectrum
 * (M - shift*I definite) growth is 1 and the method is as stable as Cholesky; for a shift inside the
 * spectrum no a priori bound exists: a leading principal submatrix with an eigenvalue near the shift
 * gives a tiny pivot and large growth. The caller must check growth (the TypeScript side falls back
 * to dense Bunch-Kaufman beyond a limit).
 *
 * Blocked right-looking (as LAPACK dpbtrf): for each panel of BAND_BLOCK columns, an unblocked
 * elimination of the diagonal block and of the (at most w) rows below it (copied to a dense panel,
 * zero outside the band), then one lower-triangle GEMM updates the w x w trailing triangle, which in
 * this storage is a row-major matrix with leading dimension w. Flops ~ nn*w^2 (+ O(nn*w*64)).
 */
export function bandedInertiaF64(nn: i32, w: i32, band: usize, shift: f64, info: usize): i32 {
  const ld = <usize>w;
  const offset = <usize>w;
  // addr(i, j) = band + (w + i*w + j) * 8
  let maxAbs = 0.0;
  for (let i = 0; i < nn; i++) {
    const diag = band + ((offset + <usize>i * ld + <usize>i) << 3);
    store<f64>(diag, load<f64>(diag) - shift);
    for (let j = max(0, i - w); j <= i; j++) maxAbs = max(maxAbs, abs(load<f64>(band + ((offset + <usize>i * ld + <usize>j) << 3))));
  }
  if (info) {
    setAt<f64>(info, 0, 1.0);
    setAt<f64>(info, 1, 0.0);
    setAt<f64>(info, 2, maxAbs);
    setAt<f64>(info, 3, -1.0);
  }
  if (nn == 0) return 0;
  if (maxAbs == 0) {
    if (info) setAt<f64>(info, 3, 0.0);
    return -1;
  }
  let negatives = 0;
  let minPivot = Infinity;
  if (w == 0) {
    for (let i = 0; i < nn; i++) {
      const d = getAt<f64>(band, i);
      if (d == 0) {
        if (info) setAt<f64>(info, 3, <f64>i);
        return -1;
      }
      if (d < 0) negatives++;
      minPivot = min(minPivot, abs(d));
    }
    if (info) setAt<f64>(info, 1, minPivot / maxAbs);
    return negatives;
  }
  const nb = min(BAND_BLOCK, w);
  const growth = allocZeroedF64(nn);
  const lp = allocZeroedF64(w * nb);
  const yp = allocZeroedF64(w * nb);
  const colv = allocZeroedF64(nb);
  let result = 0;
  for (let k0 = 0; k0 < nn; k0 += nb) {
    const b = min(nb, nn - k0);
    const r = min(w, nn - k0 - b);
    // Panel rows k0+b+i (i < r), columns k0+c: in the band iff b + i - c <= w.
    for (let i = 0; i < r; i++) {
      for (let c = 0; c < b; c++) {
        const inBand = b + i - c <= w;
        setAt<f64>(yp, i * nb + c, inBand ? load<f64>(band + ((offset + <usize>(k0 + b + i) * ld + <usize>(k0 + c)) << 3)) : 0.0);
      }
    }
    for (let c = 0; c < b; c++) {
      const kc = k0 + c;
      const d = load<f64>(band + ((offset + <usize>kc * ld + <usize>kc) << 3));
      if (d == 0 || !isFinite(d)) {
        if (info) setAt<f64>(info, 3, <f64>kc);
        result = -1;
        break;
      }
      if (d < 0) negatives++;
      const ad = abs(d);
      minPivot = min(minPivot, ad);
      setAt<f64>(growth, kc, getAt<f64>(growth, kc) + ad);
      // Column c of the diagonal block below the pivot, then the rank-1 update of the block.
      for (let c2 = c + 1; c2 < b; c2++) setAt<f64>(colv, c2, load<f64>(band + ((offset + <usize>(k0 + c2) * ld + <usize>kc) << 3)));
      for (let c2 = c + 1; c2 < b; c2++) {
        const x = getAt<f64>(colv, c2);
        if (x == 0) continue;
        setAt<f64>(growth, k0 + c2, getAt<f64>(growth, k0 + c2) + x * x / ad);
        axpyUnit<f64>(c2 - c, -x / d, colv + (<usize>(c + 1) << 3), band + ((offset + <usize>(k0 + c2) * ld + <usize>(kc + 1)) << 3));
      }
      for (let i = 0; i < r; i++) {
        const a = getAt<f64>(yp, i * nb + c);
        setAt<f64>(lp, i * nb + c, a / d);
        if (a == 0) continue;
        setAt<f64>(growth, k0 + b + i, getAt<f64>(growth, k0 + b + i) + a * a / ad);
        if (c + 1 < b) axpyUnit<f64>(b - c - 1, -a / d, colv + (<usize>(c + 1) << 3), yp + (<usize>(i * nb + c + 1) << 3));
      }
    }
    if (result < 0) break;
    // Trailing w x w triangle: C -= L21 * (L21 D)^T.
    if (r > 0) {
      const c0 = band + ((offset + <usize>(k0 + b) * ld + <usize>(k0 + b)) << 3);
      gemmLowerF64(0, 1, r, b, -1.0, lp, nb, yp, nb, 1.0, c0, w);
    }
  }
  if (result == 0) {
    let g = 0.0;
    for (let i = 0; i < nn; i++) g = max(g, getAt<f64>(growth, i));
    if (info) {
      setAt<f64>(info, 0, g / maxAbs);
      setAt<f64>(info, 1, minPivot / maxAbs);
    }
    result = negatives;
  }
  heap.free(growth);
  heap.free(lp);
  heap.free(yp);
  heap.free(colv);
  return result;
}

/** Bunch-Kaufman pivot threshold (1 + sqrt(17))/8, which minimizes the element-growth bound. */
const BK_ALPHA: f64 = 0.6403882032022076;

/**
 * DENSEINERTIA: the inertia of M - shift*I for the dense symmetric M (nn x nn, row-major, only the
 * LOWER triangle is read, and destroyed; lda >= nn) by the Bunch-Kaufman symmetric-indefinite
 * factorization P (M - shift*I) P^T = L D L^T with 1x1 and 2x2 pivots (LAPACK dsytf2 with
 * UPLO = 'U' on the column-major view, i.e. eliminating from the last row upwards). Returns the
 * number of negative eigenvalues; zerosOut (i32, may be 0) receives the number of zero pivots (exact
 * zero eigenvalues of D). By Sylvester's law D has the inertia of M - shift*I.
 *
 * Accuracy: backward stable with bounded element growth (growth <= 2.57^(nn-1), in practice small):
 * the inertia is exact for M - shift*I + E with ||E|| <= p(nn) eps ||M - shift*I||, so the count is
 * exact when no eigenvalue of M lies within that distance (~ nn * eps * ||M||) of the shift.
 * Cost: nn^3/3 flops, unblocked (SIMD row updates); meant for orders up to a few thousand.
 */
export function denseInertiaF64(nn: i32, a: usize, lda: i32, shift: f64, zerosOut: usize): i32 {
  const ldu = <usize>lda;
  for (let i = 0; i < nn; i++) {
    const p = a + ((<usize>i * ldu + <usize>i) << 3);
    store<f64>(p, load<f64>(p) - shift);
  }
  let negatives = 0, zeros = 0;
  let k = nn - 1;
  while (k >= 0) {
    let kstep = 1;
    const rowK = a + ((<usize>k * ldu) << 3);
    const absakk = abs(getAt<f64>(rowK, k));
    let imax = 0, colmax = 0.0;
    for (let i = 0; i < k; i++) {
      const v = abs(getAt<f64>(rowK, i));
      if (v > colmax) {
        colmax = v;
        imax = i;
      }
    }
    if (max(absakk, colmax) == 0) {
      // Row and column k are zero: an exact zero eigenvalue, nothing to eliminate.
      zeros++;
      k--;
      continue;
    }
    let kp = k;
    if (absakk < BK_ALPHA * colmax) {
      let rowmax = 0.0;
      const rowI = a + ((<usize>imax * ldu) << 3);
      for (let j = 0; j < imax; j++) rowmax = max(rowmax, abs(getAt<f64>(rowI, j)));
      for (let j = imax + 1; j <= k; j++) rowmax = max(rowmax, abs(getAt<f64>(a + ((<usize>j * ldu) << 3), imax)));
      if (absakk >= BK_ALPHA * colmax * (colmax / rowmax)) {
        kp = k;
      } else if (abs(getAt<f64>(rowI, imax)) >= BK_ALPHA * rowmax) {
        kp = imax;
      } else {
        kp = imax;
        kstep = 2;
      }
    }
    const kk = k - kstep + 1;
    if (kp != kk) symmetricSwapLower(a, ldu, kp, kk, k);
    if (kstep == 1) {
      const d = getAt<f64>(rowK, k);
      if (d < 0) negatives++;
      for (let i = 0; i < k; i++) {
        const xi = getAt<f64>(rowK, i);
        if (xi == 0) continue;
        axpyUnit<f64>(i + 1, -xi / d, rowK, a + ((<usize>i * ldu) << 3));
      }
    } else {
      const rowKm1 = a + ((<usize>(k - 1) * ldu) << 3);
      const a11 = getAt<f64>(rowKm1, k - 1), a21 = getAt<f64>(rowK, k - 1), a22 = getAt<f64>(rowK, k);
      // D = [[a11, a21], [a21, a22]]; sign(det) = sign((a22/a21)(a11/a21) - 1), computed without overflow.
      const s11 = a22 / a21, s22 = a11 / a21;
      const detScaled = s11 * s22 - 1.0;
      const trace = a11 + a22;
      if (detScaled < 0) negatives += 1;
      else if (detScaled > 0) negatives += trace < 0 ? 2 : 0;
      else {
        zeros++;
        if (trace < 0) negatives++;
      }
      if (detScaled != 0) {
        const t = 1.0 / detScaled;
        const d12 = t / a21;
        for (let j = 0; j < k - 1; j++) {
          const xkm1 = getAt<f64>(rowKm1, j), xk = getAt<f64>(rowK, j);
          const wkm1 = d12 * (s11 * xkm1 - xk);
          const wk = d12 * (s22 * xk - xkm1);
          const rowJ = a + ((<usize>j * ldu) << 3);
          if (wk != 0) axpyUnit<f64>(j + 1, -wk, rowK, rowJ);
          if (wkm1 != 0) axpyUnit<f64>(j + 1, -wkm1, rowKm1, rowJ);
        }
      }
    }
    k -= kstep;
  }
  if (zerosOut) store<i32>(zerosOut, zeros);
  return negatives;
}

/** Interchange indices s < t of the symmetric matrix held in the lower triangle, within [0, K]. */
function symmetricSwapLower(a: usize, ld: usize, s: i32, t: i32, K: i32): void {
  const rowS = a + ((<usize>s * ld) << 3), rowT = a + ((<usize>t * ld) << 3);
  for (let j = 0; j < s; j++) swapAt(rowS + (<usize>j << 3), rowT + (<usize>j << 3));
  swapAt(rowS + (<usize>s << 3), rowT + (<usize>t << 3));
  for (let i = s + 1; i < t; i++) swapAt(a + ((<usize>i * ld + <usize>s) << 3), rowT + (<usize>i << 3));
  for (let i = t + 1; i <= K; i++) swapAt(a + ((<usize>i * ld + <usize>s) << 3), a + ((<usize>i * ld + <usize>t) << 3));
}

@inline function swapAt(x: usize, y: usize): void {
  const t = load<f64>(x);
  store<f64>(x, load<f64>(y));
  store<f64>(y, t);
}
