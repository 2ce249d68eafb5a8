import { allocate, release } from "../memory";
import {
  unitForwardF64, unitForwardF32, unitOperatorCreateF64, unitOperatorCreateF32, unitOperatorDestroy,
  unitOperatorApplyF64, unitOperatorApplyF32, unitOperatorApplyTransposeF64, unitOperatorApplyTransposeF32,
  unitOperatorRows, unitOperatorColumns, unitOperatorActiveRows,
  unitJacobianVectorProductF64, unitJacobianVectorProductF32, unitJacobianTransposeProductF64,
  unitJacobianTransposeProductF32, unitJacobianDenseF64, unitJacobianDenseF32, unitJacobianRowBlockF64,
  unitJacobianRowBlockF32,
  unitJacobianRowsF64, unitJacobianRowsF32,
  channelScaleShiftF64, channelScaleShiftF32, applyMaskF64, applyMaskF32,
  shortcutForwardF64, shortcutForwardF32, shortcutTransposeF64, shortcutTransposeF32,
} from "../unit";
import { seedRandom, rand } from "./support/random";

seedRandom(777);

function randomBlock<T>(count: i32): usize {
  const p = allocate(<usize>max(count, 1) * sizeof<T>());
  for (let i = 0; i < count; i++) store<T>(p + <usize>i * sizeof<T>(), <T>rand());
  return p;
}
function zeros<T>(count: i32): usize {
  const p = allocate(<usize>max(count, 1) * sizeof<T>());
  memory.fill(p, 0, <usize>count * sizeof<T>());
  return p;
}
@inline function at<T>(p: usize, i: i32): f64 {
  return <f64>load<T>(p + <usize>i * sizeof<T>());
}
@inline function put(p: usize, i: i32, v: f64): void {
  store<f64>(p + (<usize>i << 3), v);
}
@inline function get(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}
/** An f64 copy of count values of type T. */
function widen<T>(p: usize, count: i32): usize {
  const q = allocate(<usize>max(count, 1) << 3);
  for (let i = 0; i < count; i++) put(q, i, at<T>(p, i));
  return q;
}

// ---------------------------------------------------------------------------------------------------
// Naive reference pieces, written plainly from the definitions, in f64.

function outSize(n: i32, s: i32): i32 {
  return (n - 1) / s + 1;
}

/** y (k x C_out*Ho*Wo) = W * x, the 7-loop definition (padding 1). */
function naiveConv(x: usize, k: i32, cIn: i32, h: i32, w: i32, wt: usize, cOut: i32, s: i32): usize {
  const ho = outSize(h, s), wo = outSize(w, s);
  const nIn = cIn * h * w, nOut = cOut * ho * wo;
  const y = allocate(<usize>(k * nOut) << 3);
  for (let b = 0; b < k; b++) {
    for (let o = 0; o < cOut; o++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          let sum = 0.0;
          for (let i = 0; i < cIn; i++) {
            for (let dy = 0; dy < 3; dy++) {
              for (let dx = 0; dx < 3; dx++) {
                const iy = s * oy + dy - 1, ix = s * ox + dx - 1;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                sum += get(wt, ((o * cIn + i) * 3 + dy) * 3 + dx) * get(x, b * nIn + (i * h + iy) * w + ix);
              }
            }
          }
          put(y, b * nOut + (o * ho + oy) * wo + ox, sum);
        }
      }
    }
  }
  return y;
}

/** x (k x C_in*H*W) = W^T g, scattering every product of the definition back. */
function naiveConvT(g: usize, k: i32, cIn: i32, h: i32, w: i32, wt: usize, cOut: i32, s: i32): usize {
  const ho = outSize(h, s), wo = outSize(w, s);
  const nIn = cIn * h * w, nOut = cOut * ho * wo;
  const x = allocate(<usize>(k * nIn) << 3);
  memory.fill(x, 0, <usize>(k * nIn) << 3);
  for (let b = 0; b < k; b++) {
    for (let o = 0; o < cOut; o++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          const gv = get(g, b * nOut + (o * ho + oy) * wo + ox);
          for (let i = 0; i < cIn; i++) {
            for (let dy = 0; dy < 3; dy++) {
              for (let dx = 0; dx < 3; dx++) {
                const iy = s * oy + dy - 1, ix = s * ox + dx - 1;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const j = b * nIn + (i * h + iy) * w + ix;
                put(x, j, get(x, j) + get(wt, ((o * cIn + i) * 3 + dy) * 3 + dx) * gv);
              }
            }
          }
        }
      }
    }
  }
  return x;
}

