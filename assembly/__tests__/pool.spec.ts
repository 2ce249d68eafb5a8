import { allocate, release } from "../memory";
import { conv2dOutputSize } from "../conv2d";
import {
  maxPool2dForwardF64, maxPool2dForwardF32, maxPool2dGatherF64, maxPool2dGatherF32, maxPool2dScatterF64,
  maxPool2dScatterF32,
} from "../pool";
import { seedRandom, rand } from "./support/random";

seedRandom(311);

@inline function at<T>(p: usize, i: i32): f64 {
  return <f64>load<T>(p + <usize>i * sizeof<T>());
}
@inline function idx(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

/**
 * count values of T: uniform in [-1, 1), or with `coarse` one of -1, 0, 1 (so that most windows hold
 * tied maxima).
 */
function values<T>(count: i32, coarse: bool): usize {
  const p = allocate(<usize>count * sizeof<T>());
  for (let i = 0; i < count; i++) {
    const r = rand();
    store<T>(p + <usize>i * sizeof<T>(), <T>(coarse ? Math.floor(r * 1.5 + 0.5) : r));
  }
  return p;
}

class Pool {
  constructor(public b: i32, public c: i32, public h: i32, public w: i32, public k: i32, public s: i32, public p: i32) {}
  get ho(): i32 { return conv2dOutputSize(this.h, this.k, this.s, this.p); }
  get wo(): i32 { return conv2dOutputSize(this.w, this.k, this.s, this.p); }
  get nIn(): i32 { return this.b * this.c * this.h * this.w; }
  get nOut(): i32 { return this.b * this.c * this.ho * this.wo; }
}

function forward<T>(x: usize, q: Pool, out: usize, index: usize): void {
  if (sizeof<T>() == 8) maxPool2dForwardF64(x, q.b, q.c, q.h, q.w, q.k, q.s, q.p, out, index);
  else maxPool2dForwardF32(x, q.b, q.c, q.h, q.w, q.k, q.s, q.p, out, index);
}
function gather<T>(v: usize, k: i32, q: Pool, index: usize, out: usize): void {
  if (sizeof<T>() == 8) maxPool2dGatherF64(v, k, q.c, q.h, q.w, q.k, q.s, q.p, index, out);
  else maxPool2dGatherF32(v, k, q.c, q.h, q.w, q.k, q.s, q.p, index, out);
}
function scatter<T>(u: usize, k: i32, q: Pool, index: usize, out: usize): void {
  if (sizeof<T>() == 8) maxPool2dScatterF64(u, k, q.c, q.h, q.w, q.k, q.s, q.p, index, out);
  else maxPool2dScatterF32(u, k, q.c, q.h, q.w, q.k, q.s, q.p, index, out);
}

/**
 * Number of outputs whose value or index differs from the naive definition: the first maximum of
 * the in-bounds window entries in row-major order (strict >, -infinity padding), index row*W + column.
 */
function forwardMismatches<T>(q: Pool, coarse: bool): i32 {
  const x = values<T>(q.nIn, coarse), y = allocate(<usize>q.nOut * sizeof<T>()), ix = allocate(<usize>q.nOut << 2);
  forward<T>(x, q, y, ix);
  const ho = q.ho, wo = q.wo;
  let bad = 0;
  for (let plane = 0; plane < q.b * q.c; plane++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        let best = -Infinity, where = -1;
        for (let dy = 0; dy < q.k; dy++) {
          for (let dx = 0; dx < q.k; dx++) {
            const r = oy * q.s - q.p + dy, col = ox * q.s - q.p + dx;
            if (r < 0 || r >= q.h || col < 0 || col >= q.w) continue;
            const v = at<T>(x, plane * q.h * q.w + r * q.w + col);
            if (where < 0 || v > best) {
              best = v;
              where = r * q.w + col;
            }
          }
        }
        const j = (plane * ho + oy) * wo + ox;
        if (at<T>(y, j) != best || idx(ix, j) != where) bad++;
      }
    }
  }
  release(x); release(y); release(ix);
  return bad;
}

