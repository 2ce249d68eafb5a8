import { allocate, release } from "../memory";
import {
  conv2dForwardF64, conv2dForwardF32, conv2dTransposeF64, conv2dTransposeF32, conv2dOutputSize,
} from "../conv2d";
import { seedRandom, rand } from "./support/random";

seedRandom(1107);

/** count random values of type T; GUARD extra trailing entries hold a sentinel to catch overruns. */
const GUARD: i32 = 5;
const SENTINEL: f64 = 12345.0;
function randomBlock<T>(count: i32): usize {
  const p = allocate(<usize>(count + GUARD) * sizeof<T>());
  for (let i = 0; i < count; i++) store<T>(p + <usize>i * sizeof<T>(), <T>rand());
  for (let i = 0; i < GUARD; i++) store<T>(p + <usize>(count + i) * sizeof<T>(), <T>SENTINEL);
  return p;
}
/** A copy of `count` f32 values widened to f64 (same numbers, so both precisions see one problem). */
function widen(p: usize, count: i32): usize {
  const q = allocate(<usize>count << 3);
  for (let i = 0; i < count; i++) store<f64>(q + (<usize>i << 3), <f64>load<f32>(p + (<usize>i << 2)));
  return q;
}
@inline function at<T>(p: usize, i: i32): f64 {
  return <f64>load<T>(p + <usize>i * sizeof<T>());
}
function guardIntact<T>(p: usize, count: i32): bool {
  for (let i = 0; i < GUARD; i++) if (at<T>(p, count + i) != SENTINEL) return false;
  return true;
}

/** A convolution shape: batch, channels in/out, input size, kernel, stride, padding. */
class Shape {
  constructor(
    public b: i32, public cIn: i32, public cOut: i32, public h: i32, public w: i32,
    public k: i32, public s: i32, public p: i32,
  ) {}
  get ho(): i32 { return conv2dOutputSize(this.h, this.k, this.s, this.p); }
  get wo(): i32 { return conv2dOutputSize(this.w, this.k, this.s, this.p); }
  get nIn(): i32 { return this.cIn * this.h * this.w; }
  get nOut(): i32 { return this.cOut * this.ho * this.wo; }
  get nW(): i32 { return this.cOut * this.cIn * this.k * this.k; }
}

function forward<T>(x: usize, q: Shape, wt: usize, out: usize): void {
  if (sizeof<T>() == 8) conv2dForwardF64(x, q.b, q.cIn, q.h, q.w, wt, q.cOut, q.k, q.s, q.p, out);
  else conv2dForwardF32(x, q.b, q.cIn, q.h, q.w, wt, q.cOut, q.k, q.s, q.p, out);
}
function transpose<T>(g: usize, q: Shape, wt: usize, out: usize): void {
  if (sizeof<T>() == 8) conv2dTransposeF64(g, q.b, q.cIn, q.h, q.w, wt, q.cOut, q.k, q.s, q.p, out);
  else conv2dTransposeF32(g, q.b, q.cIn, q.h, q.w, wt, q.cOut, q.k, q.s, q.p, out);
}

/**
 * max over outputs of |computed - naive| / sum |w||x| (the scale of the rounding error bound), the
 * naive convolution being the plain 7-loop definition (PyTorch's formula) in f64.
 */
function forwardError<T>(q: Shape): f64 {
  const x = randomBlock<T>(q.b * q.nIn), wt = randomBlock<T>(q.nW), y = randomBlock<T>(q.b * q.nOut);
  forward<T>(x, q, wt, y);
  const ho = q.ho, wo = q.wo, K = q.k;
  let err = 0.0;
  for (let b = 0; b < q.b; b++) {
    for (let o = 0; o < q.cOut; o++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          let sum = 0.0, mag = 0.0;
          for (let i = 0; i < q.cIn; i++) {
            for (let dy = 0; dy < K; dy++) {
              for (let dx = 0; dx < K; dx++) {
                const iy = q.s * oy + dy - q.p, ix = q.s * ox + dx - q.p;
                if (iy < 0 || iy >= q.h || ix < 0 || ix >= q.w) continue;
                const prod = at<T>(wt, ((o * q.cIn + i) * K + dy) * K + dx) * at<T>(x, b * q.nIn + (i * q.h + iy) * q.w + ix);
                sum += prod;
                mag += abs(prod);
              }
            }
          }
          const got = at<T>(y, b * q.nOut + (o * ho + oy) * wo + ox);
          err = max(err, abs(got - sum) / max(mag, 1e-300));
        }
      }
    }
  }
  if (!guardIntact<T>(y, q.b * q.nOut) || !guardIntact<T>(x, q.b * q.nIn)) err = 1.0;
  release(x); release(wt); release(y);
  return err;
}

