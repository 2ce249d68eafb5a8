import { allocate, release } from "../memory";
import {
  larfgF64, larfF64, geqrfF64, geqrfF32, gebrdF64, gebrdF32, orgbrQtF64, orgbrPF64, orgbrQtF32, orgbrPF32, sytrdF64, sytrdF32,
  orgtrQtF64, orgtrQtF32,
} from "../householder";
import { seedRandom, rand } from "./support/random";

seedRandom(987654321);
function alloc64(count: i32): usize {
  const p = allocate(<usize>max(count, 1) << 3);
  memory.fill(p, 0, <usize>max(count, 1) << 3);
  return p;
}
function random64(count: i32): usize {
  const p = alloc64(count);
  for (let i = 0; i < count; i++) store<f64>(p + (<usize>i << 3), rand());
  return p;
}
@inline function get(p: usize, i: i32): f64 { return load<f64>(p + (<usize>i << 3)); }
@inline function put(p: usize, i: i32, v: f64): void { store<f64>(p + (<usize>i << 3), v); }
@inline function get32(p: usize, i: i32): f64 { return <f64>load<f32>(p + (<usize>i << 2)); }

/** max |W W^T - I| for W (rows x cols) row-major. */
function orthonormalRowsError(w: usize, rows: i32, cols: i32): f64 {
  let err = 0.0;
  for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) {
    let s = 0.0;
    for (let p = 0; p < cols; p++) s += get(w, i * cols + p) * get(w, j * cols + p);
    err = max(err, abs(s - (i == j ? 1.0 : 0.0)));
  }
  return err;
}

function frob(p: usize, count: i32): f64 {
  let s = 0.0;
  for (let i = 0; i < count; i++) s += get(p, i) * get(p, i);
  return Math.sqrt(s);
}

describe("reflectors", () => {
  it("larfg maps [alpha; x] to [beta; 0] with an orthogonal H", () => {
    const scales: f64[] = [1.0, 1e-300, 1e300];
    for (let s = 0; s < scales.length; s++) {
      const n = 9;
      const x = alloc64(n);
      for (let i = 0; i < n; i++) put(x, i, rand() * scales[s]);
      const orig = alloc64(n);
      memory.copy(orig, x, <usize>n << 3);
      const tau = larfgF64(n, x, x + 8, 1);
      const beta = get(x, 0);
      let norm = 0.0;
      for (let i = 0; i < n; i++) norm += (get(orig, i) / scales[s]) * (get(orig, i) / scales[s]);
      expect<f64>(abs(abs(beta / scales[s]) - Math.sqrt(norm))).toBeLessThan(1e-14);
      expect<bool>(tau >= 1.0 && tau <= 2.0).toBe(true);
      // H*orig with v = [1; x[1:]]: orig - tau*v*(v^T orig)
      let vt = get(orig, 0);
      for (let i = 1; i < n; i++) vt += get(x, i) * get(orig, i);
      for (let i = 0; i < n; i++) {
        const vi = i == 0 ? 1.0 : get(x, i);
        const hx = get(orig, i) - tau * vi * vt;
        const want = i == 0 ? beta : 0.0;
        expect<f64>(abs(hx - want) / scales[s]).toBeLessThan(1e-14);
      }
      release(x); release(orig);
    }
    const z = alloc64(3);
    put(z, 0, 2.0);
    expect<f64>(larfgF64(3, z, z + 8, 1)).toBe(0.0);
    release(z);
  });
  it("larf applies H from the left and from the right", () => {
    const m = 6, n = 5;
    const c = random64(m * n), c0 = alloc64(m * n), v = random64(max(m, n));
    put(v, 0, 1.0);
    const tau = 1.3;
    for (let side = 0; side < 2; side++) {
      memory.copy(c0, c, <usize>(m * n) << 3);
      larfF64(side, m, n, v, 1, tau, c, n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let s = 0.0;
        if (side == 1) { for (let p = 0; p < m; p++) s += get(v, p) * get(c0, p * n + j); s = get(c0, i * n + j) - tau * get(v, i) * s; }
        else { for (let p = 0; p < n; p++) s += get(c0, i * n + p) * get(v, p); s = get(c0, i * n + j) - tau * s * get(v, j); }
        expect<f64>(abs(get(c, i * n + j) - s)).toBeLessThan(1e-14);
      }
    }
    release(c); release(c0); release(v);
  });
});

/**
 * Bidiagonalize an m x n matrix (kind 0: random; 1: diagonal; 2: already upper bidiagonal, where
 * every reflector is trivial, tau = 0); check Q^T Q = I, P^T P = I and A = Q B P^T.
 */