/** Option-A shortcut S (identity for stride 1, equal channels) and its transpose, in place of a matrix. */
function naiveShortcut(x: usize, k: i32, cIn: i32, h: i32, w: i32, cOut: i32, s: i32): usize {
  const ho = outSize(h, s), wo = outSize(w, s), pad = (cOut - cIn) / 2;
  const nIn = cIn * h * w, nOut = cOut * ho * wo;
  const y = allocate(<usize>(k * nOut) << 3);
  for (let b = 0; b < k; b++) {
    for (let c = 0; c < cOut; c++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          const ci = c - pad;
          const v = ci >= 0 && ci < cIn ? get(x, b * nIn + (ci * h + s * oy) * w + s * ox) : 0.0;
          put(y, b * nOut + (c * ho + oy) * wo + ox, v);
        }
      }
    }
  }
  return y;
}
function naiveShortcutT(g: usize, k: i32, cIn: i32, h: i32, w: i32, cOut: i32, s: i32): usize {
  const ho = outSize(h, s), wo = outSize(w, s), pad = (cOut - cIn) / 2;
  const nIn = cIn * h * w, nOut = cOut * ho * wo;
  const x = allocate(<usize>(k * nIn) << 3);
  memory.fill(x, 0, <usize>(k * nIn) << 3);
  for (let b = 0; b < k; b++) {
    for (let c = 0; c < cOut; c++) {
      const ci = c - pad;
      if (ci < 0 || ci >= cIn) continue;
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          put(x, b * nIn + (ci * h + s * oy) * w + s * ox, get(g, b * nOut + (c * ho + oy) * wo + ox));
        }
      }
    }
  }
  return x;
}

/** x[b, c, :] *= scale[c] (scale: f64 per channel) in place. */
function naiveScale(x: usize, k: i32, channels: i32, plane: i32, scale: usize): void {
  for (let b = 0; b < k; b++) {
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < plane; i++) {
        const j = (b * channels + c) * plane + i;
        put(x, j, get(x, j) * get(scale, c));
      }
    }
  }
}
/** x[b, i] = mask[i] ? x[b, i] : 0 in place. */
function naiveMask(x: usize, k: i32, n: i32, mask: usize): void {
  for (let b = 0; b < k; b++) {
    for (let i = 0; i < n; i++) if (load<u8>(mask + <usize>i) == 0) put(x, b * n + i, 0.0);
  }
}

// ---------------------------------------------------------------------------------------------------
// A random residual unit, evaluated by unitForward at a random point.

const CIN: i32[] = [3, 2, 4, 4];
const COUT: i32[] = [3, 4, 4, 8];
const HH: i32[] = [6, 7, 8, 8];
const WW: i32[] = [5, 6, 7, 8];
const STRIDE: i32[] = [1, 2, 1, 2];
const ALPHA: f64[] = [1.0, 0.7, 1.3, 1.0];
const CONFIGS: i32 = 4;

class Unit {
  cIn: i32 = 0; cOut: i32 = 0; h: i32 = 0; w: i32 = 0; s: i32 = 0; ho: i32 = 0; wo: i32 = 0;
  nIn: i32 = 0; nOut: i32 = 0; alpha: f64 = 0;
  // Parameters and the point (type T), and what unitForward recorded there.
  w1: usize = 0; s1: usize = 0; c1: usize = 0; w2: usize = 0; s2: usize = 0; c2: usize = 0; x: usize = 0;
  a1: usize = 0; maskMid: usize = 0; pre: usize = 0; maskOut: usize = 0; out: usize = 0;
  handle: usize = 0;
}

