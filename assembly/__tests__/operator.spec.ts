import { allocate, release } from "../memory";
import {
  operatorApplyF64, operatorApplyTransposeF64, operatorChain, operatorColumns, operatorDestroy,
  operatorFromDenseF64, operatorRows,
} from "../operator";

let seed: u32 = 12345;
function random(): f64 {
  seed = seed * 1664525 + 1013904223;
  return <f64>(seed >>> 8) / <f64>(1 << 24) - 0.5;
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
