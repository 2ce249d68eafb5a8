/**
 * Singular values (and optionally vectors) of an upper bidiagonal matrix, f64 and f32, by the
 * Golub-Kahan implicit-shift QR iteration with Demmel-Kahan zero-shift sweeps, following the algorithm
 * of LAPACK dbdsqr (convergence tests, splitting, shift choice and sweep direction as there).
 *
 * Accuracy (Demmel & Kahan 1990): every singular value, large or small, is computed to high RELATIVE
 * accuracy: |s_computed - s| <= c * n * tol * s, tol = max(10, min(100, eps^(-1/8))) * eps (about
 * 100*eps in f64), as long as no underflow intervenes. This holds because the zero-shift sweeps and the
 * relative convergence criteria perturb each entry of B only by a small relative amount. Vectors
 * (accumulated plane rotations) are orthonormal to O(n*eps).
 *
 * Storage: singular vectors are accumulated into the ROWS of row-major matrices: vt (n x ncvt) receives
 * P^T * vt and ut (n x ncut) receives Q^T * ut, where B = Q * S * P^T. Starting from vt = P_A^T and
 * ut = Q_A^T of a bidiagonalization A = Q_A B P_A^T gives A = (ut^T) S (vt). Rows are contiguous, so
 * every rotation is a SIMD pass over two adjacent rows.
 */
import { scalF64, scalF32, swapF64, swapF32 } from "./blas";
import { sortF64, sortF32 } from "./tridiagonal";
import { epsOf, precOf, safminOf } from "./lib/machine";
import { getAt, setAt } from "./lib/elements";
import { rotUnit } from "./lib/level1";

@inline function rowOf<T>(p: usize, ld: i32, r: i32): usize {
  return p + <usize>r * <usize>ld * sizeof<T>();
}

// Results of the small kernels below (AssemblyScript functions return one value).
let ROT_C: f64 = 0;
let ROT_S: f64 = 0;
let ROT_R: f64 = 0;
let SV_MIN: f64 = 0;
let SV_MAX: f64 = 0;
let SV_SINR: f64 = 0;
let SV_COSR: f64 = 0;
let SV_SINL: f64 = 0;
let SV_COSL: f64 = 0;

/**
 * Plane rotation (LAPACK 3.10 dlartg): [c s; -s c] [f; g] = [r; 0] with c >= 0 real, r = sign(f) *
 * sqrt(f^2 + g^2), scaled so that it neither overflows nor underflows. Results in ROT_C/ROT_S/ROT_R.
 */
function lartg<T>(f: T, g: T): void {
  const safmin = safminOf<T>();
  const safmax = <T>1 / safmin;
  const rtmin = sqrt<T>(safmin);
  const rtmax = sqrt<T>(safmax / <T>2);
  if (g == 0) {
    ROT_C = 1;
    ROT_S = 0;
    ROT_R = <f64>f;
    return;
  }
  if (f == 0) {
    ROT_C = 0;
    ROT_S = g > 0 ? 1 : -1;
    ROT_R = <f64>abs<T>(g);
    return;
  }
  const f1 = abs<T>(f), g1 = abs<T>(g);
  if (f1 > rtmin && f1 < rtmax && g1 > rtmin && g1 < rtmax) {
    const d = sqrt<T>(f * f + g * g);
    const r = copysign<T>(d, f);
    ROT_C = <f64>(f1 / d);
    ROT_R = <f64>r;
    ROT_S = <f64>(g / r);
    return;
  }
  const u = min<T>(safmax, max<T>(safmin, max<T>(f1, g1)));
  const fs = f / u, gs = g / u;
  const d = sqrt<T>(fs * fs + gs * gs);
  const r = copysign<T>(d, f);
  ROT_C = <f64>(abs<T>(fs) / d);
  ROT_S = <f64>(gs / r);
  ROT_R = <f64>(r * u);
}

/**
 * Singular values of the 2 x 2 upper triangular [[f, g], [0, h]] (LAPACK dlas2): SV_MIN, SV_MAX,
 * both to a few ulps relative, without unnecessary overflow or underflow.
 */