function forwardT<T>(u: Unit, x: usize, a1: usize, maskMid: usize, pre: usize, maskOut: usize, out: usize): void {
  if (sizeof<T>() == 8) {
    unitForwardF64(x, 1, u.cIn, u.h, u.w, u.w1, u.s1, u.c1, u.w2, u.s2, u.c2, u.cOut, u.s, u.alpha, a1, maskMid, pre, maskOut, out);
  } else {
    unitForwardF32(x, 1, u.cIn, u.h, u.w, u.w1, u.s1, u.c1, u.w2, u.s2, u.c2, u.cOut, u.s, u.alpha, a1, maskMid, pre, maskOut, out);
  }
}

function makeUnit<T>(cfg: i32): Unit {
  const u = new Unit();
  u.cIn = CIN[cfg]; u.cOut = COUT[cfg]; u.h = HH[cfg]; u.w = WW[cfg]; u.s = STRIDE[cfg]; u.alpha = ALPHA[cfg];
  u.ho = outSize(u.h, u.s); u.wo = outSize(u.w, u.s);
  u.nIn = u.cIn * u.h * u.w; u.nOut = u.cOut * u.ho * u.wo;
  u.w1 = randomBlock<T>(u.cOut * u.cIn * 9);
  u.w2 = randomBlock<T>(u.cOut * u.cOut * 9);
  u.s1 = randomBlock<T>(u.cOut); u.c1 = randomBlock<T>(u.cOut);
  u.s2 = randomBlock<T>(u.cOut); u.c2 = randomBlock<T>(u.cOut);
  u.x = randomBlock<T>(u.nIn);
  u.a1 = zeros<T>(u.nOut); u.pre = zeros<T>(u.nOut); u.out = zeros<T>(u.nOut);
  u.maskMid = allocate(<usize>u.nOut); u.maskOut = allocate(<usize>u.nOut);
  forwardT<T>(u, u.x, u.a1, u.maskMid, u.pre, u.maskOut, u.out);
  u.handle = sizeof<T>() == 8
    ? unitOperatorCreateF64(u.cIn, u.h, u.w, u.cOut, u.s, u.alpha, u.w1, u.s1, u.w2, u.s2, u.maskMid, u.maskOut)
    : unitOperatorCreateF32(u.cIn, u.h, u.w, u.cOut, u.s, u.alpha, u.w1, u.s1, u.w2, u.s2, u.maskMid, u.maskOut);
  return u;
}

function freeUnit(u: Unit): void {
  unitOperatorDestroy(u.handle);
  release(u.w1); release(u.w2); release(u.s1); release(u.c1); release(u.s2); release(u.c2); release(u.x);
  release(u.a1); release(u.pre); release(u.out); release(u.maskMid); release(u.maskOut);
}

/** Naive J V (f64): D_out (alpha S V + B2 W2 D_mid B1 W1 V), for a block of k vectors. */
function naiveJV<T>(u: Unit, v: usize, k: i32): usize {
  const v64 = widen<T>(v, k * u.nIn), w1 = widen<T>(u.w1, u.cOut * u.cIn * 9), w2 = widen<T>(u.w2, u.cOut * u.cOut * 9);
  const s1 = widen<T>(u.s1, u.cOut), s2 = widen<T>(u.s2, u.cOut);
  const t1 = naiveConv(v64, k, u.cIn, u.h, u.w, w1, u.cOut, u.s);
  naiveScale(t1, k, u.cOut, u.ho * u.wo, s1);
  naiveMask(t1, k, u.nOut, u.maskMid);
  const t2 = naiveConv(t1, k, u.cOut, u.ho, u.wo, w2, u.cOut, 1);
  naiveScale(t2, k, u.cOut, u.ho * u.wo, s2);
  const sc = naiveShortcut(v64, k, u.cIn, u.h, u.w, u.cOut, u.s);
  for (let j = 0; j < k * u.nOut; j++) put(t2, j, get(t2, j) + u.alpha * get(sc, j));
  naiveMask(t2, k, u.nOut, u.maskOut);
  release(v64); release(w1); release(w2); release(s1); release(s2); release(t1); release(sc);
  return t2;
}

