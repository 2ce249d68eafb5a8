import { allocate, release } from "../memory";
import {
  operatorApplyF32, operatorApplyF64, operatorApplyTransposeF32, operatorApplyTransposeF64, operatorChain,
  operatorColumns, operatorDestroy, operatorElementSize, operatorFromConvF32, operatorFromConvF64,
  operatorFromDenseF32, operatorFromDenseF64, operatorFromHeadF32, operatorFromHeadF64, operatorFromUnitF32,
  operatorRows, operatorUnitHandle,
} from "../operator";
import { unitOperatorApplyF32, unitOperatorApplyTransposeF32, unitOperatorCreateF32, unitOperatorDestroy } from "../unit";
import { seedRandom, rand } from "./support/random";

seedRandom(12345);
/** Uniform in [-1/2, 1/2): half of rand(), exactly (a power-of-two scale). */
function random(): f64 {
  return 0.5 * rand();
}
function randomArray(count: i32): usize {
  const p = allocate(<usize>count << 3);
  for (let i = 0; i < count; i++) store<f64>(p + (<usize>i << 3), random());
  return p;
}
function at(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}

describe("operator", () => {
  it("applies a dense matrix and its transpose like naive loops, and chains products right to left", () => {
    const m = 7, n = 5, p = 3, k = 3;
    const a = randomArray(m * n); // m x n
    const b = randomArray(p * m); // p x m
    const x = randomArray(k * n);
    const ya = allocate(<usize>(k * m) << 3);
    const opA = operatorFromDenseF64(a, m, n);
    const opB = operatorFromDenseF64(b, p, m);
    expect<i32>(operatorRows(opA)).toBe(m);
    expect<i32>(operatorColumns(opA)).toBe(n);
    operatorApplyF64(opA, x, k, ya);
    for (let v = 0; v < k; v++) for (let i = 0; i < m; i++) {
      let s = 0.0;
      for (let j = 0; j < n; j++) s += at(a, i * n + j) * at(x, v * n + j);
      expect<f64>(Math.abs(at(ya, v * m + i) - s)).toBeLessThan(1e-15);
    }
    const xt = allocate(<usize>(k * n) << 3);
    operatorApplyTransposeF64(opA, ya, k, xt);
    for (let v = 0; v < k; v++) for (let j = 0; j < n; j++) {
      let s = 0.0;
      for (let i = 0; i < m; i++) s += at(a, i * n + j) * at(ya, v * m + i);
      expect<f64>(Math.abs(at(xt, v * n + j) - s)).toBeLessThan(1e-14);
    }
    const handles = allocate(2 * sizeof<usize>());
    store<usize>(handles, opA);
    store<usize>(handles + sizeof<usize>(), opB);
    const chain = operatorChain(handles, 2);
    expect<i32>(operatorRows(chain)).toBe(p);
    expect<i32>(operatorColumns(chain)).toBe(n);
    const yc = allocate(<usize>(k * p) << 3);
    operatorApplyF64(chain, x, k, yc);
    for (let v = 0; v < k; v++) for (let r = 0; r < p; r++) {
      let s = 0.0;
      for (let i = 0; i < m; i++) s += at(b, r * m + i) * at(ya, v * m + i);
      expect<f64>(Math.abs(at(yc, v * p + r) - s)).toBeLessThan(1e-14);
    }
    store<usize>(handles, opB);
    store<usize>(handles + sizeof<usize>(), opA);
    expect<usize>(operatorChain(handles, 2)).toBe(0, "mismatched shapes are refused");
    operatorDestroy(chain);
    operatorDestroy(opA);
    operatorDestroy(opB);
    release(a); release(b); release(x); release(ya); release(xt); release(yc); release(handles);
  });
});

// ---------------------------------------------------------------------------------------------------
// The CONV, HEAD and f32 kinds against plain loops.

function allocF32(count: i32): usize {
  const p = allocate(<usize>max(count, 1) << 2);
  for (let i = 0; i < count; i++) store<f32>(p + (<usize>i << 2), <f32>random());
  return p;
}
function at32(p: usize, i: i32): f64 {
  return <f64>load<f32>(p + (<usize>i << 2));
}
function randomMask(count: i32): usize {
  const p = allocate(<usize>max(count, 16));
  for (let i = 0; i < count; i++) store<u8>(p + <usize>i, random() > 0 ? 1 : 0);
  return p;
}