/** The same for W^T against the naive adjoint (the scatter form of the definition). */
function transposeError<T>(q: Shape): f64 {
  const nIn = q.b * q.nIn;
  const g = randomBlock<T>(q.b * q.nOut), wt = randomBlock<T>(q.nW), y = randomBlock<T>(nIn);
  transpose<T>(g, q, wt, y);
  const want = allocate(<usize>nIn << 3), mag = allocate(<usize>nIn << 3);
  memory.fill(want, 0, <usize>nIn << 3);
  memory.fill(mag, 0, <usize>nIn << 3);
  const ho = q.ho, wo = q.wo, K = q.k;
  for (let b = 0; b < q.b; b++) {
    for (let o = 0; o < q.cOut; o++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          const gv = at<T>(g, b * q.nOut + (o * ho + oy) * wo + ox);
          for (let i = 0; i < q.cIn; i++) {
            for (let dy = 0; dy < K; dy++) {
              for (let dx = 0; dx < K; dx++) {
                const iy = q.s * oy + dy - q.p, ix = q.s * ox + dx - q.p;
                if (iy < 0 || iy >= q.h || ix < 0 || ix >= q.w) continue;
                const j = <usize>(b * q.nIn + (i * q.h + iy) * q.w + ix) << 3;
                const prod = at<T>(wt, ((o * q.cIn + i) * K + dy) * K + dx) * gv;
                store<f64>(want + j, load<f64>(want + j) + prod);
                store<f64>(mag + j, load<f64>(mag + j) + abs(prod));
              }
            }
          }
        }
      }
    }
  }
  let err = 0.0;
  for (let j = 0; j < nIn; j++) {
    const e = abs(at<T>(y, j) - load<f64>(want + (<usize>j << 3)));
    // Entries no tap reaches (stride 2) must be exactly zero: mag = 0 there.
    err = max(err, e / max(load<f64>(mag + (<usize>j << 3)), 1e-300));
  }
  if (!guardIntact<T>(y, nIn) || !guardIntact<T>(g, q.b * q.nOut)) err = 1.0;
  release(g); release(wt); release(y); release(want); release(mag);
  return err;
}

/** |<W v, u> - <v, W^T u>| / (|W v| |u|), over the whole batch. */
function adjointError<T>(q: Shape): f64 {
  const nIn = q.b * q.nIn, nOut = q.b * q.nOut;
  const v = randomBlock<T>(nIn), u = randomBlock<T>(nOut), wt = randomBlock<T>(q.nW);
  const wv = randomBlock<T>(nOut), wtu = randomBlock<T>(nIn);
  forward<T>(v, q, wt, wv);
  transpose<T>(u, q, wt, wtu);
  let lhs = 0.0, rhs = 0.0, nwv = 0.0, nu = 0.0;
  for (let j = 0; j < nOut; j++) {
    lhs += at<T>(wv, j) * at<T>(u, j);
    nwv += at<T>(wv, j) * at<T>(wv, j);
    nu += at<T>(u, j) * at<T>(u, j);
  }
  for (let j = 0; j < nIn; j++) rhs += at<T>(v, j) * at<T>(wtu, j);
  release(v); release(u); release(wt); release(wv); release(wtu);
  return abs(lhs - rhs) / sqrt(nwv * nu);
}

/**
 * max |f32 result - f64 result| / max |f64 result| for the forward and the transpose on the same
 * (f32-representable) data: the two precisions compute the same map.
 */
function precisionGap(q: Shape): f64 {
  const nIn = q.b * q.nIn, nOut = q.b * q.nOut;
  const x32 = randomBlock<f32>(nIn), g32 = randomBlock<f32>(nOut), w32 = randomBlock<f32>(q.nW);
  const x64 = widen(x32, nIn), g64 = widen(g32, nOut), w64 = widen(w32, q.nW);
  const y32 = allocate(<usize>nOut << 2), y64 = allocate(<usize>nOut << 3);
  const t32 = allocate(<usize>nIn << 2), t64 = allocate(<usize>nIn << 3);
  forward<f32>(x32, q, w32, y32);
  forward<f64>(x64, q, w64, y64);
  transpose<f32>(g32, q, w32, t32);
  transpose<f64>(g64, q, w64, t64);
  let gap = 0.0, scale = 0.0, gapT = 0.0, scaleT = 0.0;
  for (let j = 0; j < nOut; j++) {
    gap = max(gap, abs(at<f32>(y32, j) - at<f64>(y64, j)));
    scale = max(scale, abs(at<f64>(y64, j)));
  }
  for (let j = 0; j < nIn; j++) {
    gapT = max(gapT, abs(at<f32>(t32, j) - at<f64>(t64, j)));
    scaleT = max(scaleT, abs(at<f64>(t64, j)));
  }
  release(x32); release(g32); release(w32); release(x64); release(g64); release(w64);
  release(y32); release(y64); release(t32); release(t64);
  return max(gap / scale, gapT / scaleT);
}