/** Naive J^T U (f64): (alpha S^T + W1^T B1 D_mid W2^T B2) D_out U. */
function naiveJTU<T>(u: Unit, g: usize, k: i32): usize {
  const g64 = widen<T>(g, k * u.nOut), w1 = widen<T>(u.w1, u.cOut * u.cIn * 9), w2 = widen<T>(u.w2, u.cOut * u.cOut * 9);
  const s1 = widen<T>(u.s1, u.cOut), s2 = widen<T>(u.s2, u.cOut);
  naiveMask(g64, k, u.nOut, u.maskOut);
  const sc = naiveShortcutT(g64, k, u.cIn, u.h, u.w, u.cOut, u.s);
  naiveScale(g64, k, u.cOut, u.ho * u.wo, s2);
  const t1 = naiveConvT(g64, k, u.cOut, u.ho, u.wo, w2, u.cOut, 1);
  naiveMask(t1, k, u.nOut, u.maskMid);
  naiveScale(t1, k, u.cOut, u.ho * u.wo, s1);
  const t2 = naiveConvT(t1, k, u.cIn, u.h, u.w, w1, u.cOut, u.s);
  for (let j = 0; j < k * u.nIn; j++) put(t2, j, get(t2, j) + u.alpha * get(sc, j));
  release(g64); release(w1); release(w2); release(s1); release(s2); release(t1); release(sc);
  return t2;
}

/** max |a - b| / max |b| over count values (a of type T, b f64). */
function relError<T>(a: usize, b: usize, count: i32): f64 {
  let err = 0.0, scale = 0.0;
  for (let i = 0; i < count; i++) {
    err = max(err, abs(at<T>(a, i) - get(b, i)));
    scale = max(scale, abs(get(b, i)));
  }
  return err / max(scale, 1e-300);
}

function applyJ<T>(u: Unit, v: usize, k: i32, out: usize): void {
  if (sizeof<T>() == 8) unitOperatorApplyF64(u.handle, v, k, out);
  else unitOperatorApplyF32(u.handle, v, k, out);
}
function applyJT<T>(u: Unit, g: usize, k: i32, out: usize): void {
  if (sizeof<T>() == 8) unitOperatorApplyTransposeF64(u.handle, g, k, out);
  else unitOperatorApplyTransposeF32(u.handle, g, k, out);
}

// ---------------------------------------------------------------------------------------------------
// Checks (each returns a worst error over the configurations)

/** unitForward against the naive composition: a1, pre-output, output and both masks. */
function forwardError<T>(): f64 {
  let worst = 0.0;
  for (let cfg = 0; cfg < CONFIGS; cfg++) {
    const u = makeUnit<T>(cfg);
    const x = widen<T>(u.x, u.nIn), w1 = widen<T>(u.w1, u.cOut * u.cIn * 9), w2 = widen<T>(u.w2, u.cOut * u.cOut * 9);
    const plane = u.ho * u.wo;
    const a1 = naiveConv(x, 1, u.cIn, u.h, u.w, w1, u.cOut, u.s);
    for (let j = 0; j < u.nOut; j++) put(a1, j, at<T>(u.s1, j / plane) * get(a1, j) + at<T>(u.c1, j / plane));
    const z = allocate(<usize>u.nOut << 3);
    for (let j = 0; j < u.nOut; j++) put(z, j, max(get(a1, j), 0.0));
    const a2 = naiveConv(z, 1, u.cOut, u.ho, u.wo, w2, u.cOut, 1);
    const sc = naiveShortcut(x, 1, u.cIn, u.h, u.w, u.cOut, u.s);
    const pre = allocate(<usize>u.nOut << 3), out = allocate(<usize>u.nOut << 3);
    for (let j = 0; j < u.nOut; j++) {
      put(pre, j, u.alpha * get(sc, j) + at<T>(u.s2, j / plane) * get(a2, j) + at<T>(u.c2, j / plane));
      put(out, j, max(get(pre, j), 0.0));
    }
    worst = max(worst, relError<T>(u.a1, a1, u.nOut));
    worst = max(worst, relError<T>(u.pre, pre, u.nOut));
    worst = max(worst, relError<T>(u.out, out, u.nOut));
    // Masks must agree wherever the value is not within rounding of zero.
    const tol = sizeof<T>() == 8 ? 1e-12 : 1e-4;
    for (let j = 0; j < u.nOut; j++) {
      if (abs(get(a1, j)) > tol && (load<u8>(u.maskMid + <usize>j) != 0) != (get(a1, j) > 0)) worst = 1.0;
      if (abs(get(pre, j)) > tol && (load<u8>(u.maskOut + <usize>j) != 0) != (get(pre, j) > 0)) worst = 1.0;
    }
    release(x); release(w1); release(w2); release(a1); release(z); release(a2); release(sc); release(pre); release(out);
    freeUnit(u);
  }
  return worst;
}