function las2<T>(f: T, g: T, h: T): void {
  const fa = abs<T>(f), ga = abs<T>(g), ha = abs<T>(h);
  const fhmn = min<T>(fa, ha), fhmx = max<T>(fa, ha);
  if (fhmn == 0) {
    SV_MIN = 0;
    if (fhmx == 0) SV_MAX = <f64>ga;
    else {
      const q = min<T>(fhmx, ga) / max<T>(fhmx, ga);
      SV_MAX = <f64>(max<T>(fhmx, ga) * sqrt<T>(<T>1 + q * q));
    }
    return;
  }
  if (ga < fhmx) {
    const as = <T>1 + fhmn / fhmx, at = (fhmx - fhmn) / fhmx;
    const au = (ga / fhmx) * (ga / fhmx);
    const c = <T>2 / (sqrt<T>(as * as + au) + sqrt<T>(at * at + au));
    SV_MIN = <f64>(fhmn * c);
    SV_MAX = <f64>(fhmx / c);
    return;
  }
  const au = fhmx / ga;
  if (au == 0) {
    // True SV_MIN may not underflow even though au does.
    SV_MIN = <f64>((fhmn * fhmx) / ga);
    SV_MAX = <f64>ga;
    return;
  }
  const as = <T>1 + fhmn / fhmx, at = (fhmx - fhmn) / fhmx;
  const c = <T>1 / (sqrt<T>(<T>1 + (as * au) * (as * au)) + sqrt<T>(<T>1 + (at * au) * (at * au)));
  SV_MIN = <f64>((fhmn * c) * au * <T>2);
  SV_MAX = <f64>(ga / (c + c));
}

/**
 * SVD of the 2 x 2 upper triangular [[f, g], [0, h]] (LAPACK dlasv2):
 * [csl snl; -snl csl] [f g; 0 h] [csr -snr; snr csr] = [ssmax 0; 0 ssmin], |ssmax| >= |ssmin|, signed.
 * All outputs accurate to a few ulps (relative for the singular values). Results in SV_*.
 */
function lasv2<T>(f: T, g: T, h: T): void {
  const eps = precOf<T>();
  let ft = f, fa = abs<T>(f), ht = h, ha = abs<T>(h);
  // pmax: which of f (1), g (2), h (3) has the largest magnitude.
  let pmax = 1;
  const swapped = ha > fa;
  if (swapped) {
    pmax = 3;
    let t = ft;
    ft = ht;
    ht = t;
    t = fa;
    fa = ha;
    ha = t;
  }
  const gt = g, ga = abs<T>(g);
  let clt: T, crt: T, slt: T, srt: T, ssmin: T, ssmax: T;
  if (ga == 0) {
    ssmin = ha;
    ssmax = fa;
    clt = <T>1;
    crt = <T>1;
    slt = <T>0;
    srt = <T>0;
  } else {
    let gaSmall = true;
    clt = crt = slt = srt = ssmin = ssmax = <T>0;
    if (ga > fa) {
      pmax = 2;
      if (fa / ga < eps) {
        // Very large g: the formulas below would lose accuracy.
        gaSmall = false;
        ssmax = ga;
        ssmin = ha > <T>1 ? fa / (ga / ha) : (fa / ga) * ha;
        clt = <T>1;
        slt = ht / gt;
        srt = <T>1;
        crt = ft / gt;
      }
    }
    if (gaSmall) {
      const dd = fa - ha;
      let l: T = dd == fa ? <T>1 : dd / fa; // copes with infinite f or h; 0 <= l <= 1
      const m = gt / ft; // |m| <= 1/eps
      let t = <T>2 - l; // t >= 1
      const mm = m * m, tt = t * t;
      const s = sqrt<T>(tt + mm); // 1 <= s <= 1 + 1/eps
      const r = l == 0 ? abs<T>(m) : sqrt<T>(l * l + mm);
      const a = <T>0.5 * (s + r); // 1 <= a <= 1 + |m|
      ssmin = ha / a;
      ssmax = fa * a;
      if (mm == 0) {
        // m is tiny.
        if (l == 0) t = copysign<T>(<T>2, ft) * copysign<T>(<T>1, gt);
        else t = gt / copysign<T>(dd, ft) + m / t;
      } else {
        t = (m / (s + t) + m / (r + l)) * (<T>1 + a);
      }
      l = sqrt<T>(t * t + <T>4);
      crt = <T>2 / l;
      srt = t / l;
      clt = (crt + srt * m) / a;
      slt = (ht / ft) * srt / a;
    }
  }
  let csl: T, snl: T, csr: T, snr: T;
  if (swapped) {
    csl = srt;
    snl = crt;
    csr = slt;
    snr = clt;
  } else {
    csl = clt;
    snl = slt;
    csr = crt;
    snr = srt;
  }
  // Signs of the singular values.
  let tsign: T = <T>1;
  if (pmax == 1) tsign = copysign<T>(<T>1, csr) * copysign<T>(<T>1, csl) * copysign<T>(<T>1, f);
  if (pmax == 2) tsign = copysign<T>(<T>1, snr) * copysign<T>(<T>1, csl) * copysign<T>(<T>1, g);
  if (pmax == 3) tsign = copysign<T>(<T>1, snr) * copysign<T>(<T>1, snl) * copysign<T>(<T>1, h);
  SV_MAX = <f64>copysign<T>(ssmax, tsign);
  SV_MIN = <f64>copysign<T>(ssmin, tsign * copysign<T>(<T>1, f) * copysign<T>(<T>1, h));
  SV_SINR = <f64>snr;
  SV_COSR = <f64>csr;
  SV_SINL = <f64>snl;
  SV_COSL = <f64>csl;
}