function checkGebrd(m: i32, n: i32, nq: i32, kind: i32 = 0): void {
  const a = kind == 0 ? random64(m * n) : alloc64(m * n), a0 = alloc64(m * n);
  if (kind != 0) {
    for (let i = 0; i < n; i++) {
      put(a, i * n + i, rand());
      if (kind == 2 && i + 1 < n) put(a, i * n + i + 1, rand());
    }
  }
  memory.copy(a0, a, <usize>(m * n) << 3);
  const d = alloc64(n), e = alloc64(n), tq = alloc64(n), tp = alloc64(n);
  gebrdF64(m, n, a, n, d, e, tq, tp);
  const qt = alloc64(nq * m), pt = alloc64(n * n);
  orgbrQtF64(m, n, nq, a, n, tq, qt, m);
  orgbrPF64(n, a, n, tp, pt, n);
  expect<f64>(orthonormalRowsError(qt, nq, m)).toBeLessThan(1e-14 * <f64>m);
  expect<f64>(orthonormalRowsError(pt, n, n)).toBeLessThan(1e-14 * <f64>n);
  // R = A - Q[:, 0:n] B P^T; (Q B)[i, j] = Q[i, j] d[j] + Q[i, j-1] e[j-1].
  let res = 0.0;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0.0;
    for (let p = 0; p < n; p++) {
      let qb = get(qt, p * m + i) * get(d, p);
      if (p > 0) qb += get(qt, (p - 1) * m + i) * get(e, p - 1);
      s += qb * get(pt, p * n + j);
    }
    const r = get(a0, i * n + j) - s;
    res += r * r;
  }
  expect<f64>(Math.sqrt(res) / frob(a0, m * n)).toBeLessThan(1e-14 * <f64>max(m, n));
  release(a); release(a0); release(d); release(e); release(tq); release(tp); release(qt); release(pt);
}

describe("gebrd", () => {
  it("A = Q B P^T with orthogonal factors for square, tall, panel-crossing shapes", () => {
    checkGebrd(1, 1, 1);
    checkGebrd(5, 1, 5);
    checkGebrd(2, 2, 2);
    checkGebrd(7, 4, 7);
    checkGebrd(33, 33, 33);
    checkGebrd(90, 70, 76);
    checkGebrd(130, 100, 100);
  });
  it("diagonal and bidiagonal inputs (all reflectors trivial) come through unchanged", () => {
    checkGebrd(40, 37, 40, 1);
    checkGebrd(70, 70, 70, 2);
  });
  it("f32 reduction reconstructs A to single precision", () => {
    const m = 75, n = 67;
    const a = allocate(<usize>(m * n) << 2), a0 = allocate(<usize>(m * n) << 2);
    for (let i = 0; i < m * n; i++) store<f32>(a + (<usize>i << 2), <f32>rand());
    memory.copy(a0, a, <usize>(m * n) << 2);
    const d = allocate(4 * n), e = allocate(4 * n), tq = allocate(4 * n), tp = allocate(4 * n);
    gebrdF32(m, n, a, n, d, e, tq, tp);
    const qt = allocate(<usize>(n * m) << 2), pt = allocate(<usize>(n * n) << 2);
    orgbrQtF32(m, n, n, a, n, tq, qt, m);
    orgbrPF32(n, a, n, tp, pt, n);
    let res = 0.0, nrm = 0.0;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0.0;
      for (let p = 0; p < n; p++) {
        let qb = get32(qt, p * m + i) * get32(d, p);
        if (p > 0) qb += get32(qt, (p - 1) * m + i) * get32(e, p - 1);
        s += qb * get32(pt, p * n + j);
      }
      const r = get32(a0, i * n + j) - s;
      res += r * r;
      nrm += get32(a0, i * n + j) * get32(a0, i * n + j);
    }
    expect<f64>(Math.sqrt(res / nrm)).toBeLessThan(1e-5);
    release(a); release(a0); release(d); release(e); release(tq); release(tp); release(qt); release(pt);
  });
});

/** QR of a random m x n matrix: Q^T from orgbrQt orthonormal, R upper triangular, A = Q R. */
function checkGeqrf(m: i32, n: i32): void {
  const a = random64(m * n), a0 = alloc64(m * n), tau = alloc64(n), qt = alloc64(n * m);
  memory.copy(a0, a, <usize>(m * n) << 3);
  geqrfF64(m, n, a, n, tau);
  orgbrQtF64(m, n, n, a, n, tau, qt, m);
  expect<f64>(orthonormalRowsError(qt, n, m)).toBeLessThan(1e-14 * <f64>m);
  let res = 0.0;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0.0;
    for (let p = 0; p <= j; p++) s += get(qt, p * m + i) * get(a, p * n + j);
    const r = get(a0, i * n + j) - s;
    res += r * r;
  }
  expect<f64>(Math.sqrt(res) / frob(a0, m * n)).toBeLessThan(1e-14 * <f64>m);
  release(a); release(a0); release(tau); release(qt);
}