/** y = diag(mask) W x by the definition (padding 1), one vector; W OIHW f64 or f32 (isF32). */
function naiveMaskedConv(
  x: usize, isF32: bool, cIn: i32, h: i32, w: i32, wt: usize, cOut: i32, s: i32, mask: usize, out: usize,
): void {
  const ho = (h - 1) / s + 1, wo = (w - 1) / s + 1;
  for (let o = 0; o < cOut; o++) for (let oy = 0; oy < ho; oy++) for (let ox = 0; ox < wo; ox++) {
    let sum = 0.0;
    for (let i = 0; i < cIn; i++) for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) {
      const iy = s * oy + dy - 1, ix = s * ox + dx - 1;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      const wi = ((o * cIn + i) * 3 + dy) * 3 + dx, xi = (i * h + iy) * w + ix;
      sum += isF32 ? at32(wt, wi) * at32(x, xi) : at(wt, wi) * at(x, xi);
    }
    const j = (o * ho + oy) * wo + ox;
    store<f64>(out + (<usize>j << 3), load<u8>(mask + <usize>j) != 0 ? sum : 0.0);
  }
}

/** x = W^T diag(mask) y by the definition (scatter), one vector, in f64. */
function naiveMaskedConvTranspose(
  y: usize, isF32: bool, cIn: i32, h: i32, w: i32, wt: usize, cOut: i32, s: i32, mask: usize, out: usize,
): void {
  const ho = (h - 1) / s + 1, wo = (w - 1) / s + 1;
  memory.fill(out, 0, <usize>(cIn * h * w) << 3);
  for (let o = 0; o < cOut; o++) for (let oy = 0; oy < ho; oy++) for (let ox = 0; ox < wo; ox++) {
    const j = (o * ho + oy) * wo + ox;
    if (load<u8>(mask + <usize>j) == 0) continue;
    const g = isF32 ? at32(y, j) : at(y, j);
    for (let i = 0; i < cIn; i++) for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) {
      const iy = s * oy + dy - 1, ix = s * ox + dx - 1;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      const wi = ((o * cIn + i) * 3 + dy) * 3 + dx, xi = (i * h + iy) * w + ix;
      const p = out + (<usize>xi << 3);
      store<f64>(p, load<f64>(p) + (isF32 ? at32(wt, wi) : at(wt, wi)) * g);
    }
  }
}

function either(q: usize, i: i32, isF32: bool): f64 {
  return isF32 ? at32(q, i) : at(q, i);
}

