import { allocate, release } from "../memory";
import { gemmF64, gemmF64OnBuffers, GEMM_F64_PACKED_A_BYTES, GEMM_F64_PACKED_B_BYTES } from "../blas";
import { seedRandom, rand, randomF64 } from "./support/random";

// The helper threads of parallel.ts run GEMM on caller-supplied packing buffers of the largest size
// (they must not allocate); it must round exactly as gemmF64 with buffers sized to the problem, so that
// the threaded band reduction is bitwise the single-threaded one. (The pool itself needs the threads
// feature: test/threads.test.ts covers it.)

seedRandom(777);

/** Entries of C (m x n, ld ldc) where gemmF64OnBuffers and gemmF64 differ in any bit. */
function mismatches(ta: i32, tb: i32, m: i32, n: i32, k: i32, alpha: f64, beta: f64): i32 {
  const lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
  const a = randomF64(max(ta ? k : m, 1) * lda), b = randomF64(max(tb ? n : k, 1) * ldb), c1 = randomF64(m * ldc);
  const c2 = allocate(<usize>(m * ldc) << 3);
  memory.copy(c2, c1, <usize>(m * ldc) << 3);
  const packedA = allocate(GEMM_F64_PACKED_A_BYTES), packedB = allocate(GEMM_F64_PACKED_B_BYTES);
  gemmF64(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c1, ldc);
  gemmF64OnBuffers(ta != 0, tb != 0, m, n, k, alpha, a, lda, b, ldb, beta, c2, ldc, packedA, packedB);
  let bad = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const p = (<usize>(i * ldc + j)) << 3;
      if (load<u64>(c1 + p) != load<u64>(c2 + p)) bad++;
    }
  }
  release(packedB);
  release(packedA);
  release(c2);
  release(c1);
  release(b);
  release(a);
  return bad;
}

describe("gemmF64OnBuffers", () => {
  it("is bitwise gemmF64 for every transpose, ragged shapes, several KC and NC passes", () => {
    for (let ta = 0; ta < 2; ta++) {
      for (let tb = 0; tb < 2; tb++) {
        expect(mismatches(ta, tb, 13, 7, 5, 1, 0)).toBe(0);
        expect(mismatches(ta, tb, 50, 61, 130, -1, 1)).toBe(0);
        expect(mismatches(ta, tb, 97, 2051, 37, 0.5, 0.25)).toBe(0);
        expect(mismatches(ta, tb, 49, 9, 1100, 2, 1)).toBe(0);
      }
    }
  });
  it("scales C alone when k = 0 or alpha = 0, as gemmF64", () => {
    expect(mismatches(0, 1, 9, 11, 0, 1, 0.5)).toBe(0);
    expect(mismatches(0, 0, 9, 11, 4, 0, 0)).toBe(0);
    expect(mismatches(1, 0, 9, 11, 4, 0, 3)).toBe(0);
  });
});