/** J V (handle and one-call API) against the naive composition, for block sizes covering every panel split. */
function jvError<T>(k: i32): f64 {
  let worst = 0.0;
  for (let cfg = 0; cfg < CONFIGS; cfg++) {
    const u = makeUnit<T>(cfg);
    const v = randomBlock<T>(k * u.nIn), got = zeros<T>(k * u.nOut), got2 = zeros<T>(k * u.nOut);
    applyJ<T>(u, v, k, got);
    if (sizeof<T>() == 8) {
      unitJacobianVectorProductF64(v, k, u.cIn, u.h, u.w, u.cOut, u.s, u.alpha, u.w1, u.s1, u.w2, u.s2, u.maskMid, u.maskOut, got2);
    } else {
      unitJacobianVectorProductF32(v, k, u.cIn, u.h, u.w, u.cOut, u.s, u.alpha, u.w1, u.s1, u.w2, u.s2, u.maskMid, u.maskOut, got2);
    }
    const want = naiveJV<T>(u, v, k);
    worst = max(worst, relError<T>(got, want, k * u.nOut));
    worst = max(worst, relError<T>(got2, want, k * u.nOut));
    // Rows with D_out = 0 are exact zeros.
    for (let b = 0; b < k; b++) {
      for (let j = 0; j < u.nOut; j++) {
        if (load<u8>(u.maskOut + <usize>j) == 0 && at<T>(got, b * u.nOut + j) != 0) worst = 1.0;
      }
    }
    release(v); release(got); release(got2); release(want);
    freeUnit(u);
  }
  return worst;
}

/** J^T U (handle and one-call API) against the naive composition. */
function jtuError<T>(k: i32): f64 {
  let worst = 0.0;
  for (let cfg = 0; cfg < CONFIGS; cfg++) {
    const u = makeUnit<T>(cfg);
    const g = randomBlock<T>(k * u.nOut), got = zeros<T>(k * u.nIn), got2 = zeros<T>(k * u.nIn);
    applyJT<T>(u, g, k, got);
    if (sizeof<T>() == 8) {
      unitJacobianTransposeProductF64(g, k, u.cIn, u.h, u.w, u.cOut, u.s, u.alpha, u.w1, u.s1, u.w2, u.s2, u.maskMid, u.maskOut, got2);
    } else {
      unitJacobianTransposeProductF32(g, k, u.cIn, u.h, u.w, u.cOut, u.s, u.alpha, u.w1, u.s1, u.w2, u.s2, u.maskMid, u.maskOut, got2);
    }
    const want = naiveJTU<T>(u, g, k);
    worst = max(worst, relError<T>(got, want, k * u.nIn));
    worst = max(worst, relError<T>(got2, want, k * u.nIn));
    release(g); release(got); release(got2); release(want);
    freeUnit(u);
  }
  return worst;
}

