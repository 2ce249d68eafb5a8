import { allocate, release } from "../memory";
import { operatorDestroy, operatorFromDenseF64 } from "../operator";
import { gaussQuadratureF64, slqCreate, slqDestroy, slqResults, slqRun } from "../slq";
import { alloc64, get, jacobiEigenvalues, random, randomMatrix, set } from "./support/dense";
import { seedRandom } from "./support/random";

seedRandom(778);

describe("Gauss quadrature and SLQ", () => {
  it("gives the eigenvalues and squared first eigenvector components of a tridiagonal", () => {
    const n = 12;
    const d = alloc64(n), e = alloc64(n), nodes = alloc64(n), weights = alloc64(n);
    for (let i = 0; i < n; i++) set(d, i, random() * 4);
    for (let i = 0; i < n - 1; i++) set(e, i, random() + 0.6);
    expect<i32>(gaussQuadratureF64(n, d, e, nodes, weights)).toBe(0);
    const full = alloc64(n * n), ev = alloc64(n), vec = alloc64(n * n);
    for (let i = 0; i < n; i++) {
      set(full, i * n + i, get(d, i));
      if (i < n - 1) { set(full, i * n + i + 1, get(e, i)); set(full, (i + 1) * n + i, get(e, i)); }
    }
    jacobiEigenvalues(n, full, ev, vec);
    let sum = 0.0;
    for (let t = 0; t < n; t++) {
      // match node t with the reference eigenvalue nearest it
      let best = 0;
      for (let j = 1; j < n; j++) if (abs(get(ev, j) - get(nodes, t)) < abs(get(ev, best) - get(nodes, t))) best = j;
      expect<f64>(abs(get(ev, best) - get(nodes, t))).toBeLessThan(1e-13);
      expect<f64>(abs(get(vec, best) * get(vec, best) - get(weights, t))).toBeLessThan(1e-13);
      if (t > 0) expect<bool>(get(nodes, t) >= get(nodes, t - 1)).toBe(true);
      sum += get(weights, t);
    }
    expect<f64>(abs(sum - 1)).toBeLessThan(1e-14);
    release(d); release(e); release(nodes); release(weights); release(full); release(ev); release(vec);
  });

  it("SLQ rules integrate polynomials of degree < 2*steps exactly: sum w t^p = z^T (A^T A)^p z / z^T z", () => {
    const m = 30, n = 18, probes = 3, steps = 6;
    const a = randomMatrix(m, n);
    const op = operatorFromDenseF64(a, m, n);
    const start = alloc64(probes * n);
    for (let i = 0; i < probes * n; i++) set(start, i, random() < 0 ? -1.0 : 1.0);
    const state = slqCreate(m, n, probes, steps, start);
    slqRun(state, op);
    const nodes = alloc64(probes * steps), weights = alloc64(probes * steps);
    const lengths = allocate(probes * 4);
    expect<i32>(slqResults(state, nodes, weights, lengths, 0, 0)).toBe(0);
    const g = alloc64(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0.0;
      for (let r = 0; r < m; r++) s += get(a, r * n + i) * get(a, r * n + j);
      set(g, i * n + j, s);
    }
    const x = alloc64(n), y = alloc64(n);
    for (let q = 0; q < probes; q++) {
      expect<i32>(load<i32>(lengths + q * 4)).toBe(steps);
      memory.copy(x, start + (<usize>(q * n) << 3), <usize>n << 3);
      let zz = 0.0;
      for (let i = 0; i < n; i++) zz += get(x, i) * get(x, i);
      // moments z^T G^p z for p = 0..2*steps-1, as (G^{p/2} z)^T (G^{p - p/2} z) via repeated products
      let gnorm = 0.0;
      for (let i = 0; i < n; i++) gnorm = max(gnorm, abs(get(g, i * n + i)));
      for (let p = 0; p < 2 * steps; p++) {
        // x <- G^p z computed incrementally
        if (p > 0) {
          for (let i = 0; i < n; i++) {
            let s = 0.0;
            for (let j = 0; j < n; j++) s += get(g, i * n + j) * get(x, j);
            set(y, i, s);
          }
          memory.copy(x, y, <usize>n << 3);
        }
        let moment = 0.0;
        for (let i = 0; i < n; i++) moment += get(start, q * n + i) * get(x, i);
        moment /= zz;
        let quad = 0.0;
        for (let t = 0; t < steps; t++) quad += get(weights, q * steps + t) * Math.pow(get(nodes, q * steps + t), <f64>p);
        expect<f64>(abs(quad - moment)).toBeLessThan(1e-11 * Math.pow(gnorm * 4, <f64>p) + 1e-14);
      }
    }
    slqDestroy(state); operatorDestroy(op);
    release(a); release(start); release(nodes); release(weights); release(lengths); release(g); release(x); release(y);
  });
});
