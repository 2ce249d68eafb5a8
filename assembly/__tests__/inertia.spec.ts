import { allocate, release } from "../memory";
import { bandedGramBandwidth, bandedGramFromCsrF64, bandedInertiaF64, denseInertiaF64 } from "../inertia";
import { alloc64, get, jacobiEigenvalues, random, set } from "./support/dense";
import { seedRandom } from "./support/random";

seedRandom(779);

/** CSR of a random sparse banded-structure matrix (rows x cols), each row nonzero in a window. */
function sparseRows(rows: i32, cols: i32, window: i32, rowPtr: usize, colIdx: usize, values: usize, dense: usize): i32 {
  let nnz = 0;
  store<i32>(rowPtr, 0);
  for (let r = 0; r < rows; r++) {
    const start = (r * cols) / rows;
    for (let c = start; c < min(cols, start + window); c++) {
      if (random() < -0.3) continue; // some holes
      const v = random();
      store<i32>(colIdx + (<usize>nnz << 2), c);
      set(values, nnz, v);
      set(dense, r * cols + c, v);
      nnz++;
    }
    store<i32>(rowPtr + (<usize>(r + 1) << 2), nnz);
  }
  return nnz;
}

function countBelow(n: i32, ev: usize, x: f64): i32 {
  let c = 0;
  for (let i = 0; i < n; i++) if (get(ev, i) < x) c++;
  return c;
}