/** |<J V, U> - <V, J^T U>| / (|J V| |U|) over blocks of k vectors. */
function adjointError<T>(k: i32): f64 {
  let worst = 0.0;
  for (let cfg = 0; cfg < CONFIGS; cfg++) {
    const u = makeUnit<T>(cfg);
    const v = randomBlock<T>(k * u.nIn), g = randomBlock<T>(k * u.nOut);
    const jv = zeros<T>(k * u.nOut), jtg = zeros<T>(k * u.nIn);
    applyJ<T>(u, v, k, jv);
    applyJT<T>(u, g, k, jtg);
    let lhs = 0.0, rhs = 0.0, n1 = 0.0, n2 = 0.0;
    for (let j = 0; j < k * u.nOut; j++) {
      lhs += at<T>(jv, j) * at<T>(g, j);
      n1 += at<T>(jv, j) * at<T>(jv, j);
      n2 += at<T>(g, j) * at<T>(g, j);
    }
    for (let j = 0; j < k * u.nIn; j++) rhs += at<T>(v, j) * at<T>(jtg, j);
    worst = max(worst, abs(lhs - rhs) / sqrt(n1 * n2));
    release(v); release(g); release(jv); release(jtg);
    freeUnit(u);
  }
  return worst;
}

/**
 * J v against the finite difference (unit(h + t v) - unit(h)) / t, f64. t is halved until no mask
 * flips between h and h + t v, so both points lie on one linear region, where the unit is affine
 * and the difference quotient is exact up to rounding (~eps |h'| / t).
 */
function finiteDifferenceError(): f64 {
  let worst = 0.0;
  for (let cfg = 0; cfg < CONFIGS; cfg++) {
    const u = makeUnit<f64>(cfg);
    const v = randomBlock<f64>(u.nIn), jv = zeros<f64>(u.nOut);
    unitOperatorApplyF64(u.handle, v, 1, jv);
    const x2 = zeros<f64>(u.nIn), a1 = zeros<f64>(u.nOut), pre = zeros<f64>(u.nOut), out = zeros<f64>(u.nOut);
    const mm = allocate(<usize>u.nOut), mo = allocate(<usize>u.nOut);
    let t = 1e-5;
    let flipped = true;
    for (let attempt = 0; attempt < 20 && flipped; attempt++) {
      for (let j = 0; j < u.nIn; j++) put(x2, j, get(u.x, j) + t * get(v, j));
      forwardT<f64>(u, x2, a1, mm, pre, mo, out);
      flipped = memory.compare(mm, u.maskMid, <usize>u.nOut) != 0 || memory.compare(mo, u.maskOut, <usize>u.nOut) != 0;
      if (flipped) t *= 0.5;
    }
    if (flipped) worst = 1.0;
    let err = 0.0, scale = 0.0;
    for (let j = 0; j < u.nOut; j++) {
      const fd = (get(out, j) - get(u.out, j)) / t;
      err = max(err, abs(fd - get(jv, j)));
      scale = max(scale, abs(get(jv, j)));
    }
    worst = max(worst, err / scale);
    release(v); release(jv); release(x2); release(a1); release(pre); release(out); release(mm); release(mo);
    freeUnit(u);
  }
  return worst;
}

/**
 * The dense Jacobian against products: column j of J equals J e_j and row i equals J^T e_i (both
 * evaluated for the whole identity block at once); rows with D_out = 0 are zero; the active-row
 * list, the row-block and row-list variants agree with the full matrix.
 */
