/**
 * Eigenvalues of a symmetric tridiagonal matrix, f64 and f32.
 *
 * sterf is LAPACK's dsterf: the Pal-Walker-Kahan square-root-free variant of the implicit QL/QR
 * iteration with Wilkinson-like shifts, choosing QL or QR per unreduced block so the bulge runs from
 * the larger end towards the smaller. It works on the squared off-diagonal, so each step costs a few
 * flops and one division and no square root; the whole spectrum takes ~ 30*n^2 flops.
 *
 * Accuracy: backward stable; every computed eigenvalue is within c*n*eps*||T||_2 of the exact one
 * (absolute error, c modest). Small eigenvalues of a graded matrix are NOT computed to high relative
 * accuracy (use the bidiagonal route when that matters).
 */

import { epsOf, safminOf } from "./lib/machine";
import { getAt, setAt } from "./lib/elements";

/**
 * Eigenvalues of the symmetric 2 x 2 matrix [[a, b], [b, c]] (LAPACK dlae2): rt1 has the larger
 * absolute value. Accurate to a few ulps of max(|rt1|, |rt2|); rt2 is computed from the determinant
 * relation to keep its relative accuracy when it is small. Results in SMALL_RT1 / SMALL_RT2.
 */
let SMALL_RT1: f64 = 0;
let SMALL_RT2: f64 = 0;
function eig2<T>(a: T, b: T, c: T): void {
  const sm = a + c, df = a - c;
  const adf = abs<T>(df), tb = b + b, ab = abs<T>(tb);
  let acmx = a, acmn = c;
  if (abs<T>(a) <= abs<T>(c)) {
    acmx = c;
    acmn = a;
  }
  let rt: T;
  if (adf > ab) rt = adf * sqrt<T>(<T>1 + (ab / adf) * (ab / adf));
  else if (adf < ab) rt = ab * sqrt<T>(<T>1 + (adf / ab) * (adf / ab));
  else rt = ab * sqrt<T>(<T>2);
  let rt1: T, rt2: T;
  if (sm < 0) {
    rt1 = <T>0.5 * (sm - rt);
    rt2 = (acmx / rt1) * acmn - (b / rt1) * b;
  } else if (sm > 0) {
    rt1 = <T>0.5 * (sm + rt);
    rt2 = (acmx / rt1) * acmn - (b / rt1) * b;
  } else {
    rt1 = <T>0.5 * rt;
    rt2 = <T>-0.5 * rt;
  }
  SMALL_RT1 = <f64>rt1;
  SMALL_RT2 = <f64>rt2;
}

/** In-place heapsort of n values at p, ascending; O(n log n), no allocation. */
function heapSortAscending<T>(n: i32, p: usize): void {
  for (let start = (n >> 1) - 1; start >= 0; start--) siftDown<T>(p, start, n);
  for (let end = n - 1; end > 0; end--) {
    const t = getAt<T>(p, 0);
    setAt<T>(p, 0, getAt<T>(p, end));
    setAt<T>(p, end, t);
    siftDown<T>(p, 0, end);
  }
}
function siftDown<T>(p: usize, root: i32, n: i32): void {
  const value = getAt<T>(p, root);
  let i = root;
  while (true) {
    let child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && getAt<T>(p, child + 1) > getAt<T>(p, child)) child++;
    if (getAt<T>(p, child) <= value) break;
    setAt<T>(p, i, getAt<T>(p, child));
    i = child;
  }
  setAt<T>(p, i, value);
}

function reverse<T>(n: i32, p: usize): void {
  for (let i = 0, j = n - 1; i < j; i++, j--) {
    const t = getAt<T>(p, i);
    setAt<T>(p, i, getAt<T>(p, j));
    setAt<T>(p, j, t);
  }
}

/** Sort n values at p in place: ascending (descending == 0) or descending. NaN-free input assumed. */
export function sortF64(n: i32, p: usize, descending: i32): void {
  heapSortAscending<f64>(n, p);
  if (descending) reverse<f64>(n, p);
}
/** Sort, f32. */
export function sortF32(n: i32, p: usize, descending: i32): void {
  heapSortAscending<f32>(n, p);
  if (descending) reverse<f32>(n, p);
}

/** Largest |entry| of the tridiagonal block d[l..lend], e[l..lend-1]. */
function maxAbs<T>(d: usize, e: usize, l: i32, lend: i32): T {
  let r: T = <T>0;
  for (let i = l; i <= lend; i++) r = max<T>(r, abs<T>(getAt<T>(d, i)));
  for (let i = l; i < lend; i++) r = max<T>(r, abs<T>(getAt<T>(e, i)));
  return r;
}