/**
 * Apply the plane rotations of one sweep to rows first..first+count of a row-major matrix (ncols
 * columns): rotation k, (c[k], s[k]), combines rows first+k and first+k+1 as
 * (x, y) <- (c x + s y, c y - s x), in order k = 0.. (forward) or k = count-1..0 (backward). This is
 * LAPACK dlasr('L', 'V', F/B) on a row-major matrix, and dlasr('R', 'V', F/B) on its transpose.
 */
function applySweep<T>(forward: bool, count: i32, c: usize, s: usize, mat: usize, ld: i32, first: i32, ncols: i32): void {
  if (ncols <= 0) return;
  if (forward) {
    for (let k = 0; k < count; k++) {
      const ck = getAt<T>(c, k), sk = getAt<T>(s, k);
      if (ck != 1 || sk != 0) rotUnit<T>(ncols, rowOf<T>(mat, ld, first + k), rowOf<T>(mat, ld, first + k + 1), ck, sk);
    }
  } else {
    for (let k = count - 1; k >= 0; k--) {
      const ck = getAt<T>(c, k), sk = getAt<T>(s, k);
      if (ck != 1 || sk != 0) rotUnit<T>(ncols, rowOf<T>(mat, ld, first + k), rowOf<T>(mat, ld, first + k + 1), ck, sk);
    }
  }
}

/** Maximum number of QR sweeps per singular value, on average, before giving up (as LAPACK). */
const MAXITR: i32 = 6;

/**
 * SVD of the n x n upper bidiagonal B (diagonal d[0:n], superdiagonal e[0:n-1]): B = Q S P^T.
 * On exit d holds the singular values, non-negative and sorted descending; e is destroyed (zero on
 * success). If ncvt > 0, vt (n x ncvt, ldvt >= ncvt) is overwritten by P^T * vt; if ncut > 0, ut
 * (n x ncut) by Q^T * ut (the rows of ut are then left singular vectors). Returns 0 on success, or the
 * number of superdiagonal entries that did not converge within 6*n^2 inner steps.
 * Cost: O(n^2) flops for the values; each sweep adds ~6*(length)*(ncvt + ncut) flops for vectors.
 * Accuracy: high relative accuracy for every singular value; see the file header.
 */