/** Indices of image 0 of a forward pass over random data (the linearization point). */
function pointIndices<T>(q: Pool): usize {
  const one = new Pool(1, q.c, q.h, q.w, q.k, q.s, q.p);
  const x = values<T>(one.nIn, false), y = allocate(<usize>one.nOut * sizeof<T>()), ix = allocate(<usize>one.nOut << 2);
  forward<T>(x, one, y, ix);
  release(x); release(y);
  return ix;
}

/**
 * max |computed - naive| for the gather and the scatter on a block of q.b vectors: the gather reads
 * v at the index, the scatter adds u into a zeroed input-shaped block (in f64, exact here).
 */
function linearError<T>(q: Pool): f64 {
  const ix = pointIndices<T>(q);
  const plane = q.ho * q.wo, inPlane = q.h * q.w;
  const v = values<T>(q.nIn, false), jv = allocate(<usize>q.nOut * sizeof<T>());
  const u = values<T>(q.nOut, false), ju = allocate(<usize>q.nIn * sizeof<T>());
  gather<T>(v, q.b, q, ix, jv);
  scatter<T>(u, q.b, q, ix, ju);
  const want = allocate(<usize>q.nIn << 3);
  memory.fill(want, 0, <usize>q.nIn << 3);
  let err = 0.0;
  for (let b = 0; b < q.b; b++) {
    for (let ch = 0; ch < q.c; ch++) {
      for (let j = 0; j < plane; j++) {
        const p = idx(ix, ch * plane + j);
        const o = (b * q.c + ch) * plane + j, i = (b * q.c + ch) * inPlane + p;
        err = max(err, abs(at<T>(jv, o) - at<T>(v, i)));
        store<f64>(want + (<usize>i << 3), load<f64>(want + (<usize>i << 3)) + at<T>(u, o));
      }
    }
  }
  for (let i = 0; i < q.nIn; i++) err = max(err, abs(at<T>(ju, i) - load<f64>(want + (<usize>i << 3))));
  release(ix); release(v); release(jv); release(u); release(ju); release(want);
  return err;
}

/** |<G v, u> - <v, G^T u>| / (|G v| |u|) for the gather G and the scatter G^T. */
function adjointError<T>(q: Pool): f64 {
  const ix = pointIndices<T>(q);
  const v = values<T>(q.nIn, false), gv = allocate(<usize>q.nOut * sizeof<T>());
  const u = values<T>(q.nOut, false), gu = allocate(<usize>q.nIn * sizeof<T>());
  gather<T>(v, q.b, q, ix, gv);
  scatter<T>(u, q.b, q, ix, gu);
  let lhs = 0.0, rhs = 0.0, ng = 0.0, nu = 0.0;
  for (let j = 0; j < q.nOut; j++) {
    lhs += at<T>(gv, j) * at<T>(u, j);
    ng += at<T>(gv, j) * at<T>(gv, j);
    nu += at<T>(u, j) * at<T>(u, j);
  }
  for (let i = 0; i < q.nIn; i++) rhs += at<T>(v, i) * at<T>(gu, i);
  release(ix); release(v); release(gv); release(u); release(gu);
  return abs(lhs - rhs) / sqrt(ng * nu);
}

/** Outputs or indices on which f32 and f64 differ, on the same f32-representable data. */
function precisionMismatches(q: Pool): i32 {
  const x32 = values<f32>(q.nIn, false), x64 = allocate(<usize>q.nIn << 3);
  for (let i = 0; i < q.nIn; i++) store<f64>(x64 + (<usize>i << 3), at<f32>(x32, i));
  const y32 = allocate(<usize>q.nOut << 2), y64 = allocate(<usize>q.nOut << 3);
  const i32_ = allocate(<usize>q.nOut << 2), i64_ = allocate(<usize>q.nOut << 2);
  forward<f32>(x32, q, y32, i32_);
  forward<f64>(x64, q, y64, i64_);
  let bad = 0;
  for (let j = 0; j < q.nOut; j++) if (at<f32>(y32, j) != at<f64>(y64, j) || idx(i32_, j) != idx(i64_, j)) bad++;
  release(x32); release(x64); release(y32); release(y64); release(i32_); release(i64_);
  return bad;
}

