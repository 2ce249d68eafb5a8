import { allocate, release } from "../memory";
import {
  conv3x3ForwardF64, conv3x3ForwardF32, conv3x3TransposeF64, conv3x3TransposeF32, conv3x3OutputSize,
} from "../conv";
import { seedRandom, rand } from "./support/random";

seedRandom(2024);

/** count random values of type T; GUARD extra trailing entries hold a sentinel to catch overruns. */
const GUARD: i32 = 5;
const SENTINEL: f64 = 12345.0;
function randomBlock<T>(count: i32): usize {
  const p = allocate(<usize>(count + GUARD) * sizeof<T>());
  for (let i = 0; i < count; i++) store<T>(p + <usize>i * sizeof<T>(), <T>rand());
  for (let i = 0; i < GUARD; i++) store<T>(p + <usize>(count + i) * sizeof<T>(), <T>SENTINEL);
  return p;
}
@inline function at<T>(p: usize, i: i32): f64 {
  return <f64>load<T>(p + <usize>i * sizeof<T>());
}
function guardIntact<T>(p: usize, count: i32): bool {
  for (let i = 0; i < GUARD; i++) if (at<T>(p, count + i) != SENTINEL) return false;
  return true;
}

function forward<T>(input: usize, k: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, s: i32, out: usize): void {
  if (sizeof<T>() == 8) conv3x3ForwardF64(input, k, cIn, h, w, weight, cOut, s, out);
  else conv3x3ForwardF32(input, k, cIn, h, w, weight, cOut, s, out);
}
function transpose<T>(input: usize, k: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, s: i32, out: usize): void {
  if (sizeof<T>() == 8) conv3x3TransposeF64(input, k, cIn, h, w, weight, cOut, s, out);
  else conv3x3TransposeF32(input, k, cIn, h, w, weight, cOut, s, out);
}

/**
 * max over outputs of |computed - naive| / sum |w||x| (the scale of the rounding error bound),
 * with the naive convolution written as the plain 7-loop definition in f64.
 */
function forwardError<T>(k: i32, cIn: i32, cOut: i32, h: i32, w: i32, s: i32): f64 {
  const ho = conv3x3OutputSize(h, s), wo = conv3x3OutputSize(w, s);
  const nIn = cIn * h * w, nOut = cOut * ho * wo;
  const x = randomBlock<T>(k * nIn), wt = randomBlock<T>(cOut * cIn * 9), y = randomBlock<T>(k * nOut);
  forward<T>(x, k, cIn, h, w, wt, cOut, s, y);
  let err = 0.0;
  for (let b = 0; b < k; b++) {
    for (let o = 0; o < cOut; o++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          let sum = 0.0, mag = 0.0;
          for (let i = 0; i < cIn; i++) {
            for (let dy = 0; dy < 3; dy++) {
              for (let dx = 0; dx < 3; dx++) {
                const iy = s * oy + dy - 1, ix = s * ox + dx - 1;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const prod = at<T>(wt, ((o * cIn + i) * 3 + dy) * 3 + dx) * at<T>(x, b * nIn + (i * h + iy) * w + ix);
                sum += prod;
                mag += abs(prod);
              }
            }
          }
          const got = at<T>(y, b * nOut + (o * ho + oy) * wo + ox);
          err = max(err, abs(got - sum) / max(mag, 1e-300));
        }
      }
    }
  }
  if (!guardIntact<T>(y, k * nOut) || !guardIntact<T>(x, k * nIn)) err = 1.0;
  release(x); release(wt); release(y);
  return err;
}