function bdsqr<T>(n: i32, d: usize, e: usize, vt: usize, ldvt: i32, ncvt: i32, ut: usize, ldut: i32, ncut: i32): i32 {
  if (n <= 0) return 0;
  let info = 0;
  if (n > 1) info = qrIterate<T>(n, d, e, vt, ldvt, ncvt, ut, ldut, ncut);
  // Make the singular values non-negative (flipping the matching right vector).
  for (let i = 0; i < n; i++) {
    const di = getAt<T>(d, i);
    if (di == 0) setAt<T>(d, i, <T>0); // no -0
    else if (di < 0) {
      setAt<T>(d, i, -di);
      if (ncvt > 0) {
        if (sizeof<T>() == 8) scalF64(ncvt, -1, rowOf<T>(vt, ldvt, i), 1);
        else scalF32(ncvt, -1, rowOf<T>(vt, ldvt, i), 1);
      }
    }
  }
  if (ncvt <= 0 && ncut <= 0) {
    if (sizeof<T>() == 8) sortF64(n, d, 1);
    else sortF32(n, d, 1);
    return info;
  }
  // Sort descending with at most n-1 row swaps (selection of the smallest into the last place).
  for (let i = 0; i < n - 1; i++) {
    const last = n - 1 - i;
    let isub = 0;
    let smin = getAt<T>(d, 0);
    for (let j = 1; j <= last; j++) {
      if (getAt<T>(d, j) <= smin) {
        isub = j;
        smin = getAt<T>(d, j);
      }
    }
    if (isub != last) {
      setAt<T>(d, isub, getAt<T>(d, last));
      setAt<T>(d, last, smin);
      if (sizeof<T>() == 8) {
        if (ncvt > 0) swapF64(ncvt, rowOf<T>(vt, ldvt, isub), 1, rowOf<T>(vt, ldvt, last), 1);
        if (ncut > 0) swapF64(ncut, rowOf<T>(ut, ldut, isub), 1, rowOf<T>(ut, ldut, last), 1);
      } else {
        if (ncvt > 0) swapF32(ncvt, rowOf<T>(vt, ldvt, isub), 1, rowOf<T>(vt, ldvt, last), 1);
        if (ncut > 0) swapF32(ncut, rowOf<T>(ut, ldut, isub), 1, rowOf<T>(ut, ldut, last), 1);
      }
    }
  }
  return info;
}