describe("inertia", () => {
  it("forms the banded Gram matrix of sparse rows like a naive product", () => {
    const rows = 150, cols = 120, window = 9;
    const rowPtr = allocate((rows + 1) * 4), colIdx = allocate(rows * window * 4), values = alloc64(rows * window);
    const dense = alloc64(rows * cols);
    sparseRows(rows, cols, window, rowPtr, colIdx, values, dense);
    const w = bandedGramBandwidth(rows, cols, rowPtr, colIdx);
    // naive: largest |i-j| with a nonzero product
    let wantW = 0;
    for (let i = 0; i < rows; i++) for (let j = 0; j < i; j++) {
      let any = false;
      for (let c = 0; c < cols; c++) if (get(dense, i * cols + c) != 0 && get(dense, j * cols + c) != 0) any = true;
      if (any) wantW = max(wantW, i - j);
    }
    expect<i32>(w).toBe(wantW);
    const band = alloc64(rows * (w + 1));
    expect<i32>(bandedGramFromCsrF64(rows, cols, rowPtr, colIdx, values, w, band)).toBe(0);
    for (let i = 0; i < rows; i++) for (let j = max(0, i - w); j <= i; j++) {
      let s = 0.0;
      for (let c = 0; c < cols; c++) s += get(dense, i * cols + c) * get(dense, j * cols + c);
      expect<f64>(abs(get(band, i * (w + 1) + j - i + w) - s)).toBeLessThan(1e-14);
    }
    release(rowPtr); release(colIdx); release(values); release(dense); release(band);
  });

  it("counts eigenvalues below shifts by banded LDL^T (unblocked and blocked paths) and dense Bunch-Kaufman", () => {
    const configs: i32[] = [60, 40, 7, 240, 200, 80]; // (rows, cols, window): w < 64 and w > 64
    for (let cfg = 0; cfg < 2; cfg++) {
      const rows = configs[cfg * 3], cols = configs[cfg * 3 + 1], window = configs[cfg * 3 + 2];
      const rowPtr = allocate((rows + 1) * 4), colIdx = allocate(rows * window * 4), values = alloc64(rows * window);
      const dense = alloc64(rows * cols);
      sparseRows(rows, cols, window, rowPtr, colIdx, values, dense);
      const w = bandedGramBandwidth(rows, cols, rowPtr, colIdx);
      if (cfg == 1) expect<bool>(w > 64).toBe(true, "exercise the blocked path");
      const band = alloc64(rows * (w + 1)), work = alloc64(rows * (w + 1));
      bandedGramFromCsrF64(rows, cols, rowPtr, colIdx, values, w, band);
      const g = alloc64(rows * rows), gl = alloc64(rows * rows);
      for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) {
        let s = 0.0;
        for (let c = 0; c < cols; c++) s += get(dense, i * cols + c) * get(dense, j * cols + c);
        set(g, i * rows + j, s);
      }
      const ev = alloc64(rows), gcopy = alloc64(rows * rows);
      memory.copy(gcopy, g, <usize>(rows * rows) << 3);
      jacobiEigenvalues(rows, gcopy, ev, 0);
      const info = alloc64(4);
      const zeros = allocate(4);
      // Shifts: below the spectrum, midpoints of consecutive eigenvalues (G has rows - cols exact
      // zero eigenvalues, so the midpoints start from the gap above them), above the spectrum.
      const sorted = alloc64(rows);
      memory.copy(sorted, ev, <usize>rows << 3);
      for (let i = 1; i < rows; i++) {
        const x = get(sorted, i);
        let j = i;
        while (j > 0 && get(sorted, j - 1) > x) { set(sorted, j, get(sorted, j - 1)); j--; }
        set(sorted, j, x);
      }
      let certified = 0;
      for (let t = 0; t <= 12; t++) {
        let shift = t == 0 ? -0.5 : 1e3;
        if (t > 0 && t < 12) {
          const i0 = min(rows - 2, rows - cols - 1 + (t * cols) / 12);
          shift = 0.5 * (get(sorted, i0) + get(sorted, i0 + 1));
        }
        const want = countBelow(rows, ev, shift);
        memory.copy(work, band, (<usize>rows * <usize>(w + 1)) << 3);
        const banded = bandedInertiaF64(rows, w, work, shift, info);
        if (banded >= 0 && get(info, 0) < 1e8) {
          expect<i32>(banded).toBe(want);
          certified++;
        }
        memory.copy(gl, g, <usize>(rows * rows) << 3);
        expect<i32>(denseInertiaF64(rows, gl, rows, shift, zeros)).toBe(want);
      }
      expect<i32>(certified).toBeGreaterThanOrEqual(11, "banded LDL^T certified at most shifts");
      release(rowPtr); release(colIdx); release(values); release(dense); release(band); release(work);
      release(g); release(gl); release(ev); release(gcopy); release(info); release(zeros); release(sorted);
    }
  });

  it("Bunch-Kaufman takes 2x2 pivots on indefinite matrices and counts exact zeros", () => {
    // [[0, 1], [1, 0]] (+) diag(-2, 0, 3): eigenvalues -2, -1, 0, 1, 3
    const n = 5;
    const a = alloc64(n * n);
    set(a, 1 * n + 0, 1.0);
    set(a, 2 * n + 2, -2.0);
    set(a, 4 * n + 4, 3.0);
    const zeros = allocate(4);
    expect<i32>(denseInertiaF64(n, a, n, 0.0, zeros)).toBe(2);
    expect<i32>(load<i32>(zeros)).toBe(1);
    // A random indefinite symmetric matrix with a permuted structure, at several shifts.
    const m = 40;
    const b = alloc64(m * m), work = alloc64(m * m), ev = alloc64(m);
    for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) {
      const v = i == j ? 0.0 : random();
      set(b, i * m + j, v);
      set(b, j * m + i, v);
    }
    memory.copy(work, b, <usize>(m * m) << 3);
    jacobiEigenvalues(m, work, ev, 0);
    for (let t = -4; t <= 4; t++) {
      const shift = <f64>t * 0.37 + 0.011;
      let want = 0;
      for (let i = 0; i < m; i++) if (get(ev, i) < shift) want++;
      memory.copy(work, b, <usize>(m * m) << 3);
      expect<i32>(denseInertiaF64(m, work, m, shift, 0)).toBe(want);
    }
    release(a); release(zeros); release(b); release(work); release(ev);
  });
});