describe("geqrf", () => {
  it("A = Q R for shapes within and across panels", () => {
    checkGeqrf(1, 1);
    checkGeqrf(9, 1);
    checkGeqrf(10, 10);
    checkGeqrf(120, 33);
    checkGeqrf(150, 70);
  });
  it("f32 QR keeps the column norms (|R e_j| = |A e_j|)", () => {
    const m = 80, n = 45;
    const a = allocate(<usize>(m * n) << 2), tau = allocate(4 * n);
    const norms = alloc64(n);
    for (let i = 0; i < m * n; i++) store<f32>(a + (<usize>i << 2), <f32>rand());
    for (let j = 0; j < n; j++) {
      let s = 0.0;
      for (let i = 0; i < m; i++) s += get32(a, i * n + j) * get32(a, i * n + j);
      put(norms, j, Math.sqrt(s));
    }
    geqrfF32(m, n, a, n, tau);
    for (let j = 0; j < n; j++) {
      let s = 0.0;
      for (let i = 0; i <= j; i++) s += get32(a, i * n + j) * get32(a, i * n + j);
      expect<f64>(abs(Math.sqrt(s) - get(norms, j)) / get(norms, j)).toBeLessThan(1e-5);
    }
    release(a); release(tau); release(norms);
  });
});

function checkSytrd(n: i32): void {
  const a = alloc64(n * n), full = alloc64(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    const v = rand();
    put(full, i * n + j, v); put(full, j * n + i, v);
    put(a, i * n + j, v);
    if (j < i) put(a, j * n + i, 99.0); // the upper triangle must be ignored
  }
  const d = alloc64(n), e = alloc64(n), tau = alloc64(n);
  sytrdF64(n, a, n, d, e, tau);
  const qt = alloc64(n * n);
  orgtrQtF64(n, a, n, tau, qt, n);
  expect<f64>(orthonormalRowsError(qt, n, n)).toBeLessThan(1e-14 * <f64>n);
  // A = Q T Q^T, (Q T)[i, p] = Q[i, p] d[p] + Q[i, p-1] e[p-1] + Q[i, p+1] e[p].
  let res = 0.0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0.0;
    for (let p = 0; p < n; p++) {
      let qtp = get(qt, p * n + i) * get(d, p);
      if (p > 0) qtp += get(qt, (p - 1) * n + i) * get(e, p - 1);
      if (p < n - 1) qtp += get(qt, (p + 1) * n + i) * get(e, p);
      s += qtp * get(qt, p * n + j);
    }
    const r = get(full, i * n + j) - s;
    res += r * r;
  }
  expect<f64>(Math.sqrt(res) / frob(full, n * n)).toBeLessThan(1e-14 * <f64>n);
  let touched = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (get(a, i * n + j) != 99.0) touched++;
  expect<i32>(touched).toBe(0);
  release(a); release(full); release(d); release(e); release(tau); release(qt);
}

describe("sytrd", () => {
  it("A = Q T Q^T from the lower triangle, for sizes within and across panels", () => {
    checkSytrd(1);
    checkSytrd(2);
    checkSytrd(5);
    checkSytrd(32);
    checkSytrd(33);
    checkSytrd(97);
  });
  it("f32 reduction preserves the trace and the Frobenius norm", () => {
    const n = 70;
    const a = allocate(<usize>(n * n) << 2);
    let trace = 0.0, fro = 0.0;
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
      const v = <f32>rand();
      store<f32>(a + (<usize>(i * n + j) << 2), v);
      if (i == j) trace += <f64>v;
      fro += (i == j ? 1.0 : 2.0) * <f64>v * <f64>v;
    }
    const d = allocate(4 * n), e = allocate(4 * n), tau = allocate(4 * n);
    sytrdF32(n, a, n, d, e, tau);
    let t2 = 0.0, f2 = 0.0;
    for (let i = 0; i < n; i++) { t2 += get32(d, i); f2 += get32(d, i) * get32(d, i); }
    for (let i = 0; i < n - 1; i++) f2 += 2 * get32(e, i) * get32(e, i);
    expect<f64>(abs(t2 - trace)).toBeLessThan(1e-4);
    expect<f64>(abs(f2 - fro) / fro).toBeLessThan(1e-5);
    const qt = allocate(<usize>(n * n) << 2);
    orgtrQtF32(n, a, n, tau, qt, n);
    release(a); release(d); release(e); release(tau); release(qt);
  });
});