function scaleRange<T>(p: usize, from: i32, to: i32, factor: T): void {
  for (let i = from; i <= to; i++) setAt<T>(p, i, getAt<T>(p, i) * factor);
}

/**
 * All eigenvalues of the symmetric tridiagonal T (diagonal d[0:n], off-diagonal e[0:n-1]), returned
 * in d sorted ascending (descending != 0: descending); e is destroyed. Returns 0 on success, otherwise
 * the number of off-diagonal entries that failed to converge within 30*n QL/QR steps (d then holds
 * unsorted approximations). Blocks are scaled into [sqrt(safmin)/eps^2, sqrt(safmax)/3] so that squaring
 * the off-diagonals neither overflows nor underflows. Accuracy: see the file header.
 */
function sterf<T>(n: i32, d: usize, e: usize, descending: bool): i32 {
  if (n <= 0) return 0;
  if (n == 1) return 0;
  const eps = epsOf<T>();
  const eps2 = eps * eps;
  const safmin = safminOf<T>();
  const safmax = <T>1 / safmin;
  const ssfmax = sqrt<T>(safmax) / <T>3;
  const ssfmin = sqrt<T>(safmin) / eps2;
  const maxIterations = 30 * n;
  let iterations = 0;
  let l1 = 0;
  while (l1 < n) {
    if (l1 > 0) setAt<T>(e, l1 - 1, <T>0);
    // Find the end m of the unreduced block starting at l1 (|e[m]| negligible).
    let m = l1;
    for (; m < n - 1; m++) {
      const em = abs<T>(getAt<T>(e, m));
      if (em <= sqrt<T>(abs<T>(getAt<T>(d, m))) * sqrt<T>(abs<T>(getAt<T>(d, m + 1))) * eps) {
        setAt<T>(e, m, <T>0);
        break;
      }
    }
    let l = l1;
    const lsv = l;
    let lend = m;
    const lendsv = lend;
    l1 = m + 1;
    if (lend == l) continue;
    // Scale the block.
    const anorm = maxAbs<T>(d, e, l, lend);
    if (anorm == 0) continue;
    let scaled = 0;
    if (anorm > ssfmax) {
      scaled = 1;
      scaleRange<T>(d, l, lend, ssfmax / anorm);
      scaleRange<T>(e, l, lend - 1, ssfmax / anorm);
    } else if (anorm < ssfmin) {
      scaled = 2;
      scaleRange<T>(d, l, lend, ssfmin / anorm);
      scaleRange<T>(e, l, lend - 1, ssfmin / anorm);
    }
    for (let i = l; i < lend; i++) setAt<T>(e, i, getAt<T>(e, i) * getAt<T>(e, i));
    // QL if the bottom is larger (bulge chased upwards from the bottom), else QR.
    if (abs<T>(getAt<T>(d, lend)) < abs<T>(getAt<T>(d, l))) {
      lend = lsv;
      l = lendsv;
    }
    if (lend >= l) {
      // QL iteration: deflate from the top (l grows).
      while (true) {
        let mm = l;
        if (l != lend) {
          for (; mm < lend; mm++) {
            if (abs<T>(getAt<T>(e, mm)) <= eps2 * abs<T>(getAt<T>(d, mm) * getAt<T>(d, mm + 1))) break;
          }
        } else mm = lend;
        if (mm < lend) setAt<T>(e, mm, <T>0);
        let p = getAt<T>(d, l);
        if (mm == l) {
          // Eigenvalue found.
          setAt<T>(d, l, p);
          l++;
          if (l <= lend) continue;
          break;
        }
        if (mm == l + 1) {
          eig2<T>(getAt<T>(d, l), sqrt<T>(getAt<T>(e, l)), getAt<T>(d, l + 1));
          setAt<T>(d, l, <T>SMALL_RT1);
          setAt<T>(d, l + 1, <T>SMALL_RT2);
          setAt<T>(e, l, <T>0);
          l += 2;
          if (l <= lend) continue;
          break;
        }
        if (iterations == maxIterations) break;
        iterations++;
        // Shift from the leading 2 x 2 block.
        const rte = sqrt<T>(getAt<T>(e, l));
        let sigma = (getAt<T>(d, l + 1) - p) / (<T>2 * rte);
        const r0 = hypot1<T>(sigma);
        sigma = p - rte / (sigma + copysign<T>(r0, sigma));
        let c: T = <T>1, s: T = <T>0;
        let gamma = getAt<T>(d, mm) - sigma;
        p = gamma * gamma;
        for (let i = mm - 1; i >= l; i--) {
          const bb = getAt<T>(e, i);
          const r = p + bb;
          if (i != mm - 1) setAt<T>(e, i + 1, s * r);
          const oldc = c;
          c = p / r;
          s = bb / r;
          const oldgam = gamma;
          const alpha = getAt<T>(d, i);
          gamma = c * (alpha - sigma) - s * oldgam;
          setAt<T>(d, i + 1, oldgam + (alpha - gamma));
          p = c != 0 ? (gamma * gamma) / c : oldc * bb;
        }
        setAt<T>(e, l, s * p);
        setAt<T>(d, l, sigma + gamma);
      }
    } else {
      // QR iteration: deflate from the bottom (l shrinks).
      while (true) {
        let mm = l;
        for (; mm > lend; mm--) {
          if (abs<T>(getAt<T>(e, mm - 1)) <= eps2 * abs<T>(getAt<T>(d, mm) * getAt<T>(d, mm - 1))) break;
        }
        if (mm > lend) setAt<T>(e, mm - 1, <T>0);
        let p = getAt<T>(d, l);
        if (mm == l) {
          setAt<T>(d, l, p);
          l--;
          if (l >= lend) continue;
          break;
        }
        if (mm == l - 1) {
          eig2<T>(getAt<T>(d, l), sqrt<T>(getAt<T>(e, l - 1)), getAt<T>(d, l - 1));
          setAt<T>(d, l, <T>SMALL_RT1);
          setAt<T>(d, l - 1, <T>SMALL_RT2);
          setAt<T>(e, l - 1, <T>0);
          l -= 2;
          if (l >= lend) continue;
          break;
        }
        if (iterations == maxIterations) break;
        iterations++;
        const rte = sqrt<T>(getAt<T>(e, l - 1));
        let sigma = (getAt<T>(d, l - 1) - p) / (<T>2 * rte);
        const r0 = hypot1<T>(sigma);
        sigma = p - rte / (sigma + copysign<T>(r0, sigma));
        let c: T = <T>1, s: T = <T>0;
        let gamma = getAt<T>(d, mm) - sigma;
        p = gamma * gamma;
        for (let i = mm; i <= l - 1; i++) {
          const bb = getAt<T>(e, i);
          const r = p + bb;
          if (i != mm) setAt<T>(e, i - 1, s * r);
          const oldc = c;
          c = p / r;
          s = bb / r;
          const oldgam = gamma;
          const alpha = getAt<T>(d, i + 1);
          gamma = c * (alpha - sigma) - s * oldgam;
          setAt<T>(d, i, oldgam + (alpha - gamma));
          p = c != 0 ? (gamma * gamma) / c : oldc * bb;
        }
        setAt<T>(e, l - 1, s * p);
        setAt<T>(d, l, sigma + gamma);
      }
    }
    // Undo the scaling of this block.
    if (scaled == 1) scaleRange<T>(d, lsv, lendsv, anorm / ssfmax);
    else if (scaled == 2) scaleRange<T>(d, lsv, lendsv, anorm / ssfmin);
    if (iterations >= maxIterations) {
      let unconverged = 0;
      for (let i = 0; i < n - 1; i++) if (getAt<T>(e, i) != 0) unconverged++;
      return unconverged;
    }
  }
  heapSortAscending<T>(n, d);
  if (descending) reverse<T>(n, d);
  return 0;
}

/** sqrt(x^2 + 1) without overflow. */
@inline function hypot1<T>(x: T): T {
  const ax = abs<T>(x);
  if (ax > <T>1) return ax * sqrt<T>(<T>1 + (<T>1 / ax) * (<T>1 / ax));
  return sqrt<T>(<T>1 + ax * ax);
}

/**
 * All eigenvalues of a symmetric tridiagonal matrix, f64 (see sterf): d[n] diagonal in, eigenvalues out
 * (ascending, or descending when descending != 0); e[n-1] off-diagonal, destroyed. Returns 0 or the
 * number of unconverged off-diagonals.
 */
export function sterfF64(n: i32, d: usize, e: usize, descending: i32): i32 {
  return sterf<f64>(n, d, e, descending != 0);
}
/** Tridiagonal eigenvalues, f32. */
export function sterfF32(n: i32, d: usize, e: usize, descending: i32): i32 {
  return sterf<f32>(n, d, e, descending != 0);
}