// Windows (K, S, P): the torchvision stem 3x3/2 P1, plus 2x2/2 P0 and 3x3/1 P1 (overlap without
// stride). (batch, C, H, W): odd and even sizes, a plane narrower than the window's reach.
const KSP: i32[][] = [[3, 2, 1], [2, 2, 0], [3, 1, 1]];
const SIZES: i32[][] = [[1, 3, 7, 6], [2, 5, 8, 8], [3, 2, 5, 9], [1, 1, 2, 3], [2, 4, 16, 15]];

function worst(kind: i32, prec: i32, coarse: bool): f64 {
  let e = 0.0;
  for (let a = 0; a < KSP.length; a++) {
    for (let c = 0; c < SIZES.length; c++) {
      const z = SIZES[c], t = KSP[a];
      const q = new Pool(z[0], z[1], z[2], z[3], t[0], t[1], t[2]);
      let r = 0.0;
      if (kind == 0) r = prec == 64 ? <f64>forwardMismatches<f64>(q, coarse) : <f64>forwardMismatches<f32>(q, coarse);
      else if (kind == 1) r = prec == 64 ? linearError<f64>(q) : linearError<f32>(q);
      else if (kind == 2) r = prec == 64 ? adjointError<f64>(q) : adjointError<f32>(q);
      else r = <f64>precisionMismatches(q);
      e = max(e, r);
    }
  }
  return e;
}

describe("maxPool2dForward", () => {
  it("takes the first maximum of each window, as PyTorch, f64 and f32", () => {
    expect<f64>(worst(0, 64, false)).toBe(0.0);
    expect<f64>(worst(0, 32, false)).toBe(0.0);
  });
  it("breaks ties by the first entry in row-major window order", () => {
    expect<f64>(worst(0, 64, true)).toBe(0.0);
    expect<f64>(worst(0, 32, true)).toBe(0.0);
  });
  it("gives the torchvision stem's 112 -> 56 and the same values and indices in f32 and f64", () => {
    expect<i32>(conv2dOutputSize(112, 3, 2, 1)).toBe(56);
    expect<f64>(worst(3, 0, false)).toBe(0.0);
  });
  it("reports a window's last NaN (PyTorch CPU), and an all -infinity window's first entry", () => {
    const x = allocate(4 << 3), y = allocate(8), ix = allocate(4);
    store<f64>(x, 1.0); store<f64>(x + 8, NaN); store<f64>(x + 16, 5.0); store<f64>(x + 24, NaN);
    maxPool2dForwardF64(x, 1, 1, 2, 2, 2, 2, 0, y, ix);
    expect<bool>(isNaN(load<f64>(y))).toBe(true);
    expect<i32>(load<i32>(ix)).toBe(3);
    for (let i = 0; i < 4; i++) store<f64>(x + (<usize>i << 3), -Infinity);
    maxPool2dForwardF64(x, 1, 1, 2, 2, 2, 2, 0, y, ix);
    expect<f64>(load<f64>(y)).toBe(-Infinity);
    expect<i32>(load<i32>(ix)).toBe(0);
    release(x); release(y); release(ix);
  });
});

describe("maxPool2dGather and maxPool2dScatter", () => {
  it("gather reads and scatter adds through the recorded indices, exactly", () => {
    expect<f64>(worst(1, 64, false)).toBe(0.0);
    expect<f64>(worst(1, 32, false)).toBeLessThan(1e-6);
  });
  it("are adjoint: <G v, u> = <v, G^T u>", () => {
    expect<f64>(worst(2, 64, false)).toBeLessThan(1e-14);
    expect<f64>(worst(2, 32, false)).toBeLessThan(1e-6);
  });
});
