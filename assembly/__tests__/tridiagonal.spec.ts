import { allocate, release } from "../memory";
import { sterfF64, sterfF32, sortF64 } from "../tridiagonal";
import { seedRandom, rand } from "./support/random";

seedRandom(77);
function alloc64(count: i32): usize {
  const bytes = <usize>max(count, 1) << 3;
  const p = allocate(bytes);
  memory.fill(p, 0, bytes);
  return p;
}
@inline function get(p: usize, i: i32): f64 { return load<f64>(p + (<usize>i << 3)); }
@inline function put(p: usize, i: i32, v: f64): void { store<f64>(p + (<usize>i << 3), v); }

/** Reference eigenvalues (ascending) by cyclic two-sided Jacobi on the dense matrix. */
function jacobiEigenvalues(n: i32, d: usize, e: usize): usize {
  const a = alloc64(n * n);
  for (let i = 0; i < n; i++) {
    put(a, i * n + i, get(d, i));
    if (i < n - 1) { put(a, i * n + i + 1, get(e, i)); put(a, (i + 1) * n + i, get(e, i)); }
  }
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0.0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += get(a, p * n + q) * get(a, p * n + q);
    if (off < 1e-300) break;
    for (let p = 0; p < n - 1; p++) for (let q = p + 1; q < n; q++) {
      const apq = get(a, p * n + q);
      if (apq == 0) continue;
      const theta = (get(a, q * n + q) - get(a, p * n + p)) / (2 * apq);
      const t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), s = t * c;
      for (let k = 0; k < n; k++) {
        const akp = get(a, k * n + p), akq = get(a, k * n + q);
        put(a, k * n + p, c * akp - s * akq);
        put(a, k * n + q, s * akp + c * akq);
      }
      for (let k = 0; k < n; k++) {
        const apk = get(a, p * n + k), aqk = get(a, q * n + k);
        put(a, p * n + k, c * apk - s * aqk);
        put(a, q * n + k, s * apk + c * aqk);
      }
    }
  }
  const w = alloc64(n);
  for (let i = 0; i < n; i++) put(w, i, get(a, i * n + i));
  sortF64(n, w, 0);
  release(a);
  return w;
}

describe("sterf", () => {
  it("the second-difference matrix has eigenvalues 2 - 2cos(k pi/(n+1))", () => {
    const n = 100;
    const d = alloc64(n), e = alloc64(n);
    for (let i = 0; i < n; i++) { put(d, i, 2.0); put(e, i, -1.0); }
    expect<i32>(sterfF64(n, d, e, 0)).toBe(0);
    for (let k = 1; k <= n; k++) {
      const want = 2 - 2 * Math.cos(<f64>k * Math.PI / <f64>(n + 1));
      expect<f64>(abs(get(d, k - 1) - want)).toBeLessThan(1e-14 * <f64>n);
    }
    release(d); release(e);
  });
  it("random tridiagonals match Jacobi, ascending and descending, at any scale", () => {
    const sizes: i32[] = [1, 2, 3, 17, 60];
    const scales: f64[] = [1.0, 1e250, 1e-250];
    for (let t = 0; t < sizes.length; t++) for (let sc = 0; sc < scales.length; sc++) {
      const n = sizes[t];
      const d = alloc64(n), e = alloc64(n);
      for (let i = 0; i < n; i++) { put(d, i, rand()); put(e, i, rand()); }
      // Reference on the unscaled matrix (Jacobi squares entries), then scale everything.
      const ref = jacobiEigenvalues(n, d, e);
      for (let i = 0; i < n; i++) {
        put(d, i, get(d, i) * scales[sc]); put(e, i, get(e, i) * scales[sc]); put(ref, i, get(ref, i) * scales[sc]);
      }
      const dd = alloc64(n), ee = alloc64(n);
      memory.copy(dd, d, <usize>n << 3); memory.copy(ee, e, <usize>n << 3);
      expect<i32>(sterfF64(n, dd, ee, 0)).toBe(0);
      let norm = 0.0;
      for (let i = 0; i < n; i++) norm = max(norm, abs(get(ref, i)));
      for (let i = 0; i < n; i++) expect<f64>(abs(get(dd, i) - get(ref, i))).toBeLessThan(1e-14 * <f64>n * norm);
      memory.copy(dd, d, <usize>n << 3); memory.copy(ee, e, <usize>n << 3);
      sterfF64(n, dd, ee, 1);
      for (let i = 0; i < n; i++) expect<f64>(abs(get(dd, i) - get(ref, n - 1 - i))).toBeLessThan(1e-14 * <f64>n * norm);
      release(d); release(e); release(ref); release(dd); release(ee);
    }
  });
  it("splits at zero couplings and handles the f32 path", () => {
    const n = 12;
    const d = alloc64(n), e = alloc64(n);
    const df = allocate(4 * n), ef = allocate(4 * n);
    for (let i = 0; i < n; i++) {
      const a = <f32>rand(), b = i % 4 == 3 ? <f32>0 : <f32>rand();
      put(d, i, <f64>a); put(e, i, <f64>b);
      store<f32>(df + (<usize>i << 2), a); store<f32>(ef + (<usize>i << 2), b);
    }
    const ref = jacobiEigenvalues(n, d, e);
    expect<i32>(sterfF32(n, df, ef, 0)).toBe(0);
    for (let i = 0; i < n; i++) expect<f64>(abs(<f64>load<f32>(df + (<usize>i << 2)) - get(ref, i))).toBeLessThan(1e-5);
    release(d); release(e); release(df); release(ef); release(ref);
  });
});