describe("operator kinds", () => {
  it("CONV is diag(mask) W and its adjoint, f64 and f32, stride 1 and 2; weights and mask are copied", () => {
    const shapes: i32[][] = [[3, 8, 8, 5, 1], [4, 8, 6, 6, 2], [2, 7, 7, 4, 2]];
    for (let t = 0; t < shapes.length; t++) {
      const cIn = shapes[t][0], h = shapes[t][1], w = shapes[t][2], cOut = shapes[t][3], s = shapes[t][4];
      for (let p = 0; p < 2; p++) {
        const isF32 = p == 1;
        const ho = (h - 1) / s + 1, wo = (w - 1) / s + 1;
        const n = cIn * h * w, m = cOut * ho * wo, k = 3;
        const size = isF32 ? 4 : 8;
        const wt = isF32 ? allocF32(cOut * cIn * 9) : randomArray(cOut * cIn * 9);
        const wKeep = allocate(<usize>(cOut * cIn * 9 * size));
        memory.copy(wKeep, wt, <usize>(cOut * cIn * 9 * size));
        const mask = randomMask(m);
        const maskKeep = allocate(<usize>max(m, 16));
        memory.copy(maskKeep, mask, <usize>m);
        const op = isF32 ? operatorFromConvF32(cIn, h, w, wt, cOut, s, mask) : operatorFromConvF64(cIn, h, w, wt, cOut, s, mask);
        memory.fill(wt, 0, <usize>(cOut * cIn * 9 * size));
        memory.fill(mask, 0, <usize>m);
        expect<i32>(operatorRows(op)).toBe(m);
        expect<i32>(operatorColumns(op)).toBe(n);
        expect<i32>(operatorElementSize(op)).toBe(size);
        const x = isF32 ? allocF32(k * n) : randomArray(k * n);
        const u = isF32 ? allocF32(k * m) : randomArray(k * m);
        const y = allocate(<usize>(k * m * size));
        const g = allocate(<usize>(k * n * size));
        if (isF32) {
          operatorApplyF32(op, x, k, y);
          operatorApplyTransposeF32(op, u, k, g);
        } else {
          operatorApplyF64(op, x, k, y);
          operatorApplyTransposeF64(op, u, k, g);
        }
        const ref = allocate(<usize>max(m, n) << 3);
        const tol = isF32 ? 1e-5 : 1e-14;
        for (let v = 0; v < k; v++) {
          naiveMaskedConv(x + <usize>(v * n * size), isF32, cIn, h, w, wKeep, cOut, s, maskKeep, ref);
          for (let i = 0; i < m; i++) {
            const got = isF32 ? at32(y, v * m + i) : at(y, v * m + i);
            expect<f64>(Math.abs(got - at(ref, i))).toBeLessThan(tol);
            if (load<u8>(maskKeep + <usize>i) == 0) expect<f64>(got).toBe(0.0);
          }
          naiveMaskedConvTranspose(u + <usize>(v * m * size), isF32, cIn, h, w, wKeep, cOut, s, maskKeep, ref);
          for (let j = 0; j < n; j++) {
            const got = isF32 ? at32(g, v * n + j) : at(g, v * n + j);
            expect<f64>(Math.abs(got - at(ref, j))).toBeLessThan(tol);
          }
        }
        operatorDestroy(op);
        release(ref); release(wt); release(wKeep); release(mask); release(maskKeep);
        release(x); release(u); release(y); release(g);
      }
    }
    expect<usize>(operatorFromConvF64(2, 4, 4, 0, 2, 3, 0)).toBe(0, "stride 3 is refused");
  });

  it("HEAD is the plane mean followed by a linear map, and its adjoint", () => {
    const channels = 4, plane = 16, outputs = 3, k = 2;
    const n = channels * plane;
    for (let p = 0; p < 2; p++) {
      const isF32 = p == 1;
      const size = isF32 ? 4 : 8;
      const a = isF32 ? allocF32(outputs * channels) : randomArray(outputs * channels);
      const op = isF32 ? operatorFromHeadF32(channels, plane, a, outputs) : operatorFromHeadF64(channels, plane, a, outputs);
      expect<i32>(operatorRows(op)).toBe(outputs);
      expect<i32>(operatorColumns(op)).toBe(n);
      const x = isF32 ? allocF32(k * n) : randomArray(k * n);
      const u = isF32 ? allocF32(k * outputs) : randomArray(k * outputs);
      const y = allocate(<usize>(k * outputs * size));
      const g = allocate(<usize>(k * n * size));
      if (isF32) {
        operatorApplyF32(op, x, k, y);
        operatorApplyTransposeF32(op, u, k, g);
      } else {
        operatorApplyF64(op, x, k, y);
        operatorApplyTransposeF64(op, u, k, g);
      }
      const tol = isF32 ? 1e-6 : 1e-15;
      for (let v = 0; v < k; v++) {
        for (let o = 0; o < outputs; o++) {
          let s = 0.0;
          for (let c = 0; c < channels; c++) {
            let mean = 0.0;
            for (let i = 0; i < plane; i++) mean += either(x, v * n + c * plane + i, isF32);
            s += either(a, o * channels + c, isF32) * mean / <f64>plane;
          }
          expect<f64>(Math.abs(either(y, v * outputs + o, isF32) - s)).toBeLessThan(tol);
        }
        for (let c = 0; c < channels; c++) {
          let s = 0.0;
          for (let o = 0; o < outputs; o++) s += either(a, o * channels + c, isF32) * either(u, v * outputs + o, isF32);
          for (let i = 0; i < plane; i++) {
            expect<f64>(Math.abs(either(g, v * n + c * plane + i, isF32) - s / <f64>plane)).toBeLessThan(tol);
          }
        }
      }
      operatorDestroy(op);
      release(a); release(x); release(u); release(y); release(g);
    }
  });

  it("f32 dense operators and chains work; chains of mixed precision are refused", () => {
    const m = 6, n = 9, k = 2;
    const a = allocF32(m * n);
    const b = randomArray(m * m);
    const opA = operatorFromDenseF32(a, m, n);
    const opB = operatorFromDenseF64(b, m, m);
    expect<i32>(operatorElementSize(opA)).toBe(4);
    expect<i32>(operatorElementSize(opB)).toBe(8);
    expect<usize>(operatorUnitHandle(opA)).toBe(0, "a DENSE operator has no unit");
    const x = allocF32(k * n);
    const y = allocate(<usize>(k * m) << 2);
    operatorApplyF32(opA, x, k, y);
    for (let v = 0; v < k; v++) for (let i = 0; i < m; i++) {
      let s = 0.0;
      for (let j = 0; j < n; j++) s += at32(a, i * n + j) * at32(x, v * n + j);
      expect<f64>(Math.abs(at32(y, v * m + i) - s)).toBeLessThan(1e-5);
    }
    const xt = allocate(<usize>(k * n) << 2);
    operatorApplyTransposeF32(opA, y, k, xt);
    for (let v = 0; v < k; v++) for (let j = 0; j < n; j++) {
      let s = 0.0;
      for (let i = 0; i < m; i++) s += at32(a, i * n + j) * at32(y, v * m + i);
      expect<f64>(Math.abs(at32(xt, v * n + j) - s)).toBeLessThan(1e-5);
    }
    const handles = allocate(2 * sizeof<usize>());
    store<usize>(handles, opA);
    store<usize>(handles + sizeof<usize>(), opB);
    expect<usize>(operatorChain(handles, 2)).toBe(0, "mixed precisions are refused");
    store<usize>(handles + sizeof<usize>(), opA);
    const single = operatorChain(handles, 1);
    expect<i32>(operatorElementSize(single)).toBe(4);
    operatorDestroy(single);
    operatorDestroy(opA);
    operatorDestroy(opB);
    release(a); release(b); release(x); release(y); release(xt); release(handles);
  });

  it("an f32 UNIT operator applies exactly what the unit handle applies", () => {
    const cIn = 4, h = 6, w = 6, cOut = 8, stride = 2, k = 3;
    const ho = 3, wo = 3;
    const n = cIn * h * w, m = cOut * ho * wo;
    const w1 = allocF32(cOut * cIn * 9), w2 = allocF32(cOut * cOut * 9);
    const s1 = allocF32(cOut), s2 = allocF32(cOut);
    const mid = randomMask(m), out = randomMask(m);
    const unit = unitOperatorCreateF32(cIn, h, w, cOut, stride, 0.75, w1, s1, w2, s2, mid, out);
    const op = operatorFromUnitF32(unit);
    expect<i32>(operatorRows(op)).toBe(m);
    expect<i32>(operatorColumns(op)).toBe(n);
    expect<i32>(operatorElementSize(op)).toBe(4);
    expect<usize>(operatorUnitHandle(op)).toBe(unit);
    const x = allocF32(k * n), u = allocF32(k * m);
    const y1 = allocate(<usize>(k * m) << 2), y2 = allocate(<usize>(k * m) << 2);
    const g1 = allocate(<usize>(k * n) << 2), g2 = allocate(<usize>(k * n) << 2);
    operatorApplyF32(op, x, k, y1);
    unitOperatorApplyF32(unit, x, k, y2);
    operatorApplyTransposeF32(op, u, k, g1);
    unitOperatorApplyTransposeF32(unit, u, k, g2);
    for (let i = 0; i < k * m; i++) expect<f64>(at32(y1, i)).toBe(at32(y2, i));
    for (let i = 0; i < k * n; i++) expect<f64>(at32(g1, i)).toBe(at32(g2, i));
    operatorDestroy(op);
    unitOperatorDestroy(unit);
    release(w1); release(w2); release(s1); release(s2); release(mid); release(out);
    release(x); release(u); release(y1); release(y2); release(g1); release(g2);
  });
});
