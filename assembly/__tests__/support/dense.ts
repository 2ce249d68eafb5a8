// Dense helpers and naive references shared by the Krylov and inertia specs (gkl, slq, inertia):
// independent of the kernels under test.
import { allocate } from "../../memory";
import { rand } from "./random";

/** `count` f64 zeros in a fresh allocation (release it when done). */
export function alloc64(count: i32): usize {
  const bytes = <usize>max(count, 1) << 3;
  const p = allocate(bytes);
  memory.fill(p, 0, bytes);
  return p;
}
@inline export function get(p: usize, i: i32): f64 { return load<f64>(p + (<usize>i << 3)); }
@inline export function set(p: usize, i: i32, v: f64): void { store<f64>(p + (<usize>i << 3), v); }

/** Uniform in [-1/2, 1/2): half of rand(), exactly (a power-of-two scale). */
export function random(): f64 {
  return 0.5 * rand();
}

/** Eigenvalues of the symmetric n x n matrix s (full storage, destroyed) by cyclic two-sided Jacobi; ascending in out. */
export function jacobiEigenvalues(n: i32, s: usize, out: usize, vectors: usize): void {
  if (vectors) {
    memory.fill(vectors, 0, <usize>(n * n) << 3);
    for (let i = 0; i < n; i++) set(vectors, i * n + i, 1);
  }
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0.0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += get(s, p * n + q) * get(s, p * n + q);
    if (off < 1e-40) break;
    for (let p = 0; p < n - 1; p++) for (let q = p + 1; q < n; q++) {
      const apq = get(s, p * n + q);
      if (apq == 0) continue;
      const theta = (get(s, q * n + q) - get(s, p * n + p)) / (2 * apq);
      const t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), sn = t * c;
      for (let k = 0; k < n; k++) {
        const akp = get(s, k * n + p), akq = get(s, k * n + q);
        set(s, k * n + p, c * akp - sn * akq);
        set(s, k * n + q, sn * akp + c * akq);
      }
      for (let k = 0; k < n; k++) {
        const apk = get(s, p * n + k), aqk = get(s, q * n + k);
        set(s, p * n + k, c * apk - sn * aqk);
        set(s, q * n + k, sn * apk + c * aqk);
      }
      if (vectors) {
        for (let k = 0; k < n; k++) {
          const vkp = get(vectors, k * n + p), vkq = get(vectors, k * n + q);
          set(vectors, k * n + p, c * vkp - sn * vkq);
          set(vectors, k * n + q, sn * vkp + c * vkq);
        }
      }
    }
  }
  for (let i = 0; i < n; i++) set(out, i, get(s, i * n + i));
}

/** m x n matrix U diag(s) V^T-like: a random matrix times a diagonal scaling of its columns, plus structure. */
export function randomMatrix(m: i32, n: i32): usize {
  const a = alloc64(m * n);
  for (let i = 0; i < m * n; i++) set(a, i, random());
  return a;
}