function denseError<T>(): f64 {
  let worst = 0.0;
  for (let cfg = 0; cfg < CONFIGS; cfg++) {
    const u = makeUnit<T>(cfg);
    const m = unitOperatorRows(u.handle), n = unitOperatorColumns(u.handle);
    if (m != u.nOut || n != u.nIn) worst = 1.0;
    const dense = zeros<T>(m * n);
    if (sizeof<T>() == 8) unitJacobianDenseF64(u.handle, dense);
    else unitJacobianDenseF32(u.handle, dense);
    // Columns: U = J [e_1 .. e_n] holds column j of J as its vector j.
    const eye = zeros<T>(n * n);
    for (let j = 0; j < n; j++) store<T>(eye + <usize>(j * n + j) * sizeof<T>(), <T>1);
    const cols = zeros<T>(n * m);
    applyJ<T>(u, eye, n, cols);
    let err = 0.0, scale = 0.0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        err = max(err, abs(at<T>(dense, i * n + j) - at<T>(cols, j * m + i)));
        scale = max(scale, abs(at<T>(cols, j * m + i)));
      }
    }
    // Rows: V = J^T [e_1 .. e_m] holds row i of J as its vector i.
    const eyeM = zeros<T>(m * m);
    for (let i = 0; i < m; i++) store<T>(eyeM + <usize>(i * m + i) * sizeof<T>(), <T>1);
    const rows = zeros<T>(m * n);
    applyJT<T>(u, eyeM, m, rows);
    for (let i = 0; i < m * n; i++) err = max(err, abs(at<T>(dense, i) - at<T>(rows, i)));
    worst = max(worst, err / scale);
    // Structurally zero rows and the active-row list.
    const list = allocate(<usize>m << 2);
    const count = unitOperatorActiveRows(u.handle, list);
    let expected = 0;
    for (let i = 0; i < m; i++) {
      const active = load<u8>(u.maskOut + <usize>i) != 0;
      if (active) {
        if (load<i32>(list + (<usize>expected << 2)) != i) worst = 1.0;
        expected++;
      } else {
        for (let j = 0; j < n; j++) if (at<T>(dense, i * n + j) != 0) worst = 1.0;
      }
    }
    if (count != expected || unitOperatorActiveRows(u.handle, 0) != expected) worst = 1.0;
    // Selected rows (the active ones) and a row block reproduce the full matrix bit for bit.
    const selected = zeros<T>(max(count, 1) * n);
    if (sizeof<T>() == 8) unitJacobianRowsF64(u.handle, list, count, selected);
    else unitJacobianRowsF32(u.handle, list, count, selected);
    for (let r = 0; r < count; r++) {
      const i = load<i32>(list + (<usize>r << 2));
      for (let j = 0; j < n; j++) if (at<T>(selected, r * n + j) != at<T>(dense, i * n + j)) worst = 1.0;
    }
    const first = m / 3, len = m / 2;
    const block = zeros<T>(len * n);
    if (sizeof<T>() == 8) unitJacobianRowBlockF64(u.handle, first, len, block);
    else unitJacobianRowBlockF32(u.handle, first, len, block);
    for (let j = 0; j < len * n; j++) if (at<T>(block, j) != at<T>(dense, first * n + j)) worst = 1.0;
    release(block);
    release(dense); release(eye); release(cols); release(eyeM); release(rows); release(list); release(selected);
    freeUnit(u);
  }
  return worst;
}

/** The small kernels: scale/shift, mask, shortcut and its adjoint against the naive versions. */
function smallKernelsError<T>(): f64 {
  let worst = 0.0;
  const size = <usize>sizeof<T>();
  for (let cfg = 0; cfg < CONFIGS; cfg++) {
    const cIn = CIN[cfg], cOut = COUT[cfg], h = HH[cfg], w = WW[cfg], s = STRIDE[cfg], k = 3;
    const ho = outSize(h, s), wo = outSize(w, s), nIn = cIn * h * w, nOut = cOut * ho * wo, plane = h * w;
    const x = randomBlock<T>(k * nIn), scale = randomBlock<T>(cIn), shift = randomBlock<T>(cIn);
    const y = zeros<T>(k * nIn);
    if (size == 8) channelScaleShiftF64(x, k, cIn, plane, scale, shift, y);
    else channelScaleShiftF32(x, k, cIn, plane, scale, shift, y);
    for (let j = 0; j < k * nIn; j++) {
      const c = (j / plane) % cIn;
      const want = <T>(<T>at<T>(scale, c) * <T>at<T>(x, j) + <T>at<T>(shift, c));
      if (at<T>(y, j) != <f64>want) worst = 1.0;
    }
    const mask = allocate(<usize>nIn);
    for (let j = 0; j < nIn; j++) store<u8>(mask + <usize>j, rand() > 0 ? 1 : 0);
    if (size == 8) applyMaskF64(x, k, nIn, mask, y);
    else applyMaskF32(x, k, nIn, mask, y);
    for (let j = 0; j < k * nIn; j++) {
      if (at<T>(y, j) != (load<u8>(mask + <usize>(j % nIn)) != 0 ? at<T>(x, j) : 0.0)) worst = 1.0;
    }
    const sx = zeros<T>(k * nOut), g = randomBlock<T>(k * nOut), stg = zeros<T>(k * nIn);
    if (size == 8) {
      shortcutForwardF64(x, k, cIn, h, w, cOut, s, sx);
      shortcutTransposeF64(g, k, cIn, h, w, cOut, s, stg);
    } else {
      shortcutForwardF32(x, k, cIn, h, w, cOut, s, sx);
      shortcutTransposeF32(g, k, cIn, h, w, cOut, s, stg);
    }
    const x64 = widen<T>(x, k * nIn), g64 = widen<T>(g, k * nOut);
    const sxWant = naiveShortcut(x64, k, cIn, h, w, cOut, s), stgWant = naiveShortcutT(g64, k, cIn, h, w, cOut, s);
    for (let j = 0; j < k * nOut; j++) if (at<T>(sx, j) != get(sxWant, j)) worst = 1.0;
    for (let j = 0; j < k * nIn; j++) if (at<T>(stg, j) != get(stgWant, j)) worst = 1.0;
    release(x); release(scale); release(shift); release(y); release(mask); release(sx); release(g); release(stg);
    release(x64); release(g64); release(sxWant); release(stgWant);
  }
  return worst;
}

