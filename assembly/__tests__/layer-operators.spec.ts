import { allocate, release } from "../memory";
import { optionAAdjointF32, optionAAdjointF64, optionAShortcutF32, optionAShortcutF64 } from "../layer-operators";
import {
  operatorApplyF32, operatorApplyF64, operatorApplyTransposeF32, operatorApplyTransposeF64, operatorColumns,
  operatorDestroy, operatorFromChannelScaleF64, operatorFromConv2dF32, operatorFromConv2dF64, operatorFromMask,
  operatorFromMaxPool, operatorFromOptionA, operatorRows, operatorSum,
} from "../operator";
import { maxPool2dForwardF64 } from "../pool";
import { seedRandom, rand } from "./support/random";

seedRandom(1111);

function randomBlock<T>(count: i32): usize {
  const p = allocate(<usize>max(count, 1) * sizeof<T>());
  for (let i = 0; i < count; i++) store<T>(p + <usize>i * sizeof<T>(), <T>rand());
  return p;
}
@inline function at<T>(p: usize, i: i32): f64 {
  return <f64>load<T>(p + <usize>i * sizeof<T>());
}
function dot<T>(a: usize, b: usize, n: i32): f64 {
  let s = 0.0;
  for (let i = 0; i < n; i++) s += at<T>(a, i) * at<T>(b, i);
  return s;
}
function norm1<T>(a: usize, n: i32): f64 {
  let s = 0.0;
  for (let i = 0; i < n; i++) s += Math.abs(at<T>(a, i));
  return s;
}

/**
 * |<A x, y> - <x, A^T y>| relative to |A x|_1 |y|_inf-ish scale, for an operator handle and k = 2
 * vectors (checks the block layout too).
 */
function adjointGap<T>(op: usize): f64 {
  const m = operatorRows(op), n = operatorColumns(op), k = 2;
  const x = randomBlock<T>(k * n), y = randomBlock<T>(k * m);
  const ax = allocate(<usize>(k * m) * sizeof<T>()), aty = allocate(<usize>(k * n) * sizeof<T>());
  if (sizeof<T>() == 8) {
    operatorApplyF64(op, x, k, ax);
    operatorApplyTransposeF64(op, y, k, aty);
  } else {
    operatorApplyF32(op, x, k, ax);
    operatorApplyTransposeF32(op, y, k, aty);
  }
  const gap = Math.abs(dot<T>(ax, y, k * m) - dot<T>(x, aty, k * n)) / max(1.0, norm1<T>(ax, k * m) + norm1<T>(aty, k * n));
  release(x);
  release(y);
  release(ax);
  release(aty);
  return gap;
}

function optionAMismatches<T>(k: i32, cIn: i32, h: i32, w: i32, cOut: i32, s: i32): i32 {
  const ho = (h + s - 1) / s, wo = (w + s - 1) / s, lo = (cOut - cIn) / 2;
  const n = cIn * h * w, m = cOut * ho * wo;
  const x = randomBlock<T>(k * n), y = allocate(<usize>(k * m) * sizeof<T>());
  if (sizeof<T>() == 8) optionAShortcutF64(x, k, cIn, h, w, cOut, s, y);
  else optionAShortcutF32(x, k, cIn, h, w, cOut, s, y);
  let bad = 0;
  for (let b = 0; b < k; b++) for (let o = 0; o < cOut; o++) for (let r = 0; r < ho; r++) for (let c = 0; c < wo; c++) {
    const want = o < lo || o >= lo + cIn ? 0.0 : at<T>(x, b * n + ((o - lo) * h + s * r) * w + s * c);
    if (at<T>(y, b * m + (o * ho + r) * wo + c) != want) bad++;
  }
  // The adjoint: <S x, g> = <x, S^T g> exactly (copies and zeros only).
  const g = randomBlock<T>(k * m), back = allocate(<usize>(k * n) * sizeof<T>());
  if (sizeof<T>() == 8) optionAAdjointF64(g, k, cIn, h, w, cOut, s, back);
  else optionAAdjointF32(g, k, cIn, h, w, cOut, s, back);
  if (Math.abs(dot<T>(y, g, k * m) - dot<T>(x, back, k * n)) > 1e-12 * (1.0 + norm1<T>(g, k * m))) bad++;
  release(x);
  release(y);
  release(g);
  release(back);
  return bad;
}

describe("option-A shortcut", () => {
  it("subsamples and zero-pads channels like the naive definition, in both precisions, with an exact adjoint", () => {
    expect<i32>(optionAMismatches<f64>(2, 4, 8, 8, 8, 2)).toBe(0);
    expect<i32>(optionAMismatches<f64>(1, 3, 7, 5, 7, 2)).toBe(0); // odd sizes: ceil(H/2)
    expect<i32>(optionAMismatches<f64>(3, 4, 6, 6, 4, 1)).toBe(0); // the identity
    expect<i32>(optionAMismatches<f32>(2, 2, 9, 9, 6, 3)).toBe(0);
  });
});