/** The same for W^T against the naive adjoint (scatter form of the definition). */
function transposeError<T>(k: i32, cIn: i32, cOut: i32, h: i32, w: i32, s: i32): f64 {
  const ho = conv3x3OutputSize(h, s), wo = conv3x3OutputSize(w, s);
  const nIn = cIn * h * w, nOut = cOut * ho * wo;
  const g = randomBlock<T>(k * nOut), wt = randomBlock<T>(cOut * cIn * 9), y = randomBlock<T>(k * nIn);
  transpose<T>(g, k, cIn, h, w, wt, cOut, s, y);
  const want = allocate(<usize>(k * nIn) << 3), mag = allocate(<usize>(k * nIn) << 3);
  memory.fill(want, 0, <usize>(k * nIn) << 3);
  memory.fill(mag, 0, <usize>(k * nIn) << 3);
  for (let b = 0; b < k; b++) {
    for (let o = 0; o < cOut; o++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          const gv = at<T>(g, b * nOut + (o * ho + oy) * wo + ox);
          for (let i = 0; i < cIn; i++) {
            for (let dy = 0; dy < 3; dy++) {
              for (let dx = 0; dx < 3; dx++) {
                const iy = s * oy + dy - 1, ix = s * ox + dx - 1;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const j = <usize>(b * nIn + (i * h + iy) * w + ix) << 3;
                const prod = at<T>(wt, ((o * cIn + i) * 3 + dy) * 3 + dx) * gv;
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
  for (let j = 0; j < k * nIn; j++) {
    const e = abs(at<T>(y, j) - load<f64>(want + (<usize>j << 3)));
    err = max(err, e / max(load<f64>(mag + (<usize>j << 3)), 1e-300));
  }
  if (!guardIntact<T>(y, k * nIn) || !guardIntact<T>(g, k * nOut)) err = 1.0;
  release(g); release(wt); release(y); release(want); release(mag);
  return err;
}

/** |<W v, u> - <v, W^T u>| / (|W v| |u|), for blocks of k vectors (all inner products summed). */
function adjointError<T>(k: i32, cIn: i32, cOut: i32, h: i32, w: i32, s: i32): f64 {
  const ho = conv3x3OutputSize(h, s), wo = conv3x3OutputSize(w, s);
  const nIn = cIn * h * w, nOut = cOut * ho * wo;
  const v = randomBlock<T>(k * nIn), u = randomBlock<T>(k * nOut), wt = randomBlock<T>(cOut * cIn * 9);
  const wv = randomBlock<T>(k * nOut), wtu = randomBlock<T>(k * nIn);
  forward<T>(v, k, cIn, h, w, wt, cOut, s, wv);
  transpose<T>(u, k, cIn, h, w, wt, cOut, s, wtu);
  let lhs = 0.0, rhs = 0.0, nwv = 0.0, nu = 0.0;
  for (let j = 0; j < k * nOut; j++) {
    lhs += at<T>(wv, j) * at<T>(u, j);
    nwv += at<T>(wv, j) * at<T>(wv, j);
    nu += at<T>(u, j) * at<T>(u, j);
  }
  for (let j = 0; j < k * nIn; j++) rhs += at<T>(v, j) * at<T>(wtu, j);
  release(v); release(u); release(wt); release(wv); release(wtu);
  return abs(lhs - rhs) / sqrt(nwv * nu);
}

// Shapes: (k, C_in, C_out, H, W). k values cover every panel split (f64: 2 lanes per register, f32: 4;
// panels of 8, 4, 2, 1 registers); odd sizes exercise the stride-2 edges (H_out = ceil(H/2)).
const K_: i32[] = [1, 3, 19, 37, 16];
const CIN: i32[] = [3, 2, 4, 2, 5];
const COUT: i32[] = [5, 4, 3, 4, 2];
const H_: i32[] = [7, 8, 5, 7, 6];
const W_: i32[] = [6, 5, 9, 7, 4];

function worstForward<T>(s: i32): f64 {
  let e = 0.0;
  for (let c = 0; c < K_.length; c++) e = max(e, forwardError<T>(K_[c], CIN[c], COUT[c], H_[c], W_[c], s));
  return e;
}
function worstTranspose<T>(s: i32): f64 {
  let e = 0.0;
  for (let c = 0; c < K_.length; c++) e = max(e, transposeError<T>(K_[c], CIN[c], COUT[c], H_[c], W_[c], s));
  return e;
}
function worstAdjoint<T>(s: i32): f64 {
  let e = 0.0;
  for (let c = 0; c < K_.length; c++) e = max(e, adjointError<T>(K_[c], CIN[c], COUT[c], H_[c], W_[c], s));
  return e;
}

describe("conv3x3Forward", () => {
  it("matches the naive 7-loop convolution, f64, stride 1 and 2", () => {
    expect<f64>(worstForward<f64>(1)).toBeLessThan(1e-14);
    expect<f64>(worstForward<f64>(2)).toBeLessThan(1e-14);
  });
  it("matches the naive 7-loop convolution, f32, stride 1 and 2", () => {
    expect<f64>(worstForward<f32>(1)).toBeLessThan(1e-5);
    expect<f64>(worstForward<f32>(2)).toBeLessThan(1e-5);
  });
  it("computes a stage-shaped case (16 channels, 32x32, k = 2) exactly as the definition", () => {
    expect<f64>(forwardError<f64>(2, 16, 16, 32, 32, 1)).toBeLessThan(1e-14);
    expect<f64>(forwardError<f64>(1, 16, 32, 32, 32, 2)).toBeLessThan(1e-14);
  });
});

describe("conv3x3Transpose", () => {
  it("matches the naive adjoint, f64, stride 1 and 2", () => {
    expect<f64>(worstTranspose<f64>(1)).toBeLessThan(1e-14);
    expect<f64>(worstTranspose<f64>(2)).toBeLessThan(1e-14);
  });
  it("matches the naive adjoint, f32, stride 1 and 2", () => {
    expect<f64>(worstTranspose<f32>(1)).toBeLessThan(1e-5);
    expect<f64>(worstTranspose<f32>(2)).toBeLessThan(1e-5);
  });
  it("satisfies <W v, u> = <v, W^T u>", () => {
    expect<f64>(worstAdjoint<f64>(1)).toBeLessThan(1e-13);
    expect<f64>(worstAdjoint<f64>(2)).toBeLessThan(1e-13);
    expect<f64>(worstAdjoint<f32>(1)).toBeLessThan(1e-5);
    expect<f64>(worstAdjoint<f32>(2)).toBeLessThan(1e-5);
  });
});