/** The QR iteration proper of bdsqr (n >= 2); leaves signed, unsorted values in d. Returns info. */
function qrIterate<T>(n: i32, d: usize, e: usize, vt: usize, ldvt: i32, ncvt: i32, ut: usize, ldut: i32, ncut: i32): i32 {
  const size = <usize>sizeof<T>();
  const eps = epsOf<T>();
  const unfl = safminOf<T>();
  // Relative tolerance for the convergence tests; eps^(-1/8) ~ 99 in f64, 8 in f32.
  const tolmul = max<T>(<T>10, min<T>(<T>100, <T>Math.pow(<f64>eps, -0.125)));
  const tol = tolmul * eps;
  // Rotation cosines/sines of the current sweep: right (cr, sr) and left (cl, sl) rotations.
  const cr = heap.alloc(<usize>n * size), sr = heap.alloc(<usize>n * size);
  const cl = heap.alloc(<usize>n * size), sl = heap.alloc(<usize>n * size);

  let smax: T = <T>0;
  for (let i = 0; i < n; i++) smax = max<T>(smax, abs<T>(getAt<T>(d, i)));
  for (let i = 0; i < n - 1; i++) smax = max<T>(smax, abs<T>(getAt<T>(e, i)));
  // Lower bound on the smallest singular value (Demmel-Kahan recurrence) sets the absolute threshold
  // below which an off-diagonal is set to zero without harming relative accuracy.
  let sminoa = abs<T>(getAt<T>(d, 0));
  if (sminoa != 0) {
    let mu = sminoa;
    for (let i = 1; i < n; i++) {
      mu = abs<T>(getAt<T>(d, i)) * (mu / (mu + abs<T>(getAt<T>(e, i - 1))));
      sminoa = min<T>(sminoa, mu);
      if (sminoa == 0) break;
    }
  }
  sminoa = sminoa / sqrt<T>(<T>n);
  const thresh = max<T>(tol * sminoa, <T>MAXITR * (<T>n * (<T>n * unfl)));

  const maxItDivN = MAXITR * n;
  let iterDivN = 0;
  let iter = -1;
  let oldll = -1, oldm = -1;
  let idir = 0;
  let m = n - 1; // last index of the unconverged part
  let info = 0;

  while (m > 0) {
    if (iter >= n) {
      iter -= n;
      iterDivN++;
      if (iterDivN >= maxItDivN) {
        for (let i = 0; i < n - 1; i++) if (getAt<T>(e, i) != 0) info++;
        break;
      }
    }
    // Find the unreduced block ll..m: e[ll..m-1] nonzero, e[ll-1] negligible.
    smax = abs<T>(getAt<T>(d, m));
    let ll = 0;
    let bottomConverged = false;
    for (let k = m - 1; k >= 0; k--) {
      const abss = abs<T>(getAt<T>(d, k)), abse = abs<T>(getAt<T>(e, k));
      if (abse <= thresh || abse == 0) {
        setAt<T>(e, k, <T>0);
        bottomConverged = k == m - 1;
        ll = k + 1;
        break;
      }
      smax = max<T>(smax, max<T>(abss, abse));
    }
    if (bottomConverged) {
      m--;
      continue;
    }
    if (ll == m - 1) {
      // 2 x 2 block: solve it directly.
      lasv2<T>(getAt<T>(d, m - 1), getAt<T>(e, m - 1), getAt<T>(d, m));
      setAt<T>(d, m - 1, <T>SV_MAX);
      setAt<T>(e, m - 1, <T>0);
      setAt<T>(d, m, <T>SV_MIN);
      if (ncvt > 0) rotUnit<T>(ncvt, rowOf<T>(vt, ldvt, m - 1), rowOf<T>(vt, ldvt, m), <T>SV_COSR, <T>SV_SINR);
      if (ncut > 0) rotUnit<T>(ncut, rowOf<T>(ut, ldut, m - 1), rowOf<T>(ut, ldut, m), <T>SV_COSL, <T>SV_SINL);
      m -= 2;
      continue;
    }
    // On a new block, chase the bulge from the larger end towards the smaller.
    if (ll > oldm || m < oldll) {
      idir = abs<T>(getAt<T>(d, ll)) >= abs<T>(getAt<T>(d, m)) ? 1 : 2;
    }
    // Convergence tests (relative): first the standard test at the far end, then the Demmel-Kahan
    // recurrence along the block, which also yields smin, an estimate of the smallest singular value.
    let smin: T = <T>0;
    let split = false;
    if (idir == 1) {
      if (abs<T>(getAt<T>(e, m - 1)) <= tol * abs<T>(getAt<T>(d, m))) {
        setAt<T>(e, m - 1, <T>0);
        continue;
      }
      let mu = abs<T>(getAt<T>(d, ll));
      smin = mu;
      for (let k = ll; k < m; k++) {
        if (abs<T>(getAt<T>(e, k)) <= tol * mu) {
          setAt<T>(e, k, <T>0);
          split = true;
          break;
        }
        mu = abs<T>(getAt<T>(d, k + 1)) * (mu / (mu + abs<T>(getAt<T>(e, k))));
        smin = min<T>(smin, mu);
      }
    } else {
      if (abs<T>(getAt<T>(e, ll)) <= tol * abs<T>(getAt<T>(d, ll))) {
        setAt<T>(e, ll, <T>0);
        continue;
      }
      let mu = abs<T>(getAt<T>(d, m));
      smin = mu;
      for (let k = m - 1; k >= ll; k--) {
        if (abs<T>(getAt<T>(e, k)) <= tol * mu) {
          setAt<T>(e, k, <T>0);
          split = true;
          break;
        }
        mu = abs<T>(getAt<T>(d, k)) * (mu / (mu + abs<T>(getAt<T>(e, k))));
        smin = min<T>(smin, mu);
      }
    }
    if (split) continue;
    oldll = ll;
    oldm = m;
    // Shift: zero when a shifted step could spoil the relative accuracy of the smallest value
    // (Demmel-Kahan), otherwise the smaller singular value of the 2 x 2 at the far end.
    let shift: T = <T>0;
    if (<T>n * tol * (smin / smax) > max<T>(eps, <T>0.01 * tol)) {
      let sll: T;
      if (idir == 1) {
        sll = abs<T>(getAt<T>(d, ll));
        las2<T>(getAt<T>(d, m - 1), getAt<T>(e, m - 1), getAt<T>(d, m));
      } else {
        sll = abs<T>(getAt<T>(d, m));
        las2<T>(getAt<T>(d, ll), getAt<T>(e, ll), getAt<T>(d, ll + 1));
      }
      shift = <T>SV_MIN;
      if (sll > 0 && (shift / sll) * (shift / sll) < eps) shift = <T>0;
    }
    iter += m - ll;
    const count = m - ll; // rotations per side in this sweep
    if (shift == 0) {
      // Demmel-Kahan zero-shift QR sweep: every entry keeps high relative accuracy.
      if (idir == 1) {
        let cs: T = <T>1, oldcs: T = <T>1, sn: T = <T>0, oldsn: T = <T>0;
        for (let i = ll; i < m; i++) {
          lartg<T>(getAt<T>(d, i) * cs, getAt<T>(e, i));
          cs = <T>ROT_C;
          sn = <T>ROT_S;
          const r = <T>ROT_R;
          if (i > ll) setAt<T>(e, i - 1, oldsn * r);
          lartg<T>(oldcs * r, getAt<T>(d, i + 1) * sn);
          oldcs = <T>ROT_C;
          oldsn = <T>ROT_S;
          setAt<T>(d, i, <T>ROT_R);
          setAt<T>(cr, i - ll, cs);
          setAt<T>(sr, i - ll, sn);
          setAt<T>(cl, i - ll, oldcs);
          setAt<T>(sl, i - ll, oldsn);
        }
        const h = getAt<T>(d, m) * cs;
        setAt<T>(d, m, h * oldcs);
        setAt<T>(e, m - 1, h * oldsn);
        applySweep<T>(true, count, cr, sr, vt, ldvt, ll, ncvt);
        applySweep<T>(true, count, cl, sl, ut, ldut, ll, ncut);
        if (abs<T>(getAt<T>(e, m - 1)) <= thresh) setAt<T>(e, m - 1, <T>0);
      } else {
        let cs: T = <T>1, oldcs: T = <T>1, sn: T = <T>0, oldsn: T = <T>0;
        for (let i = m; i > ll; i--) {
          lartg<T>(getAt<T>(d, i) * cs, getAt<T>(e, i - 1));
          cs = <T>ROT_C;
          sn = <T>ROT_S;
          const r = <T>ROT_R;
          if (i < m) setAt<T>(e, i, oldsn * r);
          lartg<T>(oldcs * r, getAt<T>(d, i - 1) * sn);
          oldcs = <T>ROT_C;
          oldsn = <T>ROT_S;
          setAt<T>(d, i, <T>ROT_R);
          setAt<T>(cr, i - ll - 1, cs);
          setAt<T>(sr, i - ll - 1, -sn);
          setAt<T>(cl, i - ll - 1, oldcs);
          setAt<T>(sl, i - ll - 1, -oldsn);
        }
        const h = getAt<T>(d, ll) * cs;
        setAt<T>(d, ll, h * oldcs);
        setAt<T>(e, ll, h * oldsn);
        applySweep<T>(false, count, cl, sl, vt, ldvt, ll, ncvt);
        applySweep<T>(false, count, cr, sr, ut, ldut, ll, ncut);
        if (abs<T>(getAt<T>(e, ll)) <= thresh) setAt<T>(e, ll, <T>0);
      }
    } else {
      // Implicitly shifted QR sweep (Golub-Kahan), chasing the bulge in direction idir.
      if (idir == 1) {
        const dll = getAt<T>(d, ll);
        let f = (abs<T>(dll) - shift) * (copysign<T>(<T>1, dll) + shift / dll);
        let g = getAt<T>(e, ll);
        for (let i = ll; i < m; i++) {
          lartg<T>(f, g);
          const cosr = <T>ROT_C, sinr = <T>ROT_S;
          if (i > ll) setAt<T>(e, i - 1, <T>ROT_R);
          const di = getAt<T>(d, i), ei = getAt<T>(e, i), dn = getAt<T>(d, i + 1);
          f = cosr * di + sinr * ei;
          let enew = cosr * ei - sinr * di;
          g = sinr * dn;
          let dnew = cosr * dn;
          lartg<T>(f, g);
          const cosl = <T>ROT_C, sinl = <T>ROT_S;
          setAt<T>(d, i, <T>ROT_R);
          f = cosl * enew + sinl * dnew;
          dnew = cosl * dnew - sinl * enew;
          setAt<T>(d, i + 1, dnew);
          setAt<T>(e, i, enew);
          if (i < m - 1) {
            const en = getAt<T>(e, i + 1);
            g = sinl * en;
            setAt<T>(e, i + 1, cosl * en);
          }
          setAt<T>(cr, i - ll, cosr);
          setAt<T>(sr, i - ll, sinr);
          setAt<T>(cl, i - ll, cosl);
          setAt<T>(sl, i - ll, sinl);
        }
        setAt<T>(e, m - 1, f);
        applySweep<T>(true, count, cr, sr, vt, ldvt, ll, ncvt);
        applySweep<T>(true, count, cl, sl, ut, ldut, ll, ncut);
        if (abs<T>(getAt<T>(e, m - 1)) <= thresh) setAt<T>(e, m - 1, <T>0);
      } else {
        const dm = getAt<T>(d, m);
        let f = (abs<T>(dm) - shift) * (copysign<T>(<T>1, dm) + shift / dm);
        let g = getAt<T>(e, m - 1);
        for (let i = m; i > ll; i--) {
          lartg<T>(f, g);
          const cosr = <T>ROT_C, sinr = <T>ROT_S;
          if (i < m) setAt<T>(e, i, <T>ROT_R);
          const di = getAt<T>(d, i), ep = getAt<T>(e, i - 1), dp = getAt<T>(d, i - 1);
          f = cosr * di + sinr * ep;
          let enew = cosr * ep - sinr * di;
          g = sinr * dp;
          let dnew = cosr * dp;
          lartg<T>(f, g);
          const cosl = <T>ROT_C, sinl = <T>ROT_S;
          setAt<T>(d, i, <T>ROT_R);
          f = cosl * enew + sinl * dnew;
          dnew = cosl * dnew - sinl * enew;
          setAt<T>(d, i - 1, dnew);
          setAt<T>(e, i - 1, enew);
          if (i > ll + 1) {
            const eb = getAt<T>(e, i - 2);
            g = sinl * eb;
            setAt<T>(e, i - 2, cosl * eb);
          }
          setAt<T>(cr, i - ll - 1, cosr);
          setAt<T>(sr, i - ll - 1, -sinr);
          setAt<T>(cl, i - ll - 1, cosl);
          setAt<T>(sl, i - ll - 1, -sinl);
        }
        setAt<T>(e, ll, f);
        if (abs<T>(getAt<T>(e, ll)) <= thresh) setAt<T>(e, ll, <T>0);
        applySweep<T>(false, count, cl, sl, vt, ldvt, ll, ncvt);
        applySweep<T>(false, count, cr, sr, ut, ldut, ll, ncut);
      }
    }
  }
  heap.free(cr);
  heap.free(sr);
  heap.free(cl);
  heap.free(sl);
  return info;
}

/**
 * Bidiagonal SVD, f64 (see bdsqr): d[n], e[n-1] in; singular values descending in d. vt (n x ncvt) and
 * ut (n x ncut) accumulate P^T*vt and Q^T*ut when ncvt/ncut > 0 (pass 0 and any pointer otherwise).
 * Returns 0, or the number of unconverged superdiagonals.
 */
export function bdsqrF64(n: i32, d: usize, e: usize, vt: usize, ldvt: i32, ncvt: i32, ut: usize, ldut: i32, ncut: i32): i32 {
  return bdsqr<f64>(n, d, e, vt, ldvt, ncvt, ut, ldut, ncut);
}
/** Bidiagonal SVD, f32. */
export function bdsqrF32(n: i32, d: usize, e: usize, vt: usize, ldvt: i32, ncvt: i32, ut: usize, ldut: i32, ncut: i32): i32 {
  return bdsqr<f32>(n, d, e, vt, ldvt, ncvt, ut, ldut, ncut);
}