// The (K, S, P) of the families: 1x1/1 P0, 1x1/2 P0, 3x3/1 P1, 3x3/2 P1, 7x7/2 P3.
const KSP: i32[][] = [[1, 1, 0], [1, 2, 0], [3, 1, 1], [3, 2, 1], [7, 2, 3]];
// (batch, C_in, C_out, H, W): odd and even sizes, channel counts on and off the SIMD widths (2, 4),
// widths below and above one v128 pair, a batch of more than one.
const SIZES: i32[][] = [
  [1, 3, 5, 7, 6], [2, 2, 4, 8, 5], [1, 5, 3, 5, 9], [3, 4, 2, 6, 6], [1, 1, 1, 13, 11], [2, 3, 7, 10, 12],
];

function worst(kind: i32, prec: i32): f64 {
  let e = 0.0;
  for (let a = 0; a < KSP.length; a++) {
    for (let c = 0; c < SIZES.length; c++) {
      const z = SIZES[c], t = KSP[a];
      const q = new Shape(z[0], z[1], z[2], z[3], z[4], t[0], t[1], t[2]);
      let r = 0.0;
      if (kind == 0) r = prec == 64 ? forwardError<f64>(q) : forwardError<f32>(q);
      else if (kind == 1) r = prec == 64 ? transposeError<f64>(q) : transposeError<f32>(q);
      else if (kind == 2) r = prec == 64 ? adjointError<f64>(q) : adjointError<f32>(q);
      else r = precisionGap(q);
      e = max(e, r);
    }
  }
  return e;
}

describe("conv2dOutputSize", () => {
  it("is PyTorch's floor((H + 2P - K)/S) + 1", () => {
    expect<i32>(conv2dOutputSize(224, 7, 2, 3)).toBe(112);
    expect<i32>(conv2dOutputSize(7, 3, 2, 1)).toBe(4);
    expect<i32>(conv2dOutputSize(8, 3, 2, 1)).toBe(4);
    expect<i32>(conv2dOutputSize(7, 1, 2, 0)).toBe(4);
    expect<i32>(conv2dOutputSize(5, 7, 2, 3)).toBe(3);
    expect<i32>(conv2dOutputSize(2, 7, 1, 0)).toBe(0);
  });
});

describe("conv2dForward", () => {
  it("matches the naive 7-loop convolution for every family (K, S, P), f64", () => {
    expect<f64>(worst(0, 64)).toBeLessThan(1e-14);
  });
  it("matches the naive 7-loop convolution for every family (K, S, P), f32", () => {
    expect<f64>(worst(0, 32)).toBeLessThan(1e-5);
  });
  it("computes a torchvision stem (3 -> 8 channels, 7x7/2 P3 on 33x32) as the definition", () => {
    expect<f64>(forwardError<f64>(new Shape(1, 3, 8, 33, 32, 7, 2, 3))).toBeLessThan(1e-14);
  });
});

describe("conv2dTranspose", () => {
  it("matches the naive adjoint for every family (K, S, P), f64", () => {
    expect<f64>(worst(1, 64)).toBeLessThan(1e-14);
  });
  it("matches the naive adjoint for every family (K, S, P), f32", () => {
    expect<f64>(worst(1, 32)).toBeLessThan(1e-5);
  });
  it("satisfies <W v, u> = <v, W^T u>", () => {
    expect<f64>(worst(2, 64)).toBeLessThan(1e-13);
    expect<f64>(worst(2, 32)).toBeLessThan(1e-5);
  });
});

describe("conv2d on other windows", () => {
  it("matches the naive loops and the adjoint identity for 3x3/1 P0, 2x2/2 P0, 5x5/3 P2, 1x1/1 P2", () => {
    const other: i32[][] = [[3, 1, 0], [2, 2, 0], [5, 3, 2], [1, 1, 2]];
    let fwd = 0.0, tr = 0.0, adj = 0.0;
    for (let a = 0; a < other.length; a++) {
      for (let c = 0; c < SIZES.length; c++) {
        const z = SIZES[c], t = other[a];
        const q = new Shape(z[0], z[1], z[2], z[3], z[4], t[0], t[1], t[2]);
        fwd = max(fwd, forwardError<f64>(q));
        tr = max(tr, transposeError<f64>(q));
        adj = max(adj, adjointError<f64>(q));
      }
    }
    expect<f64>(fwd).toBeLessThan(1e-14);
    expect<f64>(tr).toBeLessThan(1e-14);
    expect<f64>(adj).toBeLessThan(1e-13);
  });
});

describe("conv2d f32 and f64", () => {
  it("agree on the same data to f32 rounding", () => {
    const gap = worst(3, 0);
    expect<f64>(gap).toBeLessThan(1e-5);
    expect<f64>(gap).toBeGreaterThan(0.0);
  });
});