function worstJV<T>(): f64 {
  // Block sizes 1, 3, 19, 37 use every panel width (8, 4, 2 and 1 registers) in both precisions.
  return max(max(jvError<T>(1), jvError<T>(3)), max(jvError<T>(19), jvError<T>(37)));
}
function worstJTU<T>(): f64 {
  return max(max(jtuError<T>(1), jtuError<T>(3)), max(jtuError<T>(19), jtuError<T>(37)));
}

describe("unit kernels", () => {
  it("scale/shift, mask and the option-A shortcut and its adjoint are exact", () => {
    expect<f64>(smallKernelsError<f64>()).toBe(0.0);
    expect<f64>(smallKernelsError<f32>()).toBe(0.0);
  });
  it("unitForward matches the naive unit (values and masks), f64 and f32", () => {
    expect<f64>(forwardError<f64>()).toBeLessThan(1e-14);
    expect<f64>(forwardError<f32>()).toBeLessThan(1e-5);
  });
});

describe("unit Jacobian products", () => {
  it("J V matches the composition of the naive pieces, f64", () => {
    expect<f64>(worstJV<f64>()).toBeLessThan(1e-14);
  });
  it("J V matches the composition of the naive pieces, f32", () => {
    expect<f64>(worstJV<f32>()).toBeLessThan(1e-5);
  });
  it("J^T U matches the composition of the naive adjoint pieces, f64", () => {
    expect<f64>(worstJTU<f64>()).toBeLessThan(1e-14);
  });
  it("J^T U matches the composition of the naive adjoint pieces, f32", () => {
    expect<f64>(worstJTU<f32>()).toBeLessThan(1e-5);
  });
  it("J^T is the adjoint of J: <J V, U> = <V, J^T U>", () => {
    expect<f64>(max(adjointError<f64>(1), adjointError<f64>(21))).toBeLessThan(1e-12);
    expect<f64>(max(adjointError<f32>(1), adjointError<f32>(21))).toBeLessThan(1e-5);
  });
  it("J v equals the finite difference of unitForward on the linear region, f64", () => {
    expect<f64>(finiteDifferenceError()).toBeLessThan(1e-9);
  });
});

describe("unit dense Jacobian", () => {
  it("columns are J e_j, rows are J^T e_i, inactive rows are zero, f64", () => {
    expect<f64>(denseError<f64>()).toBeLessThan(1e-14);
  });
  it("columns are J e_j, rows are J^T e_i, inactive rows are zero, f32", () => {
    expect<f64>(denseError<f32>()).toBeLessThan(1e-5);
  });
});