describe("layer operators", () => {
  it("conv2d operators apply conv2d and its adjoint (1x1/2, 3x3/1, 7x7/2), f64 and f32", () => {
    const shapes: i32[][] = [[3, 9, 9, 4, 1, 2, 0], [2, 8, 8, 3, 3, 1, 1], [3, 16, 16, 2, 7, 2, 3]];
    for (let i = 0; i < shapes.length; i++) {
      const q = shapes[i];
      const wt64 = randomBlock<f64>(q[3] * q[0] * q[4] * q[4]);
      const op = operatorFromConv2dF64(q[0], q[1], q[2], wt64, q[3], q[4], q[5], q[6]);
      expect<bool>(op != 0).toBe(true);
      expect<f64>(adjointGap<f64>(op)).toBeLessThan(1e-14);
      operatorDestroy(op);
      release(wt64);
      const wt32 = randomBlock<f32>(q[3] * q[0] * q[4] * q[4]);
      const op32 = operatorFromConv2dF32(q[0], q[1], q[2], wt32, q[3], q[4], q[5], q[6]);
      expect<f64>(adjointGap<f32>(op32)).toBeLessThan(1e-5);
      operatorDestroy(op32);
      release(wt32);
    }
    expect<usize>(operatorFromConv2dF64(1, 2, 2, 0, 1, 7, 1, 0)).toBe(0); // window larger than the input
  });

  it("scale, mask, max-pool and option-A operators are exact adjoint pairs and act as defined", () => {
    const c = 3, h = 6, w = 6, n = c * h * w;
    const scale = randomBlock<f64>(c);
    const sc = operatorFromChannelScaleF64(c, h, w, scale);
    const x = randomBlock<f64>(n), y = allocate(<usize>n << 3);
    operatorApplyF64(sc, x, 1, y);
    let bad = 0;
    for (let i = 0; i < n; i++) if (at<f64>(y, i) != at<f64>(scale, i / (h * w)) * at<f64>(x, i)) bad++;
    expect<i32>(bad).toBe(0);
    expect<f64>(adjointGap<f64>(sc)).toBeLessThan(1e-15);

    const mask = allocate(<usize>n);
    for (let i = 0; i < n; i++) store<u8>(mask + <usize>i, <u8>(rand() > 0 ? 1 : 0));
    const mk = operatorFromMask(c, h, w, mask, 8);
    operatorApplyF64(mk, x, 1, y);
    bad = 0;
    for (let i = 0; i < n; i++) if (at<f64>(y, i) != (load<u8>(mask + <usize>i) ? at<f64>(x, i) : 0.0)) bad++;
    expect<i32>(bad).toBe(0);
    expect<f64>(adjointGap<f64>(mk)).toBeLessThan(1e-15);

    // Max-pool 3x3/2 pad 1 (the torchvision stem's) at a point: gather of the argmax.
    const point = randomBlock<f64>(n), pooled = allocate(<usize>(c * 9) << 3), index = allocate(<usize>(c * 9) << 2);
    maxPool2dForwardF64(point, 1, c, h, w, 3, 2, 1, pooled, index);
    const mp = operatorFromMaxPool(c, h, w, 3, 2, 1, index, 8);
    expect<i32>(operatorRows(mp)).toBe(c * 9);
    // At the point itself the gather reproduces the pooled values.
    const g = allocate(<usize>(c * 9) << 3);
    operatorApplyF64(mp, point, 1, g);
    bad = 0;
    for (let i = 0; i < c * 9; i++) if (at<f64>(g, i) != at<f64>(pooled, i)) bad++;
    expect<i32>(bad).toBe(0);
    expect<f64>(adjointGap<f64>(mp)).toBeLessThan(1e-15);

    const oa = operatorFromOptionA(c - 1, h, w, c + 1, 2, 8);
    expect<i32>(operatorRows(oa)).toBe((c + 1) * 9);
    expect<f64>(adjointGap<f64>(oa)).toBeLessThan(1e-15);
    expect<usize>(operatorFromOptionA(3, 4, 4, 4, 2, 8)).toBe(0); // odd channel padding
    operatorDestroy(oa);
    operatorDestroy(mp);
    operatorDestroy(mk);
    operatorDestroy(sc);
    release(g);
    release(index);
    release(pooled);
    release(point);
    release(mask);
    release(y);
    release(x);
    release(scale);
  });

  it("sums alpha A + beta B with the identity as handle 0, and refuses shapes that differ", () => {
    const c = 2, h = 4, w = 4, n = c * h * w;
    const scale = randomBlock<f64>(c);
    const sc = operatorFromChannelScaleF64(c, h, w, scale);
    const sum = operatorSum(0, 0.5, sc, -2.0);
    const x = randomBlock<f64>(n), y = allocate(<usize>n << 3);
    operatorApplyF64(sum, x, 1, y);
    let worst = 0.0;
    for (let i = 0; i < n; i++) {
      worst = max(worst, Math.abs(at<f64>(y, i) - (0.5 * at<f64>(x, i) - 2.0 * at<f64>(scale, i / (h * w)) * at<f64>(x, i))));
    }
    expect<f64>(worst).toBeLessThan(1e-15);
    expect<f64>(adjointGap<f64>(sum)).toBeLessThan(1e-15);
    const oa = operatorFromOptionA(c, h, w, c + 2, 2, 8);
    expect<usize>(operatorSum(oa, 1.0, sc, 1.0)).toBe(0);
    expect<usize>(operatorSum(0, 1.0, oa, 1.0)).toBe(0); // identity + non-square
    operatorDestroy(oa);
    operatorDestroy(sum);
    operatorDestroy(sc);
    release(y);
    release(x);
    release(scale);
  });
});
